/**
 * The dashboard page: one HTML document, its stylesheet and its script, served as they are (no
 * build step, nothing from a CDN). The script is in `dashboard_script.ts`.
 * @module
 */

/** `GET /dashboard`. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchyard</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>Switchyard</h1>
  <span id="status" class="muted">connecting…</span>
</header>
<main>
  <section>
    <h2>Plugins</h2>
    <div id="plugins"><p class="muted">No plugins yet.</p></div>
  </section>
  <section>
    <h2>Recent errors</h2>
    <table id="errors"><thead><tr><th>time</th><th>plugin.method</th><th>status</th><th>code</th><th>request id</th><th>trace</th><th>instance</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="traces-section">
    <h2>Traces</h2>
    <p id="traces-off" class="muted" hidden>The router keeps no traces (router.traces.enabled; on in <code>switchyard dev</code>).</p>
    <div class="columns">
      <div><h3>Recent</h3><table id="recent"><tbody></tbody></table></div>
      <div><h3>Slowest</h3><table id="slowest"><tbody></tbody></table></div>
    </div>
    <form id="lookup"><input name="id" placeholder="trace id or request id" size="40"> <button>Show</button></form>
    <div id="waterfall"></div>
  </section>
</main>
</body>
</html>
`;

/** `GET /dashboard/app.css`. */
export const DASHBOARD_CSS = `
:root { --fg: #1d2330; --muted: #6b7280; --line: #e5e7eb; --ok: #15803d; --warn: #b45309; --bad: #b91c1c; --bar: #2563eb; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); }
body { margin: 0; }
header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1.2em; border-bottom: 1px solid var(--line); }
h1 { font-size: 1.2em; margin: 0; }
h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
h3 { font-size: .95em; margin: .4em 0; }
main { padding: 0 1.2em 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .15em .5em; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.plugin { border: 1px solid var(--line); border-radius: 6px; padding: .5em .8em; margin-bottom: .8em; }
.plugin-head { display: flex; flex-wrap: wrap; gap: .4em 1.2em; align-items: baseline; }
.plugin-head b { font-size: 1.05em; }
.state-serving, .state-ok, .state-closed { color: var(--ok); }
.state-draining, .state-degraded, .state-half_open, .state-ejected { color: var(--warn); }
.state-lost, .state-unhealthy, .state-open, .state-unavailable, .state-error { color: var(--bad); }
.charts { display: flex; gap: 1.5em; margin: .3em 0; }
.charts figure { margin: 0; }
.charts figcaption { color: var(--muted); font-size: .85em; }
svg.spark { width: 300px; height: 40px; background: #f9fafb; }
svg.spark polyline { fill: none; stroke: var(--bar); stroke-width: 1; }
button { font: inherit; cursor: pointer; }
.columns { display: flex; gap: 2em; }
.columns > div { flex: 1; }
a { color: var(--bar); cursor: pointer; }
#waterfall { margin-top: .8em; }
.row { display: flex; align-items: center; border-bottom: 1px solid var(--line); font-size: .9em; }
.row .label { width: 45%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.row .track { position: relative; flex: 1; height: 1.1em; }
.row .bar { position: absolute; top: .2em; height: .7em; min-width: 2px; background: var(--bar); }
.row .bar.error { background: var(--bad); }
.row .events { color: var(--warn); font-size: .85em; }
`;
