// The dashboard's page: plain HTML, CSS and JavaScript in strings, so that it
// ships inside the compiled package with no build step, no asset copying and
// no CDN. The script builds every element with textContent (job output and
// scopes are never parsed as HTML), and the page's Content-Security-Policy
// allows only this script and this style, by hash.

import { createHash } from 'node:crypto';

/**
 * The header the page sends with every change (cancel, run again). A form
 * on another site cannot send a custom header without CORS allowing it, so
 * its absence marks a cross-site request forged with the user's cookies.
 */
export const DASHBOARD_HEADER = 'x-backjob-dashboard';

/** How often the page reads the jobs again, in ms. */
export const DASHBOARD_REFRESH_MS = 1000;

const STYLE = String.raw`
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; margin: 0 0 0.75rem; }
#toolbar { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: center; margin-bottom: 0.75rem; }
#counts { display: flex; flex-wrap: wrap; gap: 0.4rem; }
#counts button { border: 1px solid #ccc; border-radius: 999px; background: #fafafa; padding: 0.15rem 0.7rem; cursor: pointer; font: inherit; }
#counts button[aria-pressed="true"] { border-color: #1976d2; background: #e3f0fc; }
#counts .n { font-weight: 600; font-variant-numeric: tabular-nums; }
#counts-note, #updated { color: #777; font-size: 12px; }
label { white-space: nowrap; }
#message:empty { display: none; }
#message { padding: 0.5rem 0.75rem; border-radius: 6px; margin: 0 0 0.75rem; background: #e8f4ea; color: #17692b; }
#message[data-kind="error"] { background: #fdecea; color: #a11; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.4rem 0.5rem; border-bottom: 1px solid #eee; }
th { font-size: 12px; color: #555; border-bottom: 1px solid #ccc; white-space: nowrap; }
td.num, td.time, td.progress, td.actions { font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 12px ui-monospace, monospace; }
.retry-of { color: #777; font-size: 12px; }
.state { font-weight: 600; }
.state-0 { color: #777; } .state-1 { color: #1565c0; } .state-2 { color: #17692b; }
.state-3 { color: #a11; } .state-4 { color: #666; }
.stalled { color: #b36b00; font-weight: 400; }
.bar { width: 9rem; height: 0.7rem; background: #eee; border-radius: 4px; overflow: hidden; display: inline-block; vertical-align: middle; }
.fill { height: 100%; width: 0; background: #1976d2; }
tr[data-status="0"] .fill { background: #90a4ae; }
tr[data-status="2"] .fill { background: #2e7d32; }
tr[data-status="3"] .fill { background: #c62828; }
tr[data-status="4"] .fill { background: #9e9e9e; }
.percent { display: inline-block; min-width: 3rem; text-align: right; font-variant-numeric: tabular-nums; }
pre.output { margin: 0; max-width: 32rem; max-height: 7.5em; overflow: auto; white-space: pre-wrap; font: 12px/1.4 ui-monospace, monospace; background: #f6f6f6; padding: 0.25rem 0.4rem; }
pre.output:empty { display: none; }
.cut { color: #777; font-size: 12px; }
.none { color: #999; }
td.actions button { font: inherit; margin: 0 0.25rem 0.25rem 0; }
#empty { color: #777; padding: 1rem 0; }
#more { margin-top: 0.75rem; }
`;

