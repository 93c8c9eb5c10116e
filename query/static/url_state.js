// The storefront's state lives in the URL hash, so reload and the back button restore it:
//   #/                      the catalog          #/product/<id>            similar products
//   #/search/<text>         text search          #/search/<text>/like/<id> text with a product's look
//   #/photo                 an uploaded photo (not bookmarkable: the photo is not in the URL)
// followed by ?<query>: page=2, f=color:red (repeatable), sort=price_asc, stock=1, min=10, max=50,
// variants=include, more=pattern:floral / less=style:formal (repeatable; the product page's "like this,
// but ..."), and the advanced options sim=0.6 and mode=exact. Defaults are left out.

export const SORTS = ["relevance", "price_asc", "price_desc"];
export const VARIANTS = ["collapse", "include", "exclude"];
export const MODES = ["auto", "approx", "exact"];

export const DEFAULT_QUERY = Object.freeze({
  page: 1, filters: [], sort: "relevance", inStock: false, priceMin: null, priceMax: null,
  variants: "collapse", minSim: 0, mode: "auto", more: [], less: [],
});

function num(text) {
  if (text === null || text === "") return null;
  const x = Number(text);
  return Number.isFinite(x) ? x : null;
}

function oneOf(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}

export function parseQuery(search) {
  const p = new URLSearchParams(search);
  const filters = [];
  for (const f of p.getAll("f")) {
    const cut = f.indexOf(":");
    if (cut > 0 && cut < f.length - 1) filters.push({ field: f.slice(0, cut), value: f.slice(cut + 1) });
  }
  const page = Math.floor(num(p.get("page")) || 1);
  const minSim = num(p.get("sim"));
  return {
    page: page >= 1 ? page : 1,
    filters,
    sort: oneOf(p.get("sort"), SORTS, DEFAULT_QUERY.sort),
    inStock: p.get("stock") === "1",
    priceMin: num(p.get("min")),
    priceMax: num(p.get("max")),
    variants: oneOf(p.get("variants"), VARIANTS, DEFAULT_QUERY.variants),
    minSim: minSim !== null && minSim > 0 && minSim <= 1 ? minSim : 0,
    mode: oneOf(p.get("mode"), MODES, DEFAULT_QUERY.mode),
    more: p.getAll("more").filter((v) => v.indexOf(":") > 0),
    less: p.getAll("less").filter((v) => v.indexOf(":") > 0),
  };
}

export function queryString(q) {
  const p = new URLSearchParams();
  if (q.page > 1) p.set("page", q.page);
  for (const f of q.filters) p.append("f", `${f.field}:${f.value}`);
  if (q.sort !== DEFAULT_QUERY.sort) p.set("sort", q.sort);
  if (q.inStock) p.set("stock", "1");
  if (q.priceMin !== null) p.set("min", q.priceMin);
  if (q.priceMax !== null) p.set("max", q.priceMax);
  if (q.variants !== DEFAULT_QUERY.variants) p.set("variants", q.variants);
  if (q.minSim > 0) p.set("sim", q.minSim);
  if (q.mode !== DEFAULT_QUERY.mode) p.set("mode", q.mode);
  for (const v of q.more || []) p.append("more", v);
  for (const v of q.less || []) p.append("less", v);
  const s = p.toString();
  return s ? "?" + s : "";
}

// Each part of the path is encoded on its own, so ids and text may hold "/" or "?".
export function parseHash(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/";
  const cut = raw.indexOf("?");
  const path = cut >= 0 ? raw.slice(0, cut) : raw;
  const query = parseQuery(cut >= 0 ? raw.slice(cut + 1) : "");
  const dec = decodeURIComponent;
  let m;
  if ((m = path.match(/^\/product\/([^/]+)$/))) return { view: "product", id: dec(m[1]), query };
  if ((m = path.match(/^\/search\/([^/]+)(?:\/like\/([^/]+))?$/))) {
    return { view: "text", text: dec(m[1]), like: m[2] ? dec(m[2]) : null, query };
  }
  if (path === "/photo") return { view: "photo", query };
  if ((m = path.match(/^\/catalog\/(\d+)$/))) query.page = Math.max(1, Number(m[1])); // the old form
  return { view: "catalog", query };
}

export function toHash(route, query) {
  const enc = encodeURIComponent;
  let path = "/";
  if (route.view === "product") path = `/product/${enc(route.id)}`;
  else if (route.view === "text") path = `/search/${enc(route.text)}` + (route.like ? `/like/${enc(route.like)}` : "");
  else if (route.view === "photo") path = "/photo";
  return "#" + path + queryString(query);
}

// -- what the query asks of the API ------------------------------------------------------

export function priceFilter(q) {
  if (q.priceMin === null && q.priceMax === null) return null;
  return { field: "price", min: q.priceMin, max: q.priceMax };
}

// filter= parameters of the GET routes: field:value (the API reads the same field twice as either value)
export function filterParams(q) {
  const out = q.filters.map((f) => `${f.field}:${f.value}`);
  const price = priceFilter(q);
  if (price) out.push(`price:${price.min ?? ""}..${price.max ?? ""}`);
  return out;
}

// filters of the JSON body: [{field, values}] per field, and the price range
export function filterBodies(q) {
  const byField = new Map();
  for (const f of q.filters) {
    if (!byField.has(f.field)) byField.set(f.field, []);
    byField.get(f.field).push(f.value);
  }
  const out = [...byField.entries()].map(([field, values]) => ({ field, values }));
  const price = priceFilter(q);
  if (price) {
    const range = { field: "price" };
    if (price.min !== null) range.min = price.min;
    if (price.max !== null) range.max = price.max;
    out.push(range);
  }
  return out;
}

export function hasFilter(q, field, value) {
  return q.filters.some((f) => f.field === field && f.value === String(value));
}

export function toggledFilter(q, field, value) {
  const v = String(value);
  const filters = hasFilter(q, field, v)
    ? q.filters.filter((f) => !(f.field === field && f.value === v))
    : [...q.filters, { field, value: v }];
  return { ...q, filters, page: 1 };
}
