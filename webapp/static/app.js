/* Linli map page: plans, candidates and drawn areas, talking to /api.  No external requests. */
(function () {
  "use strict";
  const L_ = window.L;
  // The page's configuration is a JSON block (no inline script: the CSP allows none).
  const config = JSON.parse(document.getElementById("linli-config").textContent);
  const app = {
    map: window[config.map],
    drawn: window[config.drawn] || null,
    lang: config.lang,
    texts: config.texts,
    functions: config.functions,
    jobPollLimitS: config.job_poll_limit_s,
  };
  window.LINLI = app;
  const map = app.map;
  const drawn = app.drawn;
  const t = app.texts;
  // The page itself is the same for everyone (cached by the server); this session's
  // CSRF token comes from the API and goes back in a header on every change.
  let csrf = null;
  async function csrfToken() {
    if (!csrf) {
      const response = await fetch("/api/csrf", { credentials: "same-origin" });
      csrf = (await response.json()).token;
    }
    return csrf;
  }
  const $ = (id) => document.getElementById(id);
  // A candidate's rings: purples with a dashed outline, unlike the existing service areas' greens.
  const RING_COLOURS = ["#54278f", "#807dba", "#bcbddc", "#dadaeb"];
  let plan = null;          // {id, version, name, notes}
  let lastDeleted = null;
  let candidateLayer = null;
  let compareLayer = null;
  let lastCandidate = null;
  // Unsaved changes of the plan on screen: drawings, moved candidates, name and notes.
  // Anything that would drop them (leaving the page, another function, another or a new
  // plan) asks first.
  let dirty = false;
  let leaving = false;  // the planner already agreed to leave
  // The working draft is kept in the browser as it changes, so that a closed tab, a crash
  // or a power cut loses nothing: the next page of the same project offers it back.
  const draftKey = `linli-draft:${config.project}`;
  let draftTimer = null;
  function saveDraft() {
    draftTimer = null;
    if (!dirty) return;
    const draft = {
      plan: plan ? plan.id : null, version: plan ? plan.version : null,
      name: $("plan-name").value, notes: $("plan-notes").value,
      features: collectFeatures(), at: new Date().toISOString(),
    };
    try { localStorage.setItem(draftKey, JSON.stringify(draft)); } catch (e) { /* storage off or full: the guard still asks */ }
  }
  function clearDraft() {
    try { localStorage.removeItem(draftKey); } catch (e) { /* storage off */ }
  }
  const markDirty = () => {
    dirty = true;
    if (!draftTimer) draftTimer = setTimeout(saveDraft, 300);
  };
  function mayDiscard() {
    if (!dirty) return true;
    return window.confirm(t.unsaved_confirm);
  }
  window.addEventListener("beforeunload", (ev) => {
    if (dirty) saveDraft();
    if (!dirty || leaving) return;
    ev.preventDefault();
    ev.returnValue = "";
  });

  function message(text, kind) {
    const box = $("linli-message");
    box.textContent = text;
    box.className = kind || "";
  }

  async function api(method, url, body) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = await csrfToken();
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const response = await fetch(url, opts);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = new Error((data && data.error) || response.statusText);
      err.status = response.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  function esc(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  // ------------------------------------------------------------------ plans

  async function refreshPlans(selectId) {
    const data = await api("GET", "/api/plans");
    const select = $("plan-select");
    select.innerHTML = "";
    const none = document.createElement("option");
    none.value = "";
    none.textContent = t.no_plan;
    select.appendChild(none);
    for (const p of data.plans) {
      const opt = document.createElement("option");
      opt.value = p.id;
      opt.textContent = `${p.name} (v${p.version})`;
      select.appendChild(opt);
    }
    if (selectId) select.value = String(selectId);
  }

  function showPlan(p) {
    plan = p;
    $("plan-unclear").hidden = true;
    writeHash();
    dirty = false;
    clearDraft();
    $("plan-name").value = p ? p.name : "";
    $("plan-notes").value = p ? p.notes : "";
    $("plan-version").textContent = p ? `#${p.id} · v${p.version}` : "";
    // Exports: the plan's GeoPackage and zipped Shapefile (UTF-8 or GBK), in the export block.
    for (const [id, suffix] of [["export-plan-gpkg", ".gpkg"], ["export-plan-zip", ".zip"], ["export-plan-zip-gbk", ".zip?encoding=gbk"]]) {
      const a = $(id);
      if (!a) continue;
      a.hidden = !p;
      if (p) a.href = `/api/export/plans/${p.id}${suffix}`;
    }
    if (drawn) drawn.clearLayers();
    schedulePlanEval();
    if (p) addFeatures(p.features);
  }

  // A plan's (or a draft's) features onto the map, candidates draggable.
  function addFeatures(features) {
    for (const f of features) {
      const layer = L_.geoJSON(f.geometry).getLayers()[0];
      layer.feature = { type: "Feature", properties: { kind: f.kind, name: f.name } };
      if (f.kind === "candidate") setupCandidate(layer, false);
      drawn.addLayer(layer);
    }
  }

  async function loadPlan(id) {
    if (!id) { showPlan(null); return; }
    showPlan(await api("GET", `/api/plans/${id}`));
  }

  function collectFeatures() {
    const out = [];
    drawn.eachLayer((layer) => {
      const props = (layer.feature && layer.feature.properties) || {};
      const kind = props.kind || (layer instanceof L_.Marker ? "candidate" : "area");
      out.push({ kind, name: props.name || "", geometry: layer.toGeoJSON().geometry, properties: {} });
    });
    return out;
  }

  async function savePlan() {
    if (!plan) {
      const name = $("plan-name").value.trim() || new Date().toISOString().slice(0, 16);
      const created = await api("POST", "/api/plans", { name, notes: $("plan-notes").value });
      plan = created;
    }
    try {
      const saved = await api("PUT", `/api/plans/${plan.id}`, {
        version: plan.version,
        name: $("plan-name").value.trim() || plan.name,
        notes: $("plan-notes").value,
        features: collectFeatures(),
      });
      plan = saved;
      dirty = false;
      clearDraft();
      $("plan-unclear").hidden = true;  // saved: the cleared drawings are gone for good
      writeHash();
      $("plan-version").textContent = `#${saved.id} · v${saved.version}`;
      await refreshPlans(saved.id);
      message(`${t.saved} (v${saved.version})`, "ok");
    } catch (err) {
      if (err.status === 409 || err.status === 412) {
        message(t.conflict, "error conflict");
      } else {
        message(err.message, "error");
      }
    }
  }

  async function deletePlan() {
    if (!plan) return;
    if (!window.confirm(t.delete_confirm.replace("{name}", plan.name))) return;
    try {
      await api("DELETE", `/api/plans/${plan.id}?version=${plan.version}`);
      lastDeleted = plan.id;
      showPlan(null);
      await refreshPlans();
      $("plan-undo").hidden = false;
      message(t.deleted, "ok");
    } catch (err) {
      message(err.status === 409 ? t.conflict : err.message, "error");
    }
  }

  async function undoDelete() {
    if (!lastDeleted) return;
    const p = await api("POST", `/api/plans/${lastDeleted}/restore`);
    lastDeleted = null;
    $("plan-undo").hidden = true;
    await refreshPlans(p.id);
    showPlan(p);
    message(`${t.restored}“${p.name}”（v${p.version}）`, "ok");
  }

  // ------------------------------------------------------------- candidates

  function setupCandidate(marker, evaluateNow) {
    marker.feature = marker.feature || { type: "Feature", properties: {} };
    marker.feature.properties.kind = "candidate";
    // Draggable: a dragged candidate is evaluated again where it is dropped.
    marker.options.draggable = true;
    if (marker.dragging) marker.dragging.enable();
    marker.on("add", () => marker.dragging && marker.dragging.enable());
    marker.on("dragend", () => { markDirty(); evaluate(marker); schedulePlanEval(); });
    marker.on("click", () => evaluate(marker));
    if (evaluateNow) { evaluate(marker); schedulePlanEval(); }
  }

  // The plan's candidates evaluated together, again whenever one is added, moved or removed
  // and when a plan is loaded.
  let planEvalTimer = null;
  function schedulePlanEval() {
    clearTimeout(planEvalTimer);
    planEvalTimer = setTimeout(() => evaluatePlan().catch((err) => message(err.message, "error")), 150);
  }

  function planCandidates() {
    const out = [];
    if (drawn) drawn.eachLayer((layer) => { if (layer instanceof L_.Marker) out.push(layer); });
    return out;
  }

  async function evaluatePlan() {
    const box = $("linli-plan-eval");
    const markers = planCandidates();
    if (!markers.length) { box.hidden = true; delete box.dataset.ready; return; }
    const sites = markers.map((m) => ({ type: "Point", coordinates: [m.getLatLng().lng, m.getLatLng().lat] }));
    delete box.dataset.ready;
    const data = await api("POST", "/api/evaluate-plan", { sites });
    if (planCandidates().length !== markers.length) return;  // changed meanwhile: a newer request follows
    const pct = (v) => (v == null ? "-" : `${v.toFixed(1)}%`);
    document.querySelector("#plan-eval-table tbody").innerHTML = data.together.map((d) =>
      `<tr><td>${esc(d.function_zh)}</td><td>${pct(d.covered_pct_before)}</td><td>${pct(d.covered_pct_after)}</td>` +
      `<td>+${Math.round(d.newly_covered).toLocaleString()} 人</td></tr>`).join("");
    $("plan-eval-info").textContent = `${t.plan_eval_info.replace("{n}", markers.length)} · ${data.assumption} · ` +
      `${t.server_time} ${data.server_ms} ms`;
    // Each marker says what it adds for the page's function, and what only it adds.
    markers.forEach((m, k) => {
      const row = data.candidates.find((d) => d.candidate === k && d.function === $("function-select").value);
      if (!row) return;
      m.bindTooltip(`${t.candidate} ${k + 1}: +${Math.round(row.newly_covered).toLocaleString()} 人 · ` +
        `${t.sole_share} ${Math.round(row.sole_residents).toLocaleString()} 人`);
    });
    box.hidden = false;
    box.dataset.ready = String(markers.length);
  }

  async function evaluate(marker) {
    lastCandidate = marker;
    const ll = marker.getLatLng();
    $("linli-candidate").hidden = false;
    $("candidate-info").textContent = "…";
    try {
      const data = await api("POST", "/api/evaluate", { geometry: { type: "Point", coordinates: [ll.lng, ll.lat] } });
      if (candidateLayer) map.removeLayer(candidateLayer);
      candidateLayer = L_.geoJSON(data.rings, {
        interactive: false,
        style: (f) => {
          const k = [5, 10, 15].indexOf(f.properties.minutes);
          const c = RING_COLOURS[k < 0 ? 3 : k];
          return { color: "#3f007d", weight: 2, dashArray: "6 4", fillColor: c, fillOpacity: 0.4 };
        },
      }).addTo(map);
      const rows = data.delta.map((d) =>
        `<tr><td>${esc(d.function_zh)}</td><td>${Math.round(d.newly_covered).toLocaleString()} 人</td>` +
        `<td>${d.covered_pct_before == null ? "-" : d.covered_pct_before.toFixed(1)}%</td>` +
        `<td>${d.covered_pct_after == null ? "-" : d.covered_pct_after.toFixed(1)}%</td></tr>`);
      document.querySelector("#candidate-table tbody").innerHTML = rows.join("");
      $("candidate-info").textContent =
        `${ll.lat.toFixed(5)}, ${ll.lng.toFixed(5)} · ${data.assumption} · 距道路 ${data.snap_dist_m} m · ` +
        `${t.server_time} ${data.server_ms} ms`;
      candidateLegend([...new Set(data.rings.features.map((f) => f.properties.minutes))].sort((a, b) => a - b));
      $("linli-candidate").dataset.ready = "1";
      $("linli-candidate").scrollIntoView({ block: "nearest" });
    } catch (err) {
      $("candidate-info").textContent = err.message;
      message(err.message, "error");
    }
  }

  // The legend shows the candidate's rings while they are on the map (and only then).
  function candidateLegend(minutes) {
    const old = $("legend-candidate");
    if (old) old.remove();
    const legend = $("linli-legend");
    if (!minutes || !legend) return;
    const block = document.createElement("div");
    block.id = "legend-candidate";
    const title = document.createElement("div");
    title.className = "linli-legend-title";
    title.textContent = t.legend_candidate;
    block.appendChild(title);
    minutes.forEach((m, k) => {
      const row = document.createElement("div");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = RING_COLOURS[Math.min(k, RING_COLOURS.length - 1)];
      swatch.style.outline = "1px dashed #3f007d";
      row.append(swatch, `${k ? minutes[k - 1] : 0}-${m} ${t.minutes_unit}`);
      block.appendChild(row);
    });
    legend.insertBefore(block, legend.querySelector(".linli-legend-note"));
  }

  // ---------------------------------------------------------------- compare

  async function compareArea(layer) {
    const body = { area: layer.toGeoJSON().geometry };
    if (lastCandidate) {
      const ll = lastCandidate.getLatLng();
      body.center = { type: "Point", coordinates: [ll.lng, ll.lat] };
    }
    $("linli-compare").hidden = false;
    try {
      const r = await api("POST", "/api/compare", body);
      if (compareLayer) map.removeLayer(compareLayer);
      compareLayer = L_.layerGroup();
      if (r.shapes.drawn_not_reachable) L_.geoJSON(r.shapes.drawn_not_reachable, { style: { color: "#d7191c", fillOpacity: 0.3, weight: 1 } }).addTo(compareLayer);
      if (r.shapes.reachable_not_drawn) L_.geoJSON(r.shapes.reachable_not_drawn, { style: { color: "#2c7bb6", fillOpacity: 0.3, weight: 1 } }).addTo(compareLayer);
      compareLayer.addTo(map);
      const km2 = (m2) => (m2 / 1e6).toFixed(3) + " km²";
      $("compare-info").innerHTML =
        `规划 drawn: ${km2(r.drawn_m2)}, ${Math.round(r.drawn_residents)} 人<br>` +
        `计算 computed (${r.minutes} 分钟): ${km2(r.computed_m2)}, ${Math.round(r.computed_residents)} 人<br>` +
        `<span style="color:#d7191c">规划但不可达 drawn, not reachable: ${km2(r.drawn_not_reachable_m2)}, ${Math.round(r.drawn_not_reachable_residents)} 人</span><br>` +
        `<span style="color:#2c7bb6">可达但未规划 reachable, not drawn: ${km2(r.reachable_not_drawn_m2)}, ${Math.round(r.reachable_not_drawn_residents)} 人</span><br>` +
        `IoU ${r.iou.toFixed(2)} ${esc(r.note || "")}`;
    } catch (err) {
      $("compare-info").textContent = err.message;
      message(err.message, "error");
    }
  }

  // -------------------------------------------------------------- placement

  let placementLayer = null;
  let placementSites = [];  // the last run's sites not yet in the plan
  let placementJob = null;  // the job running now: the cancel button stops it
  // Placement sites and their service areas: orange, dashed, unlike the existing areas'
  // greens and a candidate's purples.
  const PLACE_COLOUR = "#e6550d";

  // A server stage or status, "中文 (English)", in the page's language.
  function stageText(text) {
    if (!text) return "";
    const english = /\s*\(([^()]*)\)\s*$/.exec(text);
    if (!english) return text;
    return app.lang === "en" ? english[1] : text.slice(0, english.index);
  }

  function placementProgress(job) {
    const bar = $("place-progress");
    const pct = Math.round(100 * (job.progress || 0));
    bar.hidden = false;
    bar.value = pct;
    const stage = job.status === "queued" ? t.place_queued : (stageText(job.message) || t.job_running);
    if (!$("place-cancel").disabled) $("place-status").textContent = `${stage} · ${pct}%`;
  }

  async function runPlacement() {
    const status = $("place-status");
    const body = {
      kind: "placement",
      params: {
        model: $("place-model").value,
        new: parseInt($("place-new").value, 10) || 3,
        function: $("function-select").value,
      },
    };
    const source = $("place-candidates").value;
    if (source !== "network") {
      if (!plan) {
        status.textContent = t.save_plan_first;
        status.dataset.state = "failed";
        message(t.save_plan_first, "error");
        return;
      }
      body.params.plan = plan.id;
      body.params.candidates = source;
    }
    $("place-run").disabled = true;
    status.textContent = t.job_running;
    status.dataset.state = "running";
    try {
      let job = await api("POST", "/api/jobs", body);
      placementJob = job;
      $("place-cancel").hidden = false;
      $("place-cancel").disabled = false;
      const deadline = Date.now() + 1000 * app.jobPollLimitS;
      let failures = 0;
      while (job.status === "queued" || job.status === "running") {
        placementProgress(job);
        if (Date.now() > deadline) throw new Error(t.job_gave_up);
        await new Promise((r) => setTimeout(r, 500));
        try {
          job = await api("GET", `/api/jobs/${job.id}`);
          failures = 0;
        } catch (err) {
          // A restarting server: a few failed polls are tolerated, then the page says so.
          if (++failures >= 5) throw new Error(`${t.job_lost}: ${err.message}`);
        }
      }
      if (job.status === "cancelled") {
        status.textContent = t.place_cancelled;
        status.dataset.state = "cancelled";
        return;
      }
      if (job.status === "failed") throw new Error(job.message);
      showPlacement(job.result);
      placementExports(job.id);
      const summary = job.result.summary;
      const ran = job.result.params;
      const count = (v) => Math.round(v || 0).toLocaleString();
      const parts = [t[`place_model_${ran.model}`] || ran.model, stageText(summary.status_zh),
        t.place_covered.replace("{after}", count(summary.covered_after)).replace("{total}", count(summary.residents))
          .replace("{min}", ran.minutes)];
      if (ran.model !== "lscp" && job.result.sites.length < ran.new) {
        parts.push(t.place_fewer.replace("{n}", job.result.sites.length));
      }
      status.textContent = parts.join(" · ");
      status.dataset.state = "done";
    } catch (err) {
      status.textContent = err.message;
      status.dataset.state = "failed";
      message(err.message, "error");
    } finally {
      placementJob = null;
      $("place-run").disabled = false;
      $("place-cancel").hidden = true;
      $("place-progress").hidden = true;
    }
  }

  $("place-cancel").addEventListener("click", async () => {
    if (!placementJob) return;
    $("place-cancel").disabled = true;
    $("place-status").textContent = t.place_cancelling;
    try {
      await api("POST", `/api/jobs/${placementJob.id}/cancel`);
    } catch (err) {
      message(err.message, "error");
    }
  });

  // The 选址 export links print the run on screen (its sites and parameters), not one of their own.
  function placementExports(jobId) {
    const paper = $("export-paper");
    for (const a of document.querySelectorAll('a.export-layout[data-base*="map=placement"]')) {
      a.dataset.base = `${a.dataset.base.replace(/&job=\d+/, "")}&job=${jobId}`;
      a.href = paper ? `${a.dataset.base}&${paper.value}` : a.dataset.base;
    }
    const note = $("export-placement-job");
    if (note) {
      note.textContent = t.export_placement_job.replace("{id}", jobId);
      note.hidden = false;
    }
  }

  function showPlacement(result) {
    if (placementLayer) map.removeLayer(placementLayer);
    placementLayer = L_.layerGroup();
    const minutes = result.params ? result.params.minutes : null;
    if (result.rings) {
      L_.geoJSON(result.rings, {
        interactive: false,
        style: { color: PLACE_COLOUR, weight: 2, dashArray: "8 5", fillColor: PLACE_COLOUR, fillOpacity: 0.08 },
      }).addTo(placementLayer);
    }
    const people = (v) => `${Math.round(v || 0).toLocaleString()} ${t.persons_unit}`;
    const rows = [];
    for (const site of result.sites) {
      L_.circleMarker([site.lat, site.lon], { radius: 10, color: "#7f2704", weight: 2, fillColor: PLACE_COLOUR, fillOpacity: 0.9 })
        .bindTooltip(String(site.rank), { permanent: true, direction: "center", className: "place-rank" })
        .bindPopup(`#${site.rank}: ${esc(t.place_added)} +${people(site.marginal_residents)} · ` +
          `${esc(t.place_sole)} ${people(site.sole_residents)}`)
        .addTo(placementLayer);
      const from = site.source === "plan" ? ` (${t.cand_plan})` : "";
      // A site already among the plan's candidates needs no button.
      const add = site.source === "plan" ? "" : `<button type="button" class="place-add" data-rank="${site.rank}">${esc(t.place_add)}</button>`;
      rows.push(`<tr data-rank="${site.rank}"><td>#${site.rank}${esc(from)}</td><td>+${people(site.marginal_residents)}</td>` +
        `<td>${people(site.sole_residents)}</td>` +
        `<td>${site.mean_time_min == null ? "-" : `${site.mean_time_min.toFixed(1)} ${t.minutes_unit}`}</td><td>${add}</td></tr>`);
    }
    placementLayer.addTo(map);
    placementLegend(result.sites.length ? minutes : null);
    placementSites = result.sites.filter((site) => site.source !== "plan");
    document.querySelector("#place-table tbody").innerHTML = rows.join("");
    $("place-add-all").hidden = placementSites.length < 2;
  }

  // The legend names the placement sites and their rings while they are on the map.
  function placementLegend(minutes) {
    const old = $("legend-placement");
    if (old) old.remove();
    const legend = $("linli-legend");
    if (minutes == null || !legend) return;
    const block = document.createElement("div");
    block.id = "legend-placement";
    const title = document.createElement("div");
    title.className = "linli-legend-title";
    title.textContent = t.legend_placement;
    const site = document.createElement("div");
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.style.background = PLACE_COLOUR;
    site.append(dot, "1, 2, 3 …");
    const ring = document.createElement("div");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.outline = `2px dashed ${PLACE_COLOUR}`;
    ring.append(swatch, t.legend_placement_ring.replace("{min}", minutes));
    block.append(title, site, ring);
    legend.insertBefore(block, legend.querySelector(".linli-legend-note"));
  }

  // Placement sites into the plan as candidates (draggable, evaluated with the plan, unsaved).
  function addSitesToPlan(sites) {
    for (const site of sites) {
      const marker = L_.marker([site.lat, site.lon]);
      marker.feature = { type: "Feature", properties: { kind: "candidate", name: `${t.place_site.split(/[（(]/)[0]} #${site.rank}` } };
      setupCandidate(marker, false);
      drawn.addLayer(marker);
      for (const button of document.querySelectorAll(`.place-add[data-rank="${site.rank}"]`)) button.remove();
    }
    placementSites = placementSites.filter((site) => !sites.includes(site));
    $("place-add-all").hidden = placementSites.length < 2;
    if (sites.length) {
      markDirty();
      schedulePlanEval();
      message(t.place_added_to_plan, "ok");
    }
  }
  document.querySelector("#place-table tbody").addEventListener("click", (ev) => {
    const button = ev.target.closest(".place-add");
    if (!button) return;
    addSitesToPlan(placementSites.filter((site) => String(site.rank) === button.dataset.rank));
  });
  $("place-add-all").addEventListener("click", () => addSitesToPlan(placementSites.slice()));

  // ----------------------------------------------------------------- wiring

  map.on("draw:created", (e) => {
    markDirty();
    const layer = e.layer;
    if (layer instanceof L_.Marker) {
      setupCandidate(layer, true);
    } else {
      const kind = $("draw-kind").value;
      layer.feature = { type: "Feature", properties: { kind } };
      if (kind === "area") compareArea(layer);
    }
  });
  map.on("draw:deleted", (e) => {
    markDirty();
    // A removed candidate takes its rings and its figures with it.
    e.layers.eachLayer((layer) => {
      if (layer !== lastCandidate) return;
      if (candidateLayer) map.removeLayer(candidateLayer);
      candidateLayer = null;
      lastCandidate = null;
      $("linli-candidate").hidden = true;
      delete $("linli-candidate").dataset.ready;
      candidateLegend(null);
    });
    schedulePlanEval();
  });
  map.on("draw:edited", (e) => {
    markDirty();
    e.layers.eachLayer((layer) => {
      if (layer instanceof L_.Marker) evaluate(layer);
      else if (layer.feature && layer.feature.properties.kind === "area") compareArea(layer);
    });
  });

  const functionSelect = $("function-select");
  const shownFunction = functionSelect.value;
  functionSelect.addEventListener("change", (e) => {
    if (!mayDiscard()) { e.target.value = shownFunction; return; }
    leaving = true;
    // The view and the plan stay: the address keeps its #map=...&plan=...
    const query = new URLSearchParams(new FormData(e.target.form)).toString();
    window.location.assign(`${location.pathname}?${query}${stateHash()}`);
  });
  $("plan-select").addEventListener("change", (e) => {
    if (!mayDiscard()) { e.target.value = plan ? String(plan.id) : ""; return; }
    loadPlan(e.target.value).catch((err) => message(err.message, "error"));
  });
  $("plan-new").addEventListener("click", () => {
    if (!mayDiscard()) return;
    showPlan(null); $("plan-select").value = ""; $("plan-name").focus();
  });
  for (const id of ["plan-name", "plan-notes"]) $(id).addEventListener("input", markDirty);
  $("plan-save").addEventListener("click", savePlan);
  $("place-run").addEventListener("click", runPlacement);
  $("plan-delete").addEventListener("click", deletePlan);
  $("plan-undo").addEventListener("click", undoDelete);
  // Clear all: every candidate and drawing off the map at once, with their rings and
  // figures; undone by one click until the plan is saved or another one is shown.
  let cleared = null;
  $("plan-clear").addEventListener("click", () => {
    const n = drawn.getLayers().length;
    if (!n || !window.confirm(t.clear_confirm.replace("{n}", String(n)))) return;
    cleared = collectFeatures();
    drawn.clearLayers();
    if (candidateLayer) { map.removeLayer(candidateLayer); candidateLayer = null; }
    lastCandidate = null;
    $("linli-candidate").hidden = true;
    $("plan-unclear").hidden = false;
    markDirty();
    schedulePlanEval();
    message(t.cleared, "ok");
  });
  $("plan-unclear").addEventListener("click", () => {
    if (!cleared) return;
    addFeatures(cleared);
    cleared = null;
    $("plan-unclear").hidden = true;
    markDirty();
    schedulePlanEval();
    message(t.unclear_done, "ok");
  });
  // Exports are fetched, not followed: a failed one says why beside the links and the page,
  // with its unsaved drawings, stays; a good one is saved under the server's file name.
  const exportsBox = $("linli-exports");
  if (exportsBox) {
    exportsBox.addEventListener("click", async (ev) => {
      const link = ev.target.closest('a[href^="/api/export/"]');
      if (!link || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
      ev.preventDefault();
      const status = $("export-status");
      status.className = "";
      status.textContent = `${t.exporting} ${link.textContent.trim()}`;
      let response;
      try {
        response = await fetch(link.href, { credentials: "same-origin" });
      } catch (e) {
        status.className = "error";
        status.textContent = `${t.export_failed}: ${e.message}`;
        return;
      }
      if (!response.ok) {
        let why = response.statusText;
        try { why = (await response.json()).error || why; } catch (e) { /* not JSON */ }
        status.className = "error";
        status.textContent = `${t.export_failed} (${response.status}): ${why}`;
        return;
      }
      const blob = await response.blob();
      const name = fileName(response.headers.get("Content-Disposition"), link.href);
      const save = document.createElement("a");
      save.href = URL.createObjectURL(blob);
      save.download = name;
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(save.href), 60000);
      status.textContent = `${t.export_done}: ${name}`;
    });
  }

  function fileName(disposition, url) {
    // RFC 6266: filename*=UTF-8''<percent-encoded> (Chinese names), else filename="...".
    const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition || "");
    if (star) return decodeURIComponent(star[1]);
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition || "");
    if (plain) return plain[1];
    return new URL(url, location.href).pathname.split("/").pop();
  }

  const paper = $("export-paper");  // exports (issue 8): paper size and orientation of the print layouts
  if (paper) paper.addEventListener("change", () => {
    for (const a of document.querySelectorAll("a.export-layout")) a.href = `${a.dataset.base}&${paper.value}`;
  });
  // The view and the plan on screen are in the address (#map=zoom/lat/lon&plan=id), as on
  // openstreetmap.org: a link shared or reloaded opens the same place and plan.
  function stateHash() {
    const c = map.getCenter();
    const parts = [`map=${map.getZoom()}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`];
    if (plan) parts.push(`plan=${plan.id}`);
    return `#${parts.join("&")}`;
  }
  function writeHash() {
    if (location.hash !== stateHash()) history.replaceState(null, "", stateHash());
  }
  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const view = /^(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(params.get("map") || "");
    const planId = /^\d+$/.test(params.get("plan") || "") ? params.get("plan") : null;
    return { view: view ? { zoom: Number(view[1]), lat: Number(view[2]), lon: Number(view[3]) } : null, planId };
  }
  const linked = readHash();
  if (linked.view && isFinite(linked.view.lat) && isFinite(linked.view.lon)) {
    map.setView([linked.view.lat, linked.view.lon], linked.view.zoom);
  }
  map.on("moveend", writeHash);
  app.stateHash = stateHash;
  refreshPlans(linked.planId).then(async () => {
    if (linked.planId && $("plan-select").value === linked.planId) await loadPlan(linked.planId);
    else if (linked.planId) message(`${t.plan_missing} #${linked.planId}`, "error");
    writeHash();
  }).catch((err) => message(err.message, "error"));
  offerDraft();

  // On a phone the panel starts folded over a full-screen map; the button unfolds it.
  const shell = $("linli-app");
  const toggle = $("linli-panel-toggle");
  function foldPanel(folded) {
    shell.classList.toggle("panel-folded", folded);
    toggle.setAttribute("aria-expanded", String(!folded));
  }
  if (window.matchMedia("(max-width: 720px)").matches) foldPanel(true);
  toggle.addEventListener("click", () => foldPanel(!shell.classList.contains("panel-folded")));

  function offerDraft() {
    let draft = null;
    try { draft = JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (e) { draft = null; }
    if (!draft || !Array.isArray(draft.features)) return;
    const box = $("linli-message");
    box.className = "draft";
    box.textContent = `${t.draft_found} (${new Date(draft.at).toLocaleString()}, ${draft.features.length} ${t.draft_items}) `;
    const restore = document.createElement("button");
    restore.type = "button";
    restore.id = "draft-restore";
    restore.textContent = t.draft_restore;
    const drop = document.createElement("button");
    drop.type = "button";
    drop.id = "draft-discard";
    drop.textContent = t.draft_discard;
    box.append(restore, " ", drop);
    restore.addEventListener("click", async () => {
      try {
        if (draft.plan) {
          await loadPlan(draft.plan);
          $("plan-select").value = String(draft.plan);
        }
      } catch (err) {
        showPlan(null);  // the plan is gone: its draft comes back as a new plan
      }
      drawn.clearLayers();
      addFeatures(draft.features);
      $("plan-name").value = draft.name || "";
      $("plan-notes").value = draft.notes || "";
      markDirty();  // restored, still not saved
      schedulePlanEval();
      message(t.draft_restored, "ok");
    });
    drop.addEventListener("click", () => { clearDraft(); message("", ""); });
  }
  // Ready once the window's layers (static/viewport.js) are drawn the first time.
  (window.LINLI_VIEW ? window.LINLI_VIEW.refresh() : Promise.resolve()).finally(() => { window.LINLI.ready = true; });

  // ------------------------------------------------------------------ ledgers (issue 16)

  const FIELD_ZH = { lon: "经度", lat: "纬度", pair: "坐标（经度,纬度）", id: "编号", name: "名称",
    category: "类别", functions: "服务功能", community: "所属社区", address: "地址",
    households: "户数", residents: "人口", elderly: "60岁以上人口", children: "0-6岁人口" };
  const ledger = { columns: {}, categories: {}, fields: [], headers: [] };

  function ledgerStatus(text, kind) {
    const box = $("ledger-status");
    box.textContent = text;
    box.className = kind || "";
  }

  async function ledgerRequest(url) {
    const file = $("ledger-file").files[0];
    if (!file) throw new Error("请先选择台账文件");
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("part", $("ledger-part").value);
    form.append("system", $("ledger-system").value);
    form.append("columns", JSON.stringify(ledger.columns));
    form.append("categories", JSON.stringify(ledger.categories));
    const response = await fetch(url, { method: "POST", body: form, credentials: "same-origin",
      headers: { "X-CSRF-Token": await csrfToken() } });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const err = new Error((data && data.error) || response.statusText);
      err.data = data || {};
      throw err;
    }
    return data;
  }

  function showColumnChoice(headers, fields) {
    const box = $("ledger-columns");
    box.innerHTML = "<div class=\"linli-hint\">指定各列的含义后重新预览：</div>";
    for (const field of fields) {
      const label = document.createElement("label");
      label.textContent = FIELD_ZH[field] || field;
      const select = document.createElement("select");
      select.dataset.field = field;
      select.innerHTML = "<option value=\"\">（自动）</option>" + headers.map(
        (h) => `<option value="${esc(h)}"${ledger.columns[field] === h ? " selected" : ""}>${esc(h)}</option>`).join("");
      select.addEventListener("change", () => { ledger.columns[field] = select.value; });
      label.appendChild(select);
      box.appendChild(label);
    }
    box.hidden = false;
  }

  function showCategoryChoice(unknown) {
    const box = $("ledger-categories");
    const names = Object.keys(unknown || {});
    if (!names.length) { box.hidden = true; box.innerHTML = ""; return; }
    box.innerHTML = "<div class=\"linli-hint\">以下类别未识别（未读入）；选择其服务功能后重新预览：</div>";
    for (const name of names) {
      const label = document.createElement("label");
      label.textContent = `${name}（${unknown[name]} 行）`;
      const select = document.createElement("select");
      select.dataset.category = name;
      select.innerHTML = "<option value=\"\">不计入</option>" + Object.entries(app.functions).map(
        ([key, zh]) => `<option value="${esc(zh)}"${ledger.categories[name] === zh ? " selected" : ""}>${esc(zh)}</option>`).join("")
        + "<option value=\"全部\">全部功能（邻里中心）</option>";
      select.addEventListener("change", () => { ledger.categories[name] = select.value; });
      label.appendChild(select);
      box.appendChild(label);
    }
    box.hidden = false;
  }

  function showPreview(data) {
    const rows = data.rows || [];
    const skip = new Set(["geometry", "source", "assumption", "residents_source", "facility_id", "function"]);
    const cols = rows.length ? Object.keys(rows[0]).filter((c) => !skip.has(c)) : [];
    const head = cols.map((c) => `<th>${esc(c)}</th>`).join("");
    const body = rows.map((r) => "<tr>" + cols.map((c) => `<td>${esc(r[c])}</td>`).join("") + "</tr>").join("");
    $("ledger-preview-table").innerHTML = rows.length ? `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>` : "";
    $("ledger-report").textContent = data.report_text || "";
    $("ledger-report-box").hidden = !data.report_text;
    ledger.fields = data.fields || [];
    ledger.headers = data.headers || [];
    showColumnChoice(ledger.headers, ledger.fields);
    showCategoryChoice((data.report || {}).unknown_categories);
  }

  async function previewLedger() {
    ledgerStatus("正在读取台账……");
    $("ledger-apply").disabled = true;
    try {
      const data = await ledgerRequest("/api/ledgers/preview");
      showPreview(data);
      ledgerStatus(data.report.summary, "ok");
      $("ledger-apply").disabled = false;
    } catch (err) {
      const data = err.data || {};
      if (data.ask === "columns") showColumnChoice(data.headers || [], ["lon", "lat", "pair", "name", "category", "households"]);
      if (data.ask === "system") {
        $("ledger-system").focus();
      }
      ledgerStatus(err.message, "error");
    }
  }

  async function applyLedger() {
    ledgerStatus("正在载入并重新计算覆盖……");
    $("ledger-apply").disabled = true;
    try {
      const data = await ledgerRequest("/api/ledgers/apply");
      ledgerStatus(`已载入：${data.report.summary}。正在刷新地图……`, "ok");
      window.location.reload();
    } catch (err) {
      ledgerStatus(err.message, "error");
      $("ledger-apply").disabled = false;
    }
  }

  async function uploadToPlan() {
    const file = $("plan-upload-file").files[0];
    if (!plan) { message("请先选择或新建一个方案", "error"); return; }
    if (!file) { message("请先选择要上传的文件", "error"); return; }
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("kind", $("plan-upload-kind").value);
    form.append("version", String(plan.version));
    form.append("system", $("ledger-system").value);
    message("正在上传……");
    const response = await fetch(`/api/plans/${plan.id}/upload`, { method: "POST", body: form,
      credentials: "same-origin", headers: { "X-CSRF-Token": await csrfToken() } });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) { message((data && data.error) || response.statusText, "error"); return; }
    showPlan(data);
    message(`已加入 ${data.added} 个要素（${data.source_crs || ""}）`, "ok");
  }

  if ($("plan-upload")) $("plan-upload").addEventListener("click", uploadToPlan);

  // ------------------------------------------------------------------ a new study area (issue 16)

  function npStatus(text, kind) {
    const box = $("np-status");
    box.textContent = text;
    box.className = kind || "";
  }

  async function buildProject() {
    const network = $("np-network").files[0];
    if (!network) { npStatus("请选择路网文件（.osm.pbf 或 .osm）", "error"); return; }
    const form = new FormData();
    form.append("name", $("np-name").value);
    form.append("county", $("np-county").value);
    form.append("functions", $("np-functions").value);
    form.append("system", $("ledger-system").value);
    form.append("network", network, network.name);
    for (const [field, id] of [["boundary", "np-boundary"], ["facilities", "np-facilities"], ["compounds", "np-compounds"], ["categories", "np-categories"]]) {
      const file = $(id).files[0];
      if (file) form.append(field, file, file.name);
    }
    const token = await csrfToken();
    const bar = $("np-progress");
    bar.hidden = false; bar.value = 0;
    $("np-build").disabled = true;
    npStatus("正在上传文件……");
    // XMLHttpRequest rather than fetch: a county extract takes a while, and this shows how far it is.
    const job = await new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/projects");
      xhr.setRequestHeader("X-CSRF-Token", token);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          bar.value = Math.round(50 * e.loaded / e.total);
          npStatus(`正在上传文件…… ${(e.loaded / 1e6).toFixed(1)} / ${(e.total / 1e6).toFixed(1)} MB`);
        }
      };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status === 202) resolve(data);
        else reject(new Error((data && data.error) || xhr.statusText));
      };
      xhr.onerror = () => reject(new Error("上传失败 (upload failed)"));
      xhr.send(form);
    }).catch((err) => { npStatus(err.message, "error"); $("np-build").disabled = false; bar.hidden = true; return null; });
    if (!job) return;
    const started = Date.now();
    bar.value = 50;
    // The build can be cancelled: it stops at its next stage and nothing is opened.
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.id = "np-cancel";
    cancel.textContent = t.np_cancel;
    $("np-build").after(cancel);
    cancel.addEventListener("click", () => {
      cancel.disabled = true;
      api("POST", `/api/jobs/${job.id}/cancel`).catch((err) => npStatus(err.message, "error"));
    });
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const state = await api("GET", `/api/jobs/${job.id}`);
      const seconds = Math.round((Date.now() - started) / 1000);
      if (state.status !== "queued" && state.status !== "running") cancel.remove();
      if (state.status === "cancelled") {
        npStatus(t.np_cancelled, "error");
        $("np-build").disabled = false;
        bar.hidden = true;
        return;
      }
      if (state.status === "done") {
        bar.value = 100;
        npStatus(`已构建：${state.result.project}（${state.result.load_s} 秒）。正在打开……`, "ok");
        window.location.reload();
        return;
      }
      if (state.status === "failed") {
        npStatus(state.message, "error");
        $("np-build").disabled = false;
        return;
      }
      bar.value = Math.round(50 + 50 * (state.progress || 0));
      const stage = state.message || "排队等候";
      npStatus(`正在构建研究区：${stage}…… ${Math.round(100 * (state.progress || 0))}%，已用 ${seconds} 秒`);
      if (seconds > app.jobPollLimitS) {
        npStatus("构建时间过长，请稍后刷新页面查看", "error");
        return;
      }
    }
  }

  if ($("np-build")) $("np-build").addEventListener("click", () => buildProject().catch((err) => npStatus(err.message, "error")));

  if ($("ledger-preview")) {
    $("ledger-preview").addEventListener("click", previewLedger);
    $("ledger-apply").addEventListener("click", applyLedger);
    $("ledger-file").addEventListener("change", () => {
      ledger.columns = {}; ledger.categories = {};
      $("ledger-columns").hidden = true; $("ledger-categories").hidden = true;
      $("ledger-apply").disabled = true;
    });
  }
})();
