/* Linli map page (issue 21, h-rural): the life-circle check of the scene on screen.  The standard
   it is judged by (each area by its type, GB 50180 or TD/T 1062) is part of the scene: kept in
   the address (#...&std=), applied to the check in the panel (/api/check) and to every export of
   the scene (?standard=).  Each line says its standard, clause and reach.  Loaded after app.js.
   h-rural2: the town circle's speed (blank: the standard data's e-bike speed, said under the field)
   is part of the scene too (#...&ts=, ?town_speed=): the check, the exports, the programme's
   coverage and the placement's counted town centres take it; a bad value is the server's 422.
   In English the lines are the server's English (name_en, reach_en ...).  No external requests. */
(function () {
  "use strict";
  const app = window.LINLI;
  const scene = window.LINLI_SCENE;
  const $ = (id) => document.getElementById(id);
  const select = $("ru-check-standard");
  if (!app || !scene || !select) return;
  const t = app.texts;
  const body = $("ru-check-table").querySelector("tbody");
  const status = $("ru-check-status");
  const speedInput = $("r2-town-speed");
  const townLine = $("r2-town-reach");
  const en = app.lang === "en";
  if (scene.townSpeed === undefined) scene.townSpeed = "";

  const esc = app.esc;

  // Every export of the scene carries its standard (the scene's other parts are set by app.js).
  function setLinks() {
    for (const a of document.querySelectorAll('#linli-exports a[href^="/api/export/"], #linli-exports a[data-base]')) {
      for (const attr of ["href", "data-base"]) {
        const value = a.getAttribute(attr);
        if (!value || !/[?&]function=/.test(value)) continue;
        const url = new URL(value, location.href);
        if (url.pathname.endsWith(".html")) continue;
        url.searchParams.set("standard", scene.standard);
        if (scene.townSpeed) url.searchParams.set("town_speed", scene.townSpeed);
        else url.searchParams.delete("town_speed");
        a.setAttribute(attr, url.pathname + url.search);
      }
    }
  }

  function measured(line) {
    if (line.measured == null) return "–";
    return line.unit_of_measure === "%" ? `${line.measured.toFixed(1)}%` : `${Math.round(line.measured).toLocaleString()}`;
  }

  // The clause without the standard's code in front (the code is written just before it).
  function clause(line) {
    const text = String(line.clause || "");
    return text.startsWith(line.standard) ? text.slice(line.standard.length).trim() : text;
  }

  function summary(lines) {
    const n = (kinds) => lines.filter((l) => kinds.includes(l.verdict)).length;
    return t.ru_lines.replace("{n}", String(lines.length)).replace("{pass}", String(n(["pass"])))
      .replace("{fail}", String(n(["fail", "missing"]))).replace("{other}", String(lines.length - n(["pass", "fail", "missing"])));
  }

  function row(line) {
    // A unit's code and name before its lines (the whole area's lines need neither).
    const unit = line.unit !== line.unit_name ? `${esc(line.unit)} ${esc(line.unit_name)} · ` : "";
    // h-rural2: the server's English beside its Chinese, for the page in English
    const pick = (key) => (en && line[`${key}_en`] != null ? line[`${key}_en`] : line[key === "name" || key === "verdict" ? `${key}_zh` : key]);
    const reach = line.reach ? `<div class="ru-reach">${esc(pick("reach"))}</div>` : "";
    const unconfirmed = line.status ? ` <span class="ru-unconfirmed">${esc(pick("status"))}</span>` : "";
    return `<tr class="ru-${esc(line.verdict)}" title="${esc(pick("note"))}">` +
      `<td>${unit}${esc(pick("name"))}${reach}</td>` +
      `<td>${esc(pick("verdict"))}<div class="ru-figure">${measured(line)} / ${esc(t.ru_required)} ${esc(pick("required"))}</div></td>` +
      `<td class="ru-basis"><span class="ru-standard">${esc(line.standard)}</span> ${esc(clause(line))}${unconfirmed}</td></tr>`;
  }

  let seq = 0;
  let shown = "";
  async function refresh() {
    const key = `${scene.profile}|${scene.standard}|${scene.townSpeed}`;
    if (key === shown) return true;
    const mine = ++seq;
    status.className = "";
    status.textContent = t.ru_checking;
    delete document.body.dataset.ruCheck;
    try {
      const response = await fetch(`/api/check?profile=${encodeURIComponent(scene.profile)}&budget=${scene.budget}` +
        `&standard=${encodeURIComponent(scene.standard)}` +
        (scene.townSpeed ? `&town_speed=${encodeURIComponent(scene.townSpeed)}` : ""), { credentials: "same-origin" });
      const data = await response.json();
      if (mine !== seq) return;
      if (!response.ok) throw new Error(data.error || response.statusText);
      body.innerHTML = data.lines.map(row).join("");
      $("ru-check-summary").textContent = summary(data.lines);
      status.textContent = t.ru_check_of.replace("{standards}", data.standards.join(", "));
      shown = key;
      document.body.dataset.ruCheck = `${scene.profile}|${scene.standard}` + (scene.townSpeed ? `|${scene.townSpeed}` : "");
      townSaid(data);
      return true;
    } catch (err) {
      if (mine !== seq) return false;
      status.className = "error";
      status.textContent = `${t.ru_check_failed}: ${err.message}`;
      return false;
    }
  }

  // h-rural2: the town circle's speed and reach under the field; the default stated when none is set.
  function townSaid(data) {
    if (!townLine) return;
    const reach = en ? data.town_reach_en : data.town_reach_zh;
    const which = data.town_speed == null
      ? t.r2_town_default.replace("{speed}", String(data.town_speed_default_kmh))
      : t.r2_town_set.replace("{speed}", String(data.town_speed));
    townLine.textContent = `${which} ${reach}`;
    if (speedInput) speedInput.placeholder = String(data.town_speed_default_kmh);
    townLine.dataset.townSpeed = data.town_speed == null ? "" : String(data.town_speed);
  }

  function apply() {
    if (select.value !== scene.standard) select.value = scene.standard;
    if (speedInput && document.activeElement !== speedInput && speedInput.value !== scene.townSpeed) speedInput.value = scene.townSpeed;
    setLinks();
    return refresh();
  }

  if (![...select.options].some((o) => o.value === scene.standard)) scene.standard = select.value;
  select.addEventListener("change", () => {
    scene.standard = select.value;
    if (app.stateHash && location.hash !== app.stateHash()) history.replaceState(null, "", app.stateHash());
    apply();
  });
  // h-rural2: a new speed is kept in the scene only once the server took it (a bad one: its 422 shown).
  if (speedInput) speedInput.addEventListener("change", async () => {
    const before = scene.townSpeed;
    scene.townSpeed = speedInput.value.trim();
    if (scene.townSpeed === before) return;
    const ok = await refresh();
    if (!ok) { scene.townSpeed = before; return; }
    setLinks();
    if (app.stateHash && location.hash !== app.stateHash()) history.replaceState(null, "", app.stateHash());
  });
  // Another scene (a switch in the panel, or a link pasted into the address): the check follows.
  document.addEventListener("linli:scene", () => { apply(); });
  app.ruCheck = { refresh: apply };
  apply();
})();
