// Lookalike storefront: vanilla JS modules over the HTTP API (/api/...). No build step.
//   api.js        the API, facet order, provenance names
//   url_state.js  the URL hash <-> what is on screen (reload and back restore it)
//   render.js     answers -> DOM
//   app.js        the views (catalog, similar products, text, photo) and the controls
import { api, isProvenance, orderFacets } from "/static/api.js";
import { addWhyButtons, hideExplain, renderSteer } from "/static/product_actions.js";
import {
  $, el, renderChips, renderCount, renderFacets, renderFocus, renderGrid, renderPager, renderPhotoFocus, showError,
} from "/static/render.js";
import {
  DEFAULT_QUERY, filterBodies, filterParams, hasFilter, parseHash, toggledFilter, toHash,
} from "/static/url_state.js";

const PAGE_SIZE = 24;
const FACET_LIMIT = 20;
const SIMILAR_SET = 100; // the most similar products that pages, sorting and facets are taken from
const ADVANCED_KEY = "lookalike.advanced";
const HYBRID_HINT = "Ordered by image similarity plus text match; each badge is the image's cosine similarity.";

const state = {
  route: { view: "catalog" },
  query: { ...DEFAULT_QUERY },
  advanced: localStorage.getItem(ADVANCED_KEY) === "1",
  facetFields: [], // the index's facet fields, from /api/health
  photo: null, // the uploaded file (not in the URL)
  photoText: "", // text combined with the photo
  ticket: 0, // the newest render: an older answer arriving late is dropped
};

// -- navigation: every change goes through the URL ------------------------------------------

function go(route, query) {
  const hash = toHash(route, query);
  if (location.hash === hash) render();
  else location.hash = hash;
}

function setQuery(changes) {
  go(state.route, { ...state.query, page: 1, ...changes });
}

function productHref(product) {
  return toHash({ view: "product", id: product.id }, { ...state.query, page: 1 });
}

function onHashChange() {
  const before = state.route;
  const beforePage = state.query.page;
  const route = parseHash(location.hash);
  state.route = route;
  state.query = route.query;
  const moved = route.view !== before.view || route.id !== before.id || route.text !== before.text;
  if (moved || route.query.page !== beforePage) window.scrollTo({ top: 0 });
  render();
}

function render() {
  const ticket = ++state.ticket;
  const live = () => ticket === state.ticket;
  syncControls();
  hideExplain();
  const view = state.route.view;
  let job;
  if (view === "product") job = showProduct(state.route.id, live);
  else if (view === "text") job = showText(state.route.text, state.route.like, live);
  else if (view === "photo" && state.photo) job = showPhoto(state.photo, live);
  else job = showCatalog(live);
  return job.then(() => live() && updateHybridToggle(), (err) => live() && onError(err));
}

// -- what the views ask ---------------------------------------------------------------------

function shownFacets() {
  return state.facetFields.filter((f) => f !== "in_stock" && (state.advanced || !isProvenance(f)));
}

function pageOffset() {
  return (state.query.page - 1) * PAGE_SIZE;
}

// the query string of GET /api/products/{id}/similar and POST /api/search/image
function similarParams() {
  const q = state.query;
  const p = new URLSearchParams({ k: PAGE_SIZE, variants: q.variants, mode: q.mode, sort: q.sort, facet_limit: FACET_LIMIT });
  if (pageOffset()) p.set("offset", pageOffset());
  if (q.minSim > 0) p.set("min_similarity", q.minSim);
  else p.set("candidates", Math.max(SIMILAR_SET, pageOffset() + PAGE_SIZE));
  if (q.inStock) p.set("in_stock", "true");
  for (const f of shownFacets()) p.append("facet", f);
  for (const f of filterParams(q)) p.append("filter", f);
  if (state.route.view === "product") {
    for (const v of q.more) p.append("more", v);
    for (const v of q.less) p.append("less", v);
  }
  return p;
}

