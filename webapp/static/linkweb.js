/* Linli map page (issue 20, h-linkweb): the "1+10" linkage of the imported roster's in-service party
   members and the compound party coverage, in the grids panel.
   Run the linkage as a background job (POST /api/linkage, polled at /api/jobs/<id>, cancellable),
   then draw its result (GET /api/linkage/<id>): households left unlinked, members (those with fewer
   than k apart, masked labels from the server), and each member's links from a high zoom on; the
   counts per grid in a table and the roster XLSX per grid.  Party coverage (GET/POST /api/party):
   the rate per community/town/area and the compounds without a branch on the map.
   Loaded after rosterweb.js; uses app.js's client (app.api, app.esc); no external requests. */
(function () {
  "use strict";
  const app = window.LINLI;
  const $ = (id) => document.getElementById(id);
  if (!app || !app.map || !$("lw-panel")) return;
  const L = window.L;
  const t = app.texts;
  const esc = app.esc;
  const map = app.map;
  // Short of k (red), linked in full (green), unlinked households (orange), no branch (purple), links (blue):
  // ColorBrewer Set1 colours, told apart from the grids' fills.
  const COLOURS = { short: "#e41a1c", full: "#4daf4a", unlinked: "#ff7f00", nobranch: "#984ea3", line: "#377eb8" };
  const lw = { job: null, data: null, layers: null, lines: null, party: null };
  app.linkage = lw;

  function status(text, kind) {
    const box = $("lw-status");
    box.textContent = text;
    box.dataset.state = kind || "";
  }

  function panel() {
    $("lw-panel").innerHTML = `
      <h3>${esc(t.lw_title)}</h3>
      <div class="linli-hint">${esc(t.lw_hint)}</div>
      <div id="lw-form">
        <div class="row"><label>${esc(t.lw_k)} <input type="number" id="lw-k" min="1" max="100" step="1" value="10"></label></div>
        <div class="row"><label>${esc(t.lw_radius)} <input type="number" id="lw-radius" min="1" max="30" step="1" value="10"></label></div>
        <div class="linli-hint" id="lw-defaults">${esc(t.lw_defaults)}</div>
        <div class="row">
          <button type="button" id="lw-run">${esc(t.lw_run)}</button>
          <button type="button" id="lw-cancel" hidden>${esc(t.lw_cancel)}</button>
        </div>
      </div>
      <p id="lw-status" role="status"></p>
      <div id="lw-result" hidden></div>
      <h3>${esc(t.lw_party_title)}</h3>
      <div class="linli-hint">${esc(t.lw_party_hint)}</div>
      <div class="row"><input type="file" id="lw-party-file" accept=".xlsx,.xls,.csv" aria-label="${esc(t.lw_party_file)}">
        <button type="button" id="lw-party-run">${esc(t.lw_party_run)}</button></div>
      <p id="lw-party-status" role="status"></p>
      <div id="lw-party" hidden></div>`;
    $("lw-run").addEventListener("click", run);
    $("lw-cancel").addEventListener("click", cancel);
    $("lw-party-run").addEventListener("click", party);
  }

  function clearLayers() {
    if (lw.layers) map.removeLayer(lw.layers);
    if (lw.lines) map.removeLayer(lw.lines);
    lw.layers = lw.lines = null;
  }

  function memberLabel(m) {
    return `${m.label || t.lw_member.replace("{n}", m.id)} · ${t.lw_links.replace("{n}", m.count)}`;
  }

  function draw(d) {
    clearLayers();
    const group = L.layerGroup();
    for (const [lon, lat, n] of d.unlinked) {
      L.circleMarker([lat, lon], { radius: 4 + Math.min(6, Math.sqrt(n)), color: COLOURS.unlinked, weight: 1, fillOpacity: 0.7, className: "lw-unlinked" })
        .bindTooltip(t.lw_unlinked_here.replace("{n}", n)).addTo(group);
    }
    for (const m of d.members) {
      L.circleMarker([m.lat, m.lon], { radius: m.short ? 8 : 6, color: "#333", fillColor: m.short ? COLOURS.short : COLOURS.full, weight: 1.5, fillOpacity: 0.9, className: m.short ? "lw-short" : "lw-member" })
        .bindTooltip(memberLabel(m)).addTo(group);
    }
    lw.layers = group.addTo(map);
    lw.lines = L.layerGroup();
    for (const [, mlon, mlat, hlon, hlat] of d.lines) {
      L.polyline([[mlat, mlon], [hlat, hlon]], { color: COLOURS.line, weight: 2, opacity: 0.8, className: "lw-line" }).addTo(lw.lines);
    }
    zoomed();
  }

  // The links only from the zoom the server names: a town's links would hide the map.
  function zoomed() {
    if (!lw.lines || !lw.data) return;
    const show = map.getZoom() >= lw.data.lines_min_zoom;
    if (show && !map.hasLayer(lw.lines)) lw.lines.addTo(map);
    if (!show && map.hasLayer(lw.lines)) map.removeLayer(lw.lines);
    const hint = $("lw-lines-hint");
    if (hint) hint.textContent = show ? t.lw_lines_on : t.lw_lines_off.replace("{z}", lw.data.lines_min_zoom);
  }
  map.on("zoomend", zoomed);

  function table(d) {
    const cols = d.per_grid.columns;
    const head = cols.map((c) => `<th>${esc((t[`lw_col_${c}`] || c).replace("{k}", d.k))}</th>`).join("");
    const rows = d.per_grid.rows.map((r) => {
      const link = `<a href="/api/linkage/${lw.job}/roster.xlsx?grid=${encodeURIComponent(r[0])}">${esc(r[0] || t.lw_outside)}</a>`;
      return `<tr>${r.map((v, i) => `<td>${i === 0 ? link : esc(String(v))}</td>`).join("")}</tr>`;
    }).join("");
    return `<table class="ro-table" id="lw-grid-table"><tr>${head}</tr>${rows}</table>`;
  }

  function show(d) {
    lw.data = d;
    const box = $("lw-result");
    const solver = d.optimal ? t.lw_solver_optimal : t.lw_solver_other;
    box.innerHTML = `
      <div id="lw-counts">${esc(t.lw_counts.replace("{members}", d.n_members).replace("{households}", d.n_households)
        .replace("{links}", d.n_links).replace("{short}", d.n_short).replace("{unlinked}", d.n_unlinked).replace("{k}", d.k))}</div>
      <div id="lw-solver">${esc(solver.replace("{solver}", d.solver))}</div>
      <div class="linli-hint">${esc(t.lw_assumption.replace("{k}", d.k).replace("{r}", d.radius_min).replace("{max}", d.max_radius_min).replace("{speed}", d.speed_kmh))}</div>
      ${d.stale ? `<div class="error" id="lw-stale">${esc(t.lw_stale)}</div>` : ""}
      <div class="linli-hint" id="lw-lines-hint"></div>
      <div class="linli-hint">${esc(d.masked ? t.lw_masked : t.lw_clear)}</div>
      <div><a id="lw-xlsx" href="/api/linkage/${lw.job}/roster.xlsx">${esc(t.lw_xlsx)}</a></div>
      ${table(d)}
      <div class="lw-legend"><span style="color:${COLOURS.short}">●</span> ${esc(t.lw_legend_short.replace("{k}", d.k))}
        <span style="color:${COLOURS.full}">●</span> ${esc(t.lw_legend_full)}
        <span style="color:${COLOURS.unlinked}">●</span> ${esc(t.lw_legend_unlinked)}
        <span style="color:${COLOURS.line}">━</span> ${esc(t.lw_legend_line.replace("{z}", d.lines_min_zoom))}</div>`;
    box.hidden = false;
    draw(d);
  }

  async function run() {
    const body = { k: Number($("lw-k").value), radius_min: Number($("lw-radius").value) };
    $("lw-run").disabled = true;
    status(t.lw_running, "running");
    try {
      let job = await app.api("POST", "/api/linkage", body);
      lw.job = job.id;
      $("lw-cancel").hidden = false;
      const deadline = Date.now() + 1000 * app.jobPollLimitS;
      while (job.status === "queued" || job.status === "running") {
        status(`${t.lw_running} ${job.message || ""} ${Math.round(100 * (job.progress || 0))}%`, "running");
        if (Date.now() > deadline) throw new Error(t.job_gave_up);
        await new Promise((r) => setTimeout(r, 500));
        job = await app.api("GET", `/api/jobs/${job.id}`);
      }
      if (job.status === "cancelled") {
        status(t.lw_cancelled, "cancelled");
        return;
      }
      if (job.status === "failed") throw new Error(job.message);
      show(await app.api("GET", `/api/linkage/${job.id}`));
      status(t.lw_done, "done");
    } catch (err) {
      status(err.message, "error");
    } finally {
      $("lw-run").disabled = false;
      $("lw-cancel").hidden = true;
    }
  }

  async function cancel() {
    if (lw.job == null) return;
    try {
      await app.api("POST", `/api/jobs/${lw.job}/cancel`);
    } catch (err) {
      status(err.message, "error");
    }
  }

  function showParty(d) {
    if (lw.party) map.removeLayer(lw.party);
    lw.party = L.layerGroup();
    for (const c of d.without_branch) {
      L.circleMarker([c.lat, c.lon], { radius: 6, color: COLOURS.nobranch, weight: 2, fillOpacity: 0.5, className: "lw-nobranch" })
        .bindTooltip(`${c.name} · ${t.lw_no_branch}`).addTo(lw.party);
    }
    lw.party.addTo(map);
    // The rate table's columns in this order (the server's rows are objects; the XLSX of the script has them all).
    const keys = ["name", "compounds", "covered", "known", "coverage_pct", "property_pct", "committee_pct"];
    const head = keys.map((k) => `<th>${esc(t[`lw_party_col_${k}`] || d.headers[k] || k)}</th>`).join("");
    const fmt = (v) => (v === null || v === undefined ? "" : typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : String(v));
    const rows = d.rates.map((r) => `<tr>${keys.map((k) => `<td>${esc(fmt(r[k]))}</td>`).join("")}</tr>`).join("");
    const box = $("lw-party");
    box.innerHTML = `<table class="ro-table" id="lw-party-table"><tr>${head}</tr>${rows}</table>
      <div class="linli-hint">${esc(t.lw_party_without.replace("{n}", d.without_branch.length).replace("{unknown}", d.unknown))}</div>
      <div class="lw-legend"><span style="color:${COLOURS.nobranch}">●</span> ${esc(t.lw_no_branch)}</div>`;
    box.hidden = false;
  }

  async function party() {
    const file = $("lw-party-file").files[0];
    $("lw-party-status").textContent = t.lw_party_running;
    try {
      let d;
      if (file) {
        const form = new FormData();
        form.append("file", file, file.name);
        d = await app.api("POST", "/api/party", form);
      } else {
        d = await app.api("GET", "/api/party");
      }
      showParty(d);
      $("lw-party-status").textContent = "";
    } catch (err) {
      $("lw-party-status").textContent = err.message;
    }
  }

  panel();
  fetch("/api/me", { credentials: "same-origin" }).then((r) => r.json()).then((me) => {
    if (me.user && me.user.role === "viewer") $("lw-form").hidden = true; // running jobs is for planners
  }).catch(() => {});
})();
