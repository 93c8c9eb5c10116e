// The catalog map tab: every product (or a sample of a large catalog) as a dot placed by visual
// similarity (t-SNE, computed by the server once per index version), coloured by cluster or by
// whether it has an attribute. Wheel or buttons zoom, drag pans, hover shows the thumbnail,
// thumbnails are drawn when zoomed in far enough, a click opens the product's panel.
"use strict";
(() => {
  const canvas = $("#map-canvas"), ctx = canvas.getContext("2d"), tip = $("#map-tip"), pick = $("#map-pick");
  const S = {data: null, attr: "", view: {k: 1, tx: 0, ty: 0}, hover: -1, picked: -1, thumbs: new Map(), drag: null};
  const PAD = 24, THUMB_ZOOM = 5, THUMB_MAX = 150;
  const MISSING = "#d9534f", PRESENT = "#2f8f5b", NONE = "#b9b9c0";
  const clusterColour = (c) => (c < 0 ? NONE : `hsl(${(c * 137.508) % 360}, 62%, 48%)`);
  const colour = (p) => (S.data.attribute ? (p[4] ? PRESENT : MISSING) : clusterColour(p[3]));

  function size() {
    const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(r.width * dpr); canvas.height = Math.round(r.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return r;
  }
  // data (0..1) -> CSS pixels of the canvas
  function frame() {
    const r = canvas.getBoundingClientRect(), side = Math.min(r.width, r.height) - 2 * PAD;
    return {side, ox: (r.width - side) / 2, oy: (r.height - side) / 2};
  }
  function toScreen(px, py) {
    const f = frame(), v = S.view;
    return [f.ox + px * f.side * v.k + v.tx, f.oy + py * f.side * v.k + v.ty];
  }
  window.mapPoint = (i) => { const p = S.data.points[i]; const [x, y] = toScreen(p[1], p[2]); return {id: p[0], x, y}; };

  function draw() {
    if (!S.data) return;
    const r = size();
    ctx.clearRect(0, 0, r.width, r.height);
    const pts = S.data.points, dot = Math.max(2, Math.min(6, 2.2 * Math.sqrt(S.view.k)));
    const visible = [];
    for (let i = 0; i < pts.length; i++) {
      const [x, y] = toScreen(pts[i][1], pts[i][2]);
      if (x < -10 || y < -10 || x > r.width + 10 || y > r.height + 10) continue;
      visible.push(i);
      ctx.fillStyle = colour(pts[i]);
      ctx.beginPath(); ctx.arc(x, y, dot, 0, 6.2832); ctx.fill();
    }
    if (S.view.k >= THUMB_ZOOM && visible.length <= THUMB_MAX) {
      const t = Math.min(64, 14 * Math.sqrt(S.view.k));
      for (const i of visible) {
        const im = thumb(pts[i][0]);
        if (!im.complete || !im.naturalWidth) continue;
        const [x, y] = toScreen(pts[i][1], pts[i][2]);
        ctx.fillStyle = "#fff"; ctx.fillRect(x - t / 2 - 1, y - t / 2 - 1, t + 2, t + 2);
        ctx.drawImage(im, x - t / 2, y - t / 2, t, t);
        ctx.strokeStyle = colour(pts[i]); ctx.lineWidth = 2; ctx.strokeRect(x - t / 2 - 1, y - t / 2 - 1, t + 2, t + 2);
      }
    }
    for (const i of [S.hover, S.picked]) {
      if (i < 0) continue;
      const [x, y] = toScreen(pts[i][1], pts[i][2]);
      ctx.strokeStyle = "#17171a"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.arc(x, y, dot + 4, 0, 6.2832); ctx.stroke();
    }
    canvas.dataset.drawn = String(visible.length);
  }
  function thumb(id) {
    let im = S.thumbs.get(id);
    if (!im) { im = new Image(); im.onload = () => requestAnimationFrame(draw); im.src = img(id); S.thumbs.set(id, im); }
    return im;
  }
  function nearest(cx, cy) {
    if (!S.data) return -1;
    let best = -1, bd = 12 * 12;
    S.data.points.forEach((p, i) => {
      const [x, y] = toScreen(p[1], p[2]), d = (x - cx) ** 2 + (y - cy) ** 2;
      if (d < bd) { bd = d; best = i; }
    });
    return best;
  }
  const local = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };

  canvas.addEventListener("mousemove", (e) => {
    const [cx, cy] = local(e);
    if (S.drag) {
      const dx = cx - S.drag[0], dy = cy - S.drag[1];
      S.drag = [cx, cy, S.drag[2] || Math.abs(dx) + Math.abs(dy) > 3];
      S.view.tx += dx; S.view.ty += dy; draw(); return;
    }
    const i = nearest(cx, cy);
    if (i !== S.hover) { S.hover = i; draw(); }
    if (i < 0) { tip.hidden = true; return; }
    const p = S.data.points[i];
    tip.innerHTML = `<img src="${img(p[0])}" alt=""><div><b>${esc(p[5] || p[0])}</b></div>
      <div class="hint">${p[3] >= 0 ? "cluster " + p[3] : "no cluster"}${S.data.attribute ? ` · ${esc(S.data.attribute)} ${p[4] ? "present" : "missing"}` : ""}</div>`;
    tip.style.left = Math.min(cx + 14, canvas.clientWidth - 160) + "px";
    tip.style.top = Math.min(cy + 14, canvas.clientHeight - 200) + "px";
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; S.hover = -1; S.drag = null; draw(); });
  canvas.addEventListener("mousedown", (e) => { S.drag = [...local(e), false]; });
  canvas.addEventListener("mouseup", (e) => {
    const moved = S.drag && S.drag[2]; S.drag = null;
    if (moved) return;
    const i = nearest(...local(e));
    if (i >= 0) openPoint(i);
  });
  // zoom about a point: the data under the cursor stays under it
  function zoomAt(cx, cy, f) {
    const v = S.view, k = Math.max(1, Math.min(40, v.k * f)), fr = frame();
    const dx = (cx - fr.ox - v.tx) / (fr.side * v.k), dy = (cy - fr.oy - v.ty) / (fr.side * v.k);
    v.tx = cx - fr.ox - dx * fr.side * k; v.ty = cy - fr.oy - dy * fr.side * k; v.k = k;
    if (k === 1) { v.tx = 0; v.ty = 0; }
    draw();
  }
  window.mapZoom = zoomAt;
  canvas.addEventListener("wheel", (e) => { e.preventDefault(); zoomAt(...local(e), e.deltaY < 0 ? 1.25 : 0.8); }, {passive: false});
  $("#map-reset").addEventListener("click", () => { S.view = {k: 1, tx: 0, ty: 0}; draw(); });
  window.addEventListener("resize", draw);

  function openPoint(i) {
    S.picked = i; draw();
    const p = S.data.points[i];
    pick.innerHTML = `<img src="${img(p[0])}" alt="${esc(p[5] || p[0])}">
      <div class="title"><b>${esc(p[5] || p[0])}</b></div><div class="hint"><code>${esc(p[0])}</code></div>
      <div class="hint">${p[3] >= 0 ? "cluster " + p[3] : "in no cluster (build clusters)"}${S.data.attribute ? ` · ${esc(S.data.attribute)} ${p[4] ? "present" : "missing"}` : ""}</div>
      <div class="m-row">
        <a class="m-btn" id="map-open" href="/#/product/${encodeURIComponent(p[0])}" target="_blank">Open product</a>
        ${p[3] >= 0 ? `<button class="m-btn" id="map-cluster">Cluster ${p[3]} members</button>` : ""}
        <button class="m-btn" id="map-example">Use as example</button>
        <button class="link" id="map-unpick">close</button>
      </div>`;
    pick.hidden = false;
    pick.dataset.id = p[0];
    const c = $("#map-cluster");
    if (c) c.onclick = () => { setHash({tab: "clusters", cluster: p[3], mpage: 1}); route(); };
    $("#map-example").onclick = () => { $("#p-like").value = ($("#p-like").value + " " + p[0]).trim(); setHash({tab: "propagate"}); route(); };
    $("#map-unpick").onclick = () => { pick.hidden = true; S.picked = -1; draw(); };
  }

  function legend() {
    const d = S.data;
    if (d.attribute) {
      $("#map-legend").innerHTML = `<span style="--c:${PRESENT}">${esc(d.attribute)} present (${d.shown - d.missing})</span>
        <span style="--c:${MISSING}">missing (${d.missing})</span>`;
    } else {
      const ids = [...new Set(d.points.map((p) => p[3]))].sort((a, b) => a - b);
      $("#map-legend").innerHTML = ids.map((c) => `<span style="--c:${clusterColour(c)}">${c < 0 ? "no cluster" : "cluster " + c}</span>`).join("")
        + (ids.length === 1 && ids[0] < 0 ? ` <span class="hint">Build clusters (Clusters tab) to colour the map by cluster.</span>` : "");
    }
  }
  async function loadMap() {
    if (!M.signedIn) { status("Sign in with your merchandiser token to see the catalog map."); return; }
    const attr = $("#map-colour").value;
    if (!S.data) $("#map-info").textContent = "laying out the catalog (once per index version; the first time takes a while) ...";
    const d = await quiet(api("GET", "/api/merch/map" + (attr ? `?attribute=${encodeURIComponent(attr)}` : "")));
    if (!d) return;
    S.data = d; S.hover = S.picked = -1; pick.hidden = true;
    const sel = $("#map-colour");
    if (sel.options.length !== d.attributes.length + 1) {
      sel.innerHTML = `<option value="">cluster</option>` + d.attributes.map((a) => `<option value="${esc(a)}">${esc(a)}: present / missing</option>`).join("");
      sel.value = attr;
    }
    $("#map-info").textContent = (d.sampled ? `${d.shown.toLocaleString()} of ${d.with_vector.toLocaleString()} products (a seeded sample)` : `${d.shown.toLocaleString()} products`)
      + ` laid out by visual similarity (${d.method}), ${when(d.created)}. Wheel to zoom, drag to pan, click a dot to open it.`;
    legend(); draw();
  }
  $("#map-colour").addEventListener("change", loadMap);
  window.loadMap = loadMap;
})();