// the body of POST /api/search
function searchBody(text, like) {
  const q = state.query;
  const body = {
    text, k: PAGE_SIZE, offset: pageOffset(), variants: q.variants, mode: q.mode, sort: q.sort,
    facets: shownFacets(), facet_limit: FACET_LIMIT, filters: filterBodies(q),
    candidates: Math.max(SIMILAR_SET, pageOffset() + PAGE_SIZE),
  };
  if (q.inStock) body.in_stock = true;
  if (like) {
    body.like = [like];
    if (q.minSim > 0) body.min_similarity = q.minSim;
  }
  return body;
}

// -- the views ------------------------------------------------------------------------------

async function showCatalog(live) {
  const q = state.query;
  renderFocus(null);
  setTitle("Catalog", "");
  busy();
  const p = new URLSearchParams({
    page: q.page, per_page: PAGE_SIZE, sort: q.sort, facet_limit: FACET_LIMIT,
    variants: q.variants === "collapse" ? "collapse" : "include",
  });
  if (q.inStock) p.set("in_stock", "true");
  for (const f of shownFacets()) p.append("facet", f);
  for (const f of filterParams(q)) p.append("filter", f);
  const answer = await api("GET", `/api/products?${p}`);
  if (!live()) return;
  const data = answer.data;
  renderGrid((data.products || []).map((product) => ({ product })),
    "Nothing in the catalog passes these filters.", productHref);
  showFacets(data.facets, "");
  renderCount(data.total, { qtime: data.qtime_ms, serverMs: answer.serverMs, totalMs: answer.totalMs }, state.advanced);
  renderPager(q.page, Math.max(1, Math.ceil(data.total / PAGE_SIZE)));
}

async function showProduct(id, live) {
  $("id-input").value = id;
  busy();
  const product = (await api("GET", `/api/products/${encodeURIComponent(id)}`)).data;
  if (!live()) return;
  renderFocus(product, state.advanced);
  const steer = renderSteer(shownFacets(), state.query, (more, less) => setQuery({ more, less }));
  setTitle("Similar products", "");
  const answer = await api("GET", `/api/products/${encodeURIComponent(id)}/similar?${similarParams()}`);
  await steer.catch(() => {}); // the steering controls are an extra: the answer shows without them
  if (!live()) return;
  showAnswer(answer, "No similar product passes these filters.");
  addWhyButtons(id);
}

// Text alone (edismax), or hybrid: text re-ranking the products that look like `like`.
async function showText(text, like, live) {
  $("text-input").value = text;
  $("id-input").value = like || "";
  busy();
  if (like) {
    const product = (await api("GET", `/api/products/${encodeURIComponent(like)}`)).data;
    if (!live()) return;
    renderFocus(product, state.advanced);
    setTitle(`“${text}”, looking like this product`, HYBRID_HINT);
  } else {
    renderFocus(null);
    setTitle(`Results for “${text}”`, "");
  }
  const answer = await api("POST", "/api/search", searchBody(text, like));
  if (live()) showAnswer(answer, "Nothing matches this search.");
}

async function showPhoto(file, live) {
  $("id-input").value = "";
  renderPhotoFocus(file);
  setTitle(state.photoText ? `“${state.photoText}”, looking like your photo` : "Products that look like your photo",
    state.photoText ? HYBRID_HINT : "");
  busy("reading your photo… (the first one loads the model)");
  const form = new FormData();
  form.append("file", file, file.name);
  const p = similarParams();
  if (state.photoText) p.set("text", state.photoText);
  const answer = await api("POST", `/api/search/image?${p}`, form);
  if (live()) showAnswer(answer, "No product passes these filters.");
}

