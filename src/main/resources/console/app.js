// Postern web console: calls the admin API (openapi.json) with the session cookie and the session's CSRF
// token. Every value shown is put in as text (textContent), never as HTML.
"use strict";

let csrf = null;
const main = document.getElementById("main");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick" || k === "onsubmit" || k === "onchange") e.addEventListener(k.substring(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

async function api(method, path, body) {
  const headers = {};
  if (method !== "GET") headers["X-CSRF-Token"] = csrf || "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && path !== "/console/login") { showLogin(); throw new Error("please log in"); }
  if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
  return data;
}

function show(...children) { main.replaceChildren(...children.filter(c => c !== null && c !== undefined)); }

function failure(e) { return el("p", { class: "error", id: "error" }, e.message); }

// ---------------------------------------------------------------- login

function showLogin(message) {
  csrf = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("alerts").hidden = true;
  document.getElementById("who").textContent = "";
  const user = el("input", { id: "login-user", autocomplete: "username" });
  const password = el("input", { id: "login-password", type: "password", autocomplete: "current-password" });
  const token = el("input", { id: "login-token", autocomplete: "off" });
  const status = el("p", { class: "error", id: "login-error" }, message || "");
  show(el("form", { class: "card login", id: "login", onsubmit: async ev => {
    ev.preventDefault();
    const body = token.value ? { token: token.value } : { user: user.value, password: password.value };
    try {
      const s = await api("POST", "/console/login", body);
      started(s);
    } catch (e) { status.textContent = e.message; }
  } },
    el("h2", {}, "Log in"),
    el("label", {}, "Account (listed in [admin] users)", user),
    el("label", {}, "Password", password),
    el("p", { class: "muted" }, "or the token in <data_dir>/admin.token:"),
    el("label", {}, "Admin token", token),
    el("button", { type: "submit", id: "login-submit" }, "Log in"),
    status));
}

function started(session) {
  csrf = session.csrf;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = session.user;
  route();
  refreshAlerts();
}

document.getElementById("logout").addEventListener("click", async () => {
  await api("POST", "/console/logout").catch(() => {});
  showLogin("Logged out.");
});

async function refreshAlerts() {
  if (!csrf) return;
  try {
    const a = await api("GET", "/alerts");
    const box = document.getElementById("alerts");
    box.replaceChildren(...a.alerts.map(t => el("div", { class: "alert" }, t)));
    box.hidden = a.alerts.length === 0;
  } catch (e) { /* shown on the next page load */ }
}
setInterval(refreshAlerts, 30000);

// ---------------------------------------------------------------- pages

const pages = { overview, queue, trace, accounts, domains, dmarc };

function route() {
  if (!csrf) return;
  const [name, arg] = (location.hash.substring(1).split("?")[0] || "overview").split("/");
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("current", a.id === "nav-" + name);
  (pages[name] || overview)(arg ? decodeURIComponent(arg) : undefined).catch(e => show(failure(e)));
}
window.addEventListener("hashchange", route);

const TITLES = { accepted: "Accepted messages / min", delivered: "Delivered recipients / min", deferred: "Deferred recipients / min",
  bounced: "Bounced recipients / min", rejected: "Rejected (policy) / min", queue_size: "Queue size",
  oldest_message_seconds: "Oldest message (s)", connections: "Open connections" };

async function overview() {
  const [h, q] = await Promise.all([api("GET", "/stats/history"), api("GET", "/queue")]);
  const charts = Object.entries(h.series).map(([name, values]) => chart(name, values, h.minutes));
  show(el("h2", {}, "The last hour, per minute"),
    el("div", { class: "charts", id: "charts" }, charts),
    el("h2", {}, "Queue"),
    el("p", { id: "queue-summary" }, q.count + " message(s) queued, " + q.messages.filter(m => m.held).length + " held. ",
      el("a", { href: "#queue" }, "Open the queue")));
}

