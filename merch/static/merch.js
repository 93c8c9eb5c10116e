// The merchandiser page: sign-in, tabs, clusters and their members, proposals (review, accept all,
// apply, close), batches and undo, gap reports. What the page says about a change comes from the
// server (batches, a proposal's batches, cluster labels), so it is still there after a reload.
"use strict";
const $ = (s) => document.querySelector(s);
const $$ = (s) => [...document.querySelectorAll(s)];
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const img = (id) => `/images/${encodeURIComponent(id)}`;
const when = (s) => (s ? String(s).replace("T", " ").replace(/\.\d+/, "").replace("+00:00", " UTC") : "");
const fmt = (x, d = 2) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));
const M = {signedIn: false, token: null, clusters: null};

// -- the credential: kept in this tab only, sent as a bearer token -----------------------------
$("#token").value = sessionStorage.getItem("merchToken") || "";
async function signIn() {
  sessionStorage.setItem("merchToken", $("#token").value);
  M.signedIn = false; M.token = $("#token").value;
  if (!$("#token").value) { $("#who").textContent = "not signed in"; return; }
  try { $("#who").textContent = "signed in as " + (await api("GET", "/api/merch/me")).user; M.signedIn = true; showError(""); status(""); }
  catch (e) { $("#who").textContent = "not signed in"; }
}
// a change event for the token already signed in (a second one on blur, say) would reload the tab
// and close what is open in it: only a new token signs in again
$("#token").addEventListener("change", async () => {
  if (M.signedIn && $("#token").value === M.token) return;
  await signIn(); route();
});

function showError(msg) { const e = $("#error"); e.textContent = msg; e.hidden = !msg; }
function status(msg) { $("#status").textContent = msg; }

async function api(method, path, body) {
  const headers = {"Content-Type": "application/json"};
  if ($("#token").value) headers["Authorization"] = "Bearer " + $("#token").value;
  let r;
  try { r = await fetch(path, {method, headers, body: body ? JSON.stringify(body) : undefined}); }
  catch (e) { showError("The server cannot be reached: is `lookalike serve` running?"); status(""); throw e; }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const hint = r.status === 401 ? " Paste your token above (`lookalike merchandiser add NAME` prints one)." : "";
    showError((data.error || `HTTP ${r.status}`) + hint); status(""); throw new Error(data.error || r.status);
  }
  showError("");
  return data;
}
const quiet = (p) => p.catch(() => null);  // the error is shown already

// -- tabs and the URL: #tab=propagate&proposal=p... survives a reload --------------------------
function hashState() { return Object.fromEntries(new URLSearchParams(location.hash.slice(1))); }
function setHash(patch) {
  const s = {...hashState(), ...patch};
  Object.keys(s).forEach((k) => (s[k] === null || s[k] === undefined || s[k] === "") && delete s[k]);
  history.replaceState(null, "", "#" + new URLSearchParams(s).toString());
}
$$(".m-tabs button").forEach((b) => b.addEventListener("click", () => { setHash({tab: b.dataset.tab}); route(); }));
function route() {
  const s = hashState(), tab = s.tab || "clusters";
  $$(".m-tabs button").forEach((b) => b.classList.toggle("on", b.dataset.tab === tab));
  $$(".m-tab").forEach((x) => x.classList.toggle("on", x.id === tab));
  loadNotice();
  if (tab === "clusters") loadClusters();
  else if (tab === "propagate") { loadProposals(); if (s.proposal) showProposal(s.proposal); }
  else if (tab === "batches") loadBatches();
  else if (tab === "map" && window.loadMap) window.loadMap();
  else if (tab === "compare" && window.loadCompare) window.loadCompare();
}
window.addEventListener("hashchange", route);

// -- the latest change, from the server: stays after reload ------------------------------------
async function loadNotice() {
  const n = $("#notice");
  if (!M.signedIn) { n.hidden = true; return; }
  const rows = await quiet(api("GET", "/api/merch/batches"));
  if (!rows || !rows.length) { n.hidden = true; return; }
  const b = rows[0];
  const from = b.source && b.source.kind === "cluster" ? `cluster ${b.source.cluster}` : `proposal ${b.source && b.source.proposal}`;
  n.className = "m-notice" + (b.state === "undone" ? " undone" : "");
  n.innerHTML = b.state === "undone"
    ? `<span>Latest change: batch <code>${esc(b.id)}</code> (${esc(b.attribute)}=${esc(b.value)} from ${esc(from)}) was <b>undone</b> by ${esc(b.undone_by || "?")} at ${esc(when(b.undone))}; every product is back as it was${b.undo_conflicts.length ? `, except ${b.undo_conflicts.length} changed since` : ""}.</span>`
    : `<span>Latest change: <b>${esc(b.attribute)}=${esc(b.value)}</b> written to <b>${b.written}</b> products (${b.skipped.length} skipped) from ${esc(from)} by ${esc(b.user)} at ${esc(when(b.created))}, batch <code>${esc(b.id)}</code>.</span>
       <button class="m-btn" data-undo="${esc(b.id)}">Undo this batch</button>`;
  n.hidden = false;
}
$("#notice").addEventListener("click", (e) => { if (e.target.dataset.undo) undoBatch(e.target.dataset.undo); });