function showAnswer(answer, emptyText) {
  const data = answer.data;
  const items = (data.products || []).map((product) => ({
    product, similarity: typeof product.similarity === "number" ? product.similarity : undefined,
  }));
  renderGrid(items, emptyText, productHref);
  const set = data.similar_set === "top" ? `Counts among the ${data.total} most similar products; `
    + "a filter then finds the most similar of all that match." : "";
  showFacets(data.facets, set);
  renderCount(data.total, {
    qtime: data.qtime_ms, serverMs: answer.serverMs, totalMs: answer.totalMs, mode: data.mode,
  }, state.advanced);
  renderPager(state.query.page, Math.max(1, Math.ceil(data.total / PAGE_SIZE)));
}

function showFacets(facets, hint) {
  const q = state.query;
  const withChosen = (facets || []).map((f) => ({
    ...f, chosen: q.filters.filter((x) => x.field === f.name).map((x) => x.value),
  }));
  renderFacets(withChosen, {
    chosen: (field, value) => hasFilter(q, field, value),
    toggle: (field, value) => go(state.route, toggledFilter(q, field, value)),
    emptyText: "No filters for this answer.",
  });
  $("facets-hint").textContent = withChosen.some((f) => f.buckets.length) ? hint : "";
}

function onError(err) {
  $("grid").classList.remove("loading");
  $("grid").dataset.state = "error";
  $("timing").textContent = "";
  if (err.status === 404 && state.route.view === "product") {
    // the product asked for does not exist: nothing of the previous answer stays on screen
    renderFocus(null);
    $("grid").replaceChildren(el("div", { class: "empty" }, "This product is not in the catalog. ",
      el("a", { href: "#/" }, "Browse the catalog")));
    renderPager(1, 1);
    renderFacets([], { chosen: () => false, toggle: () => {}, emptyText: "" });
    $("facets-hint").textContent = "";
    $("hybrid-toggle").hidden = true;
    setTitle("Product not found", "");
  }
  showError(err.message || String(err));
}

// -- the screen around the answer -------------------------------------------------------------

function setTitle(text, hint) {
  $("results-title").textContent = text;
  $("results-hint").textContent = hint;
}

function busy(what) {
  $("grid").classList.add("loading");
  $("grid").dataset.state = "loading";
  $("timing").textContent = what || "searching…";
  showError("");
}

// The controls show the URL's state (after a reload or the back button too).
function syncControls() {
  const q = state.query;
  document.body.classList.toggle("advanced", state.advanced);
  for (const node of document.querySelectorAll(".adv-only")) node.hidden = !state.advanced;
  $("advanced").checked = state.advanced;
  $("sort").value = q.sort;
  $("sort").options[0].textContent = state.route.view === "catalog" ? "featured" : "best match";
  $("in-stock").checked = q.inStock;
  $("price-min").value = q.priceMin ?? "";
  $("price-max").value = q.priceMax ?? "";
  $("variants").value = q.variants;
  $("variants").options[2].disabled = state.route.view === "catalog"; // no design to leave out
  $("min-sim").value = q.minSim;
  $("min-sim-out").textContent = q.minSim > 0 ? q.minSim.toFixed(2) : "off";
  $("mode").value = q.mode;
  if (state.route.view !== "text") $("text-input").value = "";
  renderChips(chips(q));
}

function chips(q) {
  const out = q.filters.map((f) => ({
    text: `${f.field.replace(/_/g, " ")}: ${f.value}`, remove: () => go(state.route, toggledFilter(q, f.field, f.value)),
  }));
  if (q.priceMin !== null || q.priceMax !== null) {
    const text = q.priceMin !== null && q.priceMax !== null ? `price: ${q.priceMin}–${q.priceMax} €`
      : q.priceMin !== null ? `price: from ${q.priceMin} €` : `price: up to ${q.priceMax} €`;
    out.push({ text, remove: () => setQuery({ priceMin: null, priceMax: null }) });
  }
  if (q.inStock) out.push({ text: "in stock", remove: () => setQuery({ inStock: false }) });
  return out;
}

