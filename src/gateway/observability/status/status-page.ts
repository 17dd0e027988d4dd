/**
 * The status page: one self-contained HTML document (inline CSS and script, no external asset, no
 * build step) that polls `status.json` every second and renders it. Values are written with
 * `textContent` only, so a caller or account name can never become markup. The CSP allows exactly
 * this page's own inline script and style (by hash) and requests to its own origin.
 */
import { createHash } from 'node:crypto';

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2733; background: #f7f9fb; }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; } h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
.meta { color: #4a5866; margin: 0 0 .25rem; } .meta b { color: #1d2733; font-weight: 600; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px #0002; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid #e3e8ee; text-align: right; white-space: nowrap; }
th { background: #eef2f6; font-weight: 600; font-size: 12px; } td.name, th.name { text-align: left; }
.state { border-radius: 3px; padding: 1px 6px; font-size: 12px; }
.state.running { background: #d9f2e3; color: #14532d; } .state.paused { background: #fde9c8; color: #7a4a00; }
.state.fallback, .state.connecting { background: #fbd5d5; color: #7f1d1d; }
.denial { display: inline-block; margin-left: .4rem; } .muted { color: #8796a5; }
#live { font-size: 12px; padding: 1px 6px; border-radius: 3px; background: #d9f2e3; }
#live.stale { background: #fbd5d5; }
svg { display: block; } .bar { fill: #5b8def; } .limit { stroke: #c0392b; stroke-dasharray: 3 2; }
.rate { stroke: #e69b00; } .fleet { stroke: #1e8449; stroke-width: 1.5; fill: none; }
`;

const SCRIPT = `
'use strict';
const el = (tag, attrs, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};
const svgEl = (tag, attrs) => {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
};
const clock = (ms) => (ms === null ? '—' : new Date(ms).toISOString().slice(11, 19) + 'Z');
const ago = (ms, now) => (ms === null ? '' : ' (' + Math.max(0, Math.round((now - ms) / 1000)) + ' s ago)');
const num = (n, digits) => (n === null ? '—' : Number(n).toFixed(digits));
const pct = (n) => (n === null ? '—' : Math.round(n * 100) + ' %');
const cell = (testid, value, cls) => el('td', { 'data-testid': testid, class: cls || '' }, value);

// The fleet's count is read once a second; the page keeps the last minute of readings itself.
const fleetHistory = new Map();
function fleetReadings(row, now) {
  const key = row.account + '/' + row.class;
  const kept = (fleetHistory.get(key) || []).filter((r) => now - r.atMs < 60000);
  if (row.fleetSlotsLastSecond !== null) kept.push({ atMs: now, value: row.fleetSlotsLastSecond });
  fleetHistory.set(key, kept);
  return kept;
}

function chart(row, now) {
  const w = 180, h = 40, points = row.sendsPerSecond;
  const fleet = fleetReadings(row, now);
  const top = Math.max(row.limitPerSecond, ...points, ...fleet.map((r) => r.value)) * 1.1;
  const y = (v) => h - (v / top) * h;
  const svg = svgEl('svg', { width: w, height: h, viewBox: '0 0 ' + w + ' ' + h, 'data-testid': 'chart',
    'data-points': points.join(','), role: 'img',
    'aria-label': 'sends per second, last ' + points.length + ' s, against the limit' });
  const bw = w / points.length;
  points.forEach((v, i) => {
    if (v > 0) svg.append(svgEl('rect', { class: 'bar', x: i * bw, y: y(v), width: Math.max(1, bw - 0.5), height: h - y(v) }));
  });
  svg.append(svgEl('line', { class: 'limit', x1: 0, x2: w, y1: y(row.limitPerSecond), y2: y(row.limitPerSecond) }));
  svg.append(svgEl('line', { class: 'rate', x1: 0, x2: w, y1: y(row.ratePerSecond), y2: y(row.ratePerSecond) }));
  if (fleet.length > 0) {
    const xy = fleet.map((r) => Math.max(0, w - ((now - r.atMs) / 1000) * bw).toFixed(1) + ',' + y(r.value).toFixed(1));
    svg.append(svgEl('polyline', { class: 'fleet', points: xy.join(' '), 'data-testid': 'fleet-line',
      'data-readings': fleet.map((r) => r.value).join(',') }));
  }
  return svg;
}

function stateCell(row, now) {
  let text = row.state;
  if (row.state === 'paused') text = 'paused until ' + clock(row.pausedUntilMs);
  if (row.state === 'fallback') text = 'fallback (Redis unreachable) since ' + clock(row.stateSinceMs) + ago(row.stateSinceMs, now);
  if (row.state === 'connecting') text = 'connecting to Redis since ' + clock(row.stateSinceMs);
  return el('td', { class: 'name' }, el('span', { class: 'state ' + row.state, 'data-testid': 'state', 'data-state': row.state }, text));
}

function scheduleRow(row, now) {
  return el('tr', { 'data-testid': 'schedule-row', 'data-account': row.account, 'data-class': row.class },
    cell('account', row.account, 'name'), cell('class', row.class, 'name'),
    cell('limit', row.limitPerSecond + '/s × ' + row.safety),
    cell('rate', num(row.ratePerSecond, 2) + '/s'),
    el('td', {}, chart(row, now)),
    cell('fleet-1s', row.fleetSlotsLastSecond === null ? '—' : row.fleetSlotsLastSecond),
    cell('sent-10s', row.sentLast10s),
    cell('sent-total', row.sentTotal),
    cell('waiting', row.waiting),
    cell('oldest-wait', row.oldestWaitMs === null ? '—' : Math.round(row.oldestWaitMs) + ' ms'),
    stateCell(row, now),
    cell('upstream-429', row.upstream429 + (row.last429AtMs === null ? '' : ', last ' + clock(row.last429AtMs))));
}

function callerRow(row) {
  const denials = el('td', { class: 'name', 'data-testid': 'denials' });
  const reasons = Object.entries(row.denials);
  if (reasons.length === 0) denials.append(el('span', { class: 'muted' }, 'none'));
  for (const [reason, count] of reasons)
    denials.append(el('span', { class: 'denial', 'data-testid': 'denial', 'data-reason': reason }, reason + ': ',
      el('b', { 'data-testid': 'denial-count' }, count)));
  return el('tr', { 'data-testid': 'caller-row', 'data-caller': row.caller },
    cell('caller', row.caller, 'name'), cell('account', row.account === null ? '—' : row.account, 'name'),
    cell('weight', row.weight === null ? '—' : row.weight),
    cell('requests-1m', row.requestsLastMinute), cell('forwarded-1m', row.forwardedLastMinute),
    cell('share', pct(row.shareLastMinute)), cell('weight-share', pct(row.weightShare)),
    cell('requests-total', row.requestsTotal), denials);
}

function render(doc) {
  const now = doc.generatedAtMs;
  const p = doc.policy;
  const reload = p.lastReload === null ? 'none' : p.lastReload.outcome + ' at ' + clock(p.lastReload.atMs)
    + (p.lastReload.outcome === 'refused'
      ? ' (' + p.lastReload.problems + (p.lastReload.problems === 1 ? ' problem' : ' problems') + '; the running policy kept)'
      : '');
  document.getElementById('policy-version').textContent = p.version === null ? '—' : p.version;
  document.getElementById('policy-loaded').textContent = clock(p.loadedAtMs) + ago(p.loadedAtMs, now);
  document.getElementById('policy-reload').textContent = reload;
  document.getElementById('schedule-mode').textContent = doc.replica.scheduleMode + ' since ' + clock(doc.replica.scheduleModeSinceMs)
    + (doc.replica.scheduleReason === null ? '' : ' — ' + doc.replica.scheduleReason);
  document.getElementById('schedules').replaceChildren(...doc.schedules.map((r) => scheduleRow(r, now)));
  document.getElementById('callers').replaceChildren(...doc.callers.map(callerRow));
  const updated = document.getElementById('generated-at');
  updated.textContent = clock(now);
  updated.dataset.ms = String(now);
}

let refreshes = 0;
async function refresh() {
  const live = document.getElementById('live');
  try {
    const res = await fetch('status.json', { cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
    refreshes += 1;
    document.body.dataset.refreshes = String(refreshes);
    live.textContent = 'live';
    live.className = '';
  } catch (e) {
    live.textContent = 'not updating: ' + e.message;
    live.className = 'stale';
  } finally {
    setTimeout(refresh, 1000);
  }
}
refresh();
`;

const BODY = `
<h1>strettch-gateway status <span id="live">loading</span></h1>
<p class="meta">This replica, updated <b id="generated-at" data-testid="generated-at">—</b> (every second).
Schedule mode: <b id="schedule-mode" data-testid="schedule-mode">—</b></p>
<p class="meta">Policy <b id="policy-version" data-testid="policy-version">—</b>, loaded <b id="policy-loaded" data-testid="policy-loaded">—</b>;
last reload: <b id="policy-reload" data-testid="policy-reload">—</b></p>
<h2>Rate schedules (per account and class)</h2>
<table>
<thead><tr><th class="name">account</th><th class="name">class</th><th>limit × safety</th><th>scheduled rate</th>
<th>sends/s, last 60 s: this replica (bars), fleet (green), limit (red), rate (amber)</th><th>fleet, last 1 s</th><th>sent, last 10 s</th><th>sent since start</th>
<th>waiting</th><th>oldest wait</th><th class="name">state</th><th>upstream 429s</th></tr></thead>
<tbody id="schedules"></tbody>
</table>
<p class="meta">The limit is per key, shared by every replica. "Fleet, last 1 s" (the green line: its readings
since this page opened): every replica's slots in the last second, read from the shared calendar in Redis
(— without Redis). Sends, waits and 429s are this replica's.</p>
<h2>Callers</h2>
<table>
<thead><tr><th class="name">caller</th><th class="name">account</th><th>weight</th><th>requests, last min</th>
<th>forwarded, last min</th><th>share of account</th><th>weight share</th><th>requests since start</th>
<th class="name">answered by the gateway, by reason</th></tr></thead>
<tbody id="callers"></tbody>
</table>
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:,"><title>strettch-gateway status</title><style>${STYLE}</style></head>
<body data-refreshes="0">${BODY}<script>${SCRIPT}</script></body></html>
`;

/** Only this page's own script and style run; it may fetch only from the admin port itself. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  // The empty favicon only: no request for one the admin port does not have.
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
