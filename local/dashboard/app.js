/* global document, location, fetch, crypto, WebSocket, setTimeout, setInterval, clearTimeout */
// The orchestrator page, the same file for the local runtime (npm start -- --serve) and a deployed
// stack (npm run console): it talks to its own origin only, which is the local API or the console's
// signing proxy.
// - GET /workers: mode, workers (score, circuit, locks, the next runs of each job), server time.
// - GET /workers/{id}/jobs/{job}/runs: the run history grid; a click opens a run's report.
// - GET /incidents?state=open|resolved: the incidents panel; Ack (POST /incidents/{id}/ack, in the
//   name of the operator /console.json names) and, for a missed run, the backfill it offers.
// - WebSocket /live: report, alert, circuit, lock, mode and incident events as they happen, and the heartbeat
//   (`{"action":"ping"}` -> `{"type":"pong","at"}`): a connection silent for HEARTBEAT_TIMEOUT_MS
//   is shown as disconnected and reopened, and everything is read again once it is back.
// Times are the server's (the local runtime's clock may be simulated): the page keeps the offset.

const $ = (selector, root = document) => root.querySelector(selector);
const HISTORY_SLOTS = 14;
const HEARTBEAT_EVERY_MS = 2000;
const HEARTBEAT_TIMEOUT_MS = 6000;

const state = {
  mode: null,
  offsetMs: 0, // server time - Date.now()
  workers: new Map(), // id -> { worker, card }
  rows: new Map(), // "worker.job" -> { row, worker, job, items }
  alerts: new Map(),
  incidents: new Map(), // id -> view (GET /incidents)
  resolved: new Map(),
  operator: null,
  lastMessageAt: 0,
  refreshing: false,
};

const serverNow = () => Date.now() + state.offsetMs;
function noteServerTime(at) {
  const ms = Date.parse(at);
  if (!Number.isNaN(ms)) state.offsetMs = ms - Date.now();
  $('[data-testid="as-of"]').textContent = fmtTime(serverNow());
  $('[data-testid="as-of"]').setAttribute('datetime', new Date(serverNow()).toISOString());
}

// ---------------------------------------------------------------- formatting

function fmtTime(value) {
  if (value === null || value === undefined || value === '') return '–';
  const ms = typeof value === 'number' ? value : Date.parse(String(value));
  if (Number.isNaN(ms)) return String(value);
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + 'Z';
}
const fmtShort = (value) => fmtTime(value).slice(5, 16).replace(' ', ' ');

function scoreBand(score) {
  if (typeof score !== 'number') return '';
  return score >= 80 ? 'good' : score >= 50 ? 'fair' : 'poor';
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) node.setAttribute(k, String(v));
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}
const time = (value) => el('time', { datetime: typeof value === 'number' ? new Date(value).toISOString() : value }, fmtTime(value));

/** A snake_case name that may wrap after an underscore, never inside a word. */
function nameNode(name) {
  const span = el('span', { class: 'name' });
  String(name).split('_').forEach((part, i, parts) => {
    span.append(part + (i < parts.length - 1 ? '_' : ''));
    if (i < parts.length - 1) span.append(document.createElement('wbr'));
  });
  return span;
}

function showError(message) {
  const node = $('[data-testid="error"]');
  node.hidden = !message;
  node.textContent = message ?? '';
}

// ---------------------------------------------------------------- mode and connection

function setMode(mode, reason) {
  state.mode = mode;
  const node = $('[data-testid="mode"]');
  node.textContent = mode ?? '?';
  node.dataset.mode = mode ?? '';
  node.title = reason ? `reason: ${reason}` : '';
  for (const { card, worker } of state.workers.values()) renderWorker(card, worker);
}

function setConnection(kind, text) {
  const node = $('[data-testid="live-status"]');
  node.dataset.state = kind;
  node.textContent = text;
}

// ---------------------------------------------------------------- workers

