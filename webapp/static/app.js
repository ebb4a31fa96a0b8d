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
  // What the page looks at: the function, the budget (minutes) and the travel profile.  They
  // switch in place (no reload: the unsaved plan stays) and are kept in the address.
  const scene = {
    function: $("function-select").value,
    budget: Number($("budget-select").value) || 15,
    profile: $("profile-select").value,
  };
  window.LINLI_SCENE = scene;
  const sceneBody = () => ({ profile: scene.profile, budget: scene.budget });
  const sceneKey = () => `${scene.function}|${scene.profile}|${scene.budget}`;
  const functionName = (key, fallback) => app.functions[key] || fallback || key;
  // What a figure assumes, in the page's language: the travel mode with its speed, the budget.
  const sceneNote = () => `${$("profile-select").selectedOptions[0].textContent.trim()}, ${scene.budget} ${t.minutes_unit}`;
  let plan = null;          // {id, version, name, notes}
  let lastDeleted = null;
  let compareLayer = null;
  let lastCandidate = null;
  // Unsaved changes of the plan on screen: drawings, moved candidates, name and notes.
  // Anything that would drop them (leaving the page, another or a new
  // plan) asks first.
  let dirty = false;
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
    if (!dirty) return;
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
    if (body instanceof FormData) {
      opts.body = body; // a file upload: the browser writes the multipart header
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const response = await fetch(url, opts);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      // A refusal without a JSON message (waitress's 413, a proxy's 502/503) still reads as a sentence.
      const busy = response.status === 429 || response.status === 503;
      const fallback = busy ? t.error_busy
        : response.status === 413 ? t.error_too_large
        : t.error_status.replace("{status}", response.status);
      const err = new Error((data && data.error) || fallback);
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

  // For the panels' scripts loaded after this one (grids, micro-grids, rosters, imports, the
  // organisation tree, the programme, the check): one API client (CSRF header, JSON or a file
  // form, refusals as sentences), one escape and the page's message line.
  app.api = api;
  app.esc = esc;
  app.message = message;

  // ------------------------------------------------------------------ plans

  // A plan as the list, the version line and the recycle bin show it:
  // "名称 · v3 · 2026-12-05 14:02", the time in the browser's own time zone.
  function localTime(iso) {
    const d = iso ? new Date(iso) : null;
    if (!d || isNaN(d.getTime())) return "";
    const two = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
  }
  function planLabel(p, time) {
    return [p.name, `v${p.version}`, localTime(time === undefined ? p.updated_at : time), planAuthors(p)].filter(Boolean).join(" · ");
  }
  // h-acct (issue 19): who created the plan and who saved it last (account names; 本机 without accounts).
  function planAuthors(p) {
    const who = (name) => (name === ":local" ? t.acct_local : name || "");
    const created = who(p.created_by), saved = who(p.updated_by);
    if (!saved) return created ? t.acct_created_by.replace("{name}", created) : "";
    const by = t.acct_by.replace("{name}", saved);
    return created && created !== saved ? `${t.acct_created_by.replace("{name}", created)}, ${by}` : by;
  }
  const restoredText = (p) => t.restored_plan.replace("{name}", p.name).replace("{version}", p.version);

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
      opt.textContent = planLabel(p);
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
    $("plan-version").textContent = p ? `#${p.id} · ${planLabel(p)}` : "";
    // Exports: the plan's GeoPackage and zipped Shapefile (UTF-8 or GBK), in the export block.
    const printed = [["deliver-plan-pdf", ".pdf"], ["deliver-plan-png", ".png"], ["deliver-plan-xlsx", ".xlsx"], ["deliver-plan-csv", ".csv"]]; // h-deliver
    for (const [id, suffix] of [["export-plan-gpkg", ".gpkg"], ["export-plan-zip", ".zip"], ["export-plan-zip-gbk", ".zip?encoding=gbk"], ...printed]) {
      const a = $(id);
      if (!a) continue;
      a.hidden = !p;
      if (p) a.href = `/api/export/plans/${p.id}${suffix}`;
    }
    if (drawn) drawn.clearLayers();
    schedulePlanEval();
    if (p) { addFeatures(p.features); ringAll(); }
  }

  // --- h-deliver (issue 21): a plan's files in the chosen export CRS (?crs=), and the page's
  // paper size on its printed candidates; set on the link when it is clicked.
  document.addEventListener("click", (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest('a[href^="/api/export/plans/"]') : null;
    if (!a) return;
    const url = new URL(a.getAttribute("href"), window.location.href);
    const crs = $("deliver-crs");
    if (crs) url.searchParams.set("crs", crs.value);
    const paper = $("export-paper");
    if (paper && /\.(pdf|png)$/.test(url.pathname)) {
      for (const [k, v] of new URLSearchParams(paper.value)) url.searchParams.set(k, v);
    }
    a.setAttribute("href", url.pathname + url.search);
  }, true);
  // The title block typed in the export block goes on every printed page (empty: the project's [print]).
  document.addEventListener("click", (ev) => {
    const a = ev.target && ev.target.closest ? ev.target.closest("a[href^='/api/export/']") : null;
    if (!a) return;
    const url = new URL(a.getAttribute("href"), window.location.href);
    if (!/\.(pdf|png)$/.test(url.pathname)) return;
    for (const input of document.querySelectorAll("#deliver-title-block input[data-field]")) {
      const value = input.value.trim();
      if (value) url.searchParams.set(input.dataset.field, value);
      else url.searchParams.delete(input.dataset.field);
    }
    a.setAttribute("href", url.pathname + url.search);
  }, true);

  // A plan's (or a draft's) features onto the map, candidates draggable.
  function addFeatures(features) {
    for (const f of features) {
      const layer = L_.geoJSON(f.geometry).getLayers()[0];
      // h-prog (issue 21): a candidate's own properties (its centre, status, target date, phase) come back with it.
      layer.feature = { type: "Feature", properties: Object.assign({}, f.properties || {}, { kind: f.kind, name: f.name }) };
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
      out.push({ kind, name: props.name || "", geometry: layer.toGeoJSON().geometry, properties: ownProperties(props) });
    });
    return out;
  }
  // --- h-prog (issue 21): the properties a feature is saved with (its place in the programme ...):
  // text, numbers and booleans other than kind and name; the page's own working state is not saved.
  function ownProperties(props) {
    const out = {};
    for (const [key, value] of Object.entries(props)) {
      if (key === "kind" || key === "name") continue;
      if (value === null || ["string", "number", "boolean"].includes(typeof value)) out[key] = value;
    }
    return out;
  }
  app.collectFeatures = collectFeatures;
  app.markDirty = () => markDirty();
  // --- end h-prog

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
      $("plan-version").textContent = `#${saved.id} · ${planLabel(saved)}`;
      await refreshPlans(saved.id);
      message(`${t.saved} (v${saved.version})`, "ok");
    } catch (err) {
      if (err.status === 409 || err.status === 412) {
        message(t.conflict, "error conflict");
        openConflict(err.data && err.data.current_version);
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
      await refreshBin();
    } catch (err) {
      message(err.status === 409 ? t.conflict : err.message, "error");
    }
  }

  async function undoDelete() {
    if (!lastDeleted) return;
    await restorePlan(lastDeleted);
  }

  // Back out of the recycle bin (undo or the bin's button): the plan is shown, the message
  // names it and its version.  Unsaved edits of the plan on screen are not dropped unasked.
  async function restorePlan(id) {
    if (!mayDiscard()) return;
    try {
      const p = await api("POST", `/api/plans/${id}/restore`);
      if (String(lastDeleted) === String(id)) {
        lastDeleted = null;
        $("plan-undo").hidden = true;
      }
      await refreshPlans(p.id);
      showPlan(p);
      message(restoredText(p), "ok");
    } catch (err) {
      message(err.message, "error");
    }
    await refreshBin();
  }

  // The recycle bin: deleted plans with their version and when they were deleted, each with
  // a restore button; read when the bin is opened and after each delete or restore.
  async function refreshBin() {
    const bin = $("plan-bin");
    if (!bin || !bin.open) return;
    const list = $("plan-bin-list");
    delete list.dataset.ready;
    const data = await api("GET", "/api/plans?deleted=1");
    list.innerHTML = "";
    if (!data.plans.length) {
      const empty = document.createElement("li");
      empty.className = "linli-hint";
      empty.textContent = t.bin_empty;
      list.appendChild(empty);
    }
    for (const p of data.plans) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "bin-restore";
      button.dataset.id = p.id;
      button.textContent = t.bin_restore;
      button.setAttribute("aria-label", `${t.bin_restore} ${p.name}`);
      item.append(`${p.name} · v${p.version} · ${t.bin_deleted_at} ${localTime(p.deleted_at)} `, button);
      list.appendChild(item);
    }
    list.dataset.ready = String(data.plans.length);
  }

  // ------------------------------------------------- a stale save (issue 18)

  // Someone saved a newer version: a dialog offers their version, mine as a copy, or what
  // differs.  Until the planner picks one, mine stay on the map, unsaved.
  let theirsLayer = null;  // their shapes that differ, drawn while the dialog is open
  function openConflict(current) {
    const dialog = $("plan-conflict");
    $("plan-conflict-text").textContent = t.conflict_detail.replace("{name}", plan.name)
      .replace("{theirs}", current == null ? "?" : current).replace("{mine}", plan.version);
    $("plan-conflict-status").textContent = "";
    const diff = $("plan-conflict-diff");
    diff.hidden = true;
    diff.innerHTML = "";
    delete diff.dataset.ready;
    if (!dialog.open) dialog.showModal();
    $("conflict-diff").focus();  // the harmless choice first; Escape closes
  }

  function conflictFailed(err) {
    $("plan-conflict-status").textContent = err.message;
    $("plan-conflict-status").className = "error";
  }

  async function reloadTheirs() {
    const theirs = await api("GET", `/api/plans/${plan.id}`);
    $("plan-conflict").close();
    showPlan(theirs);
    await refreshPlans(theirs.id);
    message(t.reloaded_theirs.replace("{version}", theirs.version), "ok");
  }

  async function keepMineAsCopy() {
    const mine = $("plan-name").value.trim() || plan.name;
    const name = mine.slice(0, 200 - t.copy_suffix.length) + t.copy_suffix;
    const copy = await api("POST", "/api/plans", { name, notes: $("plan-notes").value, features: collectFeatures() });
    $("plan-conflict").close();
    showPlan(copy);
    await refreshPlans(copy.id);
    message(t.copy_saved.replace("{name}", copy.name).replace("{version}", copy.version), "ok");
  }

  const KIND_TEXT = { area: t.kind_area, candidate: t.candidate, town: t.kind_town, grid: t.kind_grid };
  function featureList(features) {
    const list = document.createElement("ul");
    for (const f of features.slice(0, 8)) {
      const item = document.createElement("li");
      item.textContent = `${KIND_TEXT[f.kind] || f.kind} ${f.name || t.unnamed}`;
      list.appendChild(item);
    }
    if (features.length > 8) {
      const more = document.createElement("li");
      more.textContent = t.diff_more.replace("{n}", features.length - 8);
      list.appendChild(more);
    }
    return list;
  }

  async function showDiff() {
    const box = $("plan-conflict-diff");
    box.hidden = false;
    box.textContent = "…";
    const d = await api("POST", `/api/plans/${plan.id}/diff`, {
      name: $("plan-name").value.trim() || plan.name, notes: $("plan-notes").value, features: collectFeatures(),
    });
    box.innerHTML = "";
    const line = (id, text) => {
      const p = document.createElement("p");
      p.id = id;
      p.textContent = text;
      box.appendChild(p);
    };
    line("diff-name", `${t.plan_name}: ${d.name_changed ? `${t.diff_changed_text} (${t.diff_theirs_is}${d.theirs.name})` : t.diff_same_text}`);
    line("diff-notes", `${t.notes}: ${d.notes_changed ? t.diff_changed_text : t.diff_same_text}`);
    line("diff-only-theirs", t.diff_only_theirs.replace("{n}", d.only_theirs.length));
    if (d.only_theirs.length) box.appendChild(featureList(d.only_theirs));
    line("diff-only-mine", t.diff_only_mine.replace("{n}", d.only_mine.length));
    if (d.only_mine.length) box.appendChild(featureList(d.only_mine));
    line("diff-moved", t.diff_moved.replace("{n}", d.changed.length));
    if (d.changed.length) box.appendChild(featureList(d.changed));
    line("diff-same", t.diff_same.replace("{n}", d.same));
    const shapes = d.only_theirs.map((f) => f.geometry).concat(d.changed.map((f) => f.theirs));
    if (theirsLayer) map.removeLayer(theirsLayer);
    theirsLayer = null;
    if (shapes.length) {
      line("diff-map-note", t.diff_map_note);
      box.lastChild.className = "linli-hint";
      const style = { color: "#e66101", weight: 3, dashArray: "5 5", fillColor: "#fdb863", fillOpacity: 0.25 };
      theirsLayer = L_.geoJSON({ type: "FeatureCollection", features: shapes.map((g) => ({ type: "Feature", geometry: g, properties: {} })) }, {
        interactive: false, style, pointToLayer: (f, ll) => L_.circleMarker(ll, { ...style, radius: 10 }),
      }).addTo(map);
    }
    box.dataset.ready = "1";
  }

  // ------------------------------------------------------------- candidates

  // Every candidate of the plan shows its own rings (the first MAX_RINGS of them; the
  // others when clicked), in the candidates' purples, on a layer of their own.
  const MAX_RINGS = 20;
  const ringsLayer = L_.layerGroup().addTo(map);
  const ringsOf = new Map();  // marker -> its rings
  function dropRings(marker) {
    const rings = ringsOf.get(marker);
    if (rings) ringsLayer.removeLayer(rings);
    ringsOf.delete(marker);
    if (!ringsOf.size) candidateLegend(null);
  }
  function candidateName(marker) {
    return (marker.feature && marker.feature.properties.name) || t.candidate;
  }

  function setupCandidate(marker, evaluateNow) {
    marker.feature = marker.feature || { type: "Feature", properties: {} };
    marker.feature.properties.kind = "candidate";
    if (!marker.feature.properties.name) {
      const others = planCandidates().filter((m) => m !== marker).length;
      marker.feature.properties.name = t.cand_default_name.replace("{k}", String(others + 1));
    }
    // Draggable: a dragged candidate is evaluated again where it is dropped.
    marker.options.draggable = true;
    if (marker.dragging) marker.dragging.enable();
    marker.on("add", () => marker.dragging && marker.dragging.enable());
    marker.on("dragend", () => { markDirty(); evaluate(marker); schedulePlanEval(); });
    marker.on("click", () => evaluate(marker));
    // Its card: a name the planner types, and a way to remove it (keyboard: Enter on the marker).
    marker.bindPopup(() => candidatePopup(marker), { minWidth: 220 });
    marker.bindTooltip(esc(candidateName(marker)), { permanent: true, direction: "top", offset: [-15, -38], className: "linli-cand-label" });
    if (evaluateNow) { evaluate(marker); schedulePlanEval(); }
  }

  function candidatePopup(marker) {
    const box = document.createElement("div");
    box.className = "linli-cand-popup";
    const label = document.createElement("label");
    label.textContent = t.cand_name;
    const input = document.createElement("input");
    input.className = "cand-name";
    input.maxLength = 100;
    input.value = marker.feature.properties.name || "";
    input.addEventListener("input", () => {
      marker.feature.properties.name = input.value.trim();
      markDirty();
      labelCandidate(marker);
    });
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") marker.closePopup(); });
    label.appendChild(input);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "cand-remove";
    remove.textContent = t.cand_remove;
    remove.addEventListener("click", () => {
      drawn.removeLayer(marker);
      markDirty();
      schedulePlanEval();
    });
    const figures = document.createElement("div");
    figures.className = "cand-figures";
    const row = marker.linliFigures;
    if (row) {
      figures.textContent = t.cand_figures.replace("{function}", functionName(scene.function))
        .replace("{added}", fmt(row.newly_covered)).replace("{sole}", fmt(row.sole_residents));
    }
    box.append(label, figures, remove);
    setTimeout(() => input.focus(), 0);
    return box;
  }

  // A candidate's label on the map: its name and, once the plan is evaluated, what it adds.
  function labelCandidate(marker) {
    const row = marker.linliFigures;
    const name = candidateName(marker);
    let text = row ? t.cand_card.replace("{name}", name).replace("{added}", fmt(row.newly_covered)) : name;
    if (row && row.snapped === false) text = t.cand_unsnapped.replace("{name}", name);
    marker.setTooltipContent(esc(text));
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

  const fmt = (v) => Math.round(v).toLocaleString();
  const pct = (v) => (v == null ? "-" : `${v.toFixed(1)}%`);
  const LEVELS = { town: t.level_town, community: t.level_community, grid: t.level_grid };
  let planSeq = 0;

  // The last plan evaluation, kept: another function is the same answer shown for it.
  let lastPlan = null;  // {key, markers, data}
  const sitesOf = (markers) => markers.map((m) => ({ type: "Point", coordinates: [m.getLatLng().lng, m.getLatLng().lat] }));
  const planKey = (sites) => `${JSON.stringify(sites)}|${scene.profile}|${scene.budget}`;

  async function evaluatePlan() {
    const box = $("linli-plan-eval");
    const markers = planCandidates();
    const seq = ++planSeq;
    if (!markers.length) { box.hidden = true; delete box.dataset.ready; lastPlan = null; return; }
    const sites = sitesOf(markers);
    const key = planKey(sites);
    delete box.dataset.ready;
    if (!(lastPlan && lastPlan.key === key)) {
      const data = await api("POST", "/api/evaluate-plan", Object.assign({ sites }, sceneBody()));
      if (seq !== planSeq) return;  // changed meanwhile: a newer request follows
      lastPlan = { key, data };
    }
    renderPlan(markers, lastPlan.data);
  }

  function renderPlan(markers, data) {
    const box = $("linli-plan-eval");
    const fn = scene.function;
    document.querySelector("#plan-eval-table tbody").innerHTML = data.together.map((d) =>
      `<tr${d.function === fn ? ' class="chosen"' : ""}><td>${esc(functionName(d.function, d.function_zh))}</td>` +
      `<td>${pct(d.covered_pct_before)}</td><td>${pct(d.covered_pct_after)}</td>` +
      `<td>+${fmt(d.newly_covered)} ${t.people}</td><td>${fmt(d.uncovered_after)} ${t.people}</td></tr>`).join("");
    $("plan-eval-info").textContent = `${t.plan_eval_info.replace("{n}", markers.length)} · ${sceneNote()} · ` +
      `${t.server_time} ${data.server_ms} ms`;
    // Each candidate: what it adds for the chosen function, and what only it adds.
    const rows = [];
    markers.forEach((m, k) => {
      const row = data.candidates.find((d) => d.candidate === k && d.function === fn);
      m.linliFigures = row || null;
      labelCandidate(m);
      if (row && row.snapped === false) rows.push(`<tr class="unsnapped"><td>${esc(candidateName(m))}</td><td colspan="2">${esc(t.cand_unsnapped_row.replace("{m}", String(config.snap_max_m)))}</td></tr>`);
      else if (row) rows.push(`<tr><td>${esc(candidateName(m))}</td><td>+${fmt(row.newly_covered)} ${t.people}</td><td>${fmt(row.sole_residents)} ${t.people}</td></tr>`);
    });
    document.querySelector("#plan-cands-table tbody").innerHTML = rows.join("");
    // Per area unit (where the project has units), for the chosen function.
    const units = (data.units || []).filter((d) => d.function === fn);
    $("plan-units").hidden = !units.length;
    document.querySelector("#plan-units-table tbody").innerHTML = units.map((d) =>
      `<tr><td>${esc(LEVELS[d.level] || d.level)} ${esc(d.unit_name || "")} <span class="code">${esc(d.unit)}</span></td>` +
      `<td>${pct(d.covered_pct_before)}</td><td>${pct(d.covered_pct_after)}</td>` +
      `<td>+${fmt(d.newly_covered)}</td><td>${fmt(d.uncovered_after)}</td></tr>`).join("");
    box.hidden = false;
    box.dataset.ready = String(markers.length);
    box.dataset.scene = sceneKey();
  }

  async function evaluate(marker, quiet) {
    if (!quiet) lastCandidate = marker;
    const ll = marker.getLatLng();
    const card = $("linli-candidate");
    if (!quiet) { card.hidden = false; $("candidate-info").textContent = "…"; delete card.dataset.ready; }
    try {
      const data = await api("POST", "/api/evaluate", Object.assign(
        { geometry: { type: "Point", coordinates: [ll.lng, ll.lat] } }, sceneBody()));
      if (!drawn.hasLayer(marker)) return;  // removed meanwhile
      setRings(marker, data.rings);
      if (quiet || marker !== lastCandidate) return;
      const rows = data.delta.map((d) =>
        `<tr><td>${esc(functionName(d.function, d.function_zh))}</td><td>${fmt(d.newly_covered)} ${t.people}</td>` +
        `<td>${pct(d.covered_pct_before)}</td><td>${pct(d.covered_pct_after)}</td></tr>`);
      document.querySelector("#candidate-table tbody").innerHTML = rows.join("");
      $("candidate-info").textContent =
        `${candidateName(marker)} · ${ll.lat.toFixed(5)}, ${ll.lng.toFixed(5)} · ${sceneNote()} · ` +
        `${t.snap_dist} ${data.snap_dist_m} m · ${t.server_time} ${data.server_ms} ms`;
      card.dataset.ready = "1";
      card.dataset.scene = sceneKey();
      card.scrollIntoView({ block: "nearest" });
    } catch (err) {
      if (!quiet) $("candidate-info").textContent = err.message;
      message(err.message, "error");
    }
  }

  // A candidate's rings onto the map (replacing its old ones), and the legend's entry for them.
  // They are kept on the marker with where and how they were made: the bands do not depend on
  // the budgets asked for, so a shorter budget is the same rings' inner bands.
  function setRings(marker, collection) {
    dropRings(marker);
    const ll = marker.getLatLng();
    const at = `${ll.lat},${ll.lng}`;
    const kept = marker.linliRings && marker.linliRings.at === at ? marker.linliRings : { at, byProfile: {} };
    const old = kept.byProfile[scene.profile];
    // The widest bands made here are kept (a shorter budget's are their inner bands).
    if (!old || collection.features.length >= old.features.length) kept.byProfile[scene.profile] = collection;
    marker.linliRings = kept;
    const bands = [...new Set(collection.features.map((f) => f.properties.minutes))].sort((a, b) => a - b);
    const rings = L_.geoJSON(collection, {
      interactive: false,
      style: (f) => {
        const c = RING_COLOURS[Math.min(bands.indexOf(f.properties.minutes), RING_COLOURS.length - 1)];
        return { color: "#3f007d", weight: 2, dashArray: "6 4", fillColor: c, fillOpacity: 0.3 };
      },
    });
    ringsOf.set(marker, rings);
    ringsLayer.addLayer(rings);
    candidateLegend(bands);
  }

  // Rings of the plan's candidates (a loaded plan, another profile or budget): all in one request;
  // the card of the candidate last clicked follows.
  let ringSeq = 0;
  const STANDARD_BANDS = [...$("budget-select").options].map((o) => Number(o.value)).filter((m) => m > 0);
  function sceneBands() {
    return [...new Set([...STANDARD_BANDS.filter((m) => m < scene.budget), scene.budget])].sort((a, b) => a - b);
  }
  // The kept rings of a marker in the scene's bands, or null when they must be made.
  function keptRings(marker) {
    const kept = marker.linliRings;
    const ll = marker.getLatLng();
    const collection = kept && kept.at === `${ll.lat},${ll.lng}` ? kept.byProfile[scene.profile] : null;
    if (!collection) return null;
    const have = new Set(collection.features.map((f) => f.properties.minutes));
    if (!sceneBands().every((m) => have.has(m))) return null;
    return { type: "FeatureCollection", features: collection.features.filter((f) => f.properties.minutes <= scene.budget) };
  }
  async function ringAll() {
    const markers = planCandidates().slice(0, MAX_RINGS);
    const seq = ++ringSeq;
    const card = lastCandidate && !$("linli-candidate").hidden ? evaluate(lastCandidate) : null;
    const missing = [];
    for (const marker of markers) {
      const kept = keptRings(marker);
      if (kept) setRings(marker, kept);
      else missing.push(marker);
    }
    if (missing.length) {
      const data = await api("POST", "/api/candidate-rings", Object.assign({ sites: sitesOf(missing) }, sceneBody()));
      if (seq === ringSeq) {
        missing.forEach((marker, k) => {
          if (!drawn.hasLayer(marker)) return;
          setRings(marker, { type: "FeatureCollection", features: data.rings.features.filter((f) => f.properties.origin === k) });
        });
      }
    }
    await card;
  }

  // The legend shows the candidates' rings while they are on the map (and only then).
  function candidateLegend(minutes) {
    const old = $("legend-candidate");
    if (old) old.remove();
    const legend = $("linli-legend");
    if (!minutes || !legend) return;
    const block = document.createElement("div");
    block.id = "legend-candidate";
    const title = document.createElement("div");
    title.className = "linli-legend-title";
    title.textContent = t.legend_plan;
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

  // The comparison's colours in the legend while its shapes are on the map.
  function compareLegend(on) {
    const old = $("legend-compare");
    if (old) old.remove();
    const legend = $("linli-legend");
    if (!on || !legend) return;
    const block = document.createElement("div");
    block.id = "legend-compare";
    const title = document.createElement("div");
    title.className = "linli-legend-title";
    title.textContent = t.compare;
    block.appendChild(title);
    for (const [colour, key] of [["#d7191c", "legend_compare_not_reachable"], ["#2c7bb6", "legend_compare_not_drawn"]]) {
      const row = document.createElement("div");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour;
      swatch.style.opacity = "0.5";
      row.append(swatch, t[key]);
      block.appendChild(row);
    }
    legend.insertBefore(block, legend.querySelector(".linli-legend-note"));
  }
  let comparedArea = null;  // the drawn area the comparison on the map is of

  async function compareArea(layer) {
    const body = Object.assign({ area: layer.toGeoJSON().geometry }, sceneBody());
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
      comparedArea = layer;
      compareLegend(true);
      const km2 = (m2) => (m2 / 1e6).toFixed(3) + " km²";
      const line = (key, m2, residents) => t[key].replace("{area}", km2(m2)).replace("{residents}", fmt(residents));
      $("compare-info").innerHTML =
        `${esc(line("compare_drawn", r.drawn_m2, r.drawn_residents))}<br>` +
        `${esc(line("compare_computed", r.computed_m2, r.computed_residents).replace("{minutes}", String(r.minutes)))}<br>` +
        `<span style="color:#d7191c">${esc(line("compare_not_reachable", r.drawn_not_reachable_m2, r.drawn_not_reachable_residents))}</span><br>` +
        `<span style="color:#2c7bb6">${esc(line("compare_not_drawn", r.reachable_not_drawn_m2, r.reachable_not_drawn_residents))}</span><br>` +
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
        function: scene.function,
        minutes: scene.budget,
        profile: scene.profile,
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
    centrewebParams(body, source);  // h-centreweb (issue 21)
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
      centrewebShow(job.result);  // h-centreweb (issue 21)
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

  // --- h-centreweb (issue 21): the placement counts the saved plan's centres (open ones by default,
  // or those up to a phase, site by site with their functions) and the page's 人口口径 (weight).
  function centrewebParams(body, source) {
    const mode = $("cw-centres") ? $("cw-centres").value : "open";
    body.params.centres = mode;
    if (mode === "phase") body.params.centres_phase = parseInt($("cw-centres-phase").value, 10) || 1;
    if (plan && mode !== "none" && body.params.plan == null) {
      body.params.plan = plan.id;
      body.params.candidates = source;
    }
    const weight = $("org-weight-select") ? $("org-weight-select").value : "";
    if (weight) body.params.weight = weight;
    if (scene.townSpeed) body.params.town_speed = scene.townSpeed;  // h-rural2: the town circle's speed (rural.js)
  }
  function centrewebWeightLine() {
    const select = $("org-weight-select");
    const line = $("cw-weight-line");
    if (!line) return;
    line.hidden = !(select && select.value);
    if (select && select.value) line.textContent = t.cw_weight_line.replace("{w}", select.selectedOptions[0].textContent.trim());
  }
  function centrewebShow(result) {
    const box = $("cw-counted");
    const c = result.centres;
    if (!box || !c) return;
    const which = c.mode === "phase" ? t.cw_which_phase.replace("{p}", c.phase) : t.cw_which_open;
    let text;
    if (c.mode === "none") text = t.cw_counted_off;
    else if (c.plan == null) text = t.cw_counted_no_plan;
    else if (!c.counted.length) text = t.cw_counted_none_found.replace("{which}", which);
    else {
      const byCentre = new Map();
      for (const row of c.counted) {
        if (!byCentre.has(row.centre)) byCentre.set(row.centre, []);
        byCentre.get(row.centre).push(row);
      }
      const fns = (row) => String(row.functions).split(",").filter(Boolean).map((k) => app.functions[k] || k).join(", ");
      const parts = [...byCentre].map(([name, rows]) => {
        const kind = t["prog_kind_" + rows[0].kind] || rows[0].kind;
        if (rows.length === 1) return `${name} (${kind}: ${fns(rows[0])})`;
        return `${name} (${kind}, ${t.cw_sites.replace("{n}", rows.length)}: ${rows.map((r) => `${r.site} ${fns(r)}`).join("; ")})`;
      });
      text = t.cw_counted.replace("{which}", which).replace("{list}", parts.join("; "));
    }
    // h-rural2 (issue 21): a counted hub's town centre is reached in the town circle's mode: said beside
    const town = app.lang === "en" ? c.town_reach_en : c.town_reach_zh;
    if (town) text += ` ${town}`;
    box.textContent = text;
    box.hidden = false;
    box.dataset.counted = String(c.counted.length);
  }
  if ($("cw-centres")) {
    $("cw-centres").addEventListener("change", () => { $("cw-centres-phase").hidden = $("cw-centres").value !== "phase"; });
  }
  if ($("org-weight-select")) $("org-weight-select").addEventListener("change", centrewebWeightLine);
  centrewebWeightLine();

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
      marker.feature = { type: "Feature", properties: { kind: "candidate", name: t.place_site_name.replace("{rank}", String(site.rank)) } };
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
  // A candidate at a typed point (search, keyboard users): as a drawn marker, draggable,
  // evaluated alone and with the plan, unsaved.
  app.addCandidateAt = (lat, lon, name) => {
    const marker = L_.marker([lat, lon]);
    marker.feature = { type: "Feature", properties: { kind: "candidate", name: name || "" } };
    setupCandidate(marker, false);
    drawn.addLayer(marker);
    markDirty();
    evaluate(marker);
    schedulePlanEval();
    return marker;
  };
  document.querySelector("#place-table tbody").addEventListener("click", (ev) => {
    const button = ev.target.closest(".place-add");
    if (!button) return;
    addSitesToPlan(placementSites.filter((site) => String(site.rank) === button.dataset.rank));
  });
  $("place-add-all").addEventListener("click", () => addSitesToPlan(placementSites.slice()));

  // ------------------------------------------------------------------ scene

  // The legend says what is on the map and only that: a block per layer, shown while the layer
  // is; a function's facility colour while its facilities are shown.
  function syncLegend() {
    const entries = (window.LINLI_VIEW && window.LINLI_VIEW.layers) || [];
    if (!entries.length) return;
    const shown = (entry) => map.hasLayer(window[entry.spec.group]);
    for (const block of document.querySelectorAll("#linli-legend [data-layer]")) {
      const of = entries.filter((e) => e.spec.layer === block.dataset.layer);
      if (block.dataset.layer === "facilities") {
        let any = false;
        for (const row of block.querySelectorAll("[data-function]")) {
          const on = of.some((e) => e.spec.function === row.dataset.function && shown(e));
          row.hidden = !on;
          any = any || on;
        }
        block.hidden = !any;
      } else if (of.length) {
        block.hidden = !of.some(shown);
      }
    }
  }
  map.on("overlayadd overlayremove", syncLegend);

  // The panel's figures of the scene: residents covered per function, and what they assume.
  async function refreshSummary() {
    // h-org (issue 20): the coverage counted over a chosen group (elderly, 高龄/空巢/困难 counts)
    const weight = $("org-weight-select") ? $("org-weight-select").value : "";
    const data = await api("GET", `/api/summary?profile=${encodeURIComponent(scene.profile)}&budget=${scene.budget}` +
      (weight ? `&weight=${encodeURIComponent(weight)}` : ""));
    $("coverage-body").innerHTML = data.coverage.map((row) =>
      `<tr><td>${esc(functionName(row.group, row.name_zh))}</td><td>${fmt(row.covered)} / ${fmt(row.population)}</td>` +
      `<td>${row.covered_pct == null ? "-" : row.covered_pct.toFixed(1)}</td></tr>`).join("");
    const a = data.assumptions;
    const profile = t[`profile_${a.profile}`] || a.profile_zh;
    $("linli-assume").textContent = `${t.assumptions}: ` + t.assume_line
      .replace("{profile}", profile).replace("{speed}", String(a.speed_kmh))
      .replace("{budget}", String(a.budget_min)).replace("{metres}", String(a.budget_m))
      .replace("{standard}", $("linli-assume").dataset.standard || a.standard).replace("{floor}", String(a.floor_area_per_resident_m2))
      .replace("{pph}", String(a.persons_per_household));
    // The legend: the rings' bands up to the budget, the profile's speed.
    const spec = ((window.LINLI_VIEW && window.LINLI_VIEW.layers) || []).map((e) => e.spec).find((s) => s.layer === "rings");
    const bands = $("legend-rings");
    if (bands && spec) {
      bands.innerHTML = a.minutes.map((m, k) =>
        `<div><span class="swatch" style="background:${spec.colours[Math.min(k, spec.colours.length - 1)]};opacity:0.6"></span>` +
        `${k ? a.minutes[k - 1] : 0}-${m} ${esc(t.minutes_unit)}</div>`).join("");
    }
    const note = $("legend-note");
    if (note) note.textContent = `${profile} ${a.speed_kmh} km/h; © OpenStreetMap contributors`;
  }

  let sceneSeq = 0;
  let shownScene = Object.assign({}, scene);  // the scene the figures on screen are of
  async function applyScene() {
    const seq = ++sceneSeq;
    // Another function only: the candidates' rings and every figure stay (they are the same for
    // every function); the layers and the plan's table follow.
    const figures = scene.profile !== shownScene.profile || scene.budget !== shownScene.budget;
    shownScene = Object.assign({}, scene);
    const started = performance.now();
    const status = $("scene-status");
    delete document.body.dataset.scene;
    status.className = "";
    status.textContent = t.switching;
    writeHash();
    // h-gridweb (issue 20): the grids' coverage colours follow the scene (grids.js).
    document.dispatchEvent(new CustomEvent("linli:scene", { detail: Object.assign({}, scene) }));
    // The chosen function's facilities are shown, the others' are one click away in the layer control.
    for (const entry of (window.LINLI_VIEW ? window.LINLI_VIEW.layers : [])) {
      if (entry.spec.layer !== "facilities" || entry.spec.own_group) continue;  // h-rural: schools stay as set
      const group = window[entry.spec.group];
      if (entry.spec.function === scene.function) map.addLayer(group);
      else map.removeLayer(group);
    }
    syncLegend();
    const title = $("legend-rings-title");
    if (title) title.textContent = `${t.legend_rings} (${functionName(scene.function)})`;
    // Exports are of the scene on screen: its function, and (maps, tables, report) its budget and profile.
    for (const a of document.querySelectorAll("#linli-exports a, #linli-lang")) {
      for (const attr of ["href", "data-base"]) {
        const value = a.getAttribute(attr);
        if (!value || !/[?&]function=/.test(value)) continue;
        const url = new URL(value, location.href);
        url.searchParams.set("function", scene.function);
        if (url.pathname.startsWith("/api/export/") && !url.pathname.endsWith(".html")) {
          url.searchParams.set("budget", String(scene.budget));
          url.searchParams.set("profile", scene.profile);
        }
        a.setAttribute(attr, url.pathname + url.search);
      }
    }
    try {
      await Promise.all([
        window.LINLI_VIEW ? window.LINLI_VIEW.refresh() : null,
        figures ? refreshSummary() : null,
        planCandidates().length ? evaluatePlan() : null,
        figures ? ringAll() : null,
      ]);
      if (seq !== sceneSeq) return;
      document.body.dataset.scene = sceneKey();
      app.lastSceneMs = Math.round(performance.now() - started);
      status.textContent = "";
    } catch (err) {
      if (seq !== sceneSeq) return;
      status.className = "error";
      status.textContent = err.message;
    }
  }

  const budgetSelect = $("budget-select");
  const budgetCustom = $("budget-custom");
  $("linli-function").addEventListener("submit", (ev) => ev.preventDefault());
  $("function-select").addEventListener("change", (e) => { scene.function = e.target.value; applyScene(); });
  $("profile-select").addEventListener("change", (e) => { scene.profile = e.target.value; applyScene(); });
  // h-org (issue 20): another weight changes the panel's figures only
  if ($("org-weight-select")) $("org-weight-select").addEventListener("change", () => { refreshSummary(); });
  budgetSelect.addEventListener("change", () => {
    const custom = budgetSelect.value === "custom";
    $("budget-custom-label").hidden = !custom;
    if (custom) { budgetCustom.focus(); return; }
    scene.budget = Number(budgetSelect.value);
    applyScene();
  });
  budgetCustom.addEventListener("change", () => {
    const minutes = Number(budgetCustom.value);
    const limit = Number(budgetCustom.max);
    if (!(minutes >= 1 && minutes <= limit)) {
      $("scene-status").className = "error";
      $("scene-status").textContent = t.budget_invalid.replace("{max}", String(limit));
      return;
    }
    scene.budget = minutes;
    applyScene();
  });
  // A scene from the address (a shared link): the controls follow it.
  function setScene(linked) {
    let changed = false;
    if (linked.fn && linked.fn !== scene.function && app.functions[linked.fn]) {
      scene.function = linked.fn; $("function-select").value = linked.fn; changed = true;
    }
    if (linked.profile && linked.profile !== scene.profile && [...$("profile-select").options].some((o) => o.value === linked.profile)) {
      scene.profile = linked.profile; $("profile-select").value = linked.profile; changed = true;
    }
    if (linked.budget && linked.budget !== scene.budget && linked.budget >= 1 && linked.budget <= Number(budgetCustom.max)) {
      scene.budget = linked.budget;
      const listed = [...budgetSelect.options].some((o) => Number(o.value) === linked.budget);
      budgetSelect.value = listed ? String(linked.budget) : "custom";
      budgetCustom.value = String(linked.budget);
      $("budget-custom-label").hidden = listed;
      changed = true;
    }
    // h-rural (issue 21): the life-circle check's standard is part of the scene (static/rural.js)
    const standards = $("ru-check-standard") ? [...$("ru-check-standard").options].map((o) => o.value) : [];
    if (linked.std && standards.includes(linked.std) && linked.std !== (scene.standard || "auto")) {
      scene.standard = linked.std; changed = true;
    }
    // h-rural2 (issue 21): the town circle's speed is part of the scene (static/rural.js)
    if ((linked.ts || "") !== (scene.townSpeed || "")) { scene.townSpeed = linked.ts || ""; changed = true; }
    return changed;
  }

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
  map.on("draw:deleted", () => {
    markDirty();
    schedulePlanEval();
  });
  // A candidate leaving the map (deleted, removed from its card, cleared, another plan shown)
  // takes its rings and its figures with it.
  if (drawn) drawn.on("layerremove", (e) => {
    if (e.layer === comparedArea) {
      if (compareLayer) map.removeLayer(compareLayer);
      compareLayer = null;
      comparedArea = null;
      compareLegend(false);
      $("linli-compare").hidden = true;
    }
    if (!(e.layer instanceof L_.Marker)) return;
    dropRings(e.layer);
    if (e.layer !== lastCandidate) return;
    lastCandidate = null;
    $("linli-candidate").hidden = true;
    delete $("linli-candidate").dataset.ready;
  });
  map.on("draw:edited", (e) => {
    markDirty();
    e.layers.eachLayer((layer) => {
      if (layer instanceof L_.Marker) evaluate(layer);
      else if (layer.feature && layer.feature.properties.kind === "area") compareArea(layer);
    });
  });

  $("plan-select").addEventListener("change", (e) => {
    if (plan && e.target.value === String(plan.id)) return;  // the plan on screen: nothing to load or lose
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
  $("plan-bin").addEventListener("toggle", () => refreshBin().catch((err) => message(err.message, "error")));
  $("plan-bin-list").addEventListener("click", (ev) => {
    const button = ev.target.closest(".bin-restore");
    if (button) restorePlan(button.dataset.id);
  });
  for (const [id, choice] of [["conflict-reload", reloadTheirs], ["conflict-copy", keepMineAsCopy], ["conflict-diff", showDiff]]) {
    $(id).addEventListener("click", () => choice().catch(conflictFailed));
  }
  $("conflict-later").addEventListener("click", () => $("plan-conflict").close());
  // Closed by a choice, "later" or Escape: their shapes leave the map, focus returns to Save.
  $("plan-conflict").addEventListener("close", () => {
    if (theirsLayer) { map.removeLayer(theirsLayer); theirsLayer = null; }
    $("plan-save").focus();
  });
  // Clear all: every candidate and drawing off the map at once, with their rings and
  // figures; undone by one click until the plan is saved or another one is shown.
  let cleared = null;
  $("plan-clear").addEventListener("click", () => {
    const n = drawn.getLayers().length;
    if (!n || !window.confirm(t.clear_confirm.replace("{n}", String(n)))) return;
    cleared = collectFeatures();
    drawn.clearLayers();
    $("plan-unclear").hidden = false;
    markDirty();
    schedulePlanEval();
    message(t.cleared, "ok");
  });
  $("plan-unclear").addEventListener("click", () => {
    if (!cleared) return;
    addFeatures(cleared);
    ringAll();
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
    parts.push(`fn=${encodeURIComponent(scene.function)}`, `budget=${scene.budget}`, `profile=${encodeURIComponent(scene.profile)}`);
    if (scene.standard && scene.standard !== "auto") parts.push(`std=${encodeURIComponent(scene.standard)}`);  // h-rural
    if (scene.townSpeed) parts.push(`ts=${encodeURIComponent(scene.townSpeed)}`);  // h-rural2: the town circle's speed
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
    const budget = Number(params.get("budget"));
    return {
      view: view ? { zoom: Number(view[1]), lat: Number(view[2]), lon: Number(view[3]) } : null, planId,
      fn: params.get("fn"), profile: params.get("profile"), budget: isFinite(budget) && budget > 0 ? budget : null,
      std: params.get("std") || "auto",  // h-rural (issue 21): the check's standard (static/rural.js)
      ts: /^[0-9]{1,2}(\.[0-9]{1,2})?$/.test(params.get("ts") || "") ? params.get("ts") : "",  // h-rural2: town speed
    };
  }
  const linked = readHash();
  if (linked.view && isFinite(linked.view.lat) && isFinite(linked.view.lon)) {
    map.setView([linked.view.lat, linked.view.lon], linked.view.zoom);
  }
  const linkedScene = setScene(linked);
  map.on("moveend", writeHash);
  app.stateHash = stateHash;
  app.applyScene = applyScene;
  async function openLinkedPlan(planId) {
    if (planId && $("plan-select").value === planId) await loadPlan(planId);
    else if (planId) message(`${t.plan_missing} #${planId}`, "error");
    writeHash();
  }
  refreshPlans(linked.planId).then(() => openLinkedPlan(linked.planId)).catch((err) => message(err.message, "error"));
  offerDraft();
  // A link pasted into this tab (only the part after # changes): its view, scene and plan.
  window.addEventListener("hashchange", () => {
    const next = readHash();
    if (next.view && isFinite(next.view.lat) && isFinite(next.view.lon)) map.setView([next.view.lat, next.view.lon], next.view.zoom);
    if (setScene(next)) applyScene();
    if (next.planId && (!plan || String(plan.id) !== next.planId) && mayDiscard()) {
      refreshPlans(next.planId).then(() => openLinkedPlan(next.planId)).catch((err) => message(err.message, "error"));
    }
  });

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
      ringAll();
      $("plan-name").value = draft.name || "";
      $("plan-notes").value = draft.notes || "";
      markDirty();  // restored, still not saved
      schedulePlanEval();
      message(t.draft_restored, "ok");
    });
    drop.addEventListener("click", () => { clearDraft(); message("", ""); });
  }
  // Ready once the window's layers (static/viewport.js) are drawn the first time.
  (linkedScene ? applyScene() : (window.LINLI_VIEW ? window.LINLI_VIEW.refresh() : Promise.resolve()))
    .finally(() => {
      syncLegend();
      window.LINLI.ready = true;
      if (!linkedScene) document.body.dataset.scene = sceneKey();
    });

  // ------------------------------------------------------------------ ledgers (issue 16)

  // A catalogue text with its {placeholders} filled.
  const withValues = (text, values) => String(text).replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
  const ledger = { columns: {}, categories: {}, fields: [], headers: [] };

  function ledgerStatus(text, kind) {
    const box = $("ledger-status");
    box.textContent = text;
    box.className = kind || "";
  }

  async function ledgerRequest(url) {
    const file = $("ledger-file").files[0];
    if (!file) throw new Error(t.ledger_pick_file);
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
      // A refusal without a JSON message (waitress's 413, a proxy's 502/503) still reads as a sentence.
      const busy = response.status === 429 || response.status === 503;
      const fallback = busy ? t.error_busy
        : response.status === 413 ? t.error_too_large
        : t.error_status.replace("{status}", response.status);
      const err = new Error((data && data.error) || fallback);
      err.data = data || {};
      throw err;
    }
    return data;
  }

  function showColumnChoice(headers, fields) {
    const box = $("ledger-columns");
    box.innerHTML = `<div class="linli-hint">${esc(t.ledger_columns_hint)}</div>`;
    for (const field of fields) {
      const label = document.createElement("label");
      label.textContent = t[`field_${field}`] || field;
      const select = document.createElement("select");
      select.dataset.field = field;
      select.innerHTML = `<option value="">${esc(t.ledger_auto)}</option>` + headers.map(
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
    box.innerHTML = `<div class="linli-hint">${esc(t.ledger_unknown_hint)}</div>`;
    for (const name of names) {
      const label = document.createElement("label");
      label.textContent = withValues(t.ledger_category_rows, { name, n: unknown[name] });
      const select = document.createElement("select");
      select.dataset.category = name;
      // Values are function keys (the server reads keys as well as Chinese names), "all" every one.
      select.innerHTML = `<option value="">${esc(t.ledger_leave_out)}</option>` + Object.entries(app.functions).map(
        ([key, label]) => `<option value="${esc(key)}"${ledger.categories[name] === key ? " selected" : ""}>${esc(label)}</option>`).join("")
        + `<option value="all">${esc(t.ledger_all_functions)}</option>`;
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
    ledgerStatus(t.ledger_reading);
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
    ledgerStatus(t.ledger_applying);
    $("ledger-apply").disabled = true;
    try {
      const data = await ledgerRequest("/api/ledgers/apply");
      ledgerStatus(withValues(t.ledger_loaded, { summary: data.report.summary }), "ok");
      window.location.reload();
    } catch (err) {
      ledgerStatus(err.message, "error");
      $("ledger-apply").disabled = false;
    }
  }

  async function uploadToPlan() {
    const file = $("plan-upload-file").files[0];
    if (!plan) { message(t.upload_pick_plan, "error"); return; }
    if (!file) { message(t.upload_pick_file, "error"); return; }
    // The upload goes into the saved plan, which is then shown: unsaved edits would be dropped.
    if (!mayDiscard()) return;
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("kind", $("plan-upload-kind").value);
    form.append("version", String(plan.version));
    form.append("system", $("ledger-system").value);
    message(t.uploading);
    const response = await fetch(`/api/plans/${plan.id}/upload`, { method: "POST", body: form,
      credentials: "same-origin", headers: { "X-CSRF-Token": await csrfToken() } });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) { message((data && data.error) || response.statusText, "error"); return; }
    showPlan(data);
    message(withValues(t.upload_added, { n: data.added, crs: data.source_crs || "" }), "ok");
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
    if (!network) { npStatus(t.np_pick_network, "error"); return; }
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
    npStatus(t.uploading);
    // XMLHttpRequest rather than fetch: a county extract takes a while, and this shows how far it is.
    const job = await new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/projects");
      xhr.setRequestHeader("X-CSRF-Token", token);
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          bar.value = Math.round(50 * e.loaded / e.total);
          npStatus(withValues(t.upload_progress, { done: (e.loaded / 1e6).toFixed(1), total: (e.total / 1e6).toFixed(1) }));
        }
      };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status === 202) resolve(data);
        else reject(new Error((data && data.error) || xhr.statusText));
      };
      xhr.onerror = () => reject(new Error(t.upload_failed));
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
        npStatus(withValues(t.np_built, { project: state.result.project, s: state.result.load_s }), "ok");
        window.location.reload();
        return;
      }
      if (state.status === "failed") {
        npStatus(state.message, "error");
        $("np-build").disabled = false;
        return;
      }
      bar.value = Math.round(50 + 50 * (state.progress || 0));
      const stage = state.message || t.np_queued;
      npStatus(withValues(t.np_building, { stage, pct: Math.round(100 * (state.progress || 0)), s: seconds }));
      if (seconds > app.jobPollLimitS) {
        npStatus(t.np_too_long, "error");
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

  // ------------------------------------------------------------------ search and go to (issue 18)
  // A facility, compound, community, grid or street of the project by name or code, or a typed
  // coordinate (WGS84 or GCJ-02), answered by the server from the project's own data.

  const searchBox = $("linli-search");
  const searchInput = $("search-input");
  const searchList = $("search-results");
  const SEARCH_COLOUR = "#d95f02";
  let searchAnswer = null;  // the last answer shown: {q, system, results, coordinate}
  let searchSeq = 0;
  let searchTimer = null;
  let searchHighlight = null;  // the chosen place's outline or ring with its label

  function searchStatus(text, kind) {
    const box = $("search-status");
    box.textContent = text;
    box.className = kind || "";
  }

  function clearSearchHighlight() {
    if (searchHighlight) map.removeLayer(searchHighlight);
    searchHighlight = null;
    delete searchBox.dataset.chosen;
    delete searchBox.dataset.outline;
  }

  async function runSearch() {
    clearTimeout(searchTimer);
    const q = searchInput.value.trim();
    const system = $("search-system").value;
    if (!q) { searchAnswer = null; searchList.innerHTML = ""; searchStatus(""); return null; }
    if (searchAnswer && searchAnswer.q === q && searchAnswer.system === system) return searchAnswer;
    const seq = ++searchSeq;
    clearSearchHighlight();
    delete searchBox.dataset.ready;
    searchStatus(t.search_searching);
    try {
      const data = await api("GET", `/api/search?q=${encodeURIComponent(q)}&system=${encodeURIComponent(system)}`);
      if (seq !== searchSeq) return null;  // a newer query is on its way
      searchAnswer = { q, system, results: data.results, coordinate: data.coordinate };
      showSearchResults(searchAnswer);
      return searchAnswer;
    } catch (err) {
      if (seq !== searchSeq) return null;
      searchAnswer = null;
      searchList.innerHTML = "";
      searchStatus(err.message, "error");
      return null;
    } finally {
      if (seq === searchSeq) searchBox.dataset.ready = "1";
    }
  }

  function resultButton(text, hint, choose) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "search-result";
    const name = document.createElement("span");
    name.className = "search-name";
    name.textContent = text;
    const what = document.createElement("span");
    what.className = "linli-hint";
    what.textContent = hint;
    button.append(name, " ", what);
    button.addEventListener("click", choose);
    return button;
  }

  function coordinateText(c) {
    return `${c.lat.toFixed(6)}, ${c.lon.toFixed(6)}`;
  }

  function showSearchResults(answer) {
    searchList.innerHTML = "";
    const c = answer.coordinate;
    if (c) {
      const li = document.createElement("li");
      li.className = "search-coordinate";
      const notes = [];
      if (c.swapped) notes.push(t.search_swapped);
      if (c.system === "gcj02") notes.push(t.search_converted);
      li.appendChild(resultButton(`${t.search_coordinate} ${coordinateText(c)}`, ["WGS84", ...notes].join(" · "),
        () => goToPlace({ name: coordinateText(c), lon: c.lon, lat: c.lat, bounds: null })));
      if (!c.inside) {
        const note = document.createElement("div");
        note.className = "search-outside";
        note.textContent = t.search_outside;
        li.appendChild(note);
      }
      const place = document.createElement("button");
      place.type = "button";
      place.id = "search-place";
      place.textContent = t.search_place;
      place.disabled = !c.inside;  // the plan takes candidates in the study area
      place.addEventListener("click", () => {
        app.addCandidateAt(c.lat, c.lon, `${t.search_coordinate} ${c.lat.toFixed(5)}, ${c.lon.toFixed(5)}`);
        clearSearchHighlight();
        searchStatus(t.search_placed, "ok");
        message(t.search_placed, "ok");
      });
      li.appendChild(place);
      searchList.appendChild(li);
    }
    for (const r of answer.results) {
      const li = document.createElement("li");
      li.appendChild(resultButton(r.name, app.lang === "en" ? r.label_en : r.label, () => {
        goToPlace(r);
        // On a phone the panel covers the map: it folds to show the place.
        if (window.matchMedia("(max-width: 720px)").matches) foldPanel(true);
      }));
      searchList.appendChild(li);
    }
    const n = answer.results.length + (c ? 1 : 0);
    if (!n) searchStatus(t.search_none.replace("{q}", answer.q));
    else searchStatus(t.search_found.replace("{n}", String(n)), "ok");
  }

  // Fly to a place and mark it until the next search or "clear": an area unit by its outline
  // (its box when the outline is not at hand), a point by a ring with its name.
  async function goToPlace(r) {
    clearSearchHighlight();
    const group = L_.layerGroup().addTo(map);
    searchHighlight = group;
    L_.circleMarker([r.lat, r.lon], { radius: 12, color: SEARCH_COLOUR, weight: 3, fill: false, interactive: false })
      .bindTooltip(r.name, { permanent: true, direction: "top", className: "search-label" })
      .addTo(group);
    if (r.bounds) {
      const [w, s, e, n] = r.bounds;
      const box = [[s, w], [n, e]];
      map.flyToBounds(box, { padding: [30, 30], maxZoom: 18, duration: 0.6 });
      const outline = await unitOutline(r);
      if (searchHighlight !== group) return;  // another place was chosen meanwhile
      const style = { color: SEARCH_COLOUR, weight: 3, dashArray: "8 4", fill: false, interactive: false };
      (outline ? L_.geoJSON(outline, { style, interactive: false }) : L_.rectangle(box, style)).addTo(group);
      searchBox.dataset.outline = outline ? "unit" : "box";
    } else {
      map.flyTo([r.lat, r.lon], Math.max(map.getZoom(), 17), { duration: 0.6 });
    }
    searchBox.dataset.chosen = r.name;
  }

  // The outline of an area unit (town, community, grid) from the project's unit layer.
  async function unitOutline(r) {
    if (!r.code || !["town", "community", "grid"].includes(r.kind)) return null;
    try {
      const layer = await api("GET", `/api/layers/units-${r.kind}`);
      const feature = layer.features.find((f) => String(f.properties.code) === r.code);
      return feature ? feature.geometry : null;
    } catch (err) {
      return null;  // no such layer: the box is drawn instead
    }
  }

  function searchButtons() {
    return [...searchList.querySelectorAll("button:not([disabled])")];
  }

  if (searchBox) {
    searchInput.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => runSearch(), 300);
    });
    searchInput.addEventListener("keydown", async (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        const answer = await runSearch();
        const first = searchButtons()[0];
        if (answer && first) first.click();
      } else if (ev.key === "ArrowDown") {
        ev.preventDefault();
        const first = searchButtons()[0];
        if (first) first.focus();
      }
    });
    // Arrow keys go through the results (Tab does too); Escape goes back to the box.
    searchList.addEventListener("keydown", (ev) => {
      const buttons = searchButtons();
      const k = buttons.indexOf(document.activeElement);
      if (k < 0) return;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        const next = k + (ev.key === "ArrowDown" ? 1 : -1);
        if (next < 0) searchInput.focus();
        else buttons[Math.min(next, buttons.length - 1)].focus();
      } else if (ev.key === "Escape") {
        searchInput.focus();
      }
    });
    $("search-go").addEventListener("click", () => runSearch());
    $("search-system").addEventListener("change", () => { if (searchInput.value.trim()) runSearch(); });
    $("search-clear").addEventListener("click", () => {
      clearTimeout(searchTimer);
      searchSeq += 1;  // an answer still on its way is dropped
      searchInput.value = "";
      searchAnswer = null;
      searchList.innerHTML = "";
      searchStatus("");
      clearSearchHighlight();
      searchInput.focus();
    });
  }
})();