function chart(name, values, minutes) {
  const w = 240, h = 70, max = Math.max(1, ...values);
  const drawn = values.length === 1 ? [values[0], values[0]] : values; // one minute so far: a level line
  const x = i => i * w / (drawn.length - 1);
  const y = v => h - 4 - (v / max) * (h - 8);
  const points = drawn.map((v, i) => x(i).toFixed(1) + "," + y(v).toFixed(1)).join(" ");
  const graph = svg("svg", { viewBox: "0 0 " + w + " " + h, preserveAspectRatio: "none", role: "img", "aria-label": TITLES[name] || name });
  if (values.length > 0) {
    graph.append(svg("polygon", { class: "area", points: "0," + h + " " + points + " " + w + "," + h }));
    graph.append(svg("polyline", { points, fill: "none", stroke: "#3b7ddd", "stroke-width": "2", "vector-effect": "non-scaling-stroke" }));
  }
  const last = values.length ? values[values.length - 1] : 0;
  const since = minutes.length ? "since " + minutes[0].substring(11, 16) + " UTC" : "";
  return el("div", { class: "card chart", "data-series": name, "data-total": values.reduce((a, b) => a + b, 0) },
    el("h3", {}, TITLES[name] || name), el("div", { class: "value" }, String(last)), graph, el("div", { class: "muted" }, since));
}

const SEARCH = ["sender", "recipient", "domain", "status", "min_age", "max_age"];

async function queue() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const inputs = {};
  for (const k of SEARCH) {
    inputs[k] = k === "status"
      ? el("select", { id: "search-status" }, ["", "deferred", "pending", "held"].map(s => el("option", { value: s }, s || "any")))
      : el("input", { id: "search-" + k, size: k.endsWith("age") ? 5 : 18, placeholder: k.endsWith("age") ? "4h" : "" });
    inputs[k].value = params.get(k) || "";
  }
  const query = () => SEARCH.filter(k => inputs[k].value).map(k => k + "=" + encodeURIComponent(inputs[k].value)).join("&");
  const list = el("div", { id: "queue-list" });
  const detail = el("div", { id: "message" });
  const status = el("p", { id: "queue-status", class: "muted" });
  async function load() {
    const q = query();
    const r = await api("GET", "/queue" + (q ? "?" + q : ""));
    status.textContent = r.count + " message(s)" + (q ? " matching" : "");
    list.replaceChildren(messageTable(r.messages, id => showMessage(id, detail, load)));
  }
  const bulk = el("select", { id: "bulk-action" }, ["retry", "hold", "release", "bounce", "delete"].map(a => el("option", { value: a }, a)));
  show(el("h2", {}, "Queue"),
    el("form", { class: "inline card", id: "search", onsubmit: ev => { ev.preventDefault(); load().catch(e => status.textContent = e.message); } },
      SEARCH.map(k => el("label", {}, k.replace("_", " "), inputs[k])),
      el("button", { type: "submit", id: "search-submit" }, "Search")),
    el("div", { class: "actions" },
      el("span", {}, "For every message matching the search:"), bulk,
      el("button", { class: "danger", id: "bulk-submit", onclick: async () => {
        const q = query() || "all=true";
        if (!confirm(bulk.value + " every message matching " + q + "?")) return;
        try {
          const r = await api("POST", "/queue/actions/" + bulk.value + "?" + q);
          status.textContent = bulk.value + ": " + r.ids.length + " of " + r.matched + " message(s)";
          await load();
          status.textContent = bulk.value + ": " + r.ids.length + " of " + r.matched + " message(s)";
        } catch (e) { status.textContent = e.message; }
      } }, "Apply")),
    status, list, detail);
  await load();
}

