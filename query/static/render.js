// Rendering: answers of the API -> DOM. No fetching here; callers pass what to draw and what a click does.
import { isProvenance } from "/static/api.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// n: which of the product's images (0, the main one, by default; a result shows the one that matched)
export function imageUrl(id, n) {
  return "/images/" + encodeURIComponent(id) + (n ? `?n=${n}` : "");
}

export function price(p) {
  return typeof p === "number" ? p.toLocaleString("en", { style: "currency", currency: "EUR" }) : "";
}

export function label(field) {
  return field.replace(/_/g, " ");
}

// A product's attributes as a shopper reads them; provenance (who set a value) only when advanced.
export function attributes(product, advanced) {
  return Object.entries(product.attributes || {})
    .filter(([k]) => advanced || !isProvenance(k))
    .map(([k, v]) => [label(k), Array.isArray(v) ? v.join(", ") : String(v)]);
}

// -- the grid ---------------------------------------------------------------------------

function scoreBadge(similarity) {
  // a shopper reads "how alike", 0 to 1: a cosine below zero is shown as 0 (the exact value on hover)
  return el("span", { class: "score", title: `cosine similarity ${similarity.toFixed(4)}`,
    "data-similarity": similarity, text: Math.max(0, similarity).toFixed(3) });
}

function scoreBar(similarity) {
  const bar = el("div", { class: "scorebar" }, el("span"));
  bar.firstChild.style.width = `${Math.max(0, Math.min(1, similarity)) * 100}%`;
  return bar;
}

// One product tile; `href` is where a click goes (a real link: middle-click and the back button work).
export function card(product, { similarity, href }) {
  const attrs = product.attributes || {};
  const pic = el("div", { class: "pic" },
    el("img", { src: imageUrl(product.id, product.matched_image), alt: product.title || product.id, loading: "lazy",
      "data-image": product.matched_image || 0 }));
  const body = el("div", { class: "body" });
  if (typeof similarity === "number") {
    pic.append(scoreBadge(similarity));
    body.append(scoreBar(similarity));
  }
  body.append(...[
    // the brand on its own line, unless the title names it already ("... by Acme")
    attrs.brand && !(product.title || "").includes(attrs.brand) ? el("div", { class: "brand", text: attrs.brand }) : null,
    el("div", { class: "title", text: product.title || product.id }),
    el("div", { class: "price", text: price(product.price) }),
    product.in_stock === false ? el("div", { class: "stock-out", text: "out of stock" }) : null,
  ].filter(Boolean));
  return el("a", { class: "card", href, "data-id": product.id, title: product.title || product.id }, pic, body);
}

// The grid's data-state is "loading", "ready" or "error": tests and screen readers wait on it.
export function renderGrid(items, emptyText, hrefOf) {
  const grid = $("grid");
  grid.replaceChildren();
  grid.classList.remove("loading");
  grid.dataset.state = "ready";
  if (!items.length) {
    grid.append(el("div", { class: "empty", text: emptyText }));
    return;
  }
  for (const { product, similarity } of items) grid.append(card(product, { similarity, href: hrefOf(product) }));
}

export function renderCount(count, timing, advanced) {
  const box = $("timing");
  box.replaceChildren();
  if (count !== undefined) box.append(`${count} product${count === 1 ? "" : "s"}`);
  if (!advanced || !timing) return;
  const parts = [];
  if (timing.qtime !== undefined && timing.qtime !== null) parts.push(["Solr", timing.qtime]);
  if (timing.serverMs) parts.push(["server", timing.serverMs]);
  parts.push(["total", timing.totalMs]);
  for (const [name, ms] of parts) box.append(" · ", `${name} `, el("b", { text: `${Math.round(ms)} ms` }));
  if (timing.mode) box.append(" · ", el("span", { class: "mode", text: timing.mode }));
}

export function renderPager(page, pages) {
  $("pager").hidden = pages <= 1;
  $("page-info").textContent = `Page ${page} of ${pages}`;
  $("prev").disabled = page <= 1;
  $("next").disabled = page >= pages;
}

// -- the product on top ---------------------------------------------------------------------