function readWorker(w) {
  const jobs = (Array.isArray(w.jobs) ? w.jobs : []).map((j) => ({
    id: String(j.id),
    upcoming: Array.isArray(j.upcoming) ? j.upcoming : j.nextRunAt ? [j.nextRunAt] : [],
    runsIn: j.runsIn ?? null,
    scheduled: Array.isArray(j.schedules) && j.schedules.length > 0,
    triggerable: j.triggerable === true,
    lock: { holder: j.lock?.held ? j.lock.holder : null, fence: j.lock?.fence ?? 0, expiresAt: j.lock?.held ? j.lock.expiresAt : null },
  }));
  return {
    id: String(w.id ?? ''),
    executionModel: w.executionModel,
    score: typeof w.score === 'number' ? w.score : null,
    circuit: w.circuit?.state ?? 'CLOSED',
    enabled: w.config?.enabled !== false,
    slowedUntil: w.scheduleSlowedUntil ?? null,
    jobs,
    lastRun: w.lastReport ? { job: w.lastReport.jobId, status: w.lastReport.status, scheduledTime: w.lastReport.scheduledTime } : null,
  };
}

const lockHeld = (lock) => lock.holder !== null && (lock.expiresAt === null || Date.parse(lock.expiresAt) > serverNow());

function nextRunOf(worker) {
  const now = serverNow();
  let best = null;
  for (const job of worker.jobs) {
    const t = job.upcoming.map((u) => Date.parse(u)).find((u) => u > now);
    if (t !== undefined && (best === null || t < best)) best = t;
  }
  return best;
}

/** A job whose listed next runs have all passed: GET /workers lists the following ones. */
const upcomingExhausted = (worker) => worker.jobs.some((j) => j.upcoming.length > 0 && j.upcoming.every((u) => Date.parse(u) <= serverNow()));

function renderWorker(card, worker) {
  card.dataset.worker = worker.id;
  card.dataset.circuit = worker.circuit;
  $('[data-testid="worker-name"]', card).replaceChildren(nameNode(worker.id));
  const score = $('[data-testid="score"]', card);
  score.textContent = typeof worker.score === 'number' ? worker.score.toFixed(1) : '–';
  score.className = `score ${scoreBand(worker.score)}`;
  const circuit = $('[data-testid="circuit"]', card);
  circuit.textContent = worker.circuit;
  circuit.dataset.state = worker.circuit;
  const held = worker.jobs.filter((j) => lockHeld(j.lock));
  const lock = $('[data-testid="lock"]', card);
  lock.dataset.held = String(held.length > 0);
  if (held.length === 0) lock.replaceChildren('free');
  else lock.replaceChildren(...held.flatMap((j, i) => [i > 0 ? '; ' : '', `${j.id} held by `, el('code', { title: j.lock.holder }, String(j.lock.holder).split(':').pop()), ` (fence ${j.lock.fence}) until `, time(j.lock.expiresAt)]));
  const next = $('[data-testid="next-run"]', card);
  const nextAt = nextRunOf(worker);
  const cycle = worker.jobs.find((j) => j.runsIn)?.runsIn;
  if (!worker.enabled) next.replaceChildren('disabled');
  else if (nextAt !== null) next.replaceChildren(time(nextAt), state.mode && state.mode !== 'RUNNING' ? ` (skipped while ${state.mode})` : '', worker.slowedUntil ? ` (slowed until ${fmtTime(worker.slowedUntil)})` : '', cycle ? ` (in ${cycle})` : '');
  else next.replaceChildren(worker.executionModel === 'on-demand' ? 'on demand (queue)' : '–');
  if (nextAt !== null) next.dataset.at = new Date(nextAt).toISOString();
  else delete next.dataset.at;
  const last = worker.lastRun;
  const lastEl = $('[data-testid="last-report"]', card);
  if (last) lastEl.replaceChildren(el('span', { class: 'badge', 'data-status': last.status }, String(last.status)), ` ${last.job ?? ''} `, time(last.scheduledTime));
  else lastEl.replaceChildren('none yet');
  $('[data-testid="trigger"]', card).hidden = !worker.jobs.some((j) => j.triggerable);
}

function upsertWorker(raw) {
  const worker = readWorker(raw ?? {});
  // Only workers get a card: a protocol (graceful_shutdown) runs nothing of its own.
  if (worker.id === '' || worker.executionModel === 'protocol') return;
  let entry = state.workers.get(worker.id);
  if (!entry) {
    const card = $('#worker-card').content.firstElementChild.cloneNode(true);
    $('[data-testid="trigger"]', card).addEventListener('click', () => trigger(worker.id, card));
    $('[data-testid="workers"]').append(card);
    entry = { worker, card };
    state.workers.set(worker.id, entry);
  } else {
    const live = entry.worker.lastRun;
    if (live && (!worker.lastRun || String(live.scheduledTime) > String(worker.lastRun.scheduledTime))) worker.lastRun = live;
    entry.worker = worker;
  }
  renderWorker(entry.card, entry.worker);
}

