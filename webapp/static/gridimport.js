/* Linli map page: existing grids imported and other grid systems compared (多网合一) in the grids
   panel (issue 20).  导入现有网格: a GeoJSON / GeoPackage / zipped Shapefile / Excel list is checked
   (POST /api/grids/import: codes, overlaps, gaps, nesting, household bounds) with the problem places
   drawn on the map, then adopted as the web grids (POST /api/grids/import/adopt, one new version,
   undoable).  多网合一: other systems compared with the current grids (POST /api/grids/systems):
   where they disagree, each grid's best match, a merged proposal drawn over the map and adopted
   (POST /api/grids/systems/adopt).  The server keeps nothing of a file it was not asked to adopt;
   adopting sends the same file again.  Loaded after grids.js (app.grids); no external requests. */
(function () {
  "use strict";
  const L_ = window.L;
  const app = window.LINLI;
  const $ = (id) => document.getElementById(id);
  if (!app || !app.map || !app.grids || !$("gi-panel")) return;
  const t = app.texts;
  const map = app.map;
  const grids = app.grids;
  // Imported grids (blue outlines), their problem places (red), disagreement (orange), proposal (green).
  const COLOURS = { grids: "#2171b5", problem: "#cb181d", warning: "#fd8d3c", diff: "#e6550d", proposal: "#238b45" };
  if (!map.getPane("linli-gridimport")) map.createPane("linli-gridimport").style.zIndex = 460;
  const renderer = L_.svg({ pane: "linli-gridimport" });
  const gi = { report: null, compared: null, overlay: L_.layerGroup(), places: [] };
  app.gridimport = gi;

  const esc = app.esc;
  const fmt = (x, digits) => (x == null ? "–" : Number(x).toLocaleString(app.lang === "en" ? "en" : "zh-CN",
    { maximumFractionDigits: digits || 0 }));
  function status(text, kind) {
    const box = $("gi-status");
    box.textContent = text;
    box.className = kind || "";
  }
  // A file form posted (app.js's client: CSRF, refusals as sentences).
  const send = (url, form) => app.api("POST", url, form);

  function panel() {
    $("gi-panel").innerHTML = `
      <h3>${esc(t.gi_title)}</h3>
      <div class="linli-hint">${esc(t.gi_hint)}</div>
      <div class="row"><input type="file" id="gi-file" accept=".geojson,.json,.gpkg,.zip,.xlsx,.xls,.csv" aria-label="${esc(t.gi_file)}"></div>
      <div class="row">
        <label>${esc(t.gi_system)} <select id="gi-system">
          <option value="wgs84">${esc(t.gi_system_wgs84)}</option>
          <option value="gcj02">${esc(t.gi_system_gcj02)}</option>
          <option value="bd09">${esc(t.gi_system_bd09)}</option>
        </select></label>
      </div>
      <div class="row">
        <button type="button" id="gi-check">${esc(t.gi_check)}</button>
        <button type="button" id="gi-adopt" hidden>${esc(t.gi_adopt)}</button>
        <button type="button" id="gi-clear" hidden>${esc(t.gi_clear)}</button>
      </div>
      <p id="gi-status" role="status"></p>
      <div id="gi-report" hidden></div>
      <h3>${esc(t.gi_systems_title)}</h3>
      <div class="linli-hint">${esc(t.gi_systems_hint)}</div>
      <div class="row"><input type="file" id="gi-systems" multiple accept=".geojson,.json,.gpkg,.zip,.xlsx,.xls,.csv" aria-label="${esc(t.gi_systems_file)}"></div>
      <div class="row">
        <button type="button" id="gi-compare">${esc(t.gi_compare)}</button>
        <button type="button" id="gi-merge-adopt" hidden>${esc(t.gi_merge_adopt)}</button>
      </div>
      <div id="gi-compare-report" hidden></div>`;
    $("gi-check").addEventListener("click", check);
    $("gi-adopt").addEventListener("click", adopt);
    $("gi-clear").addEventListener("click", clear);
    $("gi-compare").addEventListener("click", compare);
    $("gi-merge-adopt").addEventListener("click", adoptMerge);
    $("gi-report").addEventListener("click", (ev) => {
      const li = ev.target.closest("li[data-place]");
      if (li && gi.places[Number(li.dataset.place)]) map.fitBounds(gi.places[Number(li.dataset.place)].getBounds(), { maxZoom: 17 });
    });
  }

  function clear() {
    gi.overlay.clearLayers();
    if (map.hasLayer(gi.overlay)) map.removeLayer(gi.overlay);
    gi.report = null;
    gi.compared = null;
    gi.places = [];
    for (const id of ["gi-report", "gi-compare-report", "gi-adopt", "gi-merge-adopt", "gi-clear"]) $(id).hidden = true;
  }

  function form(input) {
    const files = [...$(input).files];
    if (!files.length) throw new Error(t.gi_no_file);
    const data = new FormData();
    for (const f of files) data.append("file", f);
    data.append("system", $("gi-system").value);
    return data;
  }

  function outlines(collection, colour, label) {
    return L_.geoJSON(collection, {
      pane: "linli-gridimport",
      renderer,
      interactive: false,
      style: { color: colour, weight: 2, dashArray: "6 4", fill: false },
      onEachFeature: (f, layer) => {
        if (!label) return;
        layer.bindTooltip(esc(label(f.properties)), { permanent: true, direction: "center", className: "gi-label" });
        layer.on("tooltipopen", (ev) => {
          const el = ev.tooltip.getElement();
          el.style.font = "600 11px sans-serif";
          el.style.padding = "0 3px";
          el.style.color = colour;
          el.style.background = "rgba(255,255,255,0.75)";
          el.style.boxShadow = "none";
        });
      },
    });
  }

  // ------------------------------------------------------------- 导入现有网格
  function issueText(i) {
    if (app.lang !== "en") return i.message;
    const label = t["grids_issue_" + i.kind] || t["gi_issue_" + i.kind] || t.grids_issue_other;
    return `${label}${i.grid ? " · " + i.grid : ""}${i.parent ? " · " + i.parent : ""}`;
  }

  function showReport(d) {
    clear();
    gi.report = d;
    const imported = outlines(d.grids, COLOURS.grids, (p) => (p.code.length > 4 ? "…" + p.code.slice(-2) : p.code));
    gi.overlay.addLayer(imported);
    gi.places = [];
    const placeOf = {};
    L_.geoJSON(d.places, {
      pane: "linli-gridimport",
      renderer,
      style: (f) => ({ color: COLOURS.problem, weight: 1, fillColor: f.properties.severity === "error" ? COLOURS.problem : COLOURS.warning, fillOpacity: 0.55 }),
      onEachFeature: (f, layer) => {
        layer.bindTooltip(esc(issueText(f.properties)));
        placeOf[f.properties.message] = gi.places.length;
        gi.places.push(layer);
        layer.addTo(gi.overlay);
      },
    });
    gi.overlay.addTo(map);
    if (imported.getBounds().isValid()) map.fitBounds(imported.getBounds());
    const errors = d.issues.filter((i) => i.severity === "error").length;
    const a = d.adoption;
    const adoption = (a
      ? `${esc(t.gi_would)}: ${fmt(a.assigned)} ${esc(t.gi_blocks_in)} ${fmt(a.grids)} ${esc(t.gi_grids_unit)}` +
        (a.unassigned ? ` · <span class="error">${fmt(a.unassigned)} ${esc(t.gi_blocks_outside)}</span>` : "") +
        (a.empty.length ? ` · <span class="error">${esc(t.gi_empty)}: ${a.empty.map(esc).join(", ")}</span>` : "")
      : "") + (d.adopt_error ? `<br><span class="error">${esc(d.adopt_error)}</span>` : "");
    const issues = d.issues.map((i) => {
      const at = placeOf[i.message];
      return `<li class="grids-issue grids-${esc(i.severity)}" data-kind="${esc(i.kind)}"${at != null ? ` data-place="${at}"` : ""}>${esc(issueText(i))}</li>`;
    }).join("");
    const hh = d.households_from === "file" ? t.gi_households_file : t.gi_households_blocks;
    const rows = d.grids.features.map((f) => {
      const p = f.properties;
      return `<tr data-code="${esc(p.code)}"><td class="grids-code">${esc(p.code)}</td><td>${esc(p.name)}</td><td>${fmt(p.households)}</td><td>${fmt(p.households_blocks)}</td><td>${esc(p.flags)}</td></tr>`;
    }).join("");
    const box = $("gi-report");
    box.innerHTML = `
      <div id="gi-summary"><strong>${esc(d.file)}</strong> · ${fmt(d.count)} ${esc(t.gi_grids_unit)} · <span class="${errors ? "error" : "grids-ok"}">${esc(t.gi_errors)} ${errors}</span> · ${esc(t.gi_issues)} ${d.issues.length}</div>
      <div class="linli-hint">${esc(t.grids_bounds)} ${fmt(d.min_households)}–${fmt(d.max_households)} ${esc(t.grids_unit_households)} · ${esc(hh)}</div>
      <div id="gi-adoption">${adoption}</div>
      ${issues ? `<ul id="gi-issues">${issues}</ul>` : `<p class="grids-ok">${esc(t.grids_checks_ok)}</p>`}
      <details><summary>${esc(t.gi_table)}</summary>
        <table class="ro-table" id="gi-table"><tr><th>${esc(t.grids_code)}</th><th>${esc(t.grids_name)}</th><th>${esc(t.gi_households_in_file)}</th><th>${esc(t.gi_households_of_blocks)}</th><th>${esc(t.gi_flags)}</th></tr>${rows}</table>
      </details>`;
    box.hidden = false;
    $("gi-adopt").hidden = !a || !!d.adopt_error;
    $("gi-clear").hidden = false;
  }

  async function check() {
    try {
      const data = form("gi-file");
      status(t.gi_checking, "");
      showReport(await send("/api/grids/import", data));
      status("", "");
    } catch (err) {
      status(err.message, "error");
    }
  }

  // The adopted grids become the grids layer (shown if it was not), as after any edit.
  function adopted(data) {
    clear();
    if (grids.layer) {
      grids.data = data;
      grids.redraw();
    } else {
      $("grids-show").checked = true;
      $("grids-show").dispatchEvent(new Event("change"));
    }
    status(`${t.gi_adopted} v${data.version}`, "");
  }

  async function adoptWith(url, input, report) {
    try {
      const data = form(input);
      data.append("version", String(report.version));
      status(t.gi_adopting, "");
      adopted(await send(url, data));
    } catch (err) {
      status(err.status === 409 ? `${t.gw_conflict} ${err.message}` : err.message, "error");
    }
  }
  const adopt = () => gi.report && adoptWith("/api/grids/import/adopt", "gi-file", gi.report);

  // ------------------------------------------------------------- 多网合一
  function showComparison(d) {
    clear();
    gi.compared = d;
    L_.geoJSON(d.disagreement, {
      pane: "linli-gridimport",
      renderer,
      style: { color: COLOURS.diff, weight: 0.5, fillColor: COLOURS.diff, fillOpacity: 0.5 },
      onEachFeature: (f, layer) => layer.bindTooltip(
        `${esc(f.properties.systems)} · ${fmt(f.properties.households, 1)} ${esc(t.grids_unit_households)}`),
    }).addTo(gi.overlay);
    gi.overlay.addLayer(outlines(d.proposal, COLOURS.proposal, (p) => `…${p.code.slice(-2)} · ${fmt(p.households)}`));
    gi.overlay.addTo(map);
    const others = d.systems.slice(1);
    const pairs = d.pairs.map((p) =>
      `<tr><td>${esc(p.system_a)}</td><td>${esc(p.system_b)}</td><td>${fmt(p.disagree_pct, 1)} %</td><td>${fmt(p.disagree_households)} / ${fmt(p.households)}</td></tr>`).join("");
    const matches = d.matches.map((m) =>
      `<tr><td class="grids-code">${esc(m.code)}</td>${others.map((s) =>
        `<td>${esc(m.best[s].code || "–")} (${fmt(m.best[s].share_pct)} %)</td>`).join("")}</tr>`).join("");
    const a = d.adoption;
    const adoption = (a
      ? `${esc(t.gi_would)}: ${fmt(a.assigned)} ${esc(t.gi_blocks_in)} ${fmt(a.grids)} ${esc(t.gi_grids_unit)}`
      : "") + (d.adopt_error ? `<br><span class="error">${esc(d.adopt_error)}</span>` : "");
    const problems = d.proposal_issues.filter((i) => i.severity !== "info").length;
    const box = $("gi-compare-report");
    box.innerHTML = `
      <table class="ro-table" id="gi-pairs"><tr><th>${esc(t.gi_system_a)}</th><th>${esc(t.gi_system_b)}</th><th>${esc(t.gi_disagree_area)}</th><th>${esc(t.gi_disagree_households)}</th></tr>${pairs}</table>
      <div class="linli-hint">${esc(t.gi_diff_legend)}</div>
      <details open><summary>${esc(t.gi_matches)}</summary>
        <table class="ro-table" id="gi-matches"><tr><th>${esc(t.grids_code)}</th>${others.map((s) => `<th>${esc(s)}</th>`).join("")}</tr>${matches}</table>
      </details>
      <div id="gi-proposal">${esc(t.gi_proposal)}: ${fmt(d.proposal_count)} ${esc(t.gi_grids_unit)} (${fmt(d.min_households)}–${fmt(d.max_households)} ${esc(t.grids_unit_households)}) · ${esc(t.gi_issues)} ${problems}</div>
      <div>${adoption}</div>`;
    box.hidden = false;
    $("gi-merge-adopt").hidden = !a || !!d.adopt_error;
    $("gi-clear").hidden = false;
  }

  async function compare() {
    try {
      const data = form("gi-systems");
      status(t.gi_comparing, "");
      showComparison(await send("/api/grids/systems", data));
      status("", "");
    } catch (err) {
      status(err.message, "error");
    }
  }
  const adoptMerge = () => gi.compared && adoptWith("/api/grids/systems/adopt", "gi-systems", gi.compared);

  panel();
})();
