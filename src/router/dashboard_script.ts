/**
 * The dashboard page's script (`GET /dashboard/app.js`), plain browser JavaScript: it follows
 * `GET /dashboard/events` (Server-Sent Events, a snapshot a second) and redraws; traces come from
 * `GET /dashboard/api/traces/<id>`; actions post to `/dashboard/actions/<plugin>/<action>`. Every
 * value is written with textContent, never as HTML: names and spans come from plugins.
 * @module
 */

/** `GET /dashboard/app.js`. */
export const DASHBOARD_SCRIPT = String.raw`"use strict";
const $ = (selector) => document.querySelector(selector);
const SVG = "http://www.w3.org/2000/svg";
let actions = { drain: false, reload: false, token: false };

/** An element with attributes (on* are listeners) and children (strings become text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child instanceof Node ? child : String(child));
  return el;
}
const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2)) + " ms";
const time = (at) => new Date(at).toLocaleTimeString();
const state = (text) => h("span", { class: "state-" + text }, text);
const num = (v) => h("td", { class: "num" }, v);

/** A sparkline of the last five minutes. */
function spark(values, label, unit) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 300 40");
  svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(...values, 0);
  const step = 300 / Math.max(1, values.length - 1);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", values.map((v, i) => (i * step).toFixed(1) + "," + (39 - (max > 0 ? (v / max) * 37 : 0)).toFixed(1)).join(" "));
  svg.append(line);
  return h("figure", {}, svg, h("figcaption", {}, label + ", last 5 min (max " + (unit === "ms" ? ms(max) : max) + ")"));
}

function actionButtons(p) {
  const buttons = [];
  if (actions.drain) buttons.push(p.state === "draining" ? h("button", { onclick: () => act(p.name, "resume") }, "resume") : h("button", { onclick: () => act(p.name, "drain") }, "drain"));
  if (actions.reload) buttons.push(h("button", { onclick: () => act(p.name, "reload") }, "reload"));
  return buttons;
}

function pluginCard(p) {
  const breaker = p.breaker ? state(p.breaker.state) : "none";
  // Each method with a breaker of its own: "fail open".
  const methodBreakers = Object.entries(p.methodBreakers).flatMap(([m, b]) => [", " + m + " ", state(b.state)]);
  const budget = p.retryBudget ? p.retryBudget.retrying + "/" + p.retryBudget.limit + " retrying, " + p.retryBudget.tokens + "/" + p.retryBudget.maxTokens + " tokens" : "unused";
  const bulkhead = p.bulkhead ? p.bulkhead.running + "/" + p.bulkhead.maxConcurrent + " running, " + p.bulkhead.queued + " queued" : "none";
  const split = Object.entries(p.canary.observed).map(([v, share]) => v + " " + Math.round(share * 100) + "%").join(", ") || "none yet";
  const configured = p.canary.configured ? Object.entries(p.canary.configured).map(([r, w]) => r + ":" + w).join(", ") : p.canary.rule || "highest stable";
  const rows = p.versions.flatMap((v) => v.instances.map((i) => h("tr", {},
    h("td", {}, v.version), h("td", {}, i.id), h("td", {}, i.runtime), h("td", {}, i.host), h("td", {}, state(i.health)), h("td", {}, state(i.state)),
    num(i.inFlight), num(i.rps), num(ms(i.p50Ms)), num(ms(i.p99Ms)), num(i.requests), num(i.errors))));
  return h("div", { class: "plugin", "data-plugin": p.name },
    h("div", { class: "plugin-head" }, h("b", {}, p.name), state(p.state), h("span", {}, "in flight " + p.inFlight), h("span", { class: "rps" }, p.rps + " req/s"),
      h("span", {}, "p50 " + ms(p.p50Ms)), h("span", {}, "p99 " + ms(p.p99Ms)), h("span", { class: "requests" }, p.requests + " requests"),
      h("span", {}, p.errors + " errors (5xx)"), h("span", {}, "balancer " + p.balancer), ...actionButtons(p)),
    h("div", { class: "plugin-head muted" }, h("span", { class: "breakers" }, "breaker ", breaker, ...methodBreakers), h("span", {}, "retry budget " + budget), h("span", {}, "bulkhead " + bulkhead),
      h("span", { class: "rejections" }, "rejected: " + p.rejections.rateLimited + " rate-limited, " + p.rejections.overloaded + " overloaded, " + p.rejections.circuitOpen + " circuit open"),
      h("span", {}, "versions: " + configured + " → " + split)),
    h("div", { class: "charts" }, spark(p.series.rps, "requests/s"), spark(p.series.p99Ms, "p99", "ms")),
    h("table", {}, h("thead", {}, h("tr", {}, ["version", "instance", "runtime", "host", "health", "state", "in flight", "req/s", "p50", "p99", "requests", "errors"].map((t) => h("th", {}, t)))), h("tbody", {}, rows)));
}

const traceLink = (id, text) => id ? h("a", { onclick: () => showTrace(id) }, text || id.slice(0, 12) + "…") : "—";

function traceRows(list) {
  return list.map((t) => h("tr", {}, h("td", {}, traceLink(t.traceId, t.name || t.traceId)), num(ms(t.durationMs)), num(t.spans + " spans"), h("td", {}, t.error ? state("error") : ""), h("td", { class: "muted" }, time(t.startMs))));
}

function render(snap) {
  actions = snap.router.actions;
  $("#status").textContent = "live · " + snap.plugins.length + " plugins · " + snap.router.inFlight + " in flight · " + time(snap.at) + (snap.router.shuttingDown ? " · shutting down" : "");
  $("#plugins").replaceChildren(...(snap.plugins.length ? snap.plugins.map(pluginCard) : [h("p", { class: "muted" }, "No plugins yet.")]));
  $("#errors tbody").replaceChildren(...snap.errors.map((e) => h("tr", {}, h("td", {}, time(e.at)), h("td", {}, e.plugin + "." + e.method), num(e.status), h("td", {}, e.code),
    h("td", {}, e.traceId ? traceLink(e.traceId, e.requestId) : e.requestId), h("td", {}, traceLink(e.traceId)), h("td", {}, e.instance))));
  $("#traces-off").hidden = snap.router.traces !== null;
  $("#recent tbody").replaceChildren(...traceRows(snap.traces.recent));
  $("#slowest tbody").replaceChildren(...traceRows(snap.traces.slowest));
}

async function showTrace(id) {
  const res = await fetch("/dashboard/api/traces/" + encodeURIComponent(id));
  const body = await res.json();
  const box = $("#waterfall");
  if (!res.ok) return box.replaceChildren(h("p", { class: "muted" }, body.error ? body.error.message : "not found"));
  const total = Math.max(body.durationMs, 0.001);
  box.replaceChildren(h("p", {}, "trace " + body.traceId + (body.requestId ? ", request " + body.requestId : "") + ", " + body.rows.length + " spans, " + ms(body.durationMs)),
    ...body.rows.map((r) => {
      const bar = h("div", { class: "bar" + (r.span.status === "error" ? " error" : ""), title: JSON.stringify(r.span.attributes, null, 1) });
      bar.style.left = (r.offsetMs / total) * 100 + "%";
      bar.style.width = (r.span.durationMs / total) * 100 + "%";
      const label = h("div", { class: "label", title: r.span.name }, r.span.name, " ", h("span", { class: "muted" }, r.span.service + " " + ms(r.span.durationMs)),
        r.span.events.length ? h("span", { class: "events" }, " · " + r.span.events.map((e) => e.name).join(", ")) : null);
      label.style.paddingLeft = r.depth * 1.2 + "em";
      return h("div", { class: "row", "data-depth": r.depth }, label, h("div", { class: "track" }, bar));
    }));
}

async function act(plugin, action) {
  if (!confirm(action + " " + plugin + "?")) return;
  const headers = { "content-type": "application/json" };
  if (actions.token) {
    const token = sessionStorage.getItem("switchyard-admin-token") || prompt("admin.token");
    if (!token) return;
    sessionStorage.setItem("switchyard-admin-token", token);
    headers.authorization = "Bearer " + token;
  }
  const res = await fetch("/dashboard/actions/" + encodeURIComponent(plugin) + "/" + action, { method: "POST", headers, body: "{}" });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) sessionStorage.removeItem("switchyard-admin-token");
  alert(res.ok ? body.message : res.status + " " + (body.error ? body.error.code + ": " + body.error.message : ""));
}

$("#lookup").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = new FormData(event.target).get("id").trim();
  if (id) showTrace(id);
});
const events = new EventSource("/dashboard/events");
events.addEventListener("snapshot", (event) => render(JSON.parse(event.data)));
events.addEventListener("error", () => ($("#status").textContent = "disconnected, retrying…"));
`;
