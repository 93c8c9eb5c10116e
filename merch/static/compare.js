// The "Compare index" tab: a candidate index built with `lookalike index CATALOG --no-swap`
// against the live one (overlap@10, rank correlation, per category, the products whose
// neighbours change most, side by side), and Promote / Drop. The live alias changes only on Promote.
"use strict";
(() => {
  const C = {report: null};
  const pct = (x) => (x === null || x === undefined ? "-" : (100 * x).toFixed(0) + "%");
  const recipe = (r) => `${esc(r.model)} · ${r.dims}-d · ${r.count.toLocaleString()} products · built ${esc(when(r.created))}`
    + (r.random_weights ? ` · <b class="m-warn">random weights</b>` : "");

  async function loadCompare() {
    if (!M.signedIn) { status("Sign in with your merchandiser token to compare indexes."); return; }
    const d = await quiet(api("GET", "/api/shadow/candidates"));
    if (!d) return;
    C.alias = d.alias;
    $("#compare-list").innerHTML = `<p>Alias <code>${esc(d.alias)}</code> serves
      ${d.live ? `<code>${esc(d.live.collection)}</code>: ${recipe(d.live)}` : "nothing yet"}.</p>
      <table class="m-table"><thead><tr><th>candidate</th><th>how it was built</th><th></th></tr></thead><tbody>
      ${d.candidates.map((c) => `<tr data-c="${esc(c.collection)}"><td><code>${esc(c.collection)}</code></td><td>${recipe(c)}</td>
        <td><button class="m-btn cmp">Compare</button> <button class="m-btn m-primary promote">Promote</button>
        <button class="m-btn drop">Drop</button></td></tr>`).join("")
        || `<tr><td colspan="3" class="m-empty">No candidate: build one with <code>lookalike index CATALOG --no-swap --model ...</code>; the live alias stays as it is.</td></tr>`}
      </tbody></table>`;
    const want = hashState().candidate;
    if (want && d.candidates.some((c) => c.collection === want) && (!C.report || C.report.candidate !== want)) compare(want);
  }
  window.loadCompare = loadCompare;

  $("#compare-list").addEventListener("click", async (e) => {
    const row = e.target.closest("tr[data-c]"); if (!row) return;
    const c = row.dataset.c;
    if (e.target.classList.contains("cmp")) compare(c);
    else if (e.target.classList.contains("promote")) confirmThen(`Point alias ${C.alias} at ${c}? Shoppers see its answers at once (lookalike rollback goes back).`,
      async () => { const r = await api("POST", "/api/shadow/promote", {candidate: c});
        status(""); C.report = null; $("#compare-out").innerHTML = ""; $("#compare-msg").innerHTML = `<div class="panel"><p>Alias <code>${esc(r.alias)}</code> now serves <code>${esc(r.live)}</code>${r.previous ? ` (was <code>${esc(r.previous)}</code>; <code>lookalike rollback</code> goes back)` : ""}.</p></div>`;
        setHash({candidate: null}); loadCompare(); });
    else if (e.target.classList.contains("drop")) confirmThen(`Delete the candidate collection ${c}? The live index is not touched.`,
      async () => { const r = await api("POST", "/api/shadow/drop", {candidate: c}); C.report = null; $("#compare-out").innerHTML = "";
        $("#compare-msg").innerHTML = `<div class="panel"><p>Dropped <code>${esc(r.dropped)}</code>; alias <code>${esc(r.alias)}</code> is unchanged.</p></div>`;
        setHash({candidate: null}); loadCompare(); });
  });
  function confirmThen(text, action) {
    $("#compare-msg").innerHTML = `<div class="m-confirm" id="compare-confirm"><span>${esc(text)}</span>
      <button class="m-btn m-primary" id="compare-yes">Confirm</button><button class="m-btn" id="compare-no">Cancel</button></div>`;
    $("#compare-yes").onclick = () => { $("#compare-msg").innerHTML = ""; quiet(action()); };
    $("#compare-no").onclick = () => { $("#compare-msg").innerHTML = ""; };
  }

  const tile = (id, products, fresh) => {
    const p = products[id] || {};
    return `<img src="${img(id)}" alt="${esc(p.title || id)}" title="${esc((p.title || id) + (fresh ? " (new in the candidate's top 10)" : ""))}" class="${fresh ? "new" : ""}" loading="lazy">`;
  };
  async function compare(c) {
    status(`comparing ${c} with the live index on a sample of products ...`);
    const r = await quiet(api("GET", `/api/shadow/compare?candidate=${encodeURIComponent(c)}&sample=100`));
    if (!r) return;
    status(""); C.report = r; setHash({candidate: c}); $("#compare-msg").innerHTML = "";
    const cats = Object.entries(r.by_category).sort((a, b) => a[1] - b[1]);
    const html = `<div class="panel" id="compare-report">
      <h2>${esc(r.candidate)} against the live ${esc(r.live)}</h2>
      <div class="m-stats">
        <div class="m-stat"><b>${pct(r.overlap)}</b><span>top-${r.k} overlap (share of neighbours kept)</span></div>
        <div class="m-stat"><b>${r.rank_correlation === null ? "-" : r.rank_correlation.toFixed(2)}</b><span>rank correlation of the shared neighbours</span></div>
        <div class="m-stat"><b>${r.sampled}</b><span>products compared (seeded sample)</span></div>
      </div>
      <h3>Overlap by category</h3>
      <div class="m-bars">${cats.map(([k, v]) => `<span>${esc(k)}</span><div class="scorebar"><span style="width:${Math.round(v * 100)}%"></span></div><span>${pct(v)}</span>`).join("") || `<span class="hint">no categories</span>`}</div>
    </div>
    <div class="panel" id="compare-changed"><h2>Neighbours that change most <span class="hint">live | candidate; outlined: not in the live top ${r.k}</span></h2>
      ${r.most_changed.map((m) => `<div class="m-side" data-id="${esc(m.id)}">
        <div>${tile(m.id, r.products, false)}<div class="hint">${esc((r.products[m.id] || {}).title || m.id)}</div><div class="hint">overlap ${pct(m.overlap)}</div></div>
        <div><h4>live</h4><div class="strip">${m.live.slice(0, 10).map((i) => tile(i, r.products, false)).join("")}</div></div>
        <div><h4>candidate</h4><div class="strip">${m.candidate.slice(0, 10).map((i) => tile(i, r.products, !m.live.includes(i))).join("")}</div></div>
      </div>`).join("")}
    </div>`;
    $("#compare-out").innerHTML = html;
  }
})();
