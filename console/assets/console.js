// Keel console: a small single-page app, no framework, no build step. Every page reads the
// platform's own APIs through keel's public port with the session cookie; state-changing calls
// carry the CSRF token (cookie keel_csrf, header x-keel-csrf). Text from the server is always
// set as text, never parsed as HTML.
"use strict";

(() => {
  const POLL_MS = 3000;
  const API = {
    me: "/console/api/me",
    login: "/console/api/login",
    logout: "/console/api/logout",
    plugins: "/apis/plugins/v1/plugins?limit=500",
    plugin: (id) => `/apis/plugins/v1/plugins/${encodeURIComponent(id)}`,
    entries: "/apis/plugins/v1/console/entries",
    hosted: "/apis/hosting/v1/services",
    users: "/apis/auth/v1/users",
    tenants: "/apis/auth/v1/tenants",
    roles: "/apis/auth/v1/roles",
  };

  let me = null; // {username, tenant, roles, scope}
  let entries = []; // console entries, all types
  let poller = null;

  // === DOM helpers ===

  /** Builds an element: attributes (on* as listeners) and children (strings become text). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  const main = () => document.getElementById("main");

  function show(...nodes) {
    main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
  }

  function announce(text) {
    document.getElementById("status").textContent = text;
  }

  // === the API ===

  function csrf() {
    const m = document.cookie.match(/(?:^|;\s*)keel_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  class ApiError extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** Calls the platform; a refusal becomes an ApiError carrying the server's sentence. */
  async function api(method, url, body) {
    const headers = { accept: "application/json" };
    if (method !== "GET") headers["x-keel-csrf"] = csrf();
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, "The console could not reach keel. Check that the platform is running.", "");
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      const msg = (data && data.msg) || `The platform answered ${res.status} ${res.statusText}.`;
      throw new ApiError(res.status, sentence(msg), data && data.code);
    }
    return data;
  }

  function sentence(s) {
    s = String(s).trim();
    if (!s) return "Something went wrong.";
    s = s[0].toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : s + ".";
  }

  function errorNode(e) {
    return h("p", { class: "error", role: "alert" }, e instanceof ApiError ? e.message : sentence(String(e)));
  }

  // === who may do what (the server decides; this only hides what would be refused) ===

  const isPlatform = () => me && me.scope === "platform";
  const isAdmin = () => me && (isPlatform() || (me.roles || []).includes("admin"));

  // === routing ===

  function route() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [page, ...rest] = hash.split("/");
    return { page: page || "plugins", arg: rest.map(decodeURIComponent).join("/") };
  }

  function go(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  }

  function stopPolling() {
    if (poller) clearInterval(poller);
    poller = null;
  }

  async function render() {
    stopPolling();
    if (!me) {
      try {
        me = await api("GET", API.me);
      } catch (e) {
        if (e.status !== 401) return show(h("h1", {}, "Keel console"), errorNode(e));
        me = null;
      }
    }
    if (!me) return loginPage();
    topBar();
    const { page, arg } = route();
    const pages = {
      plugins: pluginsPage,
      plugin: () => pluginPage(arg),
      operations: operationsPage,
      extension: () => extensionPage(arg),
      users: usersPage,
      tenants: tenantsPage,
      roles: rolesPage,
    };
    const allowed = { users: isAdmin(), roles: isAdmin(), tenants: isPlatform() };
    const draw = pages[page];
    if (!draw) return show(h("h1", {}, "Not found"), h("p", {}, "There is no such page in the console."));
    if (page in allowed && !allowed[page]) {
      return show(h("h1", {}, "Not allowed"), h("p", { class: "error", role: "alert" }, "This page is for administrators; your account cannot open it."));
    }
    await draw();
    main().focus({ preventScroll: true });
  }

  // === the top bar ===

  function topBar() {
    const top = document.getElementById("top");
    top.hidden = false;
    const { page } = route();
    const links = [["plugins", "Plugins"], ["operations", "Operations"]];
    if (isAdmin()) links.push(["users", "Users"], ["roles", "Roles"]);
    if (isPlatform()) links.push(["tenants", "Tenants"]);
    const current = page === "plugin" ? "plugins" : page;
    document.getElementById("nav").replaceChildren(
      ...links.map(([p, label]) =>
        h("li", {}, h("a", { href: `#/${p}`, "aria-current": current === p ? "page" : null }, label)),
      ),
    );
    document.getElementById("who").textContent = `${me.username} (${me.tenant})`;
    loadEntries().then(drawExtMenu);
  }

  async function loadEntries() {
    try {
      const data = await api("GET", API.entries);
      entries = (data && data.entries) || [];
    } catch (_) {
      entries = []; // no extensions to show; the pages still work
    }
  }

  function entryName(e) {
    return e.name_en || e.name;
  }

  function drawExtMenu() {
    const global = entries.filter((e) => e.type === 1);
    const menu = document.getElementById("ext-menu");
    if (!global.length) return menu.replaceChildren();
    const items = global.map((e) => {
      const link = e.extern === 1
        ? h("a", { href: e.path, target: "_blank", rel: "noopener noreferrer" }, entryName(e), h("span", { class: "sr-only" }, " (opens a new window)"))
        : h("a", { href: `#/extension/${encodeURIComponent(e.path)}` }, entryName(e));
      return h("li", {}, link);
    });
    menu.replaceChildren(h("details", {}, h("summary", {}, "Extensions"), h("ul", {}, items)));
  }

  // === login ===

  function loginPage() {
    document.getElementById("top").hidden = true;
    const err = h("div", { "aria-live": "assertive" });
    const form = h(
      "form",
      { class: "card login", "aria-labelledby": "login-title", novalidate: true },
      h("h1", { id: "login-title" }, "Log in to Keel"),
      h("div", { class: "field" }, h("label", { for: "username" }, "User name"), h("input", { id: "username", name: "username", autocomplete: "username", required: true })),
      h("div", { class: "field" }, h("label", { for: "password" }, "Password"), h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
      h("div", { class: "field" }, h("label", { for: "tenant" }, "Tenant (leave empty for the user's own)"), h("input", { id: "tenant", name: "tenant", autocomplete: "organization" })),
      err,
      h("button", { type: "submit" }, "Log in"),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const username = form.username.value.trim();
      const password = form.password.value;
      const tenant = form.tenant.value.trim();
      if (!username || !password) {
        err.replaceChildren(h("p", { class: "error", role: "alert" }, "Enter your user name and password."));
        return;
      }
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const body = { username, password };
        if (tenant) body.tenant = tenant;
        const answer = await api("POST", API.login, body);
        me = answer.user || answer;
        // One render: a changed hash renders through hashchange, an unchanged one here.
        go(!location.hash || location.hash === "#/login" ? "#/plugins" : location.hash);
      } catch (e) {
        err.replaceChildren(errorNode(e));
        form.password.select();
      } finally {
        button.disabled = false;
      }
    });
    show(form);
    form.username.focus();
  }

  async function logout() {
    try {
      await api("POST", API.logout);
    } catch (_) {
      // the session is gone either way once the cookies are cleared
    }
    me = null;
    entries = [];
    document.getElementById("ext-menu").replaceChildren();
    go("#/login");
  }

  // === plugins ===

  function statusBadge(status) {
    return h("span", { class: `status status-${status}` }, status);
  }

  function kindOf(p) {
    if (p.core) return "core";
    return p.kind || "plugin";
  }

  function pluginsTable(list) {
    const rows = list.map((p) =>
      h(
        "tr",
        { "data-plugin": p.id },
        h("td", {}, h("a", { href: `#/plugin/${encodeURIComponent(p.id)}` }, p.id)),
        h("td", {}, statusBadge(p.status), p.last_error ? h("div", { class: "muted" }, sentence(p.last_error)) : null),
        h("td", {}, p.version),
        h("td", {}, kindOf(p)),
        h("td", {}, (p.addons || []).length ? h("ul", {}, p.addons.map((a) => h("li", {}, a.point, a.implemented_by ? ` → ${a.implemented_by.plugin}` : " (no implementer)"))) : h("span", { class: "muted" }, "none")),
        h("td", {}, (p.implements || []).length ? h("ul", {}, p.implements.map((i) => h("li", {}, `${i.plugin}.${i.point}`))) : h("span", { class: "muted" }, "none")),
        isPlatform() && !p.core ? h("td", {}, h("button", { type: "button", class: "danger", "aria-label": `Unregister ${p.id}`, onclick: () => unregister(p.id) }, "Unregister")) : isPlatform() ? h("td", {}) : null,
      ),
    );
    return h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { id: "plugins-table" },
        h("caption", {}, `${list.length} plugin${list.length === 1 ? "" : "s"}, refreshed every ${POLL_MS / 1000} seconds`),
        h("thead", {}, h("tr", {}, ["Plugin", "Status", "Version", "Kind", "Points offered (implementer)", "Implements"].map((c) => h("th", { scope: "col" }, c)), isPlatform() ? h("th", { scope: "col" }, "Actions") : null)),
        h("tbody", {}, rows),
      ),
    );
  }

  async function unregister(id) {
    if (!confirm(`Unregister plugin ${id}? Its routes stop at once.`)) return;
    try {
      await api("DELETE", API.plugin(id));
      announce(`Plugin ${id} unregistered.`);
      refreshPlugins();
    } catch (e) {
      document.getElementById("plugins-error").replaceChildren(errorNode(e));
    }
  }

  function registerForm() {
    const err = h("div", { "aria-live": "assertive" });
    const form = h(
      "form",
      { class: "card", "aria-labelledby": "register-title" },
      h("h2", { id: "register-title" }, "Register a plugin"),
      h(
        "div",
        { class: "row" },
        h("div", { class: "field" }, h("label", { for: "reg-id" }, "Plugin id (its Dapr app-id)"), h("input", { id: "reg-id", name: "id", required: true })),
        h("div", { class: "field" }, h("label", { for: "reg-secret" }, "Client secret (optional)"), h("input", { id: "reg-secret", name: "secret", type: "password", autocomplete: "new-password" })),
        h("button", { type: "submit" }, "Register"),
      ),
      err,
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const id = form.elements.id.value.trim();
      if (!id) return err.replaceChildren(h("p", { class: "error", role: "alert" }, "Enter the plugin's id."));
      const body = { id };
      if (form.elements.secret.value) body.secret = form.elements.secret.value;
      try {
        await api("POST", "/apis/plugins/v1/plugins", body);
        err.replaceChildren(h("p", { class: "notice" }, `Plugin ${id} registered.`));
        form.reset();
        refreshPlugins();
      } catch (e) {
        err.replaceChildren(errorNode(e));
      }
    });
    return form;
  }

  /** Hosted web services (hosting's own list), when hosting runs; nothing otherwise. */
  async function refreshHosted() {
    const holder = document.getElementById("hosted-list");
    if (!holder) return;
    let list = [];
    try {
      const data = await api("GET", API.hosted);
      list = (data && data.services) || [];
    } catch (_) {
      list = []; // no hosting on this platform, or not reachable: the section stays empty
    }
    if (!list.length) return holder.replaceChildren();
    const rows = list.map((v) => [
      h("a", { href: `/plugin_service/${encodeURIComponent(v.root_route)}/`, target: "_blank", rel: "noopener noreferrer" }, v.name || v.app_id),
      statusBadge(v.status),
      v.version,
      String(v.restarts),
    ]);
    holder.replaceChildren(h("h2", {}, "Hosted web services"), simpleTable(`${list.length} hosted service${list.length === 1 ? "" : "s"}`, ["Service (opens its page)", "Status", "Version", "Restarts"], rows));
  }

  async function refreshPlugins() {
    const holder = document.getElementById("plugins-list");
    if (!holder) return stopPolling();
    refreshHosted();
    try {
      const data = await api("GET", API.plugins);
      holder.replaceChildren(pluginsTable((data && data.plugins) || []));
      document.getElementById("plugins-error").replaceChildren();
    } catch (e) {
      if (e.status === 401) return sessionEnded();
      document.getElementById("plugins-error").replaceChildren(errorNode(e));
      const loading = holder.querySelector(".loading");
      if (loading) loading.remove();
    }
  }

  async function pluginsPage() {
    show(
      h("h1", {}, "Plugins"),
      h("p", { class: "muted" }, "Every plugin and service on the platform, with its status as the registry last saw it."),
      h("div", { id: "plugins-error", "aria-live": "polite" }),
      h("div", { id: "plugins-list" }, h("p", { class: "loading" }, "Loading plugins…")),
      h("div", { id: "hosted-list" }),
      isPlatform() ? registerForm() : null,
    );
    await refreshPlugins();
    poller = setInterval(refreshPlugins, POLL_MS);
  }

  function sessionEnded() {
    stopPolling();
    me = null;
    show(h("p", { class: "error", role: "alert" }, "Your session has ended. Log in again."));
    setTimeout(render, 1500);
  }

  // === tabs (type 2 on a plugin's page, type 3 on the operations page) ===

  function tabs(label, list, src) {
    if (!list.length) return h("p", { class: "muted" }, "No extension has added a tab here.");
    const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": label });
    const panel = h("div", { class: "panel", role: "tabpanel", id: "tab-panel", tabindex: "0" });
    const buttons = list.map((e, i) =>
      h("button", { type: "button", role: "tab", id: `tab-${i}`, "aria-controls": "tab-panel", "aria-selected": "false", tabindex: "-1" }, entryName(e)),
    );
    const select = (i, focus) => {
      buttons.forEach((b, j) => {
        b.setAttribute("aria-selected", String(i === j));
        b.tabIndex = i === j ? 0 : -1;
      });
      panel.setAttribute("aria-labelledby", `tab-${i}`);
      const e = list[i];
      panel.replaceChildren(
        e.extern === 1
          ? h("p", {}, h("a", { href: src(e), target: "_blank", rel: "noopener noreferrer" }, `Open ${entryName(e)} in a new window`))
          : h("iframe", { class: "extension", src: src(e), title: entryName(e) }),
      );
      if (focus) buttons[i].focus();
    };
    buttons.forEach((b, i) => {
      b.addEventListener("click", () => select(i, false));
      b.addEventListener("keydown", (ev) => {
        const n = buttons.length;
        if (ev.key === "ArrowRight") select((i + 1) % n, true);
        else if (ev.key === "ArrowLeft") select((i + n - 1) % n, true);
        else return;
        ev.preventDefault();
      });
    });
    tablist.append(...buttons);
    select(0, false);
    return h("div", {}, tablist, panel);
  }

  function withQuery(path, key, value) {
    return `${path}${path.includes("?") ? "&" : "?"}${key}=${encodeURIComponent(value)}`;
  }

  async function pluginPage(id) {
    show(h("h1", {}, `Plugin ${id}`), h("p", { class: "loading" }, "Loading…"));
    let p;
    try {
      p = await api("GET", API.plugin(id));
    } catch (e) {
      return show(h("h1", {}, `Plugin ${id}`), errorNode(e), h("p", {}, h("a", { href: "#/plugins" }, "Back to the plugins")));
    }
    await loadEntries();
    const own = entries.filter((e) => e.type === 2);
    show(
      h("p", {}, h("a", { href: "#/plugins" }, "← All plugins")),
      h("h1", {}, `Plugin ${p.id}`),
      h(
        "dl",
        { class: "card" },
        h("dt", {}, "Status"), h("dd", {}, statusBadge(p.status)),
        h("dt", {}, "Version"), h("dd", {}, p.version),
        h("dt", {}, "Kind"), h("dd", {}, kindOf(p)),
        h("dt", {}, "Registered"), h("dd", {}, p.registered_at),
        h("dt", {}, "Last checked"), h("dd", {}, p.last_checked_at),
      ),
      h("h2", {}, "Extensions"),
      tabs(`Extensions for ${p.id}`, own, (e) => (e.extern === 1 ? e.path : withQuery(e.path, "treeid", p.id))),
    );
  }

  async function operationsPage() {
    await loadEntries();
    const ops = entries.filter((e) => e.type === 3);
    show(h("h1", {}, "Operations"), tabs("Operations", ops, (e) => e.path));
  }

  async function extensionPage(path) {
    await loadEntries();
    const e = entries.find((x) => x.path === path && x.extern !== 1);
    if (!e) return show(h("h1", {}, "Extension"), h("p", { class: "error", role: "alert" }, "No extension is registered at this path."));
    show(h("h1", {}, entryName(e)), h("iframe", { class: "extension", src: e.path, title: entryName(e) }));
  }

  // === users, tenants, roles ===

  function simpleTable(caption, cols, rows) {
    return h(
      "div",
      { class: "table-wrap" },
      h("table", {}, h("caption", {}, caption), h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c)))))),
    );
  }

  async function listPage(title, url, draw, form) {
    show(h("h1", {}, title), h("p", { class: "loading" }, "Loading…"));
    try {
      const data = await api("GET", url);
      show(h("h1", {}, title), draw(data), form ? form() : null);
    } catch (e) {
      show(h("h1", {}, title), errorNode(e));
    }
  }

  function createForm(id, title, fields, submit) {
    const err = h("div", { "aria-live": "assertive" });
    const form = h(
      "form",
      { class: "card", "aria-labelledby": `${id}-title` },
      h("h2", { id: `${id}-title` }, title),
      h("div", { class: "row" }, fields.map(([name, label, type]) => h("div", { class: "field" }, h("label", { for: `${id}-${name}` }, label), h("input", { id: `${id}-${name}`, name, type: type || "text", autocomplete: type === "password" ? "new-password" : "off" }))), h("button", { type: "submit" }, title)),
      err,
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const values = Object.fromEntries(fields.map(([name]) => [name, form.elements[name].value.trim()]));
      try {
        await submit(values);
        render();
      } catch (e) {
        err.replaceChildren(errorNode(e));
      }
    });
    return form;
  }

  const usersPage = () =>
    listPage(
      "Users",
      API.users,
      (d) => simpleTable(`Users of tenant ${me.tenant}`, ["User", "Tenant", "Roles", "State"], (d.users || []).map((u) => [u.username, u.tenant, (u.roles || []).join(", ") || "none", u.disabled ? "disabled" : "active"])),
      () =>
        createForm("user", "Add user", [["username", "User name"], ["password", "Password", "password"], ["roles", "Roles (comma-separated)"]], (v) => {
          const body = { username: v.username, password: v.password };
          if (v.roles) body.roles = v.roles.split(",").map((r) => r.trim()).filter(Boolean);
          return api("POST", API.users, body);
        }),
    );

  const tenantsPage = () =>
    listPage(
      "Tenants",
      API.tenants,
      (d) => simpleTable("Tenants", ["Id", "Name"], (d.tenants || []).map((t) => [t.id, t.name])),
      () => createForm("tenant", "Add tenant", [["id", "Tenant id"], ["name", "Name"]], (v) => api("POST", API.tenants, { id: v.id, name: v.name || v.id })),
    );

  const rolesPage = () =>
    listPage(
      "Roles",
      API.roles,
      (d) => simpleTable(`Roles of tenant ${me.tenant}`, ["Role", "Description", "Plugins", "Built in"], (d.roles || []).map((r) => [r.name, r.desc || "", (r.plugins || []).join(", ") || "none", r.built_in ? "yes" : "no"])),
      () => createForm("role", "Add role", [["name", "Role name"], ["desc", "Description"]], (v) => api("POST", API.roles, { name: v.name, desc: v.desc })),
    );

  // === start ===

  window.addEventListener("hashchange", render);
  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("logout").addEventListener("click", logout);
    render();
  });
})();