// -- clusters ----------------------------------------------------------------------------------
function renderClusters(c) {
  M.clusters = c;
  $("#clusters-summary").textContent = `${c.count} products in ${c.k} clusters (k by ${c.k_rule}), built ${when(c.created)}`;
  $("#clusters-grid").innerHTML = c.clusters.map((cl) => `
    <div class="card m-static" data-cluster="${cl.id}" data-medoid="${esc(cl.medoid)}">
      <div class="pic"><img src="${img(cl.medoid)}" alt="medoid of cluster ${cl.id}" loading="lazy"></div>
      <div class="body">
        <div class="title">Cluster ${cl.id} · ${cl.size} products ${cl.label ? `<span class="tag">${esc(cl.label)}</span>` : ""}</div>
        <div class="meta">${cl.over.slice(0, 3).map((o) => `<span class="tag" title="relatedness ${o.relatedness}">${esc(o.attribute)}=${esc(o.value)} ${Math.round(o.cluster_share * 100)}% vs ${Math.round(o.catalog_share * 100)}%</span>`).join("") || "nothing over-represented"}</div>
        <div class="meta">${Object.entries(cl.missing).map(([a, n]) => `${esc(a)} missing on ${n}`).join(", ")}</div>
        <div class="m-actions"><button class="m-btn members-btn">Members</button><button class="m-btn use-btn">Use medoid as example</button></div>
        <div class="m-actions"><input class="t-attr" placeholder="attribute" aria-label="attribute"><input class="t-val" placeholder="value" aria-label="value"><button class="m-btn tag-btn">Tag all</button></div>
      </div>
    </div>`).join("");
}
async function loadClusters() {
  if (!M.signedIn) { status("Sign in with your merchandiser token to see the clusters."); return; }
  try { renderClusters(await api("GET", "/api/merch/clusters")); status(""); }
  catch (e) { /* shown: for instance, not clustered yet */ }
  const s = hashState();
  if (s.cluster) showMembers(Number(s.cluster), Number(s.mpage || 1));
}
$("#build-form").addEventListener("submit", async (e) => {
  e.preventDefault(); status("clustering ...");
  const k = $("#build-k").value ? Number($("#build-k").value) : null;
  renderClusters(await api("POST", "/api/merch/clusters/build", {k})); status("");
});
$("#clusters-grid").addEventListener("click", async (e) => {
  const card = e.target.closest(".card"); if (!card) return;
  const cid = Number(card.dataset.cluster);
  if (e.target.classList.contains("tag-btn")) {
    const attribute = card.querySelector(".t-attr").value.trim(), value = card.querySelector(".t-val").value.trim();
    if (!attribute || !value) { showError("Give an attribute and a value to tag the cluster with."); return; }
    status(`tagging cluster ${cid} ...`);
    await api("POST", `/api/merch/clusters/${cid}/tag`, {attribute, value});
    status(""); loadNotice(); loadClusters();
  } else if (e.target.classList.contains("use-btn")) {
    $("#p-like").value = ($("#p-like").value + " " + card.dataset.medoid).trim();
    setHash({tab: "propagate"}); route();
  } else if (e.target.classList.contains("members-btn")) {
    showMembers(cid, 1);
  }
});
async function showMembers(cid, page) {
  const m = await quiet(api("GET", `/api/merch/clusters/${cid}/members?page=${page}&rows=48`));
  if (!m) return;
  setHash({cluster: cid, mpage: m.page});
  $("#members-title").textContent = `Cluster ${m.cluster}${m.label ? " (" + m.label + ")" : ""}: ${m.total} products`;
  $("#members-grid").innerHTML = m.products.map((p) => `
    <a class="card" href="/#/product/${encodeURIComponent(p.id)}" target="_blank" data-id="${esc(p.id)}" title="${esc(p.title || p.id)}">
      <div class="pic"><img src="${img(p.id)}" alt="${esc(p.title || p.id)}" loading="lazy"></div>
      <div class="body"><div class="title">${esc(p.title || p.id)}</div><div class="meta">${esc(p.category || "")}</div></div>
    </a>`).join("") || `<p class="m-empty">No products in this cluster.</p>`;
  $("#members-page").textContent = `Page ${m.page} of ${m.pages}`;
  $("#members-prev").disabled = m.page <= 1; $("#members-next").disabled = m.page >= m.pages;
  $("#members-prev").onclick = () => showMembers(cid, m.page - 1);
  $("#members-next").onclick = () => showMembers(cid, m.page + 1);
  $("#members").hidden = false;
  $("#members").scrollIntoView({block: "nearest"});
}
window.showMembers = showMembers;
$("#members-close").addEventListener("click", () => { $("#members").hidden = true; setHash({cluster: null, mpage: null}); });