// Kept free of backticks and "${": it lives in a template string.
const SCRIPT = String.raw`
'use strict';
const HEADER = __HEADER__;
const REFRESH_MS = __REFRESH_MS__;
const STATES = ['waiting', 'running', 'completed', 'failed', 'cancelled'];
const FINAL = 2;
// The page's own address is the base of its JSON routes, whatever the
// app's global prefix and the module's path are.
const base = location.pathname.replace(/\/+$/, '');
const $ = (id) => document.getElementById(id);
const rows = new Map();
const cellsOf = new WeakMap();
let pages = 1;
let timer = 0;
let reading = false;
let readAgain = false;
let reads = 0;

// --- filters, kept in the address so that a reload or a link keeps them ---
const params = new URLSearchParams(location.search);
// A value the list has no option for leaves it on every status.
$('status-filter').value = params.get('status') || '';
$('scope-filter').value = params.get('scope') || '';

function filters() {
  const query = new URLSearchParams();
  const status = $('status-filter').value;
  const scope = $('scope-filter').value.trim();
  if (status) query.set('status', status);
  if (scope) query.set('scope', scope);
  return query;
}

function filtersChanged() {
  const query = filters().toString();
  history.replaceState(null, '', query ? '?' + query : location.pathname);
  pages = 1;
  refresh();
}
$('status-filter').onchange = filtersChanged;
let typing = 0;
$('scope-filter').oninput = () => {
  clearTimeout(typing);
  typing = setTimeout(filtersChanged, 300);
};
$('filters').onsubmit = (event) => {
  event.preventDefault();
  clearTimeout(typing);
  filtersChanged();
};
$('more').onclick = () => {
  pages++;
  refresh();
};

// --- reading: every page shown, again every REFRESH_MS ---
async function getJson(url) {
  const response = await fetch(url, { cache: 'no-store', headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(explain(response, body));
  return body;
}

function explain(response, body) {
  const text = Array.isArray(body.message) ? body.message.join(' ') : body.message;
  return response.status + ': ' + (text || response.statusText || 'the request failed');
}

async function refresh() {
  clearTimeout(timer);
  // One read at a time; a call during one (a filter changed, a button was
  // pressed) reads again as soon as it is over.
  if (reading) {
    readAgain = true;
    return;
  }
  reading = true;
  readAgain = false;
  try {
    const query = filters();
    const jobs = [];
    let cursor;
    for (let page = 0; page < pages; page++) {
      const pageQuery = new URLSearchParams(query);
      if (cursor) pageQuery.set('cursor', cursor);
      const result = await getJson(base + '/jobs?' + pageQuery);
      jobs.push(...result.jobs);
      cursor = result.cursor;
      if (!cursor) break;
    }
    // What was read for filters since changed is not shown.
    if (readAgain) return;
    render(jobs, cursor);
    await showCounts(query.get('scope'), jobs);
    $('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
    if ($('message').dataset.source === 'reading') say('', '');
  } catch (error) {
    say('error', 'Could not read the jobs: ' + error.message, 'reading');
  } finally {
    reading = false;
    document.body.dataset.reads = String(++reads);
    if (readAgain) refresh();
    else if (document.visibilityState !== 'hidden') timer = setTimeout(refresh, REFRESH_MS);
  }
}
// A hidden tab stops asking; it catches up as soon as it is shown again.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refresh();
});

async function showCounts(scope, jobs) {
  let counts;
  let refusal = '';
  try {
    counts = await getJson(base + '/counts' + (scope === null ? '' : '?scope=' + encodeURIComponent(scope)));
  } catch (error) {
    // No totals for this caller (canCount): count what is listed instead.
    counts = [0, 0, 0, 0, 0];
    for (const job of jobs) counts[job.status]++;
    refusal = error.message;
  }
  const selected = $('status-filter').value;
  for (const button of $('counts').querySelectorAll('button')) {
    button.querySelector('.n').textContent = String(counts[button.dataset.status] || 0);
    button.setAttribute('aria-pressed', String(button.dataset.status === selected));
  }
  $('counts').dataset.source = refusal ? 'listed' : 'totals';
  $('counts-note').textContent = refusal ? 'of the jobs listed' : 'in total';
  $('counts-note').title = refusal;
}
for (const button of $('counts').querySelectorAll('button')) {
  button.onclick = () => {
    const status = button.dataset.status;
    $('status-filter').value = $('status-filter').value === status ? '' : status;
    filtersChanged();
  };
}

// --- drawing: one row per job, kept across refreshes ---
function render(jobs, cursor) {
  const body = $('jobs');
  const seen = new Set();
  let previous = null;
  for (const job of jobs) {
    seen.add(job.id);
    let row = rows.get(job.id);
    if (!row) {
      row = newRow(job.id);
      rows.set(job.id, row);
    }
    // In place before it is drawn: the output's scroll needs its layout.
    const next = previous ? previous.nextSibling : body.firstChild;
    if (next !== row) body.insertBefore(row, next);
    update(row, job);
    previous = row;
  }
  for (const [id, row] of rows)
    if (!seen.has(id)) {
      row.remove();
      rows.delete(id);
    }
  $('empty').hidden = jobs.length > 0;
  $('more').hidden = !cursor;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function newRow(id) {
  const row = element('tr', 'job');
  row.dataset.job = id;
  const cells = {};
  for (const name of ['state', 'id', 'scope', 'progress', 'eta', 'started', 'ended', 'output', 'actions']) {
    cells[name] = element('td', name);
    row.appendChild(cells[name]);
  }
  cells.eta.classList.add('num');
  cells.started.classList.add('time');
  cells.ended.classList.add('time');
  cells.id.append(element('code', 'job-id', id), element('div', 'retry-of'));
  const bar = element('div', 'bar');
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.appendChild(element('div', 'fill'));
  cells.progress.append(bar, element('span', 'percent'));
  cells.output.append(element('div', 'cut'), element('pre', 'output'));
  const cancel = element('button', 'cancel', 'Cancel');
  cancel.type = 'button';
  cancel.onclick = () => act(cancel, id, 'cancel');
  const retry = element('button', 'retry', 'Run again');
  retry.type = 'button';
  retry.onclick = () => act(retry, id, 'retry');
  cells.actions.append(cancel, retry);
  cellsOf.set(row, cells);
  return row;
}

function update(row, job) {
  const cells = cellsOf.get(row);
  const ended = job.status >= FINAL;
  row.dataset.status = String(job.status);
  row.dataset.state = STATES[job.status];
  const state = element('span', 'state state-' + job.status, STATES[job.status]);
  if (job.stalled) state.appendChild(element('span', 'stalled', ' · stalled?'));
  cells.state.replaceChildren(state);
  cells.id.querySelector('.retry-of').textContent = job.retryOf ? 'run again of ' + job.retryOf : '';
  cells.scope.replaceChildren(job.scope ? document.createTextNode(job.scope) : element('span', 'none', 'none'));
  const bar = cells.progress.querySelector('.bar');
  bar.setAttribute('aria-valuenow', String(job.progress));
  bar.querySelector('.fill').style.width = job.progress + '%';
  cells.progress.querySelector('.percent').textContent = job.progress + '%';
  cells.eta.textContent = etaText(job);
  // A delayed job's start time is when its delay ends: it may be ahead, or
  // after its end for one cancelled while it waited.
  const start = Date.parse(job.startTime);
  const neverRan = job.endTime !== null && Date.parse(job.endTime) < start;
  cells.started.textContent = neverRan
    ? 'never started'
    : (job.status === 0 && start > Date.parse(job.updatedTime) ? 'starts ' : '') + timeText(job.startTime);
  cells.ended.textContent = !job.endTime
    ? ''
    : neverRan
      ? timeText(job.endTime)
      : timeText(job.endTime) + ' (' + seconds(job.startTime, job.endTime) + ')';
  cells.output.querySelector('.cut').textContent = job.statusTextCut > 0 ? '… ' + job.statusTextCut.toLocaleString() + ' earlier characters not shown' : '';
  const output = cells.output.querySelector('pre');
  if (output.textContent !== job.statusText) {
    const atEnd = output.scrollTop + output.clientHeight >= output.scrollHeight - 2;
    output.textContent = job.statusText;
    // Follow the output as it grows, unless the reader scrolled up.
    if (atEnd) output.scrollTop = output.scrollHeight;
  }
  cells.actions.querySelector('.cancel').hidden = ended;
  cells.actions.querySelector('.retry').hidden = !ended;
}

function etaText(job) {
  if (job.status === 1) return job.eta === null ? 'unknown' : duration(job.eta);
  return '';
}

function duration(total) {
  const s = Math.round(total);
  if (s < 60) return s + ' s';
  const m = Math.floor(s / 60);
  return m < 60 ? m + ' min ' + (s % 60) + ' s' : Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}

function seconds(from, to) {
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return s < 60 ? s.toFixed(1) + ' s' : duration(s);
}

function timeText(iso) {
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
}

// --- changes: cancel and run again ---
async function act(button, id, action) {
  button.disabled = true;
  try {
    const response = await fetch(base + '/jobs/' + encodeURIComponent(id) + '/' + action, {
      method: 'POST',
      headers: { [HEADER]: '1', accept: 'application/json' },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      say('error', 'Could not ' + (action === 'cancel' ? 'cancel' : 'run again') + ' job ' + id + ': ' + explain(response, body));
      return;
    }
    say('info', action === 'cancel' ? 'Cancelled job ' + id + '.' : 'Job ' + id + ' runs again as job ' + body.id + '.');
    refresh();
  } catch (error) {
    say('error', 'Could not reach the server: ' + error.message);
  } finally {
    button.disabled = false;
  }
}

function say(kind, text, source) {
  const message = $('message');
  message.dataset.kind = kind;
  message.dataset.source = source || kind;
  message.textContent = text;
}

refresh();
`
  .replace('__HEADER__', JSON.stringify(DASHBOARD_HEADER))
  .replace('__REFRESH_MS__', String(DASHBOARD_REFRESH_MS));

