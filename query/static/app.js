// Lookalike storefront: vanilla JS over the HTTP API (/api/...). No build step.
"use strict";

const PAGE_SIZE = 24;
const SIMILAR_K = 24;
// Facets shown first when the index has them; the index's other string attributes follow.
const PREFERRED_FACETS = ["category", "color", "pattern", "style", "brand", "material", "size", "in_stock"];

const $ = (id) => document.getElementById(id);

// What is on screen. The URL hash holds the view so the back button works:
// #/  #/catalog/3  #/product/<id>  #/search/<text>  #/search/<text>/like/<id> (hybrid)
// (a photo search is not bookmarkable).
const state = {
  view: "catalog",
  page: 1, // catalog page
  resultPage: 1, // page of similar products / results
  productId: null,
  text: "",
  like: null, // hybrid search: the product the text is combined with
  photo: null,
  photoText: "", // hybrid search: text combined with the photo
  filters: [], // [{field, value}]
  minSimilarity: 0,
  variants: "include",
  mode: "auto",
  facetFields: null, // the facet fields this index has, from /api/health
};

// -- the API ------------------------------------------------------------------------

async function api(method, path, body) {
  const started = performance.now();
  const init = { method, headers: {} };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    throw new Error("The server cannot be reached. Is `lookalike serve` running?");
  }
  let data = null;
  try {
    data = await resp.json();
  } catch (err) {
    data = null;
  }
  const totalMs = performance.now() - started;
  if (!resp.ok) {
    const message = data && data.error ? data.error : `${resp.status} ${resp.statusText}`;
    const error = new Error(message);
    error.status = resp.status;
    throw error;
  }
  return { data, totalMs, serverMs: Number(resp.headers.get("X-Response-Time-Ms")) || null };
}

function similarOptions() {
  const opts = {
    k: SIMILAR_K,
    variants: state.variants,
    mode: state.mode,
    facets: state.facetFields || [],
    filters: groupedFilters(),
    offset: (state.resultPage - 1) * SIMILAR_K,
  };
  if (state.minSimilarity > 0) opts.min_similarity = state.minSimilarity;
  else opts.candidates = Math.max(100, opts.offset + opts.k); // the similar set pages come from
  return opts;
}

function groupedFilters() {
  const byField = new Map();
  for (const f of state.filters) {
    if (!byField.has(f.field)) byField.set(f.field, []);
    byField.get(f.field).push(f.value);
  }
  return [...byField.entries()].map(([field, values]) => ({ field, values }));
}

function similarQuery(opts) {
  const q = new URLSearchParams();
  q.set("k", opts.k);
  if (opts.offset) q.set("offset", opts.offset);
  if (opts.candidates) q.set("candidates", opts.candidates);
  q.set("variants", opts.variants);
  q.set("mode", opts.mode);
  if (opts.min_similarity) q.set("min_similarity", opts.min_similarity);
  for (const f of opts.facets) q.append("facet", f);
  for (const f of state.filters) q.append("filter", `${f.field}:${f.value}`);
  return q.toString();
}

// -- rendering ----------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// n: which of the product's images (0, the main one, by default; a result shows the one that matched)
function imageUrl(id, n) {
  return "/images/" + encodeURIComponent(id) + (n ? `?n=${n}` : "");
}

function price(p) {
  return typeof p === "number" ? p.toLocaleString(undefined, { style: "currency", currency: "EUR" }) : "";
}

// A product's displayable attributes (the API names them without Solr's type suffix).
function attributes(product) {
  return Object.entries(product.attributes || {}).map(([k, v]) => [
    k.replace(/_/g, " "), Array.isArray(v) ? v.join(", ") : String(v),
  ]);
}

function card(product, similarity) {
  const pic = el("div", { class: "pic" },
    el("img", { src: imageUrl(product.id, product.matched_image), alt: product.title || product.id, loading: "lazy",
                "data-image": product.matched_image || 0 }));
  const body = el("div", { class: "body" });
  if (typeof similarity === "number") {
    pic.append(el("span", { class: "score", title: "cosine similarity", text: similarity.toFixed(3) }));
    const bar = el("div", { class: "scorebar" }, el("span"));
    bar.firstChild.style.width = `${Math.max(0, Math.min(1, similarity)) * 100}%`;
    body.append(bar);
  }
  const attrs = attributes(product).slice(0, 2).map(([, v]) => v).join(" · ");
  body.append(...[
    el("div", { class: "title", text: product.title || product.id }),
    attrs ? el("div", { class: "meta", text: attrs }) : null,
    el("div", { class: "price", text: price(product.price) }),
    product.in_stock === false ? el("div", { class: "stock-out", text: "out of stock" }) : null,
  ].filter(Boolean));
  return el("button", {
    class: "card", type: "button", "data-id": product.id, title: `${product.title || ""} (${product.id})`,
    onclick: () => go(`#/product/${encodeURIComponent(product.id)}`),
  }, pic, body);
}

