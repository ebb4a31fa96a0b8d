/* Linli map page (issue 21, h-rural): the life-circle check of the scene on screen.  The standard
   it is judged by (each area by its type, GB 50180 or TD/T 1062) is part of the scene: kept in
   the address (#...&std=), applied to the check in the panel (/api/check) and to every export of
   the scene (?standard=).  Each line says its standard, clause and reach.  Loaded after app.js.
   No external requests. */
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
    const reach = line.reach ? `<div class="ru-reach">${esc(line.reach)}</div>` : "";
    const unconfirmed = line.status ? ` <span class="ru-unconfirmed">${esc(line.status)}</span>` : "";
    return `<tr class="ru-${esc(line.verdict)}" title="${esc(line.note)}">` +
      `<td>${unit}${esc(line.name_zh)}${reach}</td>` +
      `<td>${esc(line.verdict_zh)}<div class="ru-figure">${measured(line)} / ${esc(t.ru_required)} ${esc(line.required)}</div></td>` +
      `<td class="ru-basis"><span class="ru-standard">${esc(line.standard)}</span> ${esc(clause(line))}${unconfirmed}</td></tr>`;
  }

  let seq = 0;
  let shown = "";
  async function refresh() {
    const key = `${scene.profile}|${scene.standard}`;
    if (key === shown) return;
    const mine = ++seq;
    status.className = "";
    status.textContent = t.ru_checking;
    delete document.body.dataset.ruCheck;
    try {
      const response = await fetch(`/api/check?profile=${encodeURIComponent(scene.profile)}&budget=${scene.budget}` +
        `&standard=${encodeURIComponent(scene.standard)}`, { credentials: "same-origin" });
      const data = await response.json();
      if (mine !== seq) return;
      if (!response.ok) throw new Error(data.error || response.statusText);
      body.innerHTML = data.lines.map(row).join("");
      $("ru-check-summary").textContent = summary(data.lines);
      status.textContent = t.ru_check_of.replace("{standards}", data.standards.join(", "));
      shown = key;
      document.body.dataset.ruCheck = key;
    } catch (err) {
      if (mine !== seq) return;
      status.className = "error";
      status.textContent = `${t.ru_check_failed}: ${err.message}`;
    }
  }

  function apply() {
    if (select.value !== scene.standard) select.value = scene.standard;
    setLinks();
    return refresh();
  }

  if (![...select.options].some((o) => o.value === scene.standard)) scene.standard = select.value;
  select.addEventListener("change", () => {
    scene.standard = select.value;
    if (app.stateHash && location.hash !== app.stateHash()) history.replaceState(null, "", app.stateHash());
    apply();
  });
  // Another scene (a switch in the panel, or a link pasted into the address): the check follows.
  document.addEventListener("linli:scene", () => { apply(); });
  app.ruCheck = { refresh: apply };
  apply();
})();
