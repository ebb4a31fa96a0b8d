/* Linli map page: the "支部建在网格" organisation tree of the project's grids (issue 20).
   The 组织架构 button of the grids panel opens a dialog: the community on top, its grids as
   cards (branch, grid head, grid workers, centre households, building heads, households),
   each card's micro-grids as rows where the plan has them; communities, cards and micro-grid
   lists fold; a filter by code or name; the chart for the wall (PDF, PNG) and its table (XLSX).
   Names come masked from /api/grids/orgchart.  Loaded after grids.js; no external requests. */
(function () {
  "use strict";
  const app = window.LINLI;
  const $ = (id) => document.getElementById(id);
  if (!app || !$("ow-open")) return;
  const t = app.texts;
  // Micro-grid lists longer than this start folded (the card stays short in a community of 60 grids).
  const MICRO_OPEN_MAX = 8;
  const LEVEL_COMMUNITY = 0, LEVEL_GRID = 1, LEVEL_MICRO = 2;
  const ROLES = [
    ["branch", "ow_branch"],
    ["grid_head", "ow_grid_head"],
    ["grid_workers", "ow_grid_workers"],
    ["central_households", "ow_central_households"],
    ["building_heads", "ow_building_heads"],
  ];
  const orgweb = { data: null };
  app.orgweb = orgweb;

  const esc = app.esc;
  const fmt = (x) => (x == null ? "–" : Math.round(x).toLocaleString(app.lang === "en" ? "en" : "zh-CN"));

  function dialog() {
    let box = $("ow-dialog");
    if (box) return box;
    box = document.createElement("dialog");
    box.id = "ow-dialog";
    box.setAttribute("aria-labelledby", "ow-title");
    box.innerHTML = `
      <div class="ow-head">
        <h2 id="ow-title">${esc(t.ow_title)}</h2>
        <button type="button" id="ow-close" aria-label="${esc(t.ow_close)}">${esc(t.ow_close)}</button>
      </div>
      <div class="ow-tools">
        <input type="search" id="ow-filter" placeholder="${esc(t.ow_filter)}" aria-label="${esc(t.ow_filter)}">
        <button type="button" id="ow-expand">${esc(t.ow_expand)}</button>
        <button type="button" id="ow-collapse">${esc(t.ow_collapse)}</button>
        <span class="ow-downloads">${esc(t.ow_download)}:
          <a id="ow-pdf" href="/api/export/orgchart.pdf" download>${esc(t.ow_pdf)}</a>
          <a id="ow-png" href="/api/export/orgchart.png" download>${esc(t.ow_png)}</a>
          <a id="ow-xlsx" href="/api/export/orgchart.xlsx" download>${esc(t.ow_xlsx)}</a>
        </span>
      </div>
      <p id="ow-summary" class="ow-note"></p>
      <div id="ow-tree" aria-live="polite"></div>`;
    document.body.appendChild(box);
    $("ow-close").addEventListener("click", () => box.close());
    $("ow-expand").addEventListener("click", () => fold(true));
    $("ow-collapse").addEventListener("click", () => fold(false));
    $("ow-filter").addEventListener("input", filter);
    return box;
  }

  function fold(open) {
    for (const el of document.querySelectorAll("#ow-tree details")) el.open = open;
  }

  function filter() {
    const q = $("ow-filter").value.trim().toLowerCase();
    for (const card of document.querySelectorAll("#ow-tree .ow-grid")) {
      card.hidden = Boolean(q) && !card.dataset.search.includes(q);
    }
  }

  function people(node) {
    return ROLES.map(([key, label]) => {
      const value = node[key];
      const shown = value ? esc(value) : `<span class="ow-none">—</span>`;
      return `<div class="ow-role" data-role="${key}"><span class="ow-label">${esc(t[label])}</span> ${shown}</div>`;
    }).join("");
  }

  function microRow(m, unit) {
    // h-micro3: the micro-grid's own number, its code after its grid's (micro codes add their own digits)
    const own = m.parent && m.code.startsWith(m.parent) && m.code.length > m.parent.length
      ? m.code.slice(m.parent.length) : m.code;
    const parts = [`<span class="ow-code" title="${esc(m.code)}">${esc(own)}</span>`];
    if (m.name) parts.push(esc(m.name));
    parts.push(`${fmt(m.households)} ${esc(unit)}`);
    for (const [key, label] of ROLES.slice(2)) {
      if (m[key]) parts.push(`${esc(t[label])} ${esc(m[key])}`);
    }
    return `<li class="ow-micro-row" data-code="${esc(m.code)}">${parts.join(" · ")}</li>`;
  }

  function gridCard(g, micro, unit) {
    const search = `${g.code} ${g.name} ${g.branch}`.toLowerCase();
    const name = g.name ? ` <span class="ow-name">${esc(g.name)}</span>` : "";
    const count = micro.length ? ` · ${micro.length} ${esc(t.ow_micro_unit)}` : "";
    let list = "";
    if (micro.length) {
      const open = micro.length <= MICRO_OPEN_MAX ? " open" : "";
      list = `<details class="ow-micro"${open}><summary>${esc(t.ow_micro)} (${micro.length})</summary>
        <ul>${micro.map((m) => microRow(m, unit)).join("")}</ul></details>`;
    }
    return `<details class="ow-grid" open data-code="${esc(g.code)}" data-search="${esc(search)}">
      <summary><span class="ow-code" title="${esc(g.code)}">${esc(g.code)}</span>${name}
        <span class="ow-hh">${fmt(g.households)} ${esc(unit)}${count}</span></summary>
      ${people(g)}${list}</details>`;
  }

  function render(data) {
    orgweb.data = data;
    const level = (n) => n.depth;
    const nodes = data.nodes;
    const unit = data.estimated ? t.ow_households_est : t.ow_households;
    const microOf = {};
    for (const n of nodes) if (level(n) === LEVEL_MICRO) (microOf[n.parent] = microOf[n.parent] || []).push(n);
    const communities = nodes.filter((n) => level(n) === LEVEL_COMMUNITY);
    // grids whose parent is no community of the plan still show, in a group of their own
    const known = new Set(communities.map((c) => c.code));
    const orphans = nodes.filter((n) => level(n) === LEVEL_GRID && !known.has(n.parent));
    if (orphans.length) {
      const households = orphans.reduce((sum, g) => sum + (g.households || 0), 0);
      communities.push({ code: "", name: t.ow_no_parent, households, orphan: true });
    }
    const gridCount = nodes.filter((n) => level(n) === LEVEL_GRID).length;
    const microCount = nodes.filter((n) => level(n) === LEVEL_MICRO).length;
    $("ow-summary").textContent = [
      `${known.size} ${t.ow_community_unit}`,
      `${gridCount} ${t.ow_grid_unit}`,
      `${microCount} ${t.ow_micro_unit}`,
      data.masked ? t.ow_masked : t.ow_clear,
    ].join(" · ") + (microCount ? "" : ` · ${t.m3_ow_no_micro}`); // h-micro3: says where micro-grids are made
    $("ow-tree").innerHTML = communities.map((c) => {
      const mine = c.orphan ? orphans : nodes.filter((n) => level(n) === LEVEL_GRID && n.parent === c.code);
      const cards = mine.map((g) => gridCard(g, microOf[g.code] || [], unit)).join("");
      return `<details class="ow-community" open data-code="${esc(c.code)}">
        <summary><strong>${esc(c.name || c.code)}</strong>${c.name && c.name !== c.code ? ` <span class="ow-code">${esc(c.code)}</span>` : ""}
          <span class="ow-hh">${mine.length} ${esc(t.ow_grid_unit)} · ${fmt(c.households)} ${esc(unit)}</span></summary>
        <div class="ow-grids">${cards || `<em>${esc(t.ow_empty)}</em>`}</div></details>`;
    }).join("") || `<em>${esc(t.ow_empty)}</em>`;
    filter();
  }

  async function open() {
    const box = dialog();
    $("ow-tree").textContent = t.ow_loading;
    $("ow-summary").textContent = "";
    if (!box.open) box.showModal();
    try {
      const response = await fetch("/api/grids/orgchart", { credentials: "same-origin" });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      render(data);
    } catch (err) {
      $("ow-tree").innerHTML = `<p class="ow-error">${esc(err.message)}</p>`;
    }
  }
  orgweb.open = open;
  orgweb.render = (data) => { dialog(); render(data); };
  $("ow-open").addEventListener("click", open);
})();