// The grid's data-state is "loading", "ready" or "error": tests and screen readers wait on it.
function renderGrid(items, emptyText) {
  const grid = $("grid");
  grid.replaceChildren();
  grid.classList.remove("loading");
  grid.dataset.state = "ready";
  if (!items.length) {
    grid.append(el("div", { class: "empty", text: emptyText }));
    return;
  }
  for (const { product, similarity } of items) grid.append(card(product, similarity));
}

function renderTiming(t) {
  const parts = [];
  if (t.qtime !== undefined && t.qtime !== null) parts.push(["Solr", t.qtime]);
  if (t.serverMs) parts.push(["server", t.serverMs]);
  parts.push(["total", t.totalMs]);
  const timing = $("timing");
  timing.replaceChildren(...(t.count !== undefined ? [`${t.count} products · `] : []));
  parts.forEach(([label, ms], i) => {
    if (i) timing.append(" · ");
    timing.append(`${label} `, el("b", { text: `${Math.round(ms)} ms` }));
  });
}

function renderFocus(product) {
  const focus = $("focus");
  if (!product) {
    focus.hidden = true;
    focus.replaceChildren();
    return;
  }
  const dl = el("dl");
  for (const [k, v] of attributes(product)) dl.append(el("dt", { text: k }), el("dd", { text: v }));
  if (product.group) dl.append(el("dt", { text: "design" }), el("dd", { text: product.group }));
  if (product.in_stock !== undefined) dl.append(el("dt", { text: "in stock" }), el("dd", { text: product.in_stock ? "yes" : "no" }));
  focus.replaceChildren(
    el("div", { class: "pic" }, el("img", { src: imageUrl(product.id), alt: product.title || product.id })),
    el("div", {},
      el("div", { class: "pid", text: product.id }),
      el("h2", { text: product.title || product.id }),
      el("div", { class: "price", text: price(product.price) }),
      dl),
  );
  focus.hidden = false;
}

function renderPhotoFocus(file) {
  const focus = $("focus");
  const url = URL.createObjectURL(file);
  focus.replaceChildren(
    el("div", { class: "pic" }, el("img", { src: url, alt: "your photo" })),
    el("div", {}, el("div", { class: "pid", text: "your photo" }), el("h2", { text: file.name }),
       el("p", { class: "hint", text: "Embedded with the index's own model and PCA, then matched by cosine similarity." })),
  );
  focus.hidden = false;
}

