/* Linli map page (h-micro, issue 20): the micro-grid level (微网格/网点) of the grids panel —
   generated in the page from the current grids, drawn as thin outlines inside the grids,
   coloured by households against the micro-grid floor and ceiling, codes as labels at high
   zoom, a card on click, edits (split, split along a line, merge, move a boundary, move a
   plot) with the checks after each, undo and redo, and the re-derivation of the micro-grids
   of grids that were edited. Loaded after grids.js; talks to /api/grids/micro. */
(function () {
  "use strict";
  const L_ = window.L;
  const app = window.LINLI;
  if (!app || !app.map || !document.getElementById("mg-level")) return;
  const map = app.map;
  const t = app.texts;
  const $ = (id) => document.getElementById(id);
  // Codes from zoom 17 (a few buildings on screen), where a micro-grid is large enough to label.
  const LABEL_ZOOM = 17;
  const PALETTE = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"];
  const FLAGGED = "#d7301f";
  const NESTING = ["crosses_parent", "not_nested"];

  const mg = { data: null, layer: null, labels: L_.layerGroup(), selected: null, mode: null, line: null, points: [] };
  app.micro = mg;
  if (!map.getPane("linli-micro")) map.createPane("linli-micro").style.zIndex = 455;
  const renderer = L_.svg({ pane: "linli-micro" });

  const esc = app.esc;
  const say = app.message;
  // Changes send a JSON object (empty when there is nothing to say): the server reads one.
  const api = (method, url, body) => app.api(method, url, method === "GET" ? undefined : body || {});
  const fmt = (x) => (x == null ? "–" : Math.round(x).toLocaleString(app.lang === "en" ? "en" : "zh-CN"));

  // Five classes: below the floor, three within the bounds, above the ceiling.
  function breaks(data) {
    const lo = data.min_households, hi = data.max_households;
    return [lo, lo + (hi - lo) / 3, lo + (2 * (hi - lo)) / 3, hi + 1e-6];
  }
  function colour(value) {
    let k = 0;
    const b = breaks(mg.data);
    while (k < b.length && value >= b[k]) k += 1;
    return PALETTE[k];
  }
  const flagged = (p) => (p.flags || "").split(",").some((f) => NESTING.includes(f));
  function style(feature) {
    const p = feature.properties;
    const selected = p.code === mg.selected;
    const changed = mg.data && mg.data.changed && mg.data.changed.grids.includes(p.code);
    return {
      color: selected ? "#08306b" : flagged(p) ? FLAGGED : changed ? "#e6550d" : "#54278f",
      weight: selected ? 2.5 : flagged(p) || changed ? 1.8 : 0.9,
      dashArray: flagged(p) ? "4 3" : null,
      fillColor: fillOf(p), // h-micro3: by households, coverage or roster presence
      fillOpacity: 0.55,
    };
  }

  function updateLabels() {
    const show = mg.layer && map.getZoom() >= LABEL_ZOOM;
    if (show && !map.hasLayer(mg.labels)) mg.labels.addTo(map);
    if (!show && map.hasLayer(mg.labels)) map.removeLayer(mg.labels);
  }

  function clear() {
    endLine();
    if ($("legend-block-micro")) $("legend-block-micro").hidden = true;
    if (mg.layer) map.removeLayer(mg.layer);
    mg.layer = null;
    mg.labels.clearLayers();
    map.removeLayer(mg.labels);
  }

  // At the micro level the grids stay as outlines only (their fill would hide the micro-grids'),
  // drawn thicker than the micro-grids' so the nesting reads; their own colours come back with the grid level.
  function gridsAsOutlines() {
    const g = app.grids;
    if (g && g.layer) g.layer.setStyle({ fillOpacity: 0.04, weight: 2.8, color: "#252525", dashArray: null });
  }

  // The micro-grids' colours in the map's legend (in place of the grids' while this level is shown).
  function legend(data) {
    const legendBox = $("linli-legend");
    let block = $("legend-block-micro");
    if (!block && legendBox) {
      block = document.createElement("div");
      block.id = "legend-block-micro";
      legendBox.insertBefore(block, legendBox.querySelector(".linli-legend-note"));
    }
    if (!block) return;
    const b = breaks(data).map((x) => fmt(x));
    let title = t.mg_legend;
    let rows = PALETTE.map((c, k) => {
      const from = k === 0 ? `<${b[0]}` : k === PALETTE.length - 1 ? `>${b[3]}` : `${b[k - 1]}–${b[k]}`;
      return `<div><span class="swatch" data-colour="${c}"></span>${esc(from)}</div>`;
    });
    const own = m3Legend(); // h-micro3: the coverage or roster colouring's own entry
    if (own) [title, rows] = own;
    block.dataset.colouring = colourMode();
    block.innerHTML = `<div class="linli-legend-title">${esc(title)}</div>${rows.join("")}`;
    block.querySelectorAll(".swatch").forEach((el) => {
      el.style.background = el.dataset.colour;
      el.style.outline = "1px solid #54278f";
    });
    block.hidden = false;
    if ($("legend-block-grids")) $("legend-block-grids").hidden = true;
  }

  function draw(data) {
    mg.data = data;
    m3Bounds(data, true);
    $("m3-reset-row").hidden = true;
    clear();
    gridsAsOutlines();
    legend(data);
    $("mg-undo").disabled = !data.can_undo;
    $("mg-redo").disabled = !data.can_redo;
    if (!$("mg-history").hidden) history();
    $("mg-generate").textContent = t.mg_regenerate;
    mg.layer = L_.geoJSON(data.grids, {
      pane: "linli-micro",
      renderer,
      style,
      onEachFeature: (feature, layer) => {
        layer.on("click", (ev) => {
          L_.DomEvent.stopPropagation(ev);
          if (drawing()) addPoint(ev);
          else pick(feature.properties.code, ev.latlng);
        });
      },
    }).addTo(map);
    for (const f of data.grids.features) {
      const label = L_.tooltip({ permanent: true, direction: "center", className: "mg-label", interactive: false })
        .setLatLng(f.properties.label_at)
        .setContent(esc(f.properties.code));
      label.on("add", () => {
        const el = label.getElement();
        el.style.font = "10px sans-serif";
        el.style.padding = "0 2px";
        el.style.color = "#3f007d";
        el.style.background = "rgba(255,255,255,0.75)";
      });
      label.addTo(mg.labels);
    }
    updateLabels();
    checks(data);
    const stale = data.stale_grids || [];
    $("mg-stale").hidden = !stale.length;
    $("mg-stale-text").textContent = `${t.mg_stale} ${stale.join("、")}`;
  }

  function issueText(i) {
    if (app.lang !== "en") return i.message;
    const label = t["mg_issue_" + i.kind] || t["grids_issue_" + i.kind] || t["gw_issue_" + i.kind] || t.grids_issue_other;
    return `${label}${i.grid ? " · " + i.grid : ""}${i.parent ? " · " + i.parent : ""}`;
  }
  function checks(data) {
    const box = $("mg-checks");
    const issues = data.issues || [];
    const problems = issues.filter((i) => i.severity !== "info");
    const notes = issues.filter((i) => i.severity === "info");
    const head = `<strong>${esc(t.mg_checks)}</strong> · ${esc(t.mg_count)} ${data.grids.features.length} · ${esc(t.grids_bounds)} ${fmt(data.min_households)}–${fmt(data.max_households)} ${esc(t.grids_unit_households)}`;
    const version = `<br><small>${esc(t.gw_version)} ${data.version}</small>`;
    const took = data.edit_ms != null ? `<br><small>${esc(t.grids_edit_ms)} ${data.edit_ms} ms</small>` : "";
    const changed = data.changed
      ? `<br><small class="grids-changed">${esc(t.gw_changed)}: ${data.changed.grids.map(esc).join(", ") || "–"}</small>`
      : "";
    let body = problems.length ? "" : `<p class="grids-ok">${esc(t.grids_checks_ok)}</p>`;
    const all = [...problems, ...notes];
    if (all.length) {
      body += "<ul>" + all.slice(0, 60).map((i) =>
        `<li class="grids-issue grids-${esc(i.severity)}" data-kind="${esc(i.kind)}">${esc(issueText(i))}</li>`).join("") + "</ul>";
    }
    box.innerHTML = head + version + took + changed + body;
    box.hidden = false;
  }

  async function load() {
    try {
      const data = await api("GET", "/api/grids/micro" + query());
      if (!data.grids) {
        clear();
        mg.data = null;
        m3Bounds(data, false);
        m3.staleVersion = data.stale_blocks ? data.version : null;
        $("m3-reset-row").hidden = !data.stale_blocks; // h-micro3: the blocks were made again
        $("m3-reset-text").textContent = data.stale_blocks ? data.error : "";
        $("mg-generate").textContent = t.mg_generate;
        $("mg-checks").innerHTML = `<em>${esc(data.stale_blocks ? data.error : t.mg_none)}</em>`;
        $("mg-checks").hidden = false;
        $("mg-stale").hidden = true;
        return;
      }
      if (colourMode() === "roster") await m3LoadRoster();
      draw(data);
    } catch (err) {
      say(err.message, "error");
    }
  }

  async function pick(code, latlng) {
    if (mg.mode === "merge" && mg.selected && code !== mg.selected) {
      mg.mode = null;
      await change({ op: "merge", grids: [mg.selected, code] });
      return;
    }
    if (mg.mode === "reassign" && mg.selected && code !== mg.selected) {
      mg.mode = null;
      await change({ op: "move", at: [latlng.lng, latlng.lat], to: mg.selected });
      return;
    }
    mg.mode = null;
    mg.selected = code;
    if (mg.layer) mg.layer.setStyle(style);
    try {
      card(await api("GET", "/api/grids/micro/card/" + encodeURIComponent(code)));
    } catch (err) {
      say(err.message, "error");
    }
  }

  function card(c) {
    const box = $("mg-card");
    const none = `<em>${esc(t.grids_none)}</em>`;
    const parent = c.parent_name ? `${esc(c.parent)} ${esc(c.parent_name)}` : esc(c.parent);
    box.innerHTML = `
      <table id="mg-card-table">
        <tr><th>${esc(t.mg_code)}</th><td class="mg-code">${esc(c.code)}</td></tr>
        <tr><th>${esc(t.grids_name)}</th><td>${c.name ? esc(c.name) : none}</td></tr>
        <tr><th>${esc(t.grids_households)}</th><td>${fmt(c.households)} ${esc(t.grids_unit_households)}</td></tr>
        <tr><th>${esc(t.grids_residents)}</th><td>${fmt(c.residents)} ${esc(t.grids_unit_people)}</td></tr>
        <tr><th>${esc(t.mg_plots)}</th><td>${c.units}</td></tr>
        <tr><th>${esc(t.mg_parent)}</th><td class="mg-parent">${parent}</td></tr>
        <tr><th>${esc(t.grids_member)}</th><td class="m3-grid-member">${c.grid_member ? esc(c.grid_member) : none}</td></tr>
        <tr><th>${esc(t.m3_building_head)}</th><td class="m3-building-head">${c.building_head ? esc(c.building_head) : none}</td></tr>
      </table>
      ${c.can_edit ? m3EditBlock(c) : ""}
      <div class="row">
        <button type="button" id="mg-split">${esc(t.grids_split)}</button>
        <button type="button" id="mg-split-line">${esc(t.gw_split_line)}</button>
        <button type="button" id="mg-merge">${esc(t.mg_merge)}</button>
      </div>
      <div class="row">
        <button type="button" id="mg-boundary">${esc(t.mg_boundary)}</button>
        <button type="button" id="mg-reassign">${esc(t.mg_reassign)}</button>
      </div>`;
    box.hidden = false;
    showRoster(box, c.code); // h-micro2
    box.querySelectorAll(".m3-save").forEach((button) => button.addEventListener("click", () => {
      const field = button.dataset.field;
      change({ op: "set", grid: c.code, field, value: $("m3-f-" + field).value.trim() });
    }));
    $("mg-split").addEventListener("click", () => change({ op: "split", grid: c.code }));
    $("mg-merge").addEventListener("click", () => { mg.mode = "merge"; say(t.mg_merge_pick, ""); });
    $("mg-reassign").addEventListener("click", () => { mg.mode = "reassign"; say(t.mg_reassign_pick, ""); });
    $("mg-split-line").addEventListener("click", () => startLine("split-line"));
    $("mg-boundary").addEventListener("click", () => startLine("boundary"));
  }

  // --- h-micro2 (issue 20): the roster's people in this micro-grid (names masked by the server) ---
  const M2_ROLES = { "楼栋长": "ro_role_building", "党员中心户": "ro_role_centre", "网格员": "ro_role_worker",
    "网格长": "ro_role_head", "在职党员": "ro_role_member" };
  async function showRoster(box, code) {
    try {
      const answer = await api("GET", "/api/grids/roster/micro/" + encodeURIComponent(code));
      if (mg.selected === code && box.querySelector("#mg-card-table")) rosterBlock(box, answer.roster);
    } catch (err) {
      say(err.message, "error");
    }
  }
  function rosterBlock(box, roster) {
    if (!roster) return; // no roster imported: nothing to say
    const people = roster.people || {};
    const rows = Object.keys(M2_ROLES).filter((role) => roster.counts && roster.counts[role]).map((role) => {
      const names = people[role] && people[role].length ? " · " + people[role].map(esc).join("、") : "";
      return `<tr data-role="${esc(role)}"><th>${esc(t[M2_ROLES[role]] || role)}</th><td>${roster.counts[role]} ${esc(t.m2_people)}${names}</td></tr>`;
    }).join("");
    const block = document.createElement("div");
    block.id = "m2-card-roster";
    block.innerHTML = `<strong>${esc(t.m2_card_title)}</strong>` +
      (rows ? `<table>${rows}</table>` : `<p><em>${esc(t.m2_card_none)}</em></p>`);
    box.querySelector("#mg-card-table").after(block);
  }
  // The GeoPackage of the grids and micro-grids in the coordinate system picked beside it.
  if ($("m2-crs")) {
    $("m2-crs").addEventListener("change", (ev) => {
      $("m2-gpkg").href = "/api/export/grids.gpkg?crs=" + encodeURIComponent(ev.target.value);
    });
  }

  // --- h-micro3 (issue 20): floor and ceiling, card fields, colourings, a fresh start ---
  const m3 = { roster: null, rosterLoaded: false, staleVersion: null };
  const colourMode = () => ($("m3-colour") ? $("m3-colour").value : "households");
  const scene = () => window.LINLI_SCENE || { function: $("function-select").value, budget: 15, profile: "" };
  const COVERAGE_BREAKS = [20, 40, 60, 80];
  const ROSTER_PALETTE = ["#fc9272", "#41ab5d"];
  const NO_DATA = "#cccccc";
  // The roster's roles that make a micro-grid "present": its building head and centre household.
  const M3_PRESENT = ["楼栋长", "党员中心户"];
  function query() {
    if (colourMode() !== "coverage") return "";
    const s = scene();
    const q = new URLSearchParams({ coverage: s.function, budget: String(s.budget) });
    if (s.profile) q.set("profile", s.profile);
    return "?" + q.toString();
  }
  function valueOf(p) {
    if (colourMode() === "coverage") return p["pct_" + scene().function];
    if (colourMode() === "roster") {
      if (!m3.roster) return null;
      const counts = (m3.roster[p.code] && m3.roster[p.code].counts) || {};
      return M3_PRESENT.some((role) => (counts[role] || 0) > 0) ? 1 : 0;
    }
    return p.households;
  }
  function fillOf(p) {
    const value = valueOf(p);
    if (colourMode() === "households") return colour(value);
    if (value == null) return NO_DATA;
    if (colourMode() === "roster") return ROSTER_PALETTE[value];
    let k = 0;
    while (k < COVERAGE_BREAKS.length && value >= COVERAGE_BREAKS[k]) k += 1;
    return PALETTE[k];
  }
  const swatch = (c, text) => `<div><span class="swatch" data-colour="${c}"></span>${esc(text)}</div>`;
  function m3Legend() {
    if (colourMode() === "coverage") {
      const s = scene();
      const b = COVERAGE_BREAKS;
      const rows = PALETTE.map((c, k) =>
        swatch(c, k === 0 ? `<${b[0]}%` : k === PALETTE.length - 1 ? `≥${b[3]}%` : `${b[k - 1]}–${b[k]}%`));
      rows.push(swatch(NO_DATA, t.m3_no_value));
      const fn = app.functions[s.function] || s.function;
      return [`${t.m3_legend_coverage} · ${fn} ${s.budget} ${t.minutes_unit}`, rows];
    }
    if (colourMode() === "roster") {
      const rows = m3.roster
        ? [swatch(ROSTER_PALETTE[1], t.m3_roster_has), swatch(ROSTER_PALETTE[0], t.m3_roster_none)]
        : [swatch(NO_DATA, t.m3_roster_no_file)];
      return [t.m3_legend_roster, rows];
    }
    return null;
  }
  async function m3LoadRoster() {
    try {
      const answer = await api("GET", "/api/grids/roster");
      m3.roster = answer.roster ? answer.micro || {} : null;
    } catch (err) {
      m3.roster = null;
      say(err.message, "error");
    }
  }
  // The floor and ceiling on screen: the micro-grids' own (or those a fresh generation will use),
  // with the default from the settings stated beside them.
  function m3Bounds(data, made) {
    if (data.min_households == null) return;
    const focused = [$("m3-min"), $("m3-max")].includes(document.activeElement);
    if (!focused) {
      $("m3-min").value = data.min_households;
      $("m3-max").value = data.max_households;
    }
    $("m3-bounds-save").hidden = !made;
    const unit = t.grids_unit_households;
    $("m3-bounds-note").textContent =
      `${t.m3_bounds_default} ${fmt(data.default_min_households)}–${fmt(data.default_max_households)} ${unit}` +
      ` (${t.m3_bounds_source}) · ${t.m3_bounds_now} ${fmt(data.min_households)}–${fmt(data.max_households)} ${unit}` +
      ` · ${made ? t.m3_bounds_hint : t.m3_bounds_first}`;
  }
  // An empty or unreadable box goes as null: the server refuses it in words.
  const m3Number = (el) => (el.value.trim() === "" || !Number.isFinite(Number(el.value)) ? null : Number(el.value));
  // For a generation an empty box means the default (the boxes fill in only once the level is read).
  function m3Inputs(emptyIsDefault) {
    const out = {};
    for (const [key, id] of [["min_households", "m3-min"], ["max_households", "m3-max"]]) {
      if (!(emptyIsDefault && $(id).value.trim() === "")) out[key] = m3Number($(id));
    }
    return out;
  }
  function m3EditBlock(c) {
    const row = (field, label, value, placeholder) => `<div class="row">
        <label for="m3-f-${field}">${esc(label)}</label>
        <input id="m3-f-${field}" maxlength="200" value="${esc(value)}" placeholder="${esc(placeholder)}">
        <button type="button" class="m3-save" data-field="${field}">${esc(t.m3_save)}</button></div>`;
    // People's fields start empty (the page holds only the masked value, shown as the placeholder).
    return `<details id="m3-card-edit"><summary>${esc(t.m3_edit)}</summary>
      ${row("name", t.grids_name, c.name, "")}
      ${row("grid_member", t.grids_member, "", c.grid_member)}
      ${row("building_head", t.m3_building_head, "", c.building_head)}
      <p><small>${esc(t.m3_masked_hint)}</small></p></details>`;
  }
  $("m3-bounds-save").addEventListener("click", async () => {
    await post("/api/grids/micro/bounds", m3Inputs());
  });
  $("m3-reset").addEventListener("click", async () => {
    if (!window.confirm(t.m3_reset_confirm)) return;
    try {
      draw(await api("POST", "/api/grids/micro/generate" + query(),
        { ...m3Inputs(true), reset: true, version: m3.staleVersion }));
      say("", "");
    } catch (err) {
      say(err.message, "error");
    }
  });
  $("m3-colour").addEventListener("change", () => { if ($("mg-level").value === "micro") load(); });
  document.addEventListener("linli:scene", () => {
    if ($("mg-level").value === "micro" && colourMode() === "coverage") load();
  });

  // ------------------------------------------------------------- a line drawn on the map
  const drawing = () => mg.mode === "split-line" || mg.mode === "boundary";
  function startLine(kind) {
    endLine();
    mg.mode = kind;
    mg.points = [];
    mg.line = L_.polyline([], { color: "#08306b", weight: 2, dashArray: "6 3", interactive: false }).addTo(map);
    map.doubleClickZoom.disable();
    $("mg-drawing").hidden = false;
    say(t.gw_draw_hint, "");
  }
  function addPoint(ev) {
    if (!drawing()) return;
    mg.points.push(ev.latlng);
    mg.line.setLatLngs(mg.points);
  }
  function endLine() {
    if (mg.line) map.removeLayer(mg.line);
    mg.line = null;
    if (drawing()) mg.mode = null;
    map.doubleClickZoom.enable();
    $("mg-drawing").hidden = true;
  }
  async function finishLine() {
    if (!drawing()) return;
    const kind = mg.mode;
    const line = mg.points.map((ll) => [ll.lng, ll.lat]);
    endLine();
    if (line.length < 2 || !mg.selected) return;
    if (kind === "split-line") await change({ op: "split", grid: mg.selected, line });
    else await change({ op: "boundary", grids: [mg.selected], line });
  }
  $("mg-draw-finish").addEventListener("click", finishLine);
  $("mg-draw-cancel").addEventListener("click", endLine);
  map.on("click", (ev) => { if (drawing()) addPoint(ev); });

  // ------------------------------------------------------------- edits
  async function post(url, body) {
    try {
      const version = mg.data ? mg.data.version : undefined;
      const data = await api("POST", url + query(), { ...body, version });
      draw(data);
      if (mg.selected && data.grids.features.some((f) => f.properties.code === mg.selected)) pick(mg.selected);
      else $("mg-card").hidden = true;
      say("", "");
    } catch (err) {
      if (err.status === 409) {
        await load();
        say(`${t.gw_conflict} ${err.message}`, "error");
      } else say(err.message, "error");
    }
  }
  const change = (op) => post("/api/grids/micro/edit", op);

  // The versions of the micro-grids (who, when, what), any of them restored as a new version.
  async function history() {
    const box = $("mg-history");
    try {
      const data = await api("GET", "/api/grids/micro/history");
      box.innerHTML = `<strong>${esc(t.gw_history)}</strong><ol reversed>` + data.versions.slice(0, 50).map((v) => {
        const what = app.lang === "en" ? v.op.op : v.summary;
        const button = v.version === data.version
          ? ` <em>(${esc(t.gw_current)})</em>`
          : ` <button type="button" class="mg-restore" data-version="${v.version}">${esc(t.gw_restore)}</button>`;
        return `<li>v${v.version} · ${esc(v.user)} · ${esc((v.at || "").replace("T", " ").slice(0, 16))} · ${esc(what)}${button}</li>`;
      }).join("") + "</ol>";
      box.hidden = false;
    } catch (err) {
      say(err.message, "error");
    }
  }
  $("mg-history").addEventListener("click", async (ev) => {
    const button = ev.target.closest(".mg-restore");
    if (button) post("/api/grids/micro/restore", { to: Number(button.dataset.version) });
  });
  $("mg-history-show").addEventListener("click", () => {
    if ($("mg-history").hidden) history();
    else $("mg-history").hidden = true;
  });
  $("mg-undo").addEventListener("click", () => post("/api/grids/micro/undo", {}));
  $("mg-redo").addEventListener("click", () => post("/api/grids/micro/redo", {}));
  // h-micro3: the first generation takes the floor and ceiling on screen; afterwards they are saved apart
  $("mg-generate").addEventListener("click", () => post("/api/grids/micro/generate", mg.data ? {} : m3Inputs(true)));
  $("mg-rederive").addEventListener("click", () =>
    post("/api/grids/micro/rederive", { grids: (mg.data && mg.data.stale_grids) || [] }));

  // ------------------------------------------------------------- the level
  $("mg-level").addEventListener("change", (ev) => {
    const micro = ev.target.value === "micro";
    $("mg-panel").hidden = !micro;
    if (micro) {
      const show = $("grids-show");
      if (!show.checked) {
        show.checked = true;
        show.dispatchEvent(new Event("change"));
      }
      load();
    } else {
      clear();
      mg.selected = null;
      $("mg-card").hidden = true;
      if (app.grids && app.grids.layer) $("grids-colour").dispatchEvent(new Event("change")); // the grids' colours again
    }
  });
  $("grids-show").addEventListener("change", (ev) => {
    if (!ev.target.checked && $("mg-level").value === "micro") {
      $("mg-level").value = "grid";
      $("mg-level").dispatchEvent(new Event("change"));
    }
  });
  // The grids were drawn again (an edit, undo, their colours): at the micro level they stay
  // outlines, and the micro-grids are read again (their grids, and the flags an edit left).
  let reloading = false;
  document.addEventListener("linli:grids", async () => {
    if ($("mg-level").value !== "micro" || reloading) return;
    gridsAsOutlines();
    if (mg.layer) {
      reloading = true;
      try { await load(); } finally { reloading = false; }
    }
  });
  map.on("zoomend", updateLabels);
})();