const STATUS_OPTIONS: [string, string][] = [
  ['', 'every status'],
  ['0,1', 'pending (waiting or running)'],
  ['0', 'waiting'],
  ['1', 'running'],
  ['2,3,4', 'ended'],
  ['2', 'completed'],
  ['3', 'failed'],
  ['4', 'cancelled'],
];

const COUNT_BUTTONS = ['waiting', 'running', 'completed', 'failed', 'cancelled']
  .map(
    (name, status) =>
      `<button type="button" data-status="${status}"><span class="name">${name}</span> <span class="n">0</span></button>`,
  )
  .join('');

/** The page `GET <path>/dashboard` serves. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>BackJob dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Background jobs</h1>
<div id="toolbar">
  <div id="counts" aria-label="Jobs per status">${COUNT_BUTTONS}</div>
  <span id="counts-note"></span>
  <form id="filters">
    <label>Status <select id="status-filter">${STATUS_OPTIONS.map(
      ([value, label]) => `<option value="${value}">${label}</option>`,
    ).join('')}</select></label>
    <label>Scope <input id="scope-filter" autocomplete="off" placeholder="every scope" size="16"></label>
  </form>
  <span id="updated" aria-live="off"></span>
</div>
<p id="message" role="alert"></p>
<table>
<thead><tr><th>Status</th><th>Job</th><th>Scope</th><th>Progress</th><th>ETA</th><th>Started</th><th>Ended</th><th>Output (tail)</th><th></th></tr></thead>
<tbody id="jobs"></tbody>
</table>
<p id="empty" hidden>No jobs to show.</p>
<button id="more" type="button" hidden>Show older jobs</button>
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * Only the page's own script and style run, it talks only to its own
 * origin, and no other site may frame it (its buttons change jobs).
 */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
