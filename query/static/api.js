// The HTTP API (/api/...) as the storefront and /navigate call it: JSON in, JSON or the error sentence out.

export async function api(method, path, body) {
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
    const error = new Error(data && data.error ? data.error : `${resp.status} ${resp.statusText}`);
    error.status = resp.status;
    throw error;
  }
  return { data, totalMs, serverMs: Number(resp.headers.get("X-Response-Time-Ms")) || null };
}

// The index's facet fields (from /api/health), the shopper's first: what a store's sidebar offers.
const PREFERRED_FACETS = ["category", "color", "size", "brand", "pattern", "style", "material"];

export function orderFacets(fields) {
  const rank = (f) => (PREFERRED_FACETS.includes(f) ? PREFERRED_FACETS.indexOf(f) : PREFERRED_FACETS.length);
  return [...fields].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

// Who set an attribute (merchandising provenance, `<attr>_src`): for the advanced view only.
export function isProvenance(name) {
  return /_src$/.test(name);
}