function messageTable(messages, open) {
  return el("table", { id: "messages" },
    el("tr", {}, ["Queue id", "Arrival", "Sender", "Recipients", "Size", "State"].map(t => el("th", {}, t))),
    messages.map(m => el("tr", { class: "clickable", "data-id": m.id, onclick: () => open(m.id) },
      el("td", {}, m.id), el("td", {}, m.arrival.replace("T", " ").substring(0, 19)), el("td", {}, m.sender || "<>"),
      el("td", {}, m.recipients.map(r => r.address).join(", ")), el("td", {}, m.size),
      el("td", { class: m.held ? "status-held" : "status-" + m.recipients[0].status },
        m.held ? "held" : [...new Set(m.recipients.map(r => r.status))].join(", ")))));
}

async function showMessage(id, into, reload) {
  const m = await api("GET", "/queue/" + encodeURIComponent(id));
  const act = a => el("button", { class: a === "delete" || a === "bounce" ? "danger" : "secondary", id: "action-" + a, onclick: async () => {
    try {
      await api("POST", "/queue/" + encodeURIComponent(id) + "/" + a);
      await reload();
      if (a === "delete" || a === "bounce") into.replaceChildren(el("p", { class: "muted" }, id + ": " + a + " done"));
      else await showMessage(id, into, reload);
    } catch (e) { into.append(failure(e)); }
  } }, a);
  const env = Object.entries(m.envelope).filter(([, v]) => v !== null && v !== false).map(([k, v]) => k + "=" + v).join("  ");
  into.replaceChildren(el("div", { class: "card", id: "message-" + id },
    el("h2", {}, "Message " + id + (m.held ? " (held)" : "")),
    el("p", {}, "From <" + m.sender + ">, " + m.size + " octets, arrived " + m.arrival),
    el("p", { class: "muted" }, env),
    el("div", { class: "actions" }, ["retry", "hold", "release", "bounce", "delete"].map(act),
      el("a", { href: "#trace/" + encodeURIComponent(id) }, "trace")),
    el("table", { id: "recipients" },
      el("tr", {}, ["Recipient", "Status", "Attempts", "Next attempt", "Last reply"].map(t => el("th", {}, t))),
      m.recipients.map(r => el("tr", {}, el("td", {}, r.address), el("td", { class: "status-" + r.status }, r.status),
        el("td", {}, r.attempts), el("td", {}, r.next_attempt || ""), el("td", {}, r.last_reply || "")))),
    el("h2", {}, "Header"), el("pre", { id: "headers" }, m.headers || "(not readable)")));
}

async function trace(id) {
  const input = el("input", { id: "trace-id", size: 20, value: id || "" });
  const out = el("div", { id: "trace-result" });
  show(el("h2", {}, "Trace"),
    el("form", { class: "inline card", onsubmit: ev => { ev.preventDefault(); location.hash = "#trace/" + encodeURIComponent(input.value.trim()); } },
      el("label", {}, "Queue id", input), el("button", { type: "submit", id: "trace-submit" }, "Trace")),
    out);
  if (!id) return;
  try {
    const t = await api("GET", "/trace/" + encodeURIComponent(id));
    out.replaceChildren(
      el("p", {}, t.queued ? id + " is in the queue." : id + " is no longer in the queue."),
      el("table", { id: "events" }, el("tr", {}, ["Time", "Level", "Part", "What"].map(h => el("th", {}, h))),
        t.events.map(e => el("tr", {}, el("td", {}, e.at.replace("T", " ").substring(0, 23)), el("td", {}, e.level),
          el("td", {}, e.source), el("td", {}, e.text)))));
  } catch (e) { out.replaceChildren(failure(e)); }
}