export function renderFocus(product, advanced) {
  const focus = $("focus");
  if (!product) {
    focus.hidden = true;
    focus.replaceChildren();
    return;
  }
  const dl = el("dl");
  for (const [k, v] of attributes(product, advanced)) dl.append(el("dt", { text: k }), el("dd", { text: v }));
  if (product.in_stock !== undefined && product.in_stock !== null) {
    dl.append(el("dt", { text: "availability" }), el("dd", { text: product.in_stock ? "in stock" : "out of stock" }));
  }
  if (advanced && product.group) dl.append(el("dt", { text: "design" }), el("dd", { text: product.group }));
  focus.replaceChildren(
    el("div", { class: "pic" }, el("img", { src: imageUrl(product.id), alt: product.title || product.id })),
    el("div", { class: "about" },
      advanced ? el("div", { class: "pid", text: product.id }) : null,
      el("h2", { text: product.title || product.id }),
      el("div", { class: "price", text: price(product.price) }),
      dl,
      // room for what a product page offers beyond its facts (explain a match, more/less of an attribute)
      el("div", { id: "focus-actions", class: "focus-actions" })),
  );
  focus.dataset.id = product.id;
  focus.hidden = false;
}

export function renderPhotoFocus(file) {
  const focus = $("focus");
  focus.replaceChildren(
    el("div", { class: "pic" }, el("img", { src: URL.createObjectURL(file), alt: "your photo" })),
    el("div", { class: "about" }, el("div", { class: "pid", text: "your photo" }), el("h2", { text: file.name }),
      el("p", { class: "hint", text: "Products whose pictures look most like your photo." })),
  );
  delete focus.dataset.id;
  focus.hidden = false;
}

// -- facets and chosen filters ----------------------------------------------------------------

const FACET_SHOWN = 8; // values a facet shows before "more"
const expanded = new Set(); // facets the shopper opened with "more", kept across answers

// facets: [{name, buckets: [{value, count}]}]; `chosen(field, value)` and `toggle(field, value)` from the caller.
export function renderFacets(facets, { chosen, toggle, emptyText }) {
  const box = $("facets");
  box.replaceChildren();
  const shown = (facets || []).filter((f) => f.buckets.length || f.chosen.length);
  if (!shown.length) box.append(el("p", { class: "hint", text: emptyText }));
  for (const f of shown) {
    const values = f.buckets.map((b) => [String(b.value), b.count]);
    for (const v of f.chosen) if (!values.some(([x]) => x === v)) values.unshift([v, 0]); // chosen, counted none
    const list = el("ul");
    for (const [value, count] of values) {
      const on = chosen(f.name, value);
      list.append(el("li", {}, el("button", {
        type: "button", class: on ? "on" : "", role: "checkbox", "aria-checked": on ? "true" : "false",
        "data-field": f.name, "data-value": value, onclick: () => toggle(f.name, value),
      }, el("span", { class: "check", "aria-hidden": "true" }), el("span", { class: "value", text: value }),
      el("span", { class: "count", text: count }))));
    }
    const facet = el("div", { class: "facet", "data-facet": f.name }, el("h3", { text: label(f.name) }), list);
    if (values.length > FACET_SHOWN) facet.append(moreButton(facet, f.name, values.length - FACET_SHOWN));
    box.append(facet);
  }
}

function moreButton(facet, name, hidden) {
  const set = (open) => {
    facet.classList.toggle("collapsed", !open);
    button.textContent = open ? "fewer" : `${hidden} more`;
  };
  const button = el("button", { type: "button", class: "link more", onclick: () => {
    if (expanded.has(name)) expanded.delete(name);
    else expanded.add(name);
    set(expanded.has(name));
  } });
  set(expanded.has(name));
  return button;
}

// chips: [{text, remove}]
export function renderChips(chips) {
  $("active-filters").replaceChildren(...chips.map((c) => el("li", {}, el("button", {
    type: "button", title: "remove this filter", onclick: c.remove,
  }, `${c.text} ×`))));
  $("active-filters-panel").hidden = chips.length === 0;
  $("filters-count").textContent = chips.length ? String(chips.length) : "";
}

export function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}
