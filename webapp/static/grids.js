/* Linli map page: the project's management grids — the layer with its codes, colours and
   legend (in the map's legend), a grid's card, edits (split in two or along a drawn line,
   merge, move a shared boundary to a drawn line, move a block to a neighbour) with the checks
   after each, undo, redo and the history of versions with restore.
   Loaded after app.js; talks to /api/grids and follows the scene (function, budget, profile).
   No external requests. */
(function () {
  "use strict";
  const L_ = window.L;
  const app = window.LINLI;
  if (!app || !app.map) return;
  const map = app.map;
  const t = app.texts;
  const $ = (id) => document.getElementById(id);
  // Labels: the grid's number from zoom 14 (a town's grids readable), its name beside it from 16.
  const NUMBER_ZOOM = 14;
  const NAME_ZOOM = 16;
  // A sequential palette (ColorBrewer YlOrBr), light = few households / low coverage.
  const PALETTE = ["#ffffd4", "#fed98e", "#fe9929", "#d95f0e", "#993404"];
  const CHANGED = "#d7301f";

  const grids = {
    data: null,
    layer: null,
    labels: L_.layerGroup(),
    selected: null,
    mode: null, // "merge" | "reassign" | "split-line" | "boundary"
    breaks: [],
    lastEditMs: null,
    line: null,
    linePoints: [],
  };
  app.grids = grids;
  // Colourings other scripts add (h-roster: rosterweb.js): key of #grids-colour -> { value(props),
  // breaks, palette, title, labels } drawn by style() and legend() below.
  grids.colourings = {};
  grids.redraw = () => { if (grids.data && grids.layer) draw(grids.data); };
  // Their own pane above the coverage layers (so a click reaches a grid), below the markers.
  if (!map.getPane("linli-grids")) map.createPane("linli-grids").style.zIndex = 450;
  const renderer = L_.svg({ pane: "linli-grids" });

  const esc = app.esc;
  const say = app.message;
  // Changes send a JSON object (empty when there is nothing to say): the server reads one.
  const api = (method, url, body) => app.api(method, url, method === "GET" ? undefined : body || {});

  // The scene on screen (app.js): its function, budget and profile colour the grids' coverage.
  const scene = () => window.LINLI_SCENE || { function: $("function-select").value, budget: 15, profile: "" };
  const colourBy = () => $("grids-colour").value;
  const fmt = (x) => (x == null ? "–" : Math.round(x).toLocaleString(app.lang === "en" ? "en" : "zh-CN"));
  function query() {
    if (colourBy() !== "coverage") return "";
    const s = scene();
    const q = new URLSearchParams({ coverage: s.function, budget: String(s.budget) });
    if (s.profile) q.set("profile", s.profile);
    return "?" + q.toString();
  }

  const extra = () => grids.colourings[colourBy()] || null;
  function valueOf(props) {
    if (extra()) return extra().value(props);
    if (colourBy() === "coverage") return props["pct_" + scene().function];
    if (colourBy() === "party") return props.party_households;
    return props.households;
  }
  function classBreaks(values) {
    if (extra()) return extra().breaks;
    if (colourBy() === "coverage") return [20, 40, 60, 80];
    if (colourBy() === "party") return [1, 2, 4, 8];
    const finite = values.filter((v) => v != null);
    const lo = Math.min(...finite), hi = Math.max(...finite);
    const step = (hi - lo) / PALETTE.length || 1;
    return [1, 2, 3, 4].map((k) => Math.round(lo + k * step));
  }
  function colour(value) {
    if (value == null) return "#cccccc";
    let k = 0;
    while (k < grids.breaks.length && value >= grids.breaks[k]) k += 1;
    return ((extra() && extra().palette) || PALETTE)[k];
  }
  function style(feature) {
    const code = feature.properties.code;
    const selected = code === grids.selected;
    const changed = grids.data && grids.data.changed && grids.data.changed.grids.includes(code);
    return {
      color: selected ? "#08306b" : changed ? CHANGED : "#525252",
      weight: selected ? 3 : changed ? 2.5 : 1.2,
      dashArray: changed && !selected ? "6 3" : null,
      fillColor: colour(valueOf(feature.properties)),
      fillOpacity: 0.45,
    };
  }

  // The legend of the grids' colours, in the map's legend (shown while the grids are).
  function legendBlock() {
    let block = $("legend-block-grids");
    const legend = $("linli-legend");
    if (!block && legend) {
      block = document.createElement("div");
      block.id = "legend-block-grids";
      block.dataset.layer = "grids";
      legend.insertBefore(block, $("legend-note"));
    }
    return block;
  }
  function legend() {
    const block = legendBlock();
    if (!block) return;
    const s = scene();
    let title = t.grids_legend_households;
    if (colourBy() === "coverage") {
      title = `${t.grids_legend_coverage} · ${app.functions[s.function] || s.function} ${s.budget} ${t.minutes_unit}`;
    } else if (colourBy() === "party") title = t.gw_legend_party;
    const edges = ["", ...grids.breaks.map(String)];
    const own = extra();
    if (own) title = own.title;
    const rows = ((own && own.palette) || PALETTE).map((c, k) => {
      if (own) return `<div><span class="swatch" data-colour="${c}"></span>${esc(own.labels[k])}</div>`;
      const from = k === 0 ? "<" + grids.breaks[0] : "≥" + edges[k];
      return `<div><span class="swatch" data-colour="${c}"></span>${esc(from)}</div>`;
    });
    block.innerHTML = `<div class="linli-legend-title">${esc(title)}</div>${rows.join("")}`;
    block.querySelectorAll(".swatch").forEach((el) => {
      el.style.background = el.dataset.colour;
      el.style.opacity = "0.7";
      el.style.outline = "1px solid #525252";
    });
    block.hidden = false;
  }

  function updateLabels() {
    if (!grids.layer) return;
    const zoom = map.getZoom();
    const show = zoom >= NUMBER_ZOOM;
    if (show && !map.hasLayer(grids.labels)) grids.labels.addTo(map);
    if (!show && map.hasLayer(grids.labels)) map.removeLayer(grids.labels);
    for (const el of document.querySelectorAll(".linli-grid-label .gw-name")) el.hidden = zoom < NAME_ZOOM;
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
          if (drawing()) addPoint(ev);
          else pick(feature.properties.code, ev.latlng);
        });
        layer.on("dblclick", (ev) => {
          if (!drawing()) return;
          L_.DomEvent.stopPropagation(ev);
          finishLine();
        });
      },
    }).addTo(map);
    for (const f of features) {
      const p = f.properties;
      // The grid's own number (the code is its parent's code + this); its name from NAME_ZOOM; the full code on hover.
      const name = p.name ? `<span class="gw-name"> ${esc(p.name)}</span>` : "";
      const label = L_.tooltip({ permanent: true, direction: "center", className: "linli-grid-label", interactive: false })
        .setLatLng(p.label_at)
        .setContent(`<span title="${esc(p.code)}">${esc(p.number)}${name}</span>`);
      label.on("add", () => {
        const el = label.getElement();
        el.style.font = "600 12px sans-serif";
        el.style.padding = "1px 4px";
        el.style.color = "#3f2704";
        el.style.background = "rgba(255,255,255,0.8)";
        const nm = el.querySelector(".gw-name");
        if (nm) nm.hidden = map.getZoom() < NAME_ZOOM;
      });
      label.addTo(grids.labels);
    }
    updateLabels();
    legend();
    checks(data);
    $("grids-undo").disabled = !data.can_undo;
    $("grids-redo").disabled = !data.can_redo;
    if (!$("grids-history").hidden) history();
    document.dispatchEvent(new CustomEvent("linli:grids", { detail: data })); // h-micro: the micro-grid level follows
  }

  function issueText(i) {
    if (app.lang !== "en") return i.message;
    if (i.kind === "codes_kept") return `${(i.message.match(/^\d+/) || ["0"])[0]} ${t.gw_issue_codes_kept}`;
    const label = t["grids_issue_" + i.kind] || t["gw_issue_" + i.kind] || t.grids_issue_other;
    return `${label}${i.grid ? " · " + i.grid : ""}${i.parent ? " · " + i.parent : ""}`;
  }

  // The checks after every edit: the level's bounds, what the edit changed, every issue and
  // code stability (untouched grids keep their codes).
  function checks(data) {
    const box = $("grids-checks");
    const issues = data.issues || [];
    const head = `<strong>${esc(t.grids_checks)}</strong> · ${esc(t.grids_bounds)} ${fmt(data.min_households)}–${fmt(data.max_households)} ${esc(t.grids_unit_households)}`;
    const level = `<br><small>${esc(t.gw_level)} · ${esc(t.gw_version)} ${data.version}</small>`;
    const took = data.edit_ms != null ? `<br><small>${esc(t.grids_edit_ms)} ${data.edit_ms} ms</small>` : "";
    const changed = data.changed
      ? `<br><small class="grids-changed">${esc(t.gw_changed)}: ${data.changed.grids.map(esc).join(", ") || "–"}</small>`
      : "";
    const problems = issues.filter((i) => i.severity !== "info");
    const notes = issues.filter((i) => i.severity === "info");
    let body = "";
    if (!problems.length) body = `<p class="grids-ok">${esc(t.grids_checks_ok)}</p>`;
    const all = [...problems, ...notes];
    if (all.length) {
      body += "<ul>" + all.map((i) =>
        `<li class="grids-issue grids-${esc(i.severity)}" data-kind="${esc(i.kind)}">${esc(issueText(i))}</li>`).join("") + "</ul>";
    }
    box.innerHTML = head + level + took + changed + body;
    box.hidden = false;
  }

  async function load() {
    try {
      draw(await api("GET", "/api/grids" + query()));
    } catch (err) {
      say(err.message, "error");
    }
  }

  async function pick(code, latlng) {
    if (grids.mode === "merge" && grids.selected && code !== grids.selected) {
      grids.mode = null;
      await change({ op: "merge", grids: [grids.selected, code] });
      return;
    }
    if (grids.mode === "reassign" && grids.selected && code !== grids.selected) {
      grids.mode = null;
      await change({ op: "move", at: [latlng.lng, latlng.lat], to: grids.selected });
      return;
    }
    grids.mode = null;
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
        <button type="button" id="grids-split-line">${esc(t.gw_split_line)}</button>
        <button type="button" id="grids-merge">${esc(t.grids_merge)}</button>
      </div>
      <div class="row">
        <button type="button" id="grids-boundary">${esc(t.gw_boundary)}</button>
        <button type="button" id="grids-reassign">${esc(t.gw_reassign)}</button>
      </div>`;
    box.hidden = false;
    $("grids-split").addEventListener("click", () => change({ op: "split", grid: c.code }));
    $("grids-merge").addEventListener("click", () => {
      grids.mode = "merge";
      say(t.grids_merge_pick, "");
    });
    $("grids-reassign").addEventListener("click", () => {
      grids.mode = "reassign";
      say(t.gw_reassign_pick, "");
    });
    $("grids-split-line").addEventListener("click", () => startLine("split-line"));
    $("grids-boundary").addEventListener("click", () => startLine("boundary"));
    document.dispatchEvent(new CustomEvent("linli:grid-card", { detail: c })); // h-roster: the grid's roster
  }

  // ------------------------------------------------------------- drawing a line
  const drawing = () => grids.mode === "split-line" || grids.mode === "boundary";
  function startLine(kind) {
    endLine();
    grids.mode = kind;
    grids.linePoints = [];
    grids.line = L_.polyline([], { color: "#08306b", weight: 3, dashArray: "8 4", interactive: false }).addTo(map);
    map.doubleClickZoom.disable();
    map.getContainer().style.cursor = "crosshair";
    $("grids-drawing").hidden = false;
    say(t.gw_draw_hint, "");
  }
  function addPoint(ev) {
    if (!drawing()) return;
    const last = grids.linePoints[grids.linePoints.length - 1];
    if (last && map.latLngToContainerPoint(last).distanceTo(map.latLngToContainerPoint(ev.latlng)) < 3) return;
    grids.linePoints.push(ev.latlng);
    grids.line.setLatLngs(grids.linePoints);
  }
  function endLine() {
    if (grids.line) map.removeLayer(grids.line);
    grids.line = null;
    if (drawing()) grids.mode = null;
    map.doubleClickZoom.enable();
    map.getContainer().style.cursor = "";
    $("grids-drawing").hidden = true;
  }
  async function finishLine() {
    if (!drawing()) return;
    const kind = grids.mode;
    const line = grids.linePoints.map((ll) => [ll.lng, ll.lat]);
    endLine();
    if (line.length < 2 || !grids.selected) return;
    if (kind === "split-line") await change({ op: "split", grid: grids.selected, line });
    else await change({ op: "boundary", grids: [grids.selected], line });
  }
  map.on("click", addPoint);
  map.on("dblclick", () => { if (drawing()) finishLine(); });
  $("grids-draw-finish").addEventListener("click", finishLine);
  $("grids-draw-cancel").addEventListener("click", endLine);
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && drawing()) endLine(); });

  // ------------------------------------------------------------- edits
  async function afterEdit(data) {
    grids.lastEditMs = data.edit_ms;
    draw(data);
    if (grids.selected && data.grids.features.some((f) => f.properties.code === grids.selected)) pick(grids.selected);
    else $("grids-card").hidden = true;
    say("", "");
  }
  // A stale edit (someone else's came first): the latest grids, and what changed since.
  async function conflict(err) {
    const since = (err.data && err.data.conflict) || [];
    const lines = since.map((v) => `v${v.version} ${v.user} ${v.at} ${app.lang === "en" ? v.op.op : v.summary}`);
    await load();
    say(`${t.gw_conflict} ${lines.join("; ")}`, "error");
  }
  async function post(url, body) {
    try {
      await afterEdit(await api("POST", url + query(), { ...body, version: grids.data.version }));
    } catch (err) {
      if (err.status === 409) await conflict(err);
      else say(err.message, "error");
    }
  }
  const change = (op) => post("/api/grids/edit", op);

  async function history() {
    const box = $("grids-history");
    try {
      const data = await api("GET", "/api/grids/history?limit=50");
      box.innerHTML = `<strong>${esc(t.gw_history)}</strong><ol reversed>` + data.versions.map((v) => {
        const what = app.lang === "en" ? v.op.op : v.summary;
        const now = v.version === data.version;
        const button = now ? ` <em>(${esc(t.gw_current)})</em>` : ` <button type="button" class="grids-restore" data-version="${v.version}">${esc(t.gw_restore)}</button>`;
        return `<li data-version="${v.version}">v${v.version} · ${esc(v.user)} · ${esc((v.at || "").replace("T", " ").slice(0, 16))} · ${esc(what)}${button}</li>`;
      }).join("") + "</ol>";
      box.hidden = false;
    } catch (err) {
      say(err.message, "error");
    }
  }
  $("grids-history").addEventListener("click", (ev) => {
    const button = ev.target.closest(".grids-restore");
    if (button) post("/api/grids/restore", { to: Number(button.dataset.version) });
  });
  $("grids-history-show").addEventListener("click", () => {
    if ($("grids-history").hidden) history();
    else $("grids-history").hidden = true;
  });

  $("grids-show").style.width = "auto";
  $("grids-show").addEventListener("change", (ev) => {
    if (ev.target.checked) load();
    else {
      endLine();
      if (grids.layer) map.removeLayer(grids.layer);
      map.removeLayer(grids.labels);
      grids.layer = null;
      if ($("legend-block-grids")) $("legend-block-grids").hidden = true;
    }
  });
  $("grids-colour").addEventListener("change", () => { if (grids.layer) load(); });
  // The scene changed (function, budget or profile; app.js applyScene): coverage follows it.
  document.addEventListener("linli:scene", () => { if (grids.layer && colourBy() === "coverage") load(); });
  $("grids-undo").addEventListener("click", () => post("/api/grids/undo", {}));
  $("grids-redo").addEventListener("click", () => post("/api/grids/redo", {}));
  map.on("zoomend", updateLabels);
})();
