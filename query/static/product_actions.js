// What the product page offers beyond its facts:
//   "like this, but more / less <value>": the API's more= / less= (attribute directions), chosen
//     from the catalog's facet values and kept in the URL (more=pattern:floral, repeatable);
//   "why similar?" on each result: GET /api/products/{a}/explain/{b} shown in a panel (the
//     similarity, the values both share, occlusion heat-maps of the pair of images).
import { api } from "/static/api.js";
import { $, el, label } from "/static/render.js";

let catalogValues = null; // [{field, value}], the catalog's facet values, read once

async function steerOptions(fields) {
  if (catalogValues) return catalogValues;
  const p = new URLSearchParams({ page: 1, per_page: 1, facet_limit: 30 });
  for (const f of fields) p.append("facet", f);
  const facets = (await api("GET", `/api/products?${p}`)).data.facets || [];
  catalogValues = facets.flatMap((f) => f.buckets.map((b) => ({ field: f.name, value: String(b.value) })));
  return catalogValues;
}

// `query.more` / `query.less` are lists of "field:value"; onChange(more, less) moves the page there.
export async function renderSteer(fields, query, onChange) {
  const box = $("focus-actions");
  if (!box) return;
  const options = await steerOptions(fields.filter((f) => f !== "price"));
  const select = el("select", { id: "steer-value", "aria-label": "Attribute value to steer by" },
    ...options.map((o) => el("option", { value: `${o.field}:${o.value}`, text: `${o.value} (${label(o.field)})` })));
  const add = (key) => () => {
    const v = select.value;
    const more = query.more.filter((x) => x !== v);
    const less = query.less.filter((x) => x !== v);
    (key === "more" ? more : less).push(v);
    onChange(more, less);
  };
  const chosen = [
    ...query.more.map((v) => ["more", v]), ...query.less.map((v) => ["less", v]),
  ].map(([key, v]) => el("li", { class: `chip steer-${key}`, "data-steer": `${key}:${v}` },
    `${key} ${v.slice(v.indexOf(":") + 1)}`,
    el("button", { type: "button", class: "link", "aria-label": `remove ${key} ${v}`, text: "×",
      onclick: () => onChange(query.more.filter((x) => key !== "more" || x !== v),
        query.less.filter((x) => key !== "less" || x !== v)) })));
  box.replaceChildren(el("div", { class: "steer" },
    el("span", { class: "steer-label", text: "Like this, but" }),
    el("button", { id: "steer-more", type: "button", onclick: add("more"), text: "more" }),
    el("button", { id: "steer-less", type: "button", onclick: add("less"), text: "less" }),
    select,
    chosen.length ? el("ul", { class: "chips steer-chosen" }, chosen) : null));
}

// A "why similar?" button on each tile of the grid, explaining it against product `a`.
export function addWhyButtons(a) {
  for (const card of document.querySelectorAll("#grid .card")) {
    const b = card.dataset.id;
    card.querySelector(".body").append(el("button", {
      type: "button", class: "why link", "data-why": b, text: "why similar?",
      onclick: (event) => { event.preventDefault(); event.stopPropagation(); showExplain(a, b); },
    }));
  }
}

function explainPanel() {
  let panel = $("explain");
  if (!panel) {
    panel = el("section", { id: "explain", class: "explain panel", "aria-live": "polite" });
    $("focus").after(panel);
  }
  panel.hidden = false;
  return panel;
}

export function hideExplain() {
  const panel = $("explain");
  if (panel) panel.hidden = true;
}

export async function showExplain(a, b) {
  const panel = explainPanel();
  panel.dataset.state = "loading";
  panel.replaceChildren(el("p", { class: "hint", text: `Working out why ${b} looks like ${a}…` }));
  let data;
  try {
    data = (await api("GET", `/api/products/${encodeURIComponent(a)}/explain/${encodeURIComponent(b)}`)).data;
  } catch (err) {
    panel.dataset.state = "error";
    panel.replaceChildren(el("p", { class: "error", text: err.message }));
    return;
  }
  const shared = Object.entries(data.shared || {});
  panel.replaceChildren(
    el("h2", {}, `Why ${b} looks like ${a} `,
      el("button", { type: "button", class: "link", text: "close", onclick: hideExplain })),
    el("p", {}, "cosine similarity ", el("b", { class: "explain-sim", text: data.similarity.toFixed(3) }),
      data.heatmaps.length ? " · red: the regions the similarity depends on most" : ""),
    shared.length
      ? el("p", { class: "explain-shared" }, "Both: ",
        shared.map(([k, v]) => `${label(k)} ${Array.isArray(v) ? v.join(", ") : v}`).join(" · "))
      : el("p", { class: "explain-shared", text: "They share no attribute value: the likeness is in the pictures." }),
    el("div", { class: "heatmaps" }, data.heatmaps.map((h) => el("figure", { "data-product": h.product },
      el("img", { src: h.png, alt: `heat-map over ${h.product}'s image ${h.image + 1}`, width: 200, height: 200 }),
      el("figcaption", { text: h.product === a ? "this product" : b })))),
    ...(data.notes || []).map((n) => el("p", { class: "hint", text: n })),
  );
  panel.dataset.state = "ready";
}
