/* Linli map page: rosters (网格员/网格长/楼栋长/党员中心户/在职党员) in the grids panel (issue 20).
   Import an XLSX/CSV roster (POST /api/grids/roster), see it checked against the current grids
   (people per role, grids without a grid worker or head, rows placed nowhere with why), colour
   the grids by "缺网格员/网格长", and each grid's card lists its organisation.  Names come masked
   from the server; what a role sees is the server's rule (webapp/privacy.py).
   Loaded after grids.js (app.grids) and before orgweb.js; no external requests. */
(function () {
  "use strict";
  const app = window.LINLI;
  const $ = (id) => document.getElementById(id);
  if (!app || !app.grids || !$("ro-panel")) return;
  const t = app.texts;
  const grids = app.grids;
  // The roles as the server names them (data keys, as in the roster files); shown through ro_role_*.
  const ORG_ROLES = ["网格长", "网格员", "楼栋长", "党员中心户"];
  const ROLE_KEYS = { "网格员": "ro_role_worker", "网格长": "ro_role_head", "楼栋长": "ro_role_building",
    "党员中心户": "ro_role_centre", "在职党员": "ro_role_member" };
  // Complete (green) and lacking a grid worker or head (red): ColorBrewer RdYlGn ends.
  const FLAG_PALETTE = ["#1a9850", "#d73027"];
  const ro = { data: null, role: null };
  app.roster = ro;

  const esc = app.esc;
  const roleName = (role) => t[ROLE_KEYS[role]] || role;
  function status(text, kind) {
    const box = $("ro-status");
    box.textContent = text;
    box.className = kind || "";
  }
  // The roster route: GET it, POST a file form, DELETE it (app.js's client: CSRF, refusals as sentences).
  const request = (method, body) => app.api(method, "/api/grids/roster", body);

  function panel() {
    const box = $("ro-panel");
    const roles = Object.keys(ROLE_KEYS).map((r) => `<option value="${esc(r)}">${esc(roleName(r))}</option>`).join("");
    box.innerHTML = `
      <h3>${esc(t.ro_title)}</h3>
      <div class="linli-hint">${esc(t.ro_hint)}</div>
      <div id="ro-form">
        <div class="row"><input type="file" id="ro-file" accept=".xlsx,.xls,.csv" aria-label="${esc(t.ro_file)}"></div>
        <div class="row">
          <label>${esc(t.ro_role)} <select id="ro-role"><option value="">${esc(t.ro_role_column)}</option>${roles}</select></label>
        </div>
        <div class="row">
          <label>${esc(t.ro_system)} <select id="ro-system">
            <option value="gcj02">${esc(t.ro_system_gcj02)}</option>
            <option value="wgs84">${esc(t.ro_system_wgs84)}</option>
            <option value="bd09">${esc(t.ro_system_bd09)}</option>
          </select></label>
        </div>
        <div class="row"><label><input type="checkbox" id="ro-add"> ${esc(t.ro_add)}</label></div>
        <div class="row">
          <button type="button" id="ro-upload">${esc(t.ro_upload)}</button>
          <button type="button" id="ro-delete" hidden>${esc(t.ro_delete)}</button>
        </div>
      </div>
      <p id="ro-status" role="status"></p>
      <div id="ro-summary" hidden></div>`;
    $("ro-upload").addEventListener("click", upload);
    $("ro-delete").addEventListener("click", remove);
  }

  function summary() {
    const box = $("ro-summary");
    const d = ro.data;
    $("ro-delete").hidden = !(d && d.roster);
    if (!d || !d.roster) {
      box.hidden = true;
      return;
    }
    const r = d.roster;
    const totals = d.roles.map((role) => `${esc(roleName(role))} ${r.totals[role]}`).join(" · ");
    const missing = Object.entries(d.missing).map(([code, what]) =>
      `<li data-grid="${esc(code)}">${esc(code)}: ${esc(t.ro_lacks)} ${esc(what)}</li>`).join("");
    let rows = "";
    if (d.unmatched) {
      rows = d.unmatched.map((u) =>
        `<tr><td>${u.line}</td><td>${esc(roleName(u.role))}</td><td>${esc(u.name)}</td><td>${esc(u.phone)}</td><td>${esc(u.compound)}</td><td>${esc(u.why)}</td></tr>`).join("");
      rows = `<details id="ro-unmatched"${r.unmatched_count ? " open" : ""}><summary>${esc(t.ro_unmatched)} (${r.unmatched_count})</summary>
        <table class="ro-table"><tr><th>${esc(t.ro_line)}</th><th>${esc(t.ro_role)}</th><th>${esc(t.ro_name)}</th><th>${esc(t.ro_phone)}</th><th>${esc(t.ro_compound)}</th><th>${esc(t.ro_why)}</th></tr>${rows}</table></details>`;
    }
    box.innerHTML = `
      <div id="ro-file-name"><strong>${esc(r.file)}</strong> · ${esc(r.uploaded_by)} · ${esc((r.uploaded_at || "").replace("T", " ").slice(0, 16))}</div>
      <div id="ro-counts">${esc(t.ro_rows)} ${r.rows} · ${esc(t.ro_placed)} ${r.placed} · ${esc(t.ro_unmatched)} ${r.unmatched_count}</div>
      <div id="ro-totals">${totals}</div>
      <div id="ro-missing-count" class="${r.missing_count ? "error" : ""}">${esc(t.ro_missing_grids)}: ${r.missing_count}</div>
      ${missing ? `<ul id="ro-missing">${missing}</ul>` : ""}
      ${rows}
      <div class="linli-hint">${esc(d.masked ? t.ro_masked : t.ro_clear)}</div>`;
    box.hidden = false;
  }

  function changed(data) {
    ro.data = data;
    summary();
    grids.redraw();
    const card = $("grids-card");
    if (card && !card.hidden && grids.selected) cardBlock(grids.selected);
  }

  async function load() {
    try {
      changed(await request("GET"));
    } catch (err) {
      status(err.message, "error");
    }
  }

  async function upload() {
    const file = $("ro-file").files[0];
    if (!file) {
      status(t.ro_pick_file, "error");
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("role", $("ro-role").value);
    form.append("system", $("ro-system").value);
    form.append("add", $("ro-add").checked ? "1" : "0");
    status(t.ro_uploading, "");
    try {
      changed(await request("POST", form));
      const r = ro.data.roster;
      status(t.ro_done.replace("{placed}", r.placed).replace("{unmatched}", r.unmatched_count).replace("{missing}", r.missing_count), "");
    } catch (err) {
      status(err.message, "error");
    }
  }

  async function remove() {
    if (!window.confirm(t.ro_delete_confirm)) return;
    try {
      changed(await request("DELETE"));
      status(t.ro_deleted, "");
    } catch (err) {
      status(err.message, "error");
    }
  }

  // The grid card's organisation (appended by the card's event from grids.js).
  function cardBlock(code) {
    const card = $("grids-card");
    if (!card) return;
    let block = $("ro-card");
    if (block) block.remove();
    const d = ro.data;
    if (!d || !d.roster || !d.grids || !d.grids[code]) return;
    const g = d.grids[code];
    const lines = d.roles.map((role) => {
      const names = g.people && ORG_ROLES.includes(role) && g.people[role].length ? " · " + g.people[role].map(esc).join("、") : "";
      return `<tr data-role="${esc(role)}"><th>${esc(roleName(role))}</th><td>${g.counts[role]} ${esc(t.ro_people)}${names}</td></tr>`;
    }).join("");
    block = document.createElement("div");
    block.id = "ro-card";
    block.innerHTML = `<strong>${esc(t.ro_card_title)}</strong>
      ${g.missing ? `<div class="ro-flag error">${esc(t.ro_lacks)} ${esc(g.missing)}</div>` : `<div class="ro-flag">${esc(t.ro_complete)}</div>`}
      <table class="ro-table">${lines}</table>`;
    const table = $("grids-card-table");
    if (table) table.after(block);
    else card.appendChild(block);
  }
  document.addEventListener("linli:grid-card", (ev) => cardBlock(ev.detail.code));

  // The grids coloured by the flag: red lacks a grid worker or head, green has both, grey: no roster.
  grids.colourings.roster = {
    value: (props) => {
      const g = ro.data && ro.data.grids && ro.data.grids[props.code];
      return g ? (g.missing ? 1 : 0) : null;
    },
    breaks: [1],
    palette: FLAG_PALETTE,
    get title() { return t.ro_legend_title; },
    get labels() { return [t.ro_legend_complete, t.ro_legend_missing]; },
  };
  const select = $("grids-colour");
  if (select && !select.querySelector('option[value="roster"]')) {
    const option = document.createElement("option");
    option.value = "roster";
    option.textContent = t.ro_colour;
    select.appendChild(option);
  }

  panel();
  fetch("/api/me", { credentials: "same-origin" }).then((r) => r.json()).then((me) => {
    ro.role = me.user ? me.user.role : null;
    if (ro.role === "viewer") $("ro-form").hidden = true; // importing is for those who may edit the grids
  }).catch(() => {});
  load();
})();
