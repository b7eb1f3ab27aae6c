/* global document, location, fetch, crypto, WebSocket, setTimeout */
// The local dashboard: workers (score, circuit, lock, next run, last run) from GET /workers, the
// symphony timeline of runs and the alerts, kept live by the events of the WebSocket at /live
// (`{ type: 'report' | 'alert' | 'circuit', worker, at, data }`). The page never polls: after the
// first load, everything new arrives over the WebSocket. No framework, no network beyond this origin.

const $ = (selector, root = document) => root.querySelector(selector);
const MAX_RUNS = 300;
const LANE_SPAN_MS = 6 * 3600 * 1000;

const state = {
  workers: new Map(), // id -> { worker, card }
  runs: new Map(), // run key -> { run, item }
  alerts: new Map(), // id -> item
};

// ---------------------------------------------------------------- formatting

function fmtTime(value) {
  if (value === null || value === undefined || value === '') return '–';
  const ms = typeof value === 'number' ? value : Date.parse(String(value));
  if (Number.isNaN(ms)) return String(value);
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + 'Z';
}

function scoreClass(score) {
  if (typeof score !== 'number') return '';
  return score >= 80 ? 'good' : score >= 50 ? 'fair' : 'poor';
}

function text(tag, value, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = value;
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  return el;
}

function executionNameOf(executionId) {
  if (typeof executionId !== 'string' || executionId === '') return undefined;
  return executionId.split(':').pop();
}

function showError(message) {
  const el = $('[data-testid="error"]');
  el.hidden = !message;
  el.textContent = message ?? '';
}

// ---------------------------------------------------------------- reading API shapes

/** The fields the page shows of one GET /workers entry. */
function readWorker(w) {
  const jobs = Array.isArray(w.jobs) ? w.jobs : [];
  return {
    id: String(w.id ?? ''),
    score: typeof w.score === 'number' ? w.score : null,
    circuit: w.circuit?.state ?? 'CLOSED',
    locks: jobs.filter((j) => j.lock?.held).map((j) => ({ job: j.id, expiresAt: j.lock.expiresAt })),
    nextRunAt: w.nextRunAt ?? null,
    enabled: w.config?.enabled !== false,
    triggerable: jobs.some((j) => j.triggerable),
    lastRun: w.lastReport ? runOfReport(w.lastReport) : null,
  };
}

/** A run from a report item (GET /workers/{id}/reports, lastReport). */
function runOfReport(r) {
  return {
    worker: r.workerName,
    job: r.jobId,
    executionId: r.executionId,
    scheduledTime: r.scheduledTime,
    status: r.status,
    skipReason: r.skipReason ?? null,
    score: r.scores?.overallScore ?? null,
  };
}

/** A run from a `report` event of the WebSocket. */
function runOfEvent(event) {
  const d = event.data ?? {};
  return { worker: event.worker, job: d.job, executionId: d.executionId, scheduledTime: d.scheduledTime, status: d.status, skipReason: d.skipReason ?? null, score: d.overallScore ?? null };
}

/** An alert from GET /alerts (the alert's fields) or an `alert` event (`data.alertId`, `at`). */
function alertOf(a, event) {
  if (event) {
    const d = event.data ?? {};
    return { id: d.alertId, worker: event.worker, raisedAt: event.at, anomaly: d.anomaly, severity: d.severity, detail: d.detail, acknowledgedAt: d.acknowledgedAt ?? null };
  }
  return { id: a.id, worker: a.worker, raisedAt: a.raisedAt, anomaly: a.anomaly, severity: a.severity, detail: a.detail, acknowledgedAt: a.acknowledgedAt ?? null };
}

function lockText(locks) {
  if (locks.length === 0) return 'free';
  return locks.map((l) => `${l.job} held until ${fmtTime(l.expiresAt)}`).join('; ');
}

// ---------------------------------------------------------------- workers

function renderWorker(entry) {
  const { worker, card } = entry;
  card.dataset.worker = worker.id;
  card.dataset.circuit = worker.circuit;
  $('[data-testid="worker-name"]', card).textContent = worker.id;
  const score = $('[data-testid="score"]', card);
  score.textContent = typeof worker.score === 'number' ? worker.score.toFixed(1) : '–';
  score.className = `score ${scoreClass(worker.score)}`;
  const circuit = $('[data-testid="circuit"]', card);
  circuit.textContent = worker.circuit;
  circuit.dataset.state = worker.circuit;
  $('[data-testid="lock"]', card).textContent = lockText(worker.locks);
  $('[data-testid="next-run"]', card).textContent = !worker.enabled ? 'disabled' : worker.nextRunAt ? fmtTime(worker.nextRunAt) : 'on demand';
  const last = worker.lastRun;
  const lastEl = $('[data-testid="last-report"]', card);
  if (last) {
    lastEl.replaceChildren(text('span', String(last.status), { class: 'badge', 'data-status': last.status }), ` ${last.job ?? ''} ${fmtTime(last.scheduledTime)}`);
  } else {
    lastEl.replaceChildren('none yet');
  }
  const button = $('[data-testid="trigger"]', card);
  button.hidden = !worker.triggerable;
}

