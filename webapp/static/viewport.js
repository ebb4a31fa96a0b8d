/* Linli map page: the heavy layers (streets, buildings, service areas, walking times, facilities)
   for the window on screen, from /api/view, redrawn as the planner pans and zooms.  A county's
   layers are never sent whole: the server answers with what shows at the zoom, clipped to the
   window and simplified to half a pixel.  No external requests. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("linli-config").textContent);
  const map = window[config.map];
  const specs = config.dynamic || [];
  const t = config.texts || {};
  if (!map || !specs.length) { window.LINLI_VIEW = { refresh: () => Promise.resolve(), layers: [] }; return; }

  // Panes keep the drawing order whatever arrives first: base map under the service areas,
  // both under the residents' points and the markers.
  function pane(name, z) {
    if (!map.getPane(name)) map.createPane(name).style.zIndex = z;
    return { pane: name, renderer: L.canvas({ pane: name }) };
  }
  const BASE = pane("linliBase", 350);
  const RINGS = pane("linliRings", 390);
  const POINTS = pane("linliPoints", 420);
  // Gap cells under the residents' points: their tooltips never hide a point's.
  const GAPS = pane("linliGaps", 400);
  const texts = config.texts || {};
  // What the page looks at (app.js keeps it): the function, travel profile and budget of the
  // service areas, walking times and gaps.  Facilities keep their own function's group.
  const SCENE_LAYERS = new Set(["rings", "times", "gaps"]);
  function sceneQuery(spec) {
    const scene = window.LINLI_SCENE || {};
    if (!SCENE_LAYERS.has(spec.layer)) return `&function=${encodeURIComponent(spec.function || "")}`;
    let q = `&function=${encodeURIComponent(scene.function || spec.function || "")}`;
    if (scene.profile) q += `&profile=${encodeURIComponent(scene.profile)}`;
    if (scene.budget) q += `&budget=${encodeURIComponent(scene.budget)}`;
    return q;
  }

  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
  }

  // A catalogue text with its {placeholders} filled (the values escaped here).
  function fill(text, values) {
    return String(text).replace(/\{(\w+)\}/g, (m, key) => (key in values ? esc(values[key]) : m));
  }

  function timeColour(spec, minutes) {
    if (minutes === null || minutes === undefined || !isFinite(minutes)) return spec.unreached;
    for (let k = 0; k < spec.limits.length; k++) if (minutes <= spec.limits[k]) return spec.colours[k];
    return spec.colours[spec.colours.length - 1];
  }

  const builders = {
    areas: (spec, data) => L.geoJSON(data, Object.assign({
      interactive: false,
      style: (f) => spec.styles[f.properties.kind] || {},
    }, BASE)),
    roads: (spec, data) => L.geoJSON(data, Object.assign({
      style: (f) => spec.styles[f.properties.cls] || {},
      interactive: true,
      onEachFeature: (f, layer) => {
        if (f.properties.cls !== "path" && f.properties.name) layer.bindTooltip(esc(f.properties.name), { sticky: true });
      },
    }, BASE)),
    rings: (spec, data) => L.geoJSON(data, Object.assign({
      style: (f) => {
        const c = spec.colours[Math.min(f.properties.band, spec.colours.length - 1)];
        return { color: c, weight: 1, fillColor: c, fillOpacity: 0.35 };
      },
      onEachFeature: (f, layer) => layer.bindTooltip(
        `${esc(f.properties.min_from)}-${esc(f.properties.minutes)} ${esc(t.minutes_unit)} · ${esc(f.properties.area_km2)} km²`, { sticky: true }),
    }, RINGS)),
    times: (spec, data) => {
      const features = data.features || [];
      const top = Math.max(1, ...features.map((f) => f.properties.residents || 0));
      return L.geoJSON(data, {
        pointToLayer: (f, latlng) => L.circleMarker(latlng, Object.assign({
          radius: 4 + 8 * Math.sqrt((f.properties.residents || 0) / top),
          weight: 1, color: "#333333", fill: true, fillOpacity: 0.85,
          fillColor: timeColour(spec, f.properties.time_min),
        }, POINTS)),
        onEachFeature: (f, layer) => {
          const p = f.properties;
          const time = p.time_min === null || p.time_min === undefined ? "> 30" : Number(p.time_min).toFixed(1);
          const text = p.count !== undefined
            ? `${fill(t.tip_points, { n: p.count, residents: Math.round(p.residents) })}<br>` +
              fill(t.tip_mean_walk, { time, pct: Math.round(100 * p.time_min_reached) })
            : fill(t.tip_point, { residents: p.residents, time, facility: p.facility });
          layer.bindTooltip(text);
        },
      });
    },
    gaps: (spec, data) => L.geoJSON(data, Object.assign({
      style: (f) => ({ color: spec.colour, weight: f.properties.rank <= 3 ? 3 : 1, fillColor: spec.colour, fillOpacity: 0.15 }),
      onEachFeature: (f, layer) => layer.bindTooltip(texts.gap_tooltip
        .replace("{rank}", esc(f.properties.rank))
        .replace("{uncovered}", Math.round(f.properties.uncovered).toLocaleString())
        .replace("{population}", Math.round(f.properties.population).toLocaleString()), { sticky: true }),
    }, GAPS)),
    facilities: (spec, data) => L.geoJSON(data, {
      pointToLayer: (f, latlng) => ((data.features.length <= 60 || map.getZoom() >= 15) && L.AwesomeMarkers
        ? L.marker(latlng, { icon: L.AwesomeMarkers.icon({ prefix: "fa", markerColor: spec.marker.markerColor, icon: spec.marker.icon }) })
        : L.circleMarker(latlng, Object.assign({ radius: 5, weight: 1, color: "#ffffff", fillColor: spec.colour, fillOpacity: 1 }, POINTS))),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        const kind = t.lang === "en" && p.kind_en ? p.kind_en : p.kind;
        layer.bindTooltip(esc(p.name || t.unnamed));
        layer.bindPopup(`<b>${esc(p.name || t.unnamed)}</b><br>${esc(spec.label)} · ${esc(kind)}<br>` +
          `<span class="linli-src">${esc(t.source)}: ${esc(p.source)}</span>`, { maxWidth: 280 });
      },
    }),
  };

  const entries = specs.map((spec) => {
    const sub = L.layerGroup();
    window[spec.group].addLayer(sub);
    return { spec, sub, controller: null, shown: "" };
  });

  function windowParams() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    return `bbox=${bbox}&zoom=${map.getZoom()}`;
  }

  // Requests in flight; a refresh is done when none is left (a newer window's requests replace
  // older ones, so "done" means the window now on screen is drawn).
  let inflight = 0;
  let waiters = [];
  function settle() {
    if (inflight > 0) return;
    const done = waiters;
    waiters = [];
    for (const resolve of done) resolve();
  }
  function idle() {
    return inflight === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
  }

  async function refreshOne(entry, params) {
    const group = window[entry.spec.group];
    if (!map.hasLayer(group)) return;
    const url = `/api/view/${entry.spec.layer}?${params}${sceneQuery(entry.spec)}`;
    if (url === entry.shown) return;
    if (entry.controller) entry.controller.abort();
    entry.controller = new AbortController();
    inflight += 1;
    try {
      const response = await fetch(url, { credentials: "same-origin", signal: entry.controller.signal });
      if (!response.ok) return;
      const data = await response.json();
      entry.sub.clearLayers();
      entry.sub.addLayer(builders[entry.spec.layer](entry.spec, data));
      entry.shown = url;
    } catch (err) {
      if (err.name !== "AbortError") console.warn("layer", entry.spec.layer, err.message);
    } finally {
      inflight -= 1;
      settle();
    }
  }

  function refresh() {
    const params = windowParams();
    return Promise.all(entries.map((entry) => refreshOne(entry, params))).then(idle);
  }

  let timer = null;
  map.on("moveend", () => { clearTimeout(timer); timer = setTimeout(refresh, 120); });
  map.on("overlayadd", () => refresh());
  window.LINLI_VIEW = { refresh, layers: entries };
})();