// -- proposals ---------------------------------------------------------------------------------
const ids = (s) => s.split(/[\s,]+/).filter(Boolean);
let current = null;  // the proposal under review
async function loadProposals() {
  if (!M.signedIn) { status("Sign in with your merchandiser token to propose."); return; }
  const state = $("#prop-state").value;
  const rows = await quiet(api("GET", `/api/merch/proposals?state=${state}`));
  if (!rows) return;
  $("#proposals-table tbody").innerHTML = rows.map((p) => {
    const acc = Object.values(p.decisions).filter((d) => d === "accept").length;
    return `<tr data-id="${esc(p.id)}"><td><code>${esc(p.id)}</code>${p.state !== "open" ? ` <span class="tag">${esc(p.state)}</span>` : ""}</td>
      <td>${esc(p.attribute)}=${esc(p.value)}</td><td>${p.positives.map(esc).join(", ")}</td><td>${acc}</td>
      <td>${esc(p.created_by)}</td><td>${esc(when(p.created))}</td>
      <td><button class="m-btn resume">${p.state === "open" ? "Resume" : "View"}</button>
      ${p.state === "open" ? `<button class="m-btn close">Close</button>` : ""}</td></tr>`;
  }).join("") || `<tr><td colspan="7" class="m-empty">No ${state === "all" ? "" : state + " "}proposals. Start one below from example products.</td></tr>`;
}
$("#prop-state").addEventListener("change", loadProposals);
$("#proposals-table").addEventListener("click", async (e) => {
  const row = e.target.closest("tr[data-id]"); if (!row) return;
  if (e.target.classList.contains("resume")) showProposal(row.dataset.id);
  else if (e.target.classList.contains("close")) { await closeProposal(row.dataset.id); }
});
async function closeProposal(pid) {
  await api("POST", `/api/merch/proposals/${encodeURIComponent(pid)}/close`, {});
  if (current && current.proposal.id === pid) showProposal(pid);
  loadProposals();
}
$("#p-thr").addEventListener("input", () => { $("#p-thr-v").textContent = Number($("#p-thr").value).toFixed(2); });
$("#p-thr").addEventListener("change", async () => {
  if (!current || current.proposal.state !== "open") return;
  await api("POST", `/api/merch/proposals/${current.proposal.id}/decisions`, {min_confidence: Number($("#p-thr").value)});
  showProposal(current.proposal.id);
});
$("#propose-form").addEventListener("submit", async (e) => {
  e.preventDefault(); status("finding candidates ...");
  const v = await api("POST", "/api/merch/proposals", {
    attribute: $("#p-attr").value.trim(), value: $("#p-value").value.trim(), positives: ids($("#p-like").value),
    negatives: ids($("#p-unlike").value), min_confidence: Number($("#p-thr").value), limit: 200});
  status(""); renderProposal(v); loadProposals();
});
async function showProposal(pid) {
  const v = await quiet(api("GET", `/api/merch/proposals/${encodeURIComponent(pid)}?limit=200`));
  if (v) renderProposal(v);
}
function renderProposal(v) {
  current = v;
  const p = v.proposal, open = p.state === "open";
  setHash({tab: "propagate", proposal: p.id});
  $("#p-thr").value = v.min_confidence; $("#p-thr-v").textContent = fmt(v.min_confidence);
  $("#review").hidden = false;
  $("#proposal-title").textContent = `${p.attribute} = ${p.value}` + (open ? "" : ` (${p.state})`);
  $("#proposal-info").innerHTML = `Proposal <code>${esc(p.id)}</code> by ${esc(p.created_by)}, from the examples
    ${p.positives.map((x) => `<code>${esc(x)}</code>`).join(", ")}${p.negatives.length ? `, not like ${p.negatives.map((x) => `<code>${esc(x)}</code>`).join(", ")}` : ""}:
    <b>${v.total}</b> candidates at confidence &ge; ${fmt(v.min_confidence)}; <b>${v.accepted}</b> accepted, ${v.rejected} rejected.
    Applying also tags the ${p.positives.length} example${p.positives.length > 1 ? "s" : ""}.`;
  $("#proposal-scoring").textContent = v.scoring || "";
  $("#proposal-batches").innerHTML = v.batches.map((b) => b.state === "undone"
    ? `<li class="undone">Batch <code>${esc(b.id)}</code>: ${b.written} written by ${esc(b.user)} at ${esc(when(b.created))}, <b>undone</b> at ${esc(when(b.undone))}.</li>`
    : `<li>Applied as batch <code>${esc(b.id)}</code>: ${esc(p.attribute)}=${esc(p.value)} written to <b>${b.written}</b> products (${b.skipped} skipped) by ${esc(b.user)} at ${esc(when(b.created))}. <button class="m-btn" data-undo="${esc(b.id)}">Undo</button></li>`).join("");
  const acceptable = v.acceptable;
  $("#accept-all").textContent = acceptable === null ? "Accept all (too many: raise the confidence)"
    : `Accept all ${acceptable} above ${fmt(v.min_confidence)}`;
  $("#accept-all").disabled = !open || !acceptable;
  $("#apply").textContent = v.pending || !v.batches.length
    ? `Apply ${v.pending} accepted + ${p.positives.length} example${p.positives.length > 1 ? "s" : ""}` : "Applied";
  $("#apply").disabled = !open || !v.pending;
  $("#close-proposal").disabled = !open;
  $("#confirm").hidden = true;
  $("#candidates").innerHTML = v.candidates.map((c) => {
    const conf = c.confidence, title = (c.doc && c.doc.title) || c.id, cat = c.doc && c.doc.category_s;
    return `
    <div class="card m-static ${c.decision || ""} ${c.blocked ? "blocked" : ""}" data-id="${esc(c.id)}">
      <div class="pic"><img src="${img(c.id)}" alt="${esc(title)}" loading="lazy"><span class="score" title="similarity ${fmt(c.similarity, 3)}">${fmt(conf)}</span></div>
      <div class="body">
        <div class="title">${esc(title)}</div>
        <div class="meta">${esc(cat || "")} · <code>${esc(c.id)}</code></div>
        <div class="scorebar" title="confidence ${fmt(conf)}"><span style="width:${Math.round(conf * 100)}%"></span></div>
        <div class="meta">confidence ${fmt(conf)} · closest to ${esc(c.closest)}</div>
        ${c.current ? `<div class="meta">now ${esc(c.current)} (${esc(c.origin)})</div>` : ""}
        ${c.blocked ? `<div class="m-warn">${esc(c.blocked)}</div>` : ""}
        <details class="m-why" data-closest="${esc(c.closest || "")}"><summary>why</summary>${esc(c.reason)}<div class="m-explain"></div></details>
        ${c.decision ? `<div class="m-decision ${c.decision}">${c.decision === "accept" ? "accepted" : "rejected"}</div>` : ""}
        ${open ? `<div class="m-actions"><button class="m-btn acc">Accept</button><button class="m-btn rej">Reject</button></div>` : ""}
      </div>
    </div>`;
  }).join("") || `<p class="m-empty">No candidate at this confidence: lower it with the slider.</p>`;
}
$("#proposal-batches").addEventListener("click", (e) => { if (e.target.dataset.undo) undoBatch(e.target.dataset.undo); });
// "why" opened on a candidate: why it looks like the example it is closest to, with heat-maps
// (GET /api/products/{candidate}/explain/{example}, the storefront's explanation; query/explain.py)
$("#candidates").addEventListener("toggle", async (e) => {
  const box = e.target.closest && e.target.closest("details.m-why");
  if (!box || !box.open || box.dataset.loaded) return;
  const cand = box.closest(".card").dataset.id, ex = box.dataset.closest, out = box.querySelector(".m-explain");
  if (!ex || ex === cand) return;
  box.dataset.loaded = "1";
  out.textContent = "working out the heat-maps ...";
  const q = new URLSearchParams(current.proposal.positives.map((x) => ["example", x]));
  const v = await quiet(api("GET", `/api/products/${encodeURIComponent(cand)}/explain/${encodeURIComponent(ex)}?${q}`));
  if (!v) { out.textContent = ""; delete box.dataset.loaded; return; }
  const shared = Object.entries(v.shared).map(([k, x]) => `${esc(k)} ${esc(Array.isArray(x) ? x.join(", ") : x)}`).join(" · ");
  out.innerHTML = `<div class="meta">like <code>${esc(ex)}</code> at ${fmt(v.similarity, 3)}${shared ? `; both: ${shared}` : ""}</div>
    ${v.heatmaps.map((h) => `<img class="m-heat" src="${h.png}" alt="heat-map over ${esc(h.product)}" width="110" height="110">`).join("")}
    ${v.notes.map((n) => `<div class="meta">${esc(n)}</div>`).join("")}`;
  out.dataset.state = "ready";
}, true);
$("#candidates").addEventListener("click", async (e) => {
  const card = e.target.closest(".card"); if (!card || e.target.tagName !== "BUTTON") return;
  const body = e.target.classList.contains("acc") ? {accept: [card.dataset.id]} : {reject: [card.dataset.id]};
  await api("POST", `/api/merch/proposals/${current.proposal.id}/decisions`, body);
  showProposal(current.proposal.id);
});
$("#accept-all").addEventListener("click", () => {
  $("#confirm-text").textContent = `Accept all ${current.acceptable} candidates with confidence >= ${fmt(current.min_confidence)}` +
    ` (rejected ones and human values stay as they are)?`;
  $("#confirm").hidden = false;
});
$("#confirm-no").addEventListener("click", () => { $("#confirm").hidden = true; });
$("#confirm-yes").addEventListener("click", async () => {
  $("#confirm").hidden = true;
  await quiet(api("POST", `/api/merch/proposals/${current.proposal.id}/decisions`,
                  {accept_all: true, expect: current.acceptable}));
  showProposal(current.proposal.id);
});
$("#apply").addEventListener("click", async () => {
  status("writing ...");
  await api("POST", `/api/merch/proposals/${current.proposal.id}/apply`, {});
  status(""); loadNotice(); showProposal(current.proposal.id);
});
$("#close-proposal").addEventListener("click", () => closeProposal(current.proposal.id));