// facets: [{name, field, buckets: [{value, count}]}] as the API answers them.
function renderFacets(facets) {
  const box = $("facets");
  box.replaceChildren();
  const entries = (facets || []).filter((f) => f.buckets && f.buckets.length).map((f) => [f.name, f.buckets]);
  if (!entries.length) {
    box.append(el("p", { class: "hint", text: state.view === "catalog"
      ? "Pick a product, a photo or a search to filter its similar products."
      : "No filters for this answer." }));
  }
  for (const [field, values] of entries) {
    const list = el("ul");
    for (const { value, count } of values) {
      const active = state.filters.some((f) => f.field === field && String(f.value) === String(value));
      list.append(el("li", {}, el("button", {
        type: "button", class: active ? "on" : "", "data-field": field, "data-value": String(value),
        onclick: () => toggleFilter(field, String(value)),
      }, el("span", { text: String(value) }), el("span", { class: "count", text: count }))));
    }
    box.append(el("div", { class: "facet", "data-facet": field }, el("h3", { text: field.replace(/_/g, " ") }), list));
  }
  const chips = $("active-filters");
  chips.replaceChildren(...state.filters.map((f) => el("li", {}, el("button", {
    type: "button", title: "remove this filter", onclick: () => toggleFilter(f.field, f.value),
  }, `${f.field}: ${f.value} ×`))));
  $("active-filters-panel").hidden = state.filters.length === 0;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

function setTitle(text) {
  $("results-title").textContent = text;
}

const HYBRID_HINT = "Ordered by image similarity plus text match; each badge is the image's cosine similarity.";

function busy(what) {
  $("results-hint").textContent = "";
  $("grid").classList.add("loading");
  $("grid").dataset.state = "loading";
  $("timing").textContent = what || "searching…";
  showError("");
}

// -- answers -> screen --------------------------------------------------------------

function similarItems(data) {
  return (data.products || []).map((p) => ({
    product: p,
    similarity: typeof p.similarity === "number" ? p.similarity : undefined,
  }));
}

function showAnswer(answer, emptyText) {
  const data = answer.data;
  renderGrid(similarItems(data), emptyText);
  renderFacets(data.facets);
  renderTiming({ qtime: data.qtime_ms, serverMs: answer.serverMs, totalMs: answer.totalMs, count: data.total });
  renderPager(state.resultPage, Math.max(1, Math.ceil(data.total / SIMILAR_K)));
}

function renderPager(page, pages) {
  $("pager").hidden = pages <= 1;
  $("page-info").textContent = `Page ${page} of ${pages}`;
  $("prev").disabled = page <= 1;
  $("next").disabled = page >= pages;
}

function turnPage(delta) {
  if (state.view === "catalog") return go(`#/catalog/${state.page + delta}`);
  state.resultPage += delta;
  refresh().then(() => window.scrollTo({ top: 0 }));
}

async function showCatalog(page) {
  state.view = "catalog";
  state.page = page;
  $("id-input").value = "";
  renderFocus(null);
  setTitle("Catalog");
  busy();
  const answer = await api("GET", `/api/products?page=${page}&per_page=${PAGE_SIZE}`);
  const data = answer.data;
  renderGrid((data.products || []).map((p) => ({ product: p })), "The catalog is empty: index one with `lookalike index`.");
  renderFacets(null);
  renderTiming({ qtime: data.qtime_ms, serverMs: answer.serverMs, totalMs: answer.totalMs, count: data.total });
  renderPager(page, Math.max(1, Math.ceil(data.total / PAGE_SIZE)));
}

async function showProduct(id) {
  const changed = state.productId !== id || state.view !== "product";
  state.view = "product";
  if (changed) resetFilters();
  state.productId = id;
  $("id-input").value = id;
  busy();
  const product = (await api("GET", `/api/products/${encodeURIComponent(id)}`)).data;
  renderFocus(product);
  setTitle("Similar products");
  const answer = await api("GET", `/api/products/${encodeURIComponent(id)}/similar?${similarQuery(similarOptions())}`);
  showAnswer(answer, "No similar product passes these filters.");
  if (changed) window.scrollTo({ top: 0 });
}

// Text alone (edismax), or hybrid: text re-ranking the products that look like `like`.
async function showText(text, like) {
  state.view = "text";
  state.text = text;
  state.like = like || null;
  $("text-input").value = text;
  $("id-input").value = like || "";
  busy();
  const body = { ...similarOptions(), text };
  if (like) {
    body.like = [like];
    const product = (await api("GET", `/api/products/${encodeURIComponent(like)}`)).data;
    renderFocus(product);
    setTitle(`“${text}”, looking like this product`);
    $("results-hint").textContent = HYBRID_HINT;
  } else {
    delete body.min_similarity; // a threshold needs an image target
    renderFocus(null);
    setTitle(`Results for “${text}”`);
  }
  const answer = await api("POST", "/api/search", body);
  showAnswer(answer, "Nothing matches this search.");
  updateHybridToggle();
}

async function showPhoto(file) {
  state.view = "photo";
  state.photo = file;
  $("id-input").value = "";
  renderPhotoFocus(file);
  setTitle(state.photoText ? `“${state.photoText}”, looking like your photo` : "Products that look like your photo");
  renderFacets(null);
  busy("reading your photo… (the first one loads the model)");
  if (state.photoText) $("results-hint").textContent = HYBRID_HINT;
  const form = new FormData();
  form.append("file", file, file.name);
  const opts = similarOptions();
  let query = similarQuery(opts);
  if (state.photoText) query += "&" + new URLSearchParams({ text: state.photoText });
  const answer = await api("POST", `/api/search/image?${query}`, form);
  showAnswer(answer, "No product passes these filters.");
}

// -- interactions -------------------------------------------------------------------

function resetFilters() {
  state.filters = [];
  state.resultPage = 1;
}

function toggleFilter(field, value) {
  const i = state.filters.findIndex((f) => f.field === field && String(f.value) === String(value));
  if (i >= 0) state.filters.splice(i, 1);
  else state.filters.push({ field, value });
  state.resultPage = 1;
  refresh();
}

function refresh() {
  let job;
  if (state.view === "product") job = showProduct(state.productId);
  else if (state.view === "text") job = showText(state.text, state.like);
  else if (state.view === "photo" && state.photo) job = showPhoto(state.photo);
  else job = showCatalog(state.page);
  return job.catch(onError);
}

function onError(err) {
  $("grid").classList.remove("loading");
  $("grid").dataset.state = "error";
  $("timing").textContent = "";
  if (err.status === 404 && state.view === "product") {
    // the product asked for does not exist: do not leave the previous one on screen
    renderFocus(null);
    $("grid").replaceChildren();
    state.productId = null;
    resetFilters();
    renderFacets(null);
    $("hybrid-toggle").hidden = true;
    setTitle("Product not found");
  }
  showError(err.message || String(err));
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// Each part of the hash is encoded on its own, so ids and text may hold "/".
function route() {
  const hash = location.hash.slice(1) || "/";
  const dec = decodeURIComponent;
  let m;
  if ((m = hash.match(/^\/product\/([^/]+)$/))) return show(() => showProduct(dec(m[1])));
  if ((m = hash.match(/^\/search\/([^/]+)(?:\/like\/([^/]+))?$/))) {
    resetFilters();
    return show(() => showText(dec(m[1]), m[2] ? dec(m[2]) : null));
  }
  if (hash === "/photo" && state.photo) return show(() => showPhoto(state.photo));
  m = hash.match(/^\/catalog\/(\d+)$/);
  resetFilters();
  return show(() => showCatalog(m ? Number(m[1]) : 1));
}

function show(job) {
  return job().then(updateHybridToggle, onError);
}

// "with this product/photo" next to the search box, when there is one to combine the text with.
function updateHybridToggle() {
  const target = state.view === "product" || (state.view === "text" && state.like) ? "product"
    : state.view === "photo" ? "photo" : null;
  $("hybrid-toggle").hidden = !target;
  $("hybrid-label").textContent = target === "photo" ? "like this photo" : "like this product";
}

async function checkHealth() {
  const health = $("health");
  try {
    const { data } = await api("GET", "/api/health");
    const parts = [`collection ${data.collection || "none"}`];
    if (data.index) parts.push(`${data.index.count} products`, `model ${data.index.model}`, `PCA ${data.index.dims} dims`);
    health.replaceChildren(el("span", { class: data.ok ? "dot ok" : "dot bad" }), parts.join(" · "));
    if (Array.isArray(data.facet_fields)) {
      const rank = (f) => (PREFERRED_FACETS.includes(f) ? PREFERRED_FACETS.indexOf(f) : PREFERRED_FACETS.length);
      state.facetFields = [...data.facet_fields].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    }
    const warnings = [...(data.warnings || [])];
    if (warnings.length) {
      $("warning").replaceChildren(el("strong", { text: "Warning:" }), warnings.join(" "));
      $("warning").hidden = false;
    }
  } catch (err) {
    health.replaceChildren(el("span", { class: "dot bad" }), err.message);
  }
}

function wire() {
  $("text-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text-input").value.trim();
    const hybrid = !$("hybrid-toggle").hidden && $("hybrid").checked;
    if (hybrid && state.view === "photo") {
      state.photoText = text;
      showPhoto(state.photo).catch(onError);
      return;
    }
    if (!text) return;
    const like = hybrid ? (state.view === "product" ? state.productId : state.like) : null;
    go(`#/search/${encodeURIComponent(text)}` + (like ? `/like/${encodeURIComponent(like)}` : ""));
  });
  $("id-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("id-input").value.trim();
    if (id) go(`#/product/${encodeURIComponent(id)}`);
  });
  $("photo-input").addEventListener("change", (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    resetFilters();
    state.photo = file;
    state.photoText = "";
    e.target.value = "";
    if (location.hash === "#/photo") showPhoto(file).catch(onError);
    else location.hash = "#/photo";
  });
  $("min-sim").addEventListener("input", (e) => {
    const v = Number(e.target.value);
    $("min-sim-out").textContent = v > 0 ? v.toFixed(2) : "off";
  });
  $("min-sim").addEventListener("change", (e) => {
    state.minSimilarity = Number(e.target.value);
    state.resultPage = 1;
    if (state.view !== "catalog") refresh();
  });
  $("variants").addEventListener("change", (e) => {
    state.variants = e.target.value;
    state.resultPage = 1;
    if (state.view !== "catalog") refresh();
  });
  $("mode").addEventListener("change", (e) => {
    state.mode = e.target.value;
    state.resultPage = 1;
    if (state.view !== "catalog") refresh();
  });
  $("clear-filters").addEventListener("click", () => {
    resetFilters();
    refresh();
  });
  $("prev").addEventListener("click", () => turnPage(-1));
  $("next").addEventListener("click", () => turnPage(1));
  window.addEventListener("hashchange", route);
}

wire();
checkHealth().then(route);
