/* Linli map page: the project's management grids — the layer with its codes, colours and
   legend, a grid's card, edits (split, merge) with the checks after each, and undo.
   Loaded after app.js; talks to /api/grids.  No external requests. */
(function () {
  "use strict";
  const L_ = window.L;
  const app = window.LINLI;
  if (!app || !app.map) return;
  const map = app.map;
  const t = app.texts;
  const $ = (id) => document.getElementById(id);
  const LABEL_ZOOM = 15;
  // A sequential palette (ColorBrewer YlOrBr), light = few households / low coverage.
  const PALETTE = ["#ffffd4", "#fed98e", "#fe9929", "#d95f0e", "#993404"];

  const grids = {
    data: null,
    layer: null,
    labels: L_.layerGroup(),
    selected: null,
    merging: false,
    breaks: [],
    lastEditMs: null,
  };
  app.grids = grids;
  // Their own pane above the coverage layers (so a click reaches a grid), below the markers.
  if (!map.getPane("linli-grids")) map.createPane("linli-grids").style.zIndex = 450;
  const renderer = L_.svg({ pane: "linli-grids" });

  function esc(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }
  function say(text, kind) {
    const box = $("linli-message");
    if (box) {
      box.textContent = text;
      box.className = kind || "";
    }
  }
  let csrf = null;
  async function api(method, url, body) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") {
      if (!csrf) csrf = (await (await fetch("/api/csrf", { credentials: "same-origin" })).json()).token;
      opts.headers["X-CSRF-Token"] = csrf;
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body || {});
    }
    const response = await fetch(url, opts);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = new Error((data && data.error) || response.statusText);
      err.status = response.status;
      throw err;
    }
    return data;
  }

  const colourBy = () => $("grids-colour").value;
  const pageFunction = () => ($("function-select") ? $("function-select").value : "medical");
  const fmt = (x) => (x == null ? "–" : Math.round(x).toLocaleString(app.lang === "en" ? "en" : "zh-CN"));

  function valueOf(props) {
    return colourBy() === "coverage" ? props["pct_" + pageFunction()] : props.households;
  }
  function classBreaks(values) {
    if (colourBy() === "coverage") return [20, 40, 60, 80];
    const finite = values.filter((v) => v != null);
    const lo = Math.min(...finite), hi = Math.max(...finite);
    const step = (hi - lo) / PALETTE.length || 1;
    return [1, 2, 3, 4].map((k) => Math.round(lo + k * step));
  }
  function colour(value) {
    if (value == null) return "#cccccc";
    let k = 0;
    while (k < grids.breaks.length && value >= grids.breaks[k]) k += 1;
    return PALETTE[k];
  }
  function style(feature) {
    const selected = feature.properties.code === grids.selected;
    return {
      color: selected ? "#08306b" : "#525252",
      weight: selected ? 3 : 1.2,
      fillColor: colour(valueOf(feature.properties)),
      fillOpacity: 0.45,
    };
  }

  function legend() {
    const box = $("grids-legend");
    const title = colourBy() === "coverage" ? t.grids_legend_coverage : t.grids_legend_households;
    const edges = ["", ...grids.breaks.map(String)];
    const rows = PALETTE.map((c, k) => {
      const from = k === 0 ? "<" + grids.breaks[0] : "≥" + edges[k];
      return `<span class="grids-swatch" data-colour="${c}"></span> ${esc(from)}`;
    });
    box.innerHTML = `<strong>${esc(title)}</strong><br>${rows.join("<br>")}`;
    box.querySelectorAll(".grids-swatch").forEach((el) => {
      el.style.display = "inline-block";
      el.style.width = "14px";
      el.style.height = "10px";
      el.style.background = el.dataset.colour;
      el.style.border = "1px solid #525252";
    });
    box.hidden = false;
  }

  function updateLabels() {
    if (!grids.layer) return;
    const show = map.getZoom() >= LABEL_ZOOM;
    if (show && !map.hasLayer(grids.labels)) grids.labels.addTo(map);
    if (!show && map.hasLayer(grids.labels)) map.removeLayer(grids.labels);
  }

  function draw(data) {
    grids.data = data;
    if (grids.layer) map.removeLayer(grids.layer);
    grids.labels.clearLayers();
    const features = data.grids.features;
    grids.breaks = classBreaks(features.map((f) => valueOf(f.properties)));
    grids.layer = L_.geoJSON(data.grids, {
      pane: "linli-grids",
      renderer,
      style,
      onEachFeature: (feature, layer) => {
        layer.on("click", (ev) => {
          L_.DomEvent.stopPropagation(ev);
          pick(feature.properties.code);
        });
      },
    }).addTo(map);
    for (const f of features) {
      const p = f.properties;
      // The grid's own number (the code is its parent's code + this) and its name; the full code on the card.
      const text = p.name ? `${p.number} ${p.name}` : p.number;
      const label = L_.tooltip({ permanent: true, direction: "center", className: "linli-grid-label", interactive: false })
        .setLatLng(p.label_at)
        .setContent(`<span title="${esc(p.code)}">${esc(text)}</span>`);
      label.on("add", () => {
        const el = label.getElement();
        el.style.font = "600 12px sans-serif";
        el.style.padding = "1px 4px";
        el.style.color = "#3f2704";
        el.style.background = "rgba(255,255,255,0.8)";
      });
      label.addTo(grids.labels);
    }
    updateLabels();
    legend();
    checks(data);
    $("grids-undo").disabled = !data.can_undo;
  }

  function checks(data) {
    const box = $("grids-checks");
    const issues = data.issues || [];
    const head = `<strong>${esc(t.grids_checks)}</strong> · ${esc(t.grids_bounds)} ${fmt(data.min_households)}–${fmt(data.max_households)} ${esc(t.grids_unit_households)}`;
    const took = data.edit_ms != null ? `<br><small>${esc(t.grids_edit_ms)} ${data.edit_ms} ms</small>` : "";
    let body;
    if (!issues.length) body = `<p class="grids-ok">${esc(t.grids_checks_ok)}</p>`;
    else {
      body = "<ul>" + issues.map((i) => {
        const text = app.lang === "en" ? `${t["grids_issue_" + i.kind] || t.grids_issue_other}${i.grid ? " · " + i.grid : ""}` : i.message;
        return `<li class="grids-issue grids-${esc(i.severity)}" data-kind="${esc(i.kind)}">${esc(text)}</li>`;
      }).join("") + "</ul>";
    }
    box.innerHTML = head + took + body;
    box.hidden = false;
  }

  async function load() {
    const query = colourBy() === "coverage" ? `?coverage=${encodeURIComponent(pageFunction())}` : "";
    try {
      draw(await api("GET", "/api/grids" + query));
    } catch (err) {
      say(err.message, "error");
    }
  }

  async function pick(code) {
    if (grids.merging && grids.selected && code !== grids.selected) {
      grids.merging = false;
      await change({ op: "merge", grids: [grids.selected, code] });
      return;
    }
    grids.selected = code;
    if (grids.layer) grids.layer.setStyle(style);
    try {
      card(await api("GET", "/api/grids/" + encodeURIComponent(code)));
    } catch (err) {
      say(err.message, "error");
    }
  }

  function card(c) {
    const box = $("grids-card");
    const none = `<em>${esc(t.grids_none)}</em>`;
    const fac = Object.entries(c.facilities)
      .map(([fn, n]) => `${esc(app.functions[fn] || fn)} ${n}`)
      .join(" · ");
    const centres = c.central_households.length ? c.central_households.map(esc).join("、") : none;
    box.innerHTML = `
      <table id="grids-card-table">
        <tr><th>${esc(t.grids_code)}</th><td class="grids-code">${esc(c.code)}</td></tr>
        <tr><th>${esc(t.grids_name)}</th><td>${c.name ? esc(c.name) : none}</td></tr>
        <tr><th>${esc(t.grids_households)}</th><td>${fmt(c.households)} ${esc(t.grids_unit_households)}</td></tr>
        <tr><th>${esc(t.grids_residents)}</th><td>${fmt(c.residents)} ${esc(t.grids_unit_people)}</td></tr>
        <tr><th>${esc(t.grids_facilities)}</th><td>${fac}</td></tr>
        <tr><th>${esc(t.grids_branch)}</th><td>${c.branch ? esc(c.branch) : none}</td></tr>
        <tr><th>${esc(t.grids_member)}</th><td>${c.grid_member ? esc(c.grid_member) : none}</td></tr>
        <tr><th>${esc(t.grids_centre_households)}</th><td>${centres}</td></tr>
      </table>
      <div class="row">
        <button type="button" id="grids-split">${esc(t.grids_split)}</button>
        <button type="button" id="grids-merge">${esc(t.grids_merge)}</button>
      </div>`;
    box.hidden = false;
    $("grids-split").addEventListener("click", () => change({ op: "split", grid: c.code }));
    $("grids-merge").addEventListener("click", () => {
      grids.merging = true;
      say(t.grids_merge_pick, "");
    });
  }

  async function change(op) {
    try {
      const query = colourBy() === "coverage" ? `?coverage=${encodeURIComponent(pageFunction())}` : "";
      const data = await api("POST", "/api/grids/edit" + query, { ...op, version: grids.data.version });
      grids.lastEditMs = data.edit_ms;
      draw(data);
      if (grids.selected && data.grids.features.some((f) => f.properties.code === grids.selected)) pick(grids.selected);
      else $("grids-card").hidden = true;
    } catch (err) {
      say(err.message, "error");
    }
  }

  $("grids-show").style.width = "auto";
  $("grids-show").addEventListener("change", (ev) => {
    if (ev.target.checked) load();
    else {
      if (grids.layer) map.removeLayer(grids.layer);
      map.removeLayer(grids.labels);
      grids.layer = null;
      $("grids-legend").hidden = true;
    }
  });
  $("grids-colour").addEventListener("change", () => { if (grids.layer) load(); });
  if ($("function-select")) $("function-select").addEventListener("change", () => { if (grids.layer && colourBy() === "coverage") load(); });
  $("grids-undo").addEventListener("click", async () => {
    try {
      const query = colourBy() === "coverage" ? `?coverage=${encodeURIComponent(pageFunction())}` : "";
      const data = await api("POST", "/api/grids/undo" + query, {});
      draw(data);
      if (grids.selected && data.grids.features.some((f) => f.properties.code === grids.selected)) pick(grids.selected);
    } catch (err) {
      say(err.message, "error");
    }
  });
  map.on("zoomend", updateLabels);
})();
