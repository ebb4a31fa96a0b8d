/* Linli map page: the building programme ("work backwards from the deadline, manage it on the
   wall map").  The plan's candidates are the planned centres: each carries its centre, kind,
   role, functions, status, target date and phase in its properties (saved with the plan);
   this panel edits them, asks /api/programme for the centres' lateness, the progress against
   a target and the coverage after each phase, colours the candidates on the map by status
   (ringed red when overdue, orange when due soon) and prints the wall map.
   Loaded after app.js.  No external requests. */
(function () {
  "use strict";
  const L_ = window.L;
  const app = window.LINLI;
  if (!app || !app.map || !app.drawn) return;
  const map = app.map;
  const drawn = app.drawn;
  const t = app.texts;
  const $ = (id) => document.getElementById(id);
  const CENTRE_FIELDS = ["centre_kind", "status", "target_date", "phase"];

  const prog = { data: null, layer: L_.layerGroup(), sites: [], running: null };
  app.programme = prog;
  if (!map.getPane("linli-programme")) map.createPane("linli-programme").style.zIndex = 460;
  const renderer = L_.svg({ pane: "linli-programme" });

  const esc = app.esc;
  function say(text, kind) {
    const box = $("prog-message");
    box.textContent = text || "";
    box.className = kind || "";
  }
  const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  $("prog-today").value = isoDay(new Date());
  $("prog-target-date").value = `${new Date().getFullYear()}-12-31`;

  let csrf = null;
  async function post(url, body) {
    if (!csrf) csrf = (await (await fetch("/api/csrf", { credentials: "same-origin" })).json()).token;
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch (e) { data = null; }
      throw new Error((data && data.error) || response.statusText);
    }
    return response;
  }

  // The plan's candidates in the order of the features the page saves (app.collectFeatures).
  function candidates() {
    const out = [];
    drawn.eachLayer((layer) => {
      const props = (layer.feature && layer.feature.properties) || {};
      if ((props.kind || (layer instanceof L_.Marker ? "candidate" : "area")) === "candidate") out.push(layer);
    });
    return out;
  }
  // Every feature of the plan, in the same order: a site's ``candidate`` is its index here.
  function features() {
    const out = [];
    drawn.eachLayer((layer) => out.push(layer));
    return out;
  }
  const nameOf = (layer) => (layer.feature && layer.feature.properties.name) || t.candidate;

  // ---------------------------------------------------------------- editing a candidate
  const fnBox = $("prog-functions");
  for (const [key, label] of Object.entries(app.functions)) {
    const item = document.createElement("label");
    item.innerHTML = `<input type="checkbox" value="${esc(key)}"> ${esc(label)}`;
    fnBox.appendChild(item);
  }
  function fillSites() {
    const select = $("prog-site");
    const keep = select.value;
    select.innerHTML = "";
    candidates().forEach((layer, k) => {
      const opt = document.createElement("option");
      opt.value = String(k);
      opt.textContent = nameOf(layer);
      select.appendChild(opt);
    });
    if (keep && Number(keep) < select.options.length) select.value = keep;
    showSite();
  }
  function showSite() {
    const layer = candidates()[Number($("prog-site").value)];
    if (!layer) return;
    const p = layer.feature.properties;
    $("prog-centre").value = p.centre || nameOf(layer);
    $("prog-kind").value = p.centre_kind || "";
    $("prog-role").value = p.site_role || "";
    $("prog-status").value = p.status || "planned";
    $("prog-date").value = p.target_date || "";
    $("prog-phase").value = p.phase || 1;
    const listed = String(p.functions || "").split(",").filter(Boolean);
    for (const box of fnBox.querySelectorAll("input")) box.checked = listed.includes(box.value);
  }
  $("prog-site").addEventListener("change", showSite);
  $("prog-edit-box").addEventListener("toggle", () => { if ($("prog-edit-box").open) fillSites(); });
  $("prog-apply").addEventListener("click", () => {
    const all = candidates();
    const layer = all[Number($("prog-site").value)];
    if (!layer) return;
    const p = layer.feature.properties;
    p.centre = $("prog-centre").value.trim() || nameOf(layer);
    p.site_role = $("prog-role").value;
    p.functions = [...fnBox.querySelectorAll("input:checked")].map((b) => b.value).join(",");
    const shared = {
      centre_kind: $("prog-kind").value,
      status: $("prog-status").value,
      target_date: $("prog-date").value,
      phase: Number($("prog-phase").value) || 1,
    };
    // The centre's own fields are the same on every one of its sites.
    for (const other of all) {
      if (other === layer || other.feature.properties.centre === p.centre) {
        for (const key of CENTRE_FIELDS) other.feature.properties[key] = shared[key];
      }
    }
    if (app.markDirty) app.markDirty();
    run();
  });

  // ---------------------------------------------------------------- the programme
  function requestBody() {
    const body = {
      features: app.collectFeatures(),
      today: $("prog-today").value || undefined,
      targets: [],
    };
    const scene = window.LINLI_SCENE;
    if (scene) { body.profile = scene.profile; body.budget = scene.budget; }
    if (scene && scene.townSpeed) body.town_speed = scene.townSpeed;  // h-rural2: the town circle's speed (rural.js)
    const count = Number($("prog-target-count").value);
    if (count > 0 && $("prog-target-date").value) body.targets.push(`${count}@${$("prog-target-date").value}`);
    return body;
  }
  function latenessText(c) {
    if (c.lateness === "overdue") return t.prog_late_overdue.replace("{d}", String(Math.round(c.days_late)));
    if (c.lateness === "due_soon") return t.prog_late_due_soon.replace("{d}", String(Math.round(c.days_left)));
    return t["prog_late_" + c.lateness];
  }
  function stageName(row) {
    if (row.stage_key === "existing") return t.prog_stage_existing;
    if (row.stage_key === "open") return t.prog_stage_open;
    return t.prog_stage_phase.replace("{p}", String(row.phase));
  }
  async function run() {
    if (!candidates().length) {
      prog.data = null;
      drawLayer();
      $("prog-result").hidden = true;
      say(t.prog_no_candidates);
      return;
    }
    const ticket = {};
    prog.running = ticket;
    say(t.prog_running);
    try {
      const data = await (await post("/api/programme", requestBody())).json();
      if (prog.running !== ticket) return;  // a newer run was started
      prog.data = data;
      render(data);
      drawLayer();
      say("");
      $("linli-programme").dataset.ready = String(data.centres.length);
    } catch (err) {
      if (prog.running === ticket) say(err.message, "error");
    }
  }
  function render(data) {
    const counts = { open: 0, construction: 0, approved: 0, planned: 0 };
    for (const c of data.centres) counts[c.status] += 1;
    let summary = t.prog_summary.replace("{today}", data.today).replace("{n}", String(data.centres.length));
    for (const [k, v] of Object.entries(counts)) summary = summary.replace(`{${k}}`, String(v));
    $("prog-summary").textContent = summary;
    $("prog-targets").innerHTML = data.progress.map((g) => `<li data-verdict="${esc(g.verdict)}">${esc(
      t.prog_target_line.replace("{by}", g.by).replace("{count}", g.count).replace("{open}", g.open)
        .replace("{gap}", g.gap).replace("{scheduled}", g.scheduled).replace("{verdict}", t["prog_verdict_" + g.verdict]))}</li>`).join("");
    const colours = data.colours;
    const swatch = (fill, edge) => `<span class="prog-swatch" style="background:${fill};border-color:${edge || "#222"}"></span>`;
    $("prog-legend").innerHTML = ["planned", "approved", "construction", "open"]
      .map((k) => `${swatch(colours.status[k])} ${esc(t["prog_status_" + k])}`).join(" &nbsp; ") + "<br>" +
      `${swatch("#fff", colours.lateness.overdue)} ${esc(t.prog_legend_overdue)} &nbsp; ${swatch("#fff", colours.lateness.due_soon)} ${esc(t.prog_legend_due_soon)}`;
    $("prog-table").querySelector("tbody").innerHTML = data.centres.map((c) => `<tr data-centre="${esc(c.centre)}" data-lateness="${esc(c.lateness)}">` +
      `<td>${esc(c.centre)}${c.sites > 1 ? ` <small>(${c.sites} ${esc(t.prog_col_sites)})</small>` : ""}</td>` +
      `<td>${esc(t["prog_kind_" + c.kind])}</td>` +
      `<td>${swatch(colours.status[c.status])} ${esc(t["prog_status_" + c.status])}</td>` +
      `<td>${c.phase}</td><td>${esc(c.target_date || "–")}</td>` +
      `<td class="lateness-${esc(c.lateness)}">${esc(latenessText(c))}</td></tr>`).join("");
    // Coverage: one row per stage, one column per function, the share covered after it.
    const fns = [...new Set(data.coverage.map((r) => r.function))];
    const stages = [...new Set(data.coverage.map((r) => r.stage))];
    $("prog-coverage").querySelector("thead").innerHTML = "<tr><th></th>" + fns.map((f) => `<th>${esc(app.functions[f] || f)}</th>`).join("") + "</tr>";
    $("prog-coverage").querySelector("tbody").innerHTML = stages.map((s) => {
      const rows = data.coverage.filter((r) => r.stage === s);
      const cells = fns.map((f) => {
        const r = rows.find((x) => x.function === f);
        return `<td>${r && r.covered_pct_after != null ? r.covered_pct_after.toFixed(0) + "%" : "–"}</td>`;
      });
      return `<tr><th>${esc(stageName(rows[0]))}</th>${cells.join("")}</tr>`;
    }).join("");
    // What the coverage assumes, in the page's language: the travel mode with its speed, the budget.
    const profile = $("profile-select");
    $("prog-assumption").textContent = profile && window.LINLI_SCENE
      ? `${profile.selectedOptions[0].textContent.trim()}, ${window.LINLI_SCENE.budget} ${t.minutes_unit}`
      : data.assumption;
    // h-rural (issue 21): a hub's town centre is judged in the town circle's mode; the figure says which.
    // h-rural2: the server's English beside its Chinese for the hub notes, in English
    const en = app.lang === "en";
    const townReach = (en && data.town_reach_en) || data.town_reach;
    if (townReach && townReach.length) $("prog-assumption").textContent += `; ${townReach.join("; ")}`;
    $("prog-notes").innerHTML = ((en && data.notes_en) || data.notes).map((n) => `<li>${esc(n)}</li>`).join("");
    $("prog-result").hidden = false;
  }
  // The candidates coloured by status on the map, ringed by lateness; a centre's sites joined.
  function drawLayer() {
    prog.layer.clearLayers();
    prog.sites = [];
    const data = prog.data;
    if (!data || !$("prog-show").checked) { map.removeLayer(prog.layer); return; }
    const all = features();
    const byCentre = new Map();
    for (const site of data.sites) {
      const layer = all[site.candidate];
      if (!layer) continue;
      const at = layer.getLatLng();
      const edge = data.colours.lateness[site.lateness];
      const mark = L_.circleMarker(at, {
        renderer, radius: site.role === "station" ? 9 : 13, fillColor: data.colours.status[site.status], fillOpacity: 0.8,
        color: edge || "#222222", weight: edge ? 4 : 1.5,
      });
      mark.bindTooltip(`${esc(site.centre)} · ${esc(t["prog_status_" + site.status])}`);
      mark.linliSite = site;
      prog.layer.addLayer(mark);
      prog.sites.push(mark);
      if (!byCentre.has(site.centre)) byCentre.set(site.centre, []);
      byCentre.get(site.centre).push([at, site.role]);
    }
    for (const points of byCentre.values()) {
      if (points.length < 2) continue;
      const hub = points.find((p) => p[1] === "main") || points[0];
      const stations = points.some((p) => p[1] === "station");
      const lines = stations ? points.filter((p) => p !== hub).map((p) => [hub[0], p[0]]) : [points.map((p) => p[0])];
      for (const line of lines) prog.layer.addLayer(L_.polyline(line, { renderer, color: "#555555", weight: 2, dashArray: "6 4" }));
    }
    prog.layer.addTo(map);
  }
  $("prog-show").addEventListener("change", drawLayer);
  $("prog-run").addEventListener("click", run);
  // The candidates changed (added, moved, removed, another plan): the figures follow once shown.
  let timer = null;
  const later = () => {
    if (!prog.data) return;
    clearTimeout(timer);
    timer = setTimeout(run, 400);
  };
  drawn.on("layeradd layerremove", later);
  map.on("draw:edited", later);
  $("prog-table").addEventListener("click", (ev) => {
    const row = ev.target.closest("tr[data-centre]");
    if (!row) return;
    const site = prog.data && prog.data.sites.find((x) => x.centre === row.dataset.centre);
    const layer = site ? features()[site.candidate] : null;
    const k = candidates().indexOf(layer);
    if (k < 0) return;
    map.panTo(layer.getLatLng());
    $("prog-edit-box").open = true;
    fillSites();
    $("prog-site").value = String(k);
    showSite();
  });

  // h-centreweb (issue 21): the title block typed in the export block (编制单位, 编制人, 审核人, 审图号),
  // as on every other print; an empty box leaves the project's [print] value.
  function titleBlock() {
    const out = {};
    for (const input of document.querySelectorAll("#deliver-title-block input[data-field]")) {
      const value = input.value.trim();
      if (value) out[input.dataset.field] = value;
    }
    return out;
  }
  async function print(fmt) {
    say(t.prog_printing);
    try {
      const body = Object.assign(requestBody(), { paper: "A3" }, titleBlock());
      const blob = await (await post(`/api/programme/map.${fmt}`, body)).blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `programme_${$("prog-today").value || "today"}_A3.${fmt}`;
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      say("");
    } catch (err) {
      say(err.message, "error");
    }
  }
  $("prog-print-pdf").addEventListener("click", () => print("pdf"));
  $("prog-print-png").addEventListener("click", () => print("png"));
})();
