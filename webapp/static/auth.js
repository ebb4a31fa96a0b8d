// Accounts (issue 19): the login form, the administrator's page, and on the map page the
// signed-in user's name with sign out / sign out everywhere.  Every text comes from the
// catalogue (webapp/i18n.py TEXTS) through the page's JSON config.
(function () {
  "use strict";
  const node = document.getElementById("linli-auth-config") || document.getElementById("linli-config");
  if (!node) return;
  const t = JSON.parse(node.textContent).texts;

  let csrf = null;
  async function csrfToken() {
    if (!csrf) {
      const response = await fetch("/api/csrf", { credentials: "same-origin" });
      csrf = (await response.json()).token;
    }
    return csrf;
  }

  async function send(method, url, body) {
    const headers = { "X-CSRF-Token": await csrfToken() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  }

  function show(el, text) {
    el.textContent = text;
    el.hidden = !text;
  }

  // ------------------------------------------------------------ login page
  const login = document.getElementById("linli-login");
  if (login) {
    const error = document.getElementById("linli-login-error");
    login.addEventListener("submit", async (event) => {
      event.preventDefault();
      show(error, "");
      const form = new FormData(login);
      const answer = await send("POST", "/api/login", { name: form.get("name"), password: form.get("password") });
      if (answer.ok) {
        const next = login.dataset.next || "/";
        window.location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
      } else {
        show(error, answer.data.error || String(answer.status));
      }
    });
  }

  // ------------------------------------------------------------ administrator's page
  const message = document.getElementById("linli-admin-message");
  const users = document.getElementById("linli-users");
  async function adminAnswer(answer) {
    if (answer.ok) window.location.reload();
    else show(message, answer.data.error || String(answer.status));
  }
  if (users) {
    users.addEventListener("click", async (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const row = button.closest("tr");
      const url = "/api/admin/users/" + encodeURIComponent(row.dataset.name);
      const action = button.dataset.action;
      let body;
      if (action === "save") {
        body = { role: row.querySelector("[name=role]").value, scope: row.querySelector("[name=scope]").value };
      } else if (action === "password") {
        body = { password: row.querySelector("[name=password]").value };
      } else {
        body = { disabled: action === "disable" };
      }
      adminAnswer(await send("PATCH", url, body));
    });
  }
  const create = document.getElementById("linli-new-user");
  if (create) {
    create.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(create);
      const body = {};
      for (const key of ["name", "role", "scope", "password"]) body[key] = form.get(key) || "";
      adminAnswer(await send("POST", "/api/admin/users", body));
    });
  }

  // h-acct (issue 19): a person's records removed on request (the form asks the browser to confirm).
  const forget = document.getElementById("linli-forget-person");
  if (forget) {
    forget.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(forget);
      const body = { name: form.get("name") || "", phone: form.get("phone") || "", id: form.get("id") || "" };
      if (!window.confirm(t.acct_forget_button + "?")) return;
      const answer = await send("POST", "/api/admin/forget-person", body);
      const result = document.getElementById("linli-forget-result");
      if (answer.ok) {
        show(result, t.acct_forget_done.replace("{n}", answer.data.removed));
        // h-acct2: each instance file rewritten, and those to check by hand.
        const files = Object.entries(answer.data.files || {}).map(([f, n]) => `${f}: ${n} ${t.ac2_rewritten}`);
        const unchecked = (answer.data.not_scanned || []).map((f) => `${f}: ${t.ac2_not_scanned}`);
        for (const line of [...files, ...unchecked]) {
          const item = document.createElement("span");
          item.className = "linli-forget-file";
          item.textContent = line;
          result.append(document.createElement("br"), item);
        }
        forget.reset();
      } else {
        show(message, answer.data.error || String(answer.status));
      }
    });
  }

  // ------------------------------------------------------------ the map page's user bar
  if (node.id === "linli-config") {
    fetch("/api/me", { credentials: "same-origin" }).then((r) => r.json()).then((me) => {
      if (!me.login_required || !me.user) return;
      const bar = document.createElement("div");
      bar.id = "linli-user";
      const who = document.createElement("span");
      who.textContent = `${t.auth_signed_in_as}: ${me.user.name} (${t["auth_role_" + me.user.role]}${me.user.scope ? " " + me.user.scope : ""})`;
      bar.append(who);
      if (me.user.role === "admin") {
        const admin = document.createElement("a");
        admin.href = "/admin";
        admin.textContent = t.auth_admin;
        bar.append(admin);
      }
      for (const [key, url] of [["auth_logout", "/api/logout"], ["auth_logout_all", "/api/logout-all"]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.id = key === "auth_logout" ? "linli-logout" : "linli-logout-all";
        button.textContent = t[key];
        button.addEventListener("click", async () => {
          await send("POST", url);
          window.location.assign("/login");
        });
        bar.append(button);
      }
      document.body.append(bar);
    });
  }
})();