function upsertWorker(raw) {
  const worker = readWorker(raw ?? {});
  if (worker.id === '') return;
  let entry = state.workers.get(worker.id);
  if (!entry) {
    const card = $('#worker-card').content.firstElementChild.cloneNode(true);
    $('[data-testid="trigger"]', card).addEventListener('click', () => trigger(worker.id, card));
    $('[data-testid="workers"]').append(card);
    entry = { worker, card };
    state.workers.set(worker.id, entry);
  } else {
    // A run that arrived live may be newer than what the API read.
    const live = entry.worker.lastRun;
    if (live && (!worker.lastRun || String(live.scheduledTime) > String(worker.lastRun.scheduledTime))) worker.lastRun = live;
    entry.worker = worker;
  }
  renderWorker(entry);
}

/** A finished run of a worker: its card's last run and score follow it. */
function noteRunOnCard(run) {
  const entry = state.workers.get(run.worker);
  if (!entry) return;
  const prev = entry.worker.lastRun;
  if (prev && String(run.scheduledTime ?? '') < String(prev.scheduledTime ?? '')) return;
  entry.worker.lastRun = run;
  if (typeof run.score === 'number') entry.worker.score = run.score;
  renderWorker(entry);
}

// ---------------------------------------------------------------- manual triggers

function newRequestKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function trigger(workerId, card) {
  const button = $('[data-testid="trigger"]', card);
  const status = $('[data-testid="trigger-status"]', card);
  if (button.disabled) return;
  button.disabled = true;
  status.textContent = 'starting…';
  // One key per click: a retry of this request starts nothing new; the next click is a new run.
  const key = newRequestKey();
  try {
    const response = await fetch(`/workers/${encodeURIComponent(workerId)}/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: '{}',
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = `failed: ${body?.error?.message ?? response.status}`;
      return;
    }
    status.textContent = `started ${body.executionName}`;
    // Shown as running until its report arrives over the WebSocket (which may already have happened).
    addRun({ worker: workerId, job: body.job, executionId: body.executionArn ?? body.executionName, scheduledTime: body.scheduledTime, status: 'RUNNING', skipReason: null, score: null }, false);
  } catch (e) {
    status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- timeline

const runKey = (run) => executionNameOf(run.executionId) ?? `${run.worker}|${run.job}|${run.scheduledTime}`;

function renderRun(item, run) {
  item.dataset.worker = run.worker;
  item.dataset.job = run.job ?? '';
  item.dataset.status = run.status;
  item.dataset.execution = executionNameOf(run.executionId) ?? '';
  item.replaceChildren(
    text('time', fmtTime(run.scheduledTime), { datetime: run.scheduledTime }),
    text('span', run.worker),
    text('span', run.job ?? '', { class: 'muted' }),
    text('span', run.status, { class: 'badge', 'data-status': run.status, 'data-testid': 'run-status' }),
    text('span', run.skipReason ?? (typeof run.score === 'number' ? `score ${run.score.toFixed(1)}` : ''), { class: 'muted' }),
  );
}

function addRun(run, fresh) {
  if (!run || typeof run.worker !== 'string' || typeof run.status !== 'string') return;
  const key = runKey(run);
  let entry = state.runs.get(key);
  if (!entry) {
    const item = text('li', '', { 'data-testid': 'run' });
    entry = { run, item };
    state.runs.set(key, entry);
    insertSorted(item, run);
  } else {
    if (run.status === 'RUNNING' && entry.run.status !== 'RUNNING') return; // its report came first
    entry.run = run;
  }
  renderRun(entry.item, run);
  if (fresh) {
    entry.item.classList.remove('fresh');
    void entry.item.offsetWidth;
    entry.item.classList.add('fresh');
  }
  if (run.status !== 'RUNNING') noteRunOnCard(run);
  const list = $('[data-testid="timeline"]');
  while (state.runs.size > MAX_RUNS && list.lastElementChild) {
    const last = list.lastElementChild;
    for (const [k, v] of state.runs) if (v.item === last) state.runs.delete(k);
    last.remove();
  }
  renderLanes();
}

/** Newest slot first. */
function insertSorted(item, run) {
  const list = $('[data-testid="timeline"]');
  item.dataset.at = String(run.scheduledTime ?? '');
  const before = [...list.children].find((other) => String(other.dataset.at ?? '') <= item.dataset.at);
  if (before) list.insertBefore(item, before);
  else list.append(item);
}

/** One lane per worker: its runs over the hours up to the newest run, placed by slot. */
function renderLanes() {
  const lanes = $('[data-testid="lanes"]');
  const runs = [...state.runs.values()].map((e) => e.run);
  const times = runs.map((r) => Date.parse(r.scheduledTime)).filter((t) => !Number.isNaN(t));
  if (times.length === 0) {
    lanes.replaceChildren(text('p', 'No runs yet.', { class: 'muted' }));
    return;
  }
  const end = Math.max(...times);
  const start = end - LANE_SPAN_MS;
  const rows = [];
  for (const id of state.workers.keys()) {
    const row = text('div', '', { class: 'lane', 'data-worker': id });
    const track = text('div', '', { class: 'track' });
    for (const run of runs) {
      const t = Date.parse(run.scheduledTime);
      if (run.worker !== id || Number.isNaN(t) || t < start) continue;
      const mark = text('span', '', { class: 'mark', 'data-status': run.status, title: `${run.job} ${run.status} ${fmtTime(t)}` });
      mark.style.left = `${((t - start) / LANE_SPAN_MS) * 100}%`;
      track.append(mark);
    }
    row.append(text('span', id), track);
    rows.push(row);
  }
  const axis = text('div', '', { class: 'axis' });
  axis.append(text('span', fmtTime(start)), text('span', fmtTime(end)));
  lanes.replaceChildren(...rows, axis);
}

// ---------------------------------------------------------------- alerts and circuits

function addAlert(alert, fresh) {
  if (!alert || typeof alert.id !== 'string') return;
  let item = state.alerts.get(alert.id);
  if (!item) {
    item = text('li', '', { 'data-testid': 'alert' });
    state.alerts.set(alert.id, item);
    const list = $('[data-testid="alerts"]');
    item.dataset.at = String(alert.raisedAt ?? '');
    const before = [...list.children].find((other) => String(other.dataset.at ?? '') <= item.dataset.at);
    if (before) list.insertBefore(item, before);
    else list.append(item);
  }
  item.dataset.worker = alert.worker;
  item.dataset.anomaly = alert.anomaly;
  item.replaceChildren(
    text('time', fmtTime(alert.raisedAt), { datetime: alert.raisedAt }),
    text('span', alert.severity ?? '', { class: 'badge', 'data-severity': alert.severity }),
    text('span', alert.worker ?? ''),
    text('strong', alert.anomaly ?? ''),
    text('span', alert.detail ?? '', { class: 'muted' }),
    text('span', alert.acknowledgedAt ? `acknowledged ${fmtTime(alert.acknowledgedAt)}` : '', { class: 'muted' }),
  );
  if (fresh) item.classList.add('fresh');
  $('[data-testid="no-alerts"]').hidden = state.alerts.size > 0;
  $('[data-testid="alerts"]').hidden = state.alerts.size === 0;
}

function setCircuit(workerId, data) {
  const entry = state.workers.get(workerId);
  if (!entry || typeof data?.state !== 'string') return;
  entry.worker.circuit = data.state;
  renderWorker(entry);
}

// ---------------------------------------------------------------- live updates

function onEvent(event) {
  if (!event || typeof event !== 'object' || typeof event.worker !== 'string') return;
  if (event.type === 'report') addRun(runOfEvent(event), true);
  else if (event.type === 'alert') addAlert(alertOf(null, event), true);
  else if (event.type === 'circuit') setCircuit(event.worker, event.data);
}

let retryMs = 1000;
function connect() {
  const status = $('[data-testid="live-status"]');
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`);
  socket.addEventListener('open', () => {
    retryMs = 1000;
    status.textContent = 'live';
    status.dataset.state = 'live';
  });
  socket.addEventListener('message', (message) => {
    try {
      onEvent(JSON.parse(message.data));
    } catch {
      // Not an event: ignored.
    }
  });
  socket.addEventListener('close', () => {
    status.textContent = 'offline, reconnecting';
    status.dataset.state = 'offline';
    // What happened while offline is read again once the connection is back.
    setTimeout(() => {
      connect();
      load().catch((e) => showError(`reload failed: ${e.message}`));
    }, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  });
}

// ---------------------------------------------------------------- first load

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return response.json();
}

async function load() {
  const [workers, alerts] = await Promise.all([getJson('/workers'), getJson('/alerts?limit=50')]);
  $('[data-testid="mode"]').textContent = workers.orchestrator?.mode ?? '?';
  for (const w of workers.workers ?? []) upsertWorker(w);
  for (const a of alerts.items ?? []) addAlert(alertOf(a), false);
  const pages = await Promise.all([...state.workers.keys()].map((id) => getJson(`/workers/${encodeURIComponent(id)}/reports?limit=20`).catch(() => ({ items: [] }))));
  for (const page of pages) for (const r of page.items ?? []) addRun(runOfReport(r), false);
  renderLanes();
  showError(null);
  document.body.dataset.loaded = 'true';
}

connect();
load().catch((e) => showError(`load failed: ${e.message}`));