async function accounts() {
  const u = await api("GET", "/users");
  const address = el("input", { id: "new-address", placeholder: "carol@example.org" });
  const password = el("input", { id: "new-password", type: "password" });
  const status = el("p", { id: "accounts-status", class: "muted" });
  const row = a => {
    const pw = el("input", { type: "password", size: 12, "aria-label": "new password for " + a });
    return el("tr", { "data-account": a }, el("td", {}, a),
      el("td", {}, pw, " ", el("button", { class: "secondary", onclick: async () => {
        try { await api("POST", "/users/" + encodeURIComponent(a) + "/password", { password: pw.value }); status.textContent = "password of " + a + " changed"; pw.value = ""; }
        catch (e) { status.textContent = e.message; }
      } }, "Change password")),
      el("td", {}, el("button", { class: "danger", onclick: async () => {
        if (!confirm("Remove " + a + "? Its mailbox stays on disk.")) return;
        try { await api("DELETE", "/users/" + encodeURIComponent(a)); await accounts(); document.getElementById("accounts-status").textContent = a + " removed"; }
        catch (e) { status.textContent = e.message; }
      } }, "Remove")));
  };
  show(el("h2", {}, "Accounts"),
    el("form", { class: "inline card", id: "add-account", onsubmit: async ev => {
      ev.preventDefault();
      try {
        await api("POST", "/users", { address: address.value, password: password.value });
        const added = address.value;
        await accounts();
        document.getElementById("accounts-status").textContent = added + " added";
      } catch (e) { status.textContent = e.message; }
    } }, el("label", {}, "Address", address), el("label", {}, "Password", password), el("button", { type: "submit", id: "add-submit" }, "Add account")),
    status,
    el("table", { id: "accounts" }, el("tr", {}, el("th", {}, "Account"), el("th", {}, "Password"), el("th", {}, "")), u.users.map(row)));
}

async function domains() {
  const [d, k] = await Promise.all([api("GET", "/domains"), api("GET", "/dkim")]);
  show(el("h2", {}, "Domains"),
    el("div", { class: "card", id: "domains" },
      el("p", {}, "Host name: " + d.hostname),
      el("p", {}, "Local domains: " + d.domains.join(", ")),
      el("p", {}, "Relay domains: " + (d.relay_domains.join(", ") || "none"))),
    el("h2", {}, "Aliases"),
    el("table", { id: "aliases" }, el("tr", {}, el("th", {}, "Address"), el("th", {}, "Delivers to")),
      Object.entries(d.aliases).map(([a, t]) => el("tr", {}, el("td", {}, a), el("td", {}, t.join(", "))))),
    el("h2", {}, "DKIM keys and the DNS records to publish"),
    k.keys.length === 0 ? el("p", { class: "muted" }, "No keys yet: postern dkim keygen DOMAIN") : null,
    el("div", { id: "dkim" }, k.keys.map(key => el("div", { class: "card" },
      el("p", {}, key.domain + ", selector " + key.selector + " (" + key.algorithm + ")"),
      el("pre", {}, key.name + ". 3600 IN TXT \"" + (key.record || "") + "\"")))));
}

async function dmarc() {
  const r = await api("GET", "/dmarc/summary?days=14");
  show(el("h2", {}, "DMARC results, the last 14 days"),
    el("p", { class: "muted" }, "What the DMARC checks of received mail found, per day and policy domain (from <data_dir>/dmarc; "
      + "the aggregate reports sent to the domains are made from the same rows)."),
    r.days.length === 0 ? el("p", { id: "dmarc-empty" }, "No DMARC results recorded in these days.") : null,
    el("table", { id: "dmarc" },
      el("tr", {}, ["Day", "Policy domain", "Messages", "Pass", "Fail", "Quarantined", "Rejected"].map(t => el("th", {}, t))),
      r.days.flatMap(d => d.domains.map(x => el("tr", {}, el("td", {}, d.day), el("td", {}, x.domain), el("td", {}, x.messages),
        el("td", {}, x.pass), el("td", { class: x.fail ? "status-deferred" : "" }, x.fail), el("td", {}, x.quarantined), el("td", {}, x.rejected))))));
}

// a session survives a reload of the page
api("GET", "/console/session").then(started).catch(() => showLogin());