// -- batches -----------------------------------------------------------------------------------
async function loadBatches() {
  if (!M.signedIn) { status("Sign in with your merchandiser token to see the batches."); return; }
  const rows = await quiet(api("GET", "/api/merch/batches"));
  if (!rows) return;
  $("#batches-table tbody").innerHTML = rows.map((b) => `
    <tr><td><code>${esc(b.id)}</code></td><td>${esc(b.state)}</td><td>${esc(b.attribute)}=${esc(b.value)}</td><td>${b.written}</td>
    <td>${b.source.kind === "cluster" ? `cluster ${b.source.cluster}` : `proposal <code>${esc(b.source.proposal)}</code>`}</td>
    <td>${esc(b.user)}</td><td>${esc(when(b.created))}</td>
    <td>${b.state === "applied" ? `<button class="m-btn" data-undo="${esc(b.id)}">Undo</button>` : esc(b.undone ? "undone " + when(b.undone) : "")}</td></tr>`).join("")
    || `<tr><td colspan="8" class="m-empty">No batch yet: apply a proposal or tag a cluster.</td></tr>`;
}
$("#batches-table").addEventListener("click", (e) => { if (e.target.dataset.undo) undoBatch(e.target.dataset.undo); });
async function undoBatch(id) {
  status("restoring ...");
  await api("POST", `/api/merch/batches/${encodeURIComponent(id)}/undo`, {});
  status(""); route();
}

// -- gaps --------------------------------------------------------------------------------------
$("#gaps-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const by = $("#g-by").value || "category";
  const g = await api("GET", `/api/merch/gaps/${encodeURIComponent($("#g-attr").value.trim())}?by=${encodeURIComponent(by)}`);
  $("#gaps-out").hidden = false;
  $("#gaps-out").innerHTML = `<p>${g.lacking} of ${g.products} products lack ${esc(g.attribute)}` +
    (g.would_fill === null ? `. ${esc(g.note)}` : `; open proposals would fill ${g.would_fill}.`) + `</p>
    <table class="m-table"><tr><th>${esc(by)}</th><th>products</th><th>lacking</th><th>would fill</th></tr>
    ${g.rows.map((r) => `<tr><td>${r[by] === null ? "(none)" : esc(r[by])}</td><td>${r.products}</td><td>${r.lacking}</td><td>${r.would_fill ?? "-"}</td></tr>`).join("")}</table>`;
});

signIn().then(route);