// ---------------------------------------------------------------- manual triggers

function newRequestKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function trigger(workerId, card) {
  const button = $('[data-testid="trigger"]', card);
  const status = $('[data-testid="trigger-status"]', card);
  if (button.disabled) return;
  button.disabled = true;
  status.textContent = 'starting…';
  try {
    // One key per click: a retry of this request starts nothing new; the next click is a new run.
    const response = await fetch(`/workers/${encodeURIComponent(workerId)}/trigger`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': newRequestKey() }, body: '{}' });
    const body = await response.json().catch(() => ({}));
    status.textContent = response.ok ? `started ${body.executionName}` : `failed: ${body?.error?.message ?? response.status}`;
  } catch (e) {
    status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- run history

function historyJobs() {
  const out = [];
  for (const { worker } of state.workers.values()) for (const job of worker.jobs) out.push({ worker, job });
  return out;
}

async function loadRow(workerId, jobId) {
  const key = `${workerId}.${jobId}`;
  const entry = state.rows.get(key);
  if (!entry) return;
  const page = await getJson(`/workers/${encodeURIComponent(workerId)}/jobs/${encodeURIComponent(jobId)}/runs?limit=${HISTORY_SLOTS}`);
  entry.items = Array.isArray(page.items) ? page.items : [];
  renderRow(entry);
}

function renderRow(entry) {
  const cells = el('div', { class: 'cells' });
  for (const item of [...entry.items].reverse()) {
    const shown = item.reports?.find((r) => r.status !== 'SKIPPED') ?? item.reports?.[0];
    const label = `${entry.key} ${fmtTime(item.scheduledTime)} ${item.status}${typeof item.score === 'number' ? ` score ${item.score.toFixed(1)}` : ''}${shown?.skipReason ? ` (${shown.skipReason})` : ''}`;
    const cell = el('button', { type: 'button', class: 'cell', 'data-testid': 'run-cell', 'data-status': item.status, 'data-slot': item.scheduledTime, 'data-band': scoreBand(item.score), title: label, 'aria-label': label });
    cell.addEventListener('click', () => openReport(entry, item));
    cells.append(cell);
  }
  if (entry.items.length === 0) cells.append(el('span', { class: 'muted' }, 'no runs yet'));
  const actions = el('td', { class: 'actions' });
  if (entry.job.scheduled && entry.job.triggerable) {
    const button = el('button', { type: 'button', class: 'secondary', 'data-testid': 'backfill' }, 'Backfill…');
    button.addEventListener('click', () => openBackfill(entry));
    actions.append(button);
  }
  entry.row.replaceChildren(el('th', { scope: 'row' }, nameNode(entry.worker.id), el('span', { class: 'muted' }, `.${entry.job.id}`)), el('td', {}, cells), actions);
}

function ensureRows() {
  const body = $('[data-testid="history"] tbody');
  for (const { worker, job } of historyJobs()) {
    const key = `${worker.id}.${job.id}`;
    const existing = state.rows.get(key);
    if (existing) {
      existing.worker = worker;
      existing.job = job;
      continue;
    }
    const row = el('tr', { 'data-testid': 'history-row', 'data-worker': worker.id, 'data-job': job.id });
    body.append(row);
    const entry = { key, row, worker, job, items: [] };
    state.rows.set(key, entry);
    renderRow(entry);
  }
}

const pendingRows = new Map();
function refreshRowSoon(workerId, jobId) {
  const key = `${workerId}.${jobId}`;
  clearTimeout(pendingRows.get(key));
  pendingRows.set(key, setTimeout(() => loadRow(workerId, jobId).catch((e) => showError(`history: ${e.message}`)), 250));
}

/** The Step Functions console page of an execution ARN. */
function consoleLink(executionArn) {
  if (typeof executionArn !== 'string' || !executionArn.startsWith('arn:')) return null;
  const region = executionArn.split(':')[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

function dl(pairs) {
  const list = el('dl');
  for (const [k, v] of pairs) if (v !== undefined) list.append(el('dt', {}, k), el('dd', {}, v ?? '–'));
  return list;
}

function openReport(entry, item) {
  const body = $('[data-testid="report-body"]');
  const reports = item.reports ?? [];
  const parts = [el('h3', {}, nameNode(entry.worker.id), `.${entry.job.id} `, time(item.scheduledTime), ' ', el('span', { class: 'badge', 'data-status': item.status }, item.status))];
  if (reports.length === 0) parts.push(el('p', { class: 'muted' }, item.status === 'RUNNING' ? 'Running: its report is written when it ends.' : 'No run has a report for this slot: it was missed. Backfill runs it.'));
  for (const r of reports) {
    const link = consoleLink(r.executionId);
    const scores = r.scores ? Object.entries(r.scores).map(([k, v]) => `${k.replace(/Score$/, '')} ${Number(v).toFixed(1)}`).join(' · ') : 'not scored (skipped)';
    parts.push(
      el('section', { 'data-testid': 'report-run' },
        dl([
          ['status', `${r.status}${r.skipReason ? ` (${r.skipReason})` : ''}`],
          ['scores', scores],
          ['attempts', String(r.attempts ?? '–')],
          ['fence', r.lockFence === null || r.lockFence === undefined ? 'no lock' : String(r.lockFence)],
          ['duration', `${r.durationMs ?? '–'} ms`],
          ['started', time(r.startedAt)],
          ['completed', time(r.completedAt)],
          ['anomalies', (r.anomalies ?? []).join(', ') || 'none'],
          ['error', r.error ? `${r.error.name}: ${r.error.cause}` : 'none'],
          ['execution', link ? el('a', { href: link, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'console-link' }, 'Step Functions console') : String(r.executionId ?? '–')],
        ]),
        el('details', {}, el('summary', {}, 'metrics and recommendations'), el('pre', {}, JSON.stringify({ metrics: r.metrics ?? {}, recommendations: r.recommendations ?? [] }, null, 2))),
      ),
    );
  }
  body.replaceChildren(...parts);
  $('[data-testid="report"]').showModal();
}

let backfillEntry = null;
function openBackfill(entry) {
  backfillEntry = entry;
  $('[data-testid="backfill-job"]').replaceChildren(nameNode(entry.worker.id), `.${entry.job.id}`);
  const oldest = entry.items[entry.items.length - 1]?.scheduledTime;
  $('[data-testid="backfill-from"]').value = oldest ?? new Date(serverNow() - 24 * 3600 * 1000).toISOString();
  $('[data-testid="backfill-to"]').value = new Date(serverNow()).toISOString();
  $('[data-testid="backfill-status"]').textContent = '';
  $('[data-testid="backfill-dialog"]').showModal();
}

async function submitBackfill(event) {
  event.preventDefault();
  const entry = backfillEntry;
  if (!entry) return;
  const status = $('[data-testid="backfill-status"]');
  const button = $('[data-testid="backfill-submit"]');
  button.disabled = true;
  status.textContent = 'starting…';
  try {
    const response = await fetch(`/workers/${encodeURIComponent(entry.worker.id)}/jobs/${encodeURIComponent(entry.job.id)}/backfill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ from: $('[data-testid="backfill-from"]').value.trim(), to: $('[data-testid="backfill-to"]').value.trim() }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) status.textContent = `refused: ${body?.error?.message ?? response.status}`;
    else if ((body.queued ?? []).length === 0) status.textContent = `nothing missed in the range (${(body.alreadyRan ?? []).length} slots already ran)`;
    else status.textContent = `running ${body.queued.length} missed slots in order: ${body.queued.map(fmtShort).join(', ')}`;
    refreshRowSoon(entry.worker.id, entry.job.id);
  } catch (e) {
    status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- alerts

function addAlert(alert, fresh) {
  if (!alert || typeof alert.id !== 'string') return;
  let item = state.alerts.get(alert.id);
  const list = $('[data-testid="alerts"]');
  if (!item) {
    item = el('li', { 'data-testid': 'alert' });
    state.alerts.set(alert.id, item);
    item.dataset.at = String(alert.raisedAt ?? '');
    const before = [...list.children].find((other) => String(other.dataset.at ?? '') <= item.dataset.at);
    if (before) list.insertBefore(item, before);
    else list.append(item);
  }
  item.dataset.worker = alert.worker;
  item.dataset.anomaly = alert.anomaly;
  item.replaceChildren(
    time(alert.raisedAt),
    el('span', { class: 'badge', 'data-severity': alert.severity }, alert.severity ?? ''),
    nameNode(alert.worker ?? ''),
    el('strong', {}, alert.anomaly ?? ''),
    el('span', { class: 'muted' }, alert.detail ?? ''),
    alert.acknowledgedAt ? el('span', { class: 'muted' }, 'acknowledged ', time(alert.acknowledgedAt)) : '',
  );
  if (fresh) item.classList.add('fresh');
  $('[data-testid="no-alerts"]').hidden = state.alerts.size > 0;
  list.hidden = state.alerts.size === 0;
}

// ---------------------------------------------------------------- incidents

const INCIDENTS_OPEN_LIMIT = 50;
const INCIDENTS_RESOLVED_LIMIT = 10;

async function loadIncidents() {
  const [open, resolved] = await Promise.all([getJson(`/incidents?state=open&limit=${INCIDENTS_OPEN_LIMIT}`), getJson(`/incidents?state=resolved&limit=${INCIDENTS_RESOLVED_LIMIT}`)]);
  state.incidents = new Map((open.items ?? []).map((i) => [i.id, i]));
  state.resolved = new Map((resolved.items ?? []).map((i) => [i.id, i]));
  renderIncidents();
}

let pendingIncidents = null;
const freshIncidents = new Set();
function refreshIncidentsSoon(id) {
  if (id) freshIncidents.add(id);
  clearTimeout(pendingIncidents);
  pendingIncidents = setTimeout(() => loadIncidents().catch((e) => showError(`incidents: ${e.message}`)), 250);
}

function incidentItem(incident) {
  const on = incident.job ? [nameNode(incident.worker), el('span', { class: 'muted' }, `.${incident.job}`)] : [nameNode(incident.worker)];
  const li = el('li', { class: 'incident', 'data-testid': 'incident', 'data-incident-id': incident.id, 'data-status': incident.status, 'data-worker': incident.worker, 'data-anomaly': incident.anomaly });
  const symptoms = incident.symptoms ?? {};
  const impacted = (symptoms.impactedJobs ?? []).length > 0 ? ` · blocks ${symptoms.impactedJobs.join(', ')}` : '';
  const tried = (incident.recoveries ?? []).map((r) => `${r.actions.join('+')} on ${r.on}`).join(', ');
  const actions = el('div', { class: 'actions' });
  if (incident.status === 'OPEN') {
    const ack = el('button', { type: 'button', 'data-testid': 'incident-ack' }, state.operator ? `Ack as ${state.operator}` : 'Ack');
    ack.addEventListener('click', () => acknowledge(incident, ack, actions));
    actions.append(ack);
  } else if (incident.status === 'ACKNOWLEDGED') {
    actions.append(el('span', { class: 'muted', 'data-testid': 'incident-acked' }, `acknowledged by ${incident.acknowledgedBy ?? '?'} `, time(incident.acknowledgedAt)));
  } else {
    actions.append(el('span', { class: 'muted' }, 'resolved ', time(incident.resolvedAt), incident.acknowledgedBy ? ` (acknowledged by ${incident.acknowledgedBy})` : '', incident.resolution ? `: ${incident.resolution}` : ''));
  }
  const offer = incident.backfill;
  if (offer && offer.slots > 0) {
    const button = el('button', { type: 'button', class: 'secondary', 'data-testid': 'incident-backfill', title: `${offer.request.method} ${offer.request.path} from ${offer.from} to ${offer.to}` }, `Backfill ${offer.slots} missed slot${offer.slots === 1 ? '' : 's'}`);
    const status = el('span', { class: 'muted', 'data-testid': 'incident-backfill-status', 'aria-live': 'polite' });
    button.addEventListener('click', () => runOffer(offer, button, status));
    actions.append(button, status);
  }
  li.append(
    el('div', { class: 'head' },
      el('span', { class: 'badge', 'data-incident-status': incident.status, 'data-testid': 'incident-status' }, incident.status),
      el('span', { class: 'badge', 'data-severity': incident.severity }, incident.severity ?? ''),
      el('strong', {}, incident.anomaly ?? ''),
      el('span', {}, 'on ', ...on),
      el('span', { class: 'muted nowrap' }, 'since ', time(incident.firstSeen)),
      el('span', { class: 'muted nowrap' }, `seen ${symptoms.count ?? 1}×`),
    ),
    el('p', { class: 'symptoms', 'data-testid': 'incident-symptoms' }, `${symptoms.lastDetail ?? symptoms.detail ?? ''}${impacted}${tried ? ` · recovery: ${tried}` : ''}`),
    actions,
  );
  if (freshIncidents.has(incident.id)) li.classList.add('fresh');
  return li;
}

function renderIncidents() {
  const byNewest = (a, b) => (String(a.firstSeen) < String(b.firstSeen) ? 1 : -1);
  const open = [...state.incidents.values()].sort(byNewest);
  const resolved = [...state.resolved.values()].sort((a, b) => (String(a.resolvedAt) < String(b.resolvedAt) ? 1 : -1));
  $('[data-testid="incidents"]').replaceChildren(...open.map(incidentItem));
  $('[data-testid="resolved-incidents"]').replaceChildren(...resolved.map(incidentItem));
  $('[data-testid="incidents"]').hidden = open.length === 0;
  $('[data-testid="no-incidents"]').hidden = open.length > 0;
  const unacked = open.filter((i) => i.status === 'OPEN').length;
  $('[data-testid="incident-counts"]').textContent = open.length === 0 ? '' : `(${unacked} open, ${open.length - unacked} acknowledged)`;
  $('[data-testid="resolved-count"]').textContent = `(${resolved.length})`;
  freshIncidents.clear();
}

async function acknowledge(incident, button, actions) {
  if (button.disabled) return;
  button.disabled = true;
  try {
    const response = await fetch(`/incidents/${encodeURIComponent(incident.id)}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ by: state.operator ?? 'operator' }) });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body?.error?.message ?? String(response.status));
    // The live event refreshes the panel too; this shows it at once.
    const known = state.incidents.get(incident.id);
    if (known) state.incidents.set(incident.id, { ...known, status: 'ACKNOWLEDGED', ackable: false, acknowledgedAt: body.acknowledgedAt, acknowledgedBy: known.acknowledgedBy ?? body.by });
    renderIncidents();
    refreshIncidentsSoon();
  } catch (e) {
    button.disabled = false;
    actions.append(el('span', { class: 'error' }, `ack failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}

async function runOffer(offer, button, status) {
  if (button.disabled) return;
  button.disabled = true;
  status.textContent = 'starting…';
  try {
    const response = await fetch(offer.request.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(offer.request.body) });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) status.textContent = `refused: ${body?.error?.message ?? response.status}`;
    else if ((body.queued ?? []).length === 0) status.textContent = `nothing missed any more (${(body.alreadyRan ?? []).length} slots already ran)`;
    else status.textContent = `running ${body.queued.length} missed slots in order: ${body.queued.map(fmtShort).join(', ')}`;
    refreshRowSoon(offer.worker, offer.job);
  } catch (e) {
    status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- live updates

function onEvent(event) {
  if (!event || typeof event !== 'object') return;
  if (event.type === 'pong') return noteServerTime(event.at);
  if (event.type === 'mode') return setMode(event.data?.mode, event.data?.reason);
  if (event.type === 'incident') return refreshIncidentsSoon(event.data?.incidentId);
  const entry = typeof event.worker === 'string' ? state.workers.get(event.worker) : undefined;
  const d = event.data ?? {};
  if (event.type === 'alert') {
    addAlert({ id: d.alertId, worker: event.worker, raisedAt: event.at, anomaly: d.anomaly, severity: d.severity, detail: d.detail, acknowledgedAt: d.acknowledgedAt ?? null }, true);
  } else if (event.type === 'circuit' && entry) {
    entry.worker.circuit = d.state;
    renderWorker(entry.card, entry.worker);
  } else if (event.type === 'lock' && entry) {
    const job = entry.worker.jobs.find((j) => j.id === d.job);
    if (job) job.lock = { holder: d.holder ?? null, fence: d.fence ?? 0, expiresAt: d.expiresAt ?? null };
    renderWorker(entry.card, entry.worker);
  } else if (event.type === 'report') {
    if (entry && (!entry.worker.lastRun || String(d.scheduledTime) >= String(entry.worker.lastRun.scheduledTime))) {
      entry.worker.lastRun = { job: d.job, status: d.status, scheduledTime: d.scheduledTime };
      if (typeof d.overallScore === 'number') entry.worker.score = d.overallScore;
      renderWorker(entry.card, entry.worker);
    }
    if (typeof event.worker === 'string' && typeof d.job === 'string') refreshRowSoon(event.worker, d.job);
  }
}

let socket = null;
let retryMs = 1000;
function connect() {
  setConnection('connecting', 'connecting…');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`);
  socket = ws;
  ws.addEventListener('open', () => {
    retryMs = 1000;
    state.lastMessageAt = Date.now();
    setConnection('live', 'live');
    ws.send(JSON.stringify({ action: 'ping' }));
    // What happened while the connection was down is read again.
    load().catch((e) => showError(`reload failed: ${e.message}`));
  });
  ws.addEventListener('message', (message) => {
    state.lastMessageAt = Date.now();
    if (ws === socket && $('[data-testid="live-status"]').dataset.state !== 'live') setConnection('live', 'live');
    try {
      onEvent(JSON.parse(message.data));
    } catch {
      // Not an event: ignored.
    }
  });
  ws.addEventListener('close', () => {
    if (ws !== socket) return;
    socket = null;
    setConnection('offline', `disconnected since ${fmtTime(serverNow())}: reconnecting`);
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  });
}

/** The heartbeat: a ping every HEARTBEAT_EVERY_MS; silence past HEARTBEAT_TIMEOUT_MS is a dead connection. */
function heartbeat() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  if (Date.now() - state.lastMessageAt > HEARTBEAT_TIMEOUT_MS) {
    const dead = socket;
    socket = null;
    setConnection('offline', `disconnected (no answer for ${Math.round(HEARTBEAT_TIMEOUT_MS / 1000)} s): reconnecting`);
    dead.close();
    setTimeout(connect, 500);
    return;
  }
  socket.send(JSON.stringify({ action: 'ping' }));
}

/** Every second: locks lapse and next runs move on with the server's clock. */
function tick() {
  let exhausted = false;
  for (const { worker, card } of state.workers.values()) {
    renderWorker(card, worker);
    exhausted ||= upcomingExhausted(worker);
  }
  $('[data-testid="as-of"]').textContent = fmtTime(serverNow());
  if (exhausted && !state.refreshing) load().catch((e) => showError(`reload failed: ${e.message}`));
}

// ---------------------------------------------------------------- loading

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return response.json();
}

async function load() {
  if (state.refreshing) return;
  state.refreshing = true;
  try {
    const [workers, alerts] = await Promise.all([getJson('/workers'), getJson('/alerts?limit=50')]);
    if (workers.at) noteServerTime(workers.at);
    for (const w of workers.workers ?? []) upsertWorker(w);
    setMode(workers.orchestrator?.mode ?? '?', workers.orchestrator?.reason);
    for (const a of alerts.items ?? []) addAlert({ id: a.id, worker: a.worker, raisedAt: a.raisedAt, anomaly: a.anomaly, severity: a.severity, detail: a.detail, acknowledgedAt: a.acknowledgedAt ?? null }, false);
    ensureRows();
    await Promise.all([loadIncidents(), ...[...state.rows.values()].map((r) => loadRow(r.worker.id, r.job.id).catch(() => undefined))]);
    showError(null);
    document.body.dataset.loaded = 'true';
  } finally {
    state.refreshing = false;
  }
}

async function start() {
  try {
    const info = await getJson('/console.json');
    const label = info.region ? `${info.environment} · ${info.region}` : info.environment;
    if (typeof info.operator === 'string' && info.operator !== '') state.operator = info.operator;
    $('[data-testid="environment"]').textContent = label;
    document.title = `AuraStream orchestrator · ${label}`;
  } catch {
    $('[data-testid="environment"]').textContent = '';
  }
  $('[data-testid="backfill-form"]').addEventListener('submit', submitBackfill);
  load().catch((e) => showError(`load failed: ${e.message}`));
  connect();
  setInterval(heartbeat, HEARTBEAT_EVERY_MS);
  setInterval(tick, 1000);
}

start();