// "like this" next to the search box, when there is a product or photo to combine the text with.
function updateHybridToggle() {
  const view = state.route.view;
  const target = view === "product" || (view === "text" && state.route.like) ? "product" : view === "photo" ? "photo" : null;
  $("hybrid-toggle").hidden = !target;
  $("hybrid-label").textContent = target === "photo" ? "like this photo" : "like this";
}

async function checkHealth() {
  const health = $("health");
  try {
    const { data } = await api("GET", "/api/health");
    const parts = data.index ? [`${data.index.count} products`] : ["no index yet"];
    if (data.index) parts.push(el("span", { class: "adv-only", hidden: !state.advanced },
      ` · collection ${data.collection} · model ${data.index.model} · PCA ${data.index.dims} dims`));
    health.replaceChildren(el("span", { class: data.ok ? "dot ok" : "dot bad" }), ...parts);
    if (Array.isArray(data.facet_fields)) state.facetFields = orderFacets(data.facet_fields);
    const warnings = [...(data.warnings || [])];
    if (warnings.length) {
      $("warning").replaceChildren(el("strong", { text: "Warning:" }), warnings.join(" "));
      $("warning").hidden = false;
    }
  } catch (err) {
    health.replaceChildren(el("span", { class: "dot bad" }), err.message);
  }
}

// -- the controls ---------------------------------------------------------------------------

// A new search starts without the facet values chosen for the last answer; price, stock, order
// and variants stay (a product clicked keeps them all: its similar products are filtered the same way).
function newSearch() {
  return { ...state.query, page: 1, filters: [] };
}

function wireSearch() {
  $("text-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text-input").value.trim();
    const hybrid = !$("hybrid-toggle").hidden && $("hybrid").checked;
    if (hybrid && state.route.view === "photo") {
      state.photoText = text;
      render();
      return;
    }
    if (!text) return;
    const like = hybrid ? (state.route.view === "product" ? state.route.id : state.route.like) : null;
    go({ view: "text", text, like }, newSearch());
  });
  $("id-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("id-input").value.trim();
    if (id) go({ view: "product", id }, { ...state.query, page: 1 });
  });
  $("photo-input").addEventListener("change", (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    state.photo = file;
    state.photoText = "";
    e.target.value = "";
    go({ view: "photo" }, newSearch());
  });
}

function wireFilters() {
  $("sort").addEventListener("change", (e) => setQuery({ sort: e.target.value }));
  $("in-stock").addEventListener("change", (e) => setQuery({ inStock: e.target.checked }));
  $("variants").addEventListener("change", (e) => setQuery({ variants: e.target.value }));
  $("price-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const read = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));
    let [lo, hi] = [read("price-min"), read("price-max")];
    if (lo !== null && hi !== null && lo > hi) [lo, hi] = [hi, lo];
    setQuery({ priceMin: lo, priceMax: hi });
  });
  $("clear-filters").addEventListener("click", () => setQuery({ filters: [], priceMin: null, priceMax: null, inStock: false }));
  $("min-sim").addEventListener("input", (e) => {
    const v = Number(e.target.value);
    $("min-sim-out").textContent = v > 0 ? v.toFixed(2) : "off";
  });
  $("min-sim").addEventListener("change", (e) => setQuery({ minSim: Number(e.target.value) }));
  $("mode").addEventListener("change", (e) => setQuery({ mode: e.target.value }));
  $("advanced").addEventListener("change", (e) => {
    state.advanced = e.target.checked;
    localStorage.setItem(ADVANCED_KEY, state.advanced ? "1" : "0");
    render();
  });
  $("filters-toggle").addEventListener("click", () => {
    const open = $("sidebar").classList.toggle("open");
    $("filters-toggle").setAttribute("aria-expanded", String(open));
  });
}

function wirePaging() {
  $("prev").addEventListener("click", () => setQuery({ page: state.query.page - 1 }));
  $("next").addEventListener("click", () => setQuery({ page: state.query.page + 1 }));
}

wireSearch();
wireFilters();
wirePaging();
window.addEventListener("hashchange", onHashChange);
checkHealth().then(onHashChange);
