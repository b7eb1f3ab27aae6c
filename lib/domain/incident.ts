/**
 * Incidents: one condition, one lifecycle, notifications on transitions only (Alertmanager's
 * grouping, inhibition and send_resolved, done with the dependency graph). Pure (node:crypto only,
 * through alerting's ids).
 *
 * ```
 *            detection (new key, or key RESOLVED)            recovery started
 *   (none) ───────────────────────────────────────► OPEN ─────────────────────► RECOVERING
 *                                                    │  ╲ escalation step paged      │
 *                                                    │   ╲──────────────────► ESCALATED ◄┘
 *                                                    │ condition gone (run succeeded /  │
 *                                                    ▼ sweep no longer finds it)        ▼
 *                                                 RESOLVED ◄────────────────────────────┘
 * ```
 *
 * - **Key** = root-cause job + anomaly (`incidentKeyOf`, `rootCauseOf`). A dependent blocked with
 *   DEPENDENCY_FAILED, or the intel cycle failing because of a stage, is keyed on the upstream job
 *   with DEPENDENCY_FAILURE and listed in `impactedJobs` (inhibition: one incident, one page). A
 *   condition of the worker as a whole (its rolling window, quota, memory, queue, freshness) is keyed
 *   on the worker (`job: null`). A consumer's STALE_DATA while the job producing the data has an
 *   open incident is counted on that incident (`inhibitingIncident`, `recordSymptom`). So is a
 *   worker's rolling-hour rate (HIGH_FAILURE_RATE, ELEVATED_RETRIES) while one of its jobs has a
 *   failing-run incident, or ELEVATED_RETRIES while the worker has a HIGH_FAILURE_RATE incident
 *   (`rateParentOf`), and a job's TIMEOUT_WARNING while the job has a SLOW_EXECUTION incident (one
 *   slow run raises both: `explainsTimeoutWarning`). A symptom incident opened before its root is
 *   folded into it when the root opens (`foldIntoRoot`: resolved as merged, no RESOLVED message, the
 *   root covering it).
 * - **Detections** (`applyDetection`): a new key, or a key whose incident is RESOLVED, opens an
 *   incident (OPENED: notify). A key whose incident is not resolved is updated (last seen, count,
 *   impacted jobs): nobody is notified, however many dedup windows pass. A detection already counted
 *   (a redelivered stream record: same `observationId`) changes nothing; one observed before the
 *   incident resolved does not reopen it.
 * - **Resolution** (`applyResolution`): the condition is gone: a later run of the job succeeded
 *   without the anomaly, or the health sweep no longer finds it. RESOLVED: notify, with the duration
 *   and what healed it.
 * - **Escalation** (`decideIncidentEscalation`): the policy's steps are UNACKNOWLEDGED_CRITICAL (a
 *   CRITICAL incident nobody acknowledged for 15 min) and RECOVERY_FAILED (a CRITICAL or HIGH
 *   incident whose recovery ended FAILED). Whichever step is due first pages, once; an incident
 *   already paged (ESCALATED, or by its recovery's PAGE_ONCALL) is not paged again.
 *
 * Concurrency: the store writes an incident only if its `version` is still the one read
 * (`IncidentStore.write`); a writer that lost re-reads and re-applies (`recordDetection`,
 * `recordResolution`), so concurrent detections of one condition open one incident.
 */
import { createHash } from 'node:crypto';
import { buildAlert, type Alert } from './alerting.js';
import { RULE_BY_CODE, SEVERITIES, type AnomalyCode, type Severity } from './anomaly-rules.js';
import { InvalidPayloadError, RetryableError } from './errors.js';
import { ESCALATION, type EscalationReason } from './recovery.js';
import type { WorkerScoreReport } from './score-report.js';
import { HOUR_MS } from './window-stats.js';

const MINUTE_MS = 60_000;

export const INCIDENT_STATES = ['OPEN', 'RECOVERING', 'ESCALATED', 'RESOLVED'] as const;
export type IncidentState = (typeof INCIDENT_STATES)[number];

/** The transitions people are told about. */
export const INCIDENT_TRANSITIONS = ['OPENED', 'ESCALATED', 'RESOLVED'] as const;
export type IncidentTransition = (typeof INCIDENT_TRANSITIONS)[number];

/** Anomalies of the worker as a whole (its rolling hour, its API quota, its memory, its queue, its inputs' freshness). */
export const WORKER_LEVEL_CODES: readonly AnomalyCode[] = ['HIGH_FAILURE_RATE', 'LOCK_CONTENTION', 'ELEVATED_RETRIES', 'API_QUOTA_LOW', 'RESOURCE_EXHAUSTION', 'QUEUE_OVERFLOW', 'STALE_DATA'];

/** The anomalies a failed upstream job shows on its dependents and on the cycle it is a stage of. */
const DEPENDENCY_SYMPTOMS: readonly AnomalyCode[] = ['DEPENDENCY_FAILURE', 'WORKER_CRASH', 'HIGH_FAILURE_RATE'];

/** Distinct observations an incident remembers to recognise a redelivery. */
export const INCIDENT_OBSERVATIONS_KEPT = 50;
/**
 * Conditional-write rounds before `recordDetection` / `recordResolution` give up (the stream record
 * is then retried). Each round one of the racing writers wins, so this many concurrent writers of
 * one incident always get through.
 */
export const INCIDENT_WRITE_ATTEMPTS = 10;
/** After this long a PAGING escalation step that was never marked PAGED may be taken over, in ms (a sweep that died). */
export const INCIDENT_PAGE_CLAIM_STALE_MS = 5 * MINUTE_MS;

export interface IncidentKey {
  readonly worker: string;
  /** Null: the worker as a whole. */
  readonly job: string | null;
  readonly anomaly: AnomalyCode;
}

/** The job part of a key, `-` for the worker as a whole. */
export const keyJob = (job: string | null): string => job ?? '-';

/** `<worker>.<job|->#<anomaly>`: readable, unique per key. */
export const incidentKeyString = (key: IncidentKey): string => `${key.worker}.${keyJob(key.job)}#${key.anomaly}`;

const ID_PART = /^[a-z0-9_]+$/;
const ID_JOB = /^([a-z0-9_]+|-)$/;

/**
 * The incident id: `<worker>~<job|->~<anomaly>~<generation>`, e.g. `youtube_worker~games~DEPENDENCY_FAILURE~1`.
 * URL-safe (RFC 3986 unreserved), and it names the item it is stored in.
 */
export function incidentId(key: IncidentKey, generation: number): string {
  return `${key.worker}~${keyJob(key.job)}~${key.anomaly}~${generation}`;
}

/** The key and generation an incident id names; throws InvalidPayloadError when it is not one. */
export function parseIncidentId(id: string): { readonly key: IncidentKey; readonly generation: number } {
  const parts = id.split('~');
  const [worker, job, anomaly, generation] = parts;
  const code = anomaly as AnomalyCode;
  if (parts.length !== 4 || worker === undefined || job === undefined || generation === undefined || !ID_PART.test(worker) || !ID_JOB.test(job) || RULE_BY_CODE[code] === undefined || !/^[1-9]\d{0,8}$/.test(generation)) {
    throw new InvalidPayloadError(`incident id must look like <worker>~<job|->~<ANOMALY>~<generation>, got "${id}"`);
  }
  return { key: { worker, job: job === '-' ? null : job, anomaly: code }, generation: Number(generation) };
}

export interface IncidentRecovery {
  /** The recovery execution's name. */
  readonly name: string;
  /** The worker and job the recovery ran on (a dependent, for a dependency failure). */
  readonly worker: string;
  readonly job: string;
  readonly actions: readonly string[];
  /** ISO-8601. */
  readonly startedAt: string;
}

export const PAGE_STATES = ['PAGING', 'PAGED'] as const;
export type PageState = (typeof PAGE_STATES)[number];

/** One escalation policy step of an incident. */
export interface IncidentPage {
  readonly step: EscalationReason;
  readonly state: PageState;
  /** The sweep run that claimed it. */
  readonly token: string;
  /** Epoch ms. */
  readonly atMs: number;
}

export interface Incident {
  readonly id: string;
  readonly key: IncidentKey;
  /** 1 for the key's first incident; a reopened condition is the next generation. */
  readonly generation: number;
  readonly state: IncidentState;
  readonly severity: Severity;
  /** The opening detection's detail, then the latest one's. */
  readonly detail: string;
  readonly lastDetail: string;
  /** ISO-8601. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Distinct detections counted. */
  readonly count: number;
  /** `<worker>.<job>` of the jobs the root cause blocked (not the root job), sorted. */
  readonly impactedJobs: readonly string[];
  /** Where it was seen: `report` (a run's report) and/or `health` (the health sweep). */
  readonly sources: readonly DetectionSource[];
  /** The latest distinct observation ids, newest last (redelivery dedup). */
  readonly observations: readonly string[];
  /** The observation that opened it, and the one that resolved it: a redelivery of either re-sends its notification (the alert claim keeps that once). */
  readonly openedBy: string;
  readonly resolvedBy: string | null;
  readonly recoveries: readonly IncidentRecovery[];
  readonly pages: readonly IncidentPage[];
  /**
   * The transitions whose notification was published. Until OPENED (RESOLVED) is in it, every later
   * detection (resolution check) tries to deliver it again through the alert claim, which lets a
   * stale claim be taken over: a notification whose stream record failed for good is not lost.
   */
  readonly notified: readonly IncidentTransition[];
  /** ISO-8601; null until someone acknowledges it. */
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  /** ISO-8601; null while unresolved. */
  readonly resolvedAt: string | null;
  /** What healed it, for people. */
  readonly resolution: string | null;
  /** The worker, job and slot of the opening detection (the recovery runs on it), and its execution. */
  readonly openedOn: { readonly worker: string; readonly job: string; readonly scheduledTime: string | null; readonly executionId: string | null };
  /**
   * Set when this incident was folded into the root incident that explains it (a worker's rate
   * incident opened before the failing job's incident): it is RESOLVED as merged, with no RESOLVED
   * notification of its own (`foldIntoRoot`).
   * @default absent - not merged
   */
  readonly mergedInto?: string;
  /**
   * The ids of the incidents folded into this one (their counts and impacted jobs added here), sorted.
   * @default absent - none
   */
  readonly covers?: readonly string[];
  /** Optimistic-concurrency version: 1 when created, +1 on every write. */
  readonly version: number;
}

export const DETECTION_SOURCES = ['report', 'health'] as const;
export type DetectionSource = (typeof DETECTION_SOURCES)[number];

/** One sighting of a condition. */
export interface Detection {
  readonly key: IncidentKey;
  readonly severity: Severity;
  readonly detail: string;
  /** When it was observed, epoch ms (a report's completion, a health finding's time). */
  readonly observedAtMs: number;
  /**
   * Deterministic per sighting: `<worker>.<job>@<slot>#<anomaly>` for a report, the finding item's
   * key for a health finding. A redelivered stream record gives the same id.
   */
  readonly observationId: string;
  readonly source: DetectionSource;
  /** The job the anomaly was seen on, when it is not the root job (a dependent): `<worker>.<job>`. */
  readonly impactedJob: string | null;
  /** Where it was seen (the recovery of a new incident runs there). */
  readonly seenOn: { readonly worker: string; readonly job: string; readonly scheduledTime: string | null; readonly executionId: string | null };
}

export type DetectionOutcome =
  /** A new incident (or the key's next generation): notify, start its recovery. */
  | { readonly kind: 'OPENED'; readonly incident: Incident }
  /** Counted on the open incident: notify nobody. */
  | { readonly kind: 'UPDATED'; readonly incident: Incident }
  /** Already counted (redelivery), or observed before the key's incident resolved: nothing to write. */
  | { readonly kind: 'DUPLICATE' | 'STALE'; readonly incident: Incident };

const iso = (ms: number): string => new Date(ms).toISOString();
const sortedUnique = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

function checkDetection(d: Detection): void {
  if (!Number.isFinite(d.observedAtMs) || d.observedAtMs < 0) throw new InvalidPayloadError(`detection observedAtMs must be epoch ms, got ${d.observedAtMs}`);
  if (d.observationId === '') throw new InvalidPayloadError('detection observationId must not be empty');
  if (d.key.worker === '') throw new InvalidPayloadError('detection worker must not be empty');
}

/** What one detection does to the key's incident (`current`: the latest incident of the key, if any). */
export function applyDetection(current: Incident | undefined, d: Detection): DetectionOutcome {
  checkDetection(d);
  if (current !== undefined && current.observations.includes(d.observationId)) return { kind: 'DUPLICATE', incident: current };
  if (current !== undefined && current.state === 'RESOLVED') {
    const resolvedAtMs = Date.parse(current.resolvedAt ?? current.lastSeen);
    if (d.observedAtMs <= resolvedAtMs) return { kind: 'STALE', incident: current };
  }
  if (current === undefined || current.state === 'RESOLVED') {
    const generation = (current?.generation ?? 0) + 1;
    return {
      kind: 'OPENED',
      incident: {
        id: incidentId(d.key, generation),
        key: d.key,
        generation,
        state: 'OPEN',
        severity: d.severity,
        detail: d.detail,
        lastDetail: d.detail,
        firstSeen: iso(d.observedAtMs),
        lastSeen: iso(d.observedAtMs),
        count: 1,
        impactedJobs: d.impactedJob === null ? [] : [d.impactedJob],
        sources: [d.source],
        observations: [d.observationId],
        openedBy: d.observationId,
        resolvedBy: null,
        recoveries: [],
        pages: [],
        notified: [],
        acknowledgedAt: null,
        acknowledgedBy: null,
        resolvedAt: null,
        resolution: null,
        openedOn: d.seenOn,
        version: (current?.version ?? 0) + 1,
      },
    };
  }
  const later = d.observedAtMs >= Date.parse(current.lastSeen);
  return {
    kind: 'UPDATED',
    incident: {
      ...current,
      lastSeen: later ? iso(d.observedAtMs) : current.lastSeen,
      lastDetail: later ? d.detail : current.lastDetail,
      count: current.count + 1,
      impactedJobs: d.impactedJob === null ? current.impactedJobs : sortedUnique([...current.impactedJobs, d.impactedJob]),
      sources: sortedUnique([...current.sources, d.source]) as DetectionSource[],
      observations: [...current.observations, d.observationId].slice(-INCIDENT_OBSERVATIONS_KEPT),
      version: current.version + 1,
    },
  };
}

/** Evidence that a condition is gone. */
export interface ClearEvidence {
  /** When it was seen gone, epoch ms. */
  readonly atMs: number;
  /** Deterministic per piece of evidence (as Detection.observationId). */
  readonly observationId: string;
  /** What it was, for people: `youtube_worker.games run at 00:30 SUCCEEDED`. */
  readonly what: string;
  /**
   * What the recoveries of the incident achieved, when known: `recovery rcv-... SUCCEEDED (verified)`.
   * @default the recoveries tried are listed without an outcome
   */
  readonly recoveryOutcome?: string;
}

export type ResolutionOutcome =
  | { readonly kind: 'RESOLVED'; readonly incident: Incident; readonly durationMs: number }
  /** Resolved already, or the evidence predates the latest sighting. */
  | { readonly kind: 'UNCHANGED'; readonly incident: Incident };

/** The text of what healed an incident. */
export function healedByText(incident: Pick<Incident, 'recoveries'>, evidence: ClearEvidence): string {
  if (incident.recoveries.length === 0) return `${evidence.what}; no recovery was run`;
  const tried = incident.recoveries.map((r) => `${r.actions.join('+')} on ${r.worker}.${r.job}`).join(', ');
  return `${evidence.what}; recovery tried: ${tried}${evidence.recoveryOutcome === undefined ? '' : ` (${evidence.recoveryOutcome})`}`;
}

/** Resolves the incident on evidence that its condition is gone, if that evidence is newer than the latest sighting. */
export function applyResolution(incident: Incident, evidence: ClearEvidence): ResolutionOutcome {
  if (incident.state === 'RESOLVED') return { kind: 'UNCHANGED', incident };
  if (evidence.atMs <= Date.parse(incident.lastSeen)) return { kind: 'UNCHANGED', incident };
  const durationMs = evidence.atMs - Date.parse(incident.firstSeen);
  return {
    kind: 'RESOLVED',
    durationMs,
    incident: { ...incident, state: 'RESOLVED', resolvedAt: iso(evidence.atMs), resolvedBy: evidence.observationId, resolution: healedByText(incident, evidence), version: incident.version + 1 },
  };
}

/** Records the recovery started for the incident: OPEN -> RECOVERING (an escalated or resolved one keeps its state). */
export function applyRecovery(incident: Incident, recovery: IncidentRecovery): Incident {
  if (incident.recoveries.some((r) => r.name === recovery.name)) return incident;
  return { ...incident, state: incident.state === 'OPEN' ? 'RECOVERING' : incident.state, recoveries: [...incident.recoveries, recovery], version: incident.version + 1 };
}

/** Records that a transition's notification was published; unchanged when it was recorded already. */
export function applyNotified(incident: Incident, transition: IncidentTransition): Incident {
  if (incident.notified.includes(transition)) return incident;
  return { ...incident, notified: [...incident.notified, transition], version: incident.version + 1 };
}

/** Acknowledges an incident once; the first acknowledgement is kept. */
export function applyAcknowledgement(incident: Incident, by: string, atMs: number): { readonly changed: boolean; readonly incident: Incident } {
  if (incident.acknowledgedAt !== null) return { changed: false, incident };
  return { changed: true, incident: { ...incident, acknowledgedAt: iso(atMs), acknowledgedBy: by, version: incident.version + 1 } };
}

// ---------------------------------------------------------------------------------------------
// Escalation: each policy step pages once per incident

export type IncidentEscalationDecision =
  | { readonly kind: 'page'; readonly step: EscalationReason; readonly openMs: number; readonly why: string }
  | { readonly kind: 'skip'; readonly why: 'resolved' | 'not-critical' | 'acknowledged' | 'paged' | 'paging' | 'not-due' };

/** The severities whose incidents page when their recovery FAILED (MEDIUM and LOW never page). */
export const RECOVERY_FAILED_PAGE_SEVERITIES: readonly Severity[] = ['CRITICAL', 'HIGH'];

/** Whether one of the incident's recoveries pages on-call itself (the design's PAGE_ONCALL, WORKER_CRASH): that is its page. */
export function pagedByRecovery(incident: Incident): boolean {
  return incident.recoveries.some((r) => r.actions.includes('PAGE_ONCALL'));
}

/** A recovery of the incident that ended FAILED (its summary's verdict), as the sweep read it. */
export interface FailedRecovery {
  /** The recovery execution's name (IncidentRecovery.name). */
  readonly name: string;
  readonly reason: string;
}

/**
 * The recoveries whose outcome the sweep must read to decide RECOVERY_FAILED: those of an incident
 * that could still page for it (unresolved, not acknowledged, never paged, CRITICAL or HIGH); none otherwise.
 */
export function recoveriesToCheck(incident: Incident): readonly string[] {
  if (incident.state === 'RESOLVED' || incident.acknowledgedAt !== null || incident.pages.length > 0 || pagedByRecovery(incident)) return [];
  if (!RECOVERY_FAILED_PAGE_SEVERITIES.includes(incident.severity)) return [];
  return incident.recoveries.map((r) => r.name);
}

/**
 * Whether the sweep should page about the incident now, and for which policy step:
 * - RECOVERY_FAILED: a CRITICAL or HIGH incident one of whose recoveries ended FAILED (`failed`, read
 *   by the sweep from the recovery's summary): on-call is told that self-healing gave up;
 * - UNACKNOWLEDGED_CRITICAL: a CRITICAL incident nobody acknowledged for
 *   ESCALATION.unacknowledgedCriticalMinutes since it opened.
 * Whichever is due first pages, once, however long the incident lasts: an incident paged for one
 * step (or with a live claim on one) is not paged for the other, and one whose recovery paged
 * on-call itself (PAGE_ONCALL) is not paged again. Resolved and acknowledged incidents never page.
 */
export function decideIncidentEscalation(incident: Incident, nowMs: number, failed: FailedRecovery | null = null): IncidentEscalationDecision {
  if (incident.state === 'RESOLVED') return { kind: 'skip', why: 'resolved' };
  if (incident.acknowledgedAt !== null) return { kind: 'skip', why: 'acknowledged' };
  if (incident.pages.some((p) => p.state === 'PAGED') || pagedByRecovery(incident)) return { kind: 'skip', why: 'paged' };
  if (incident.pages.some((p) => p.atMs >= nowMs - INCIDENT_PAGE_CLAIM_STALE_MS)) return { kind: 'skip', why: 'paging' };
  const openMs = nowMs - Date.parse(incident.firstSeen);
  if (failed !== null && RECOVERY_FAILED_PAGE_SEVERITIES.includes(incident.severity)) return { kind: 'page', step: 'RECOVERY_FAILED', openMs, why: `recovery ${failed.name} FAILED: ${failed.reason}` };
  if (incident.severity !== 'CRITICAL') return { kind: 'skip', why: 'not-critical' };
  if (openMs < ESCALATION.unacknowledgedCriticalMinutes * MINUTE_MS) return { kind: 'skip', why: 'not-due' };
  return { kind: 'page', step: 'UNACKNOWLEDGED_CRITICAL', openMs, why: `unacknowledged for ${Math.floor(openMs / MINUTE_MS)} min` };
}

/** Claims a policy step for paging (PAGING under `token`); null when the decision is not to page. */
export function claimPage(incident: Incident, step: EscalationReason, token: string, nowMs: number, failed: FailedRecovery | null = null): Incident | null {
  const decision = decideIncidentEscalation(incident, nowMs, failed);
  if (decision.kind !== 'page' || decision.step !== step) return null;
  // Nothing is PAGED (else no page is due); a stale claim of either step is taken over.
  const pages = [{ step, state: 'PAGING' as const, token, atMs: nowMs }];
  return { ...incident, pages, version: incident.version + 1 };
}

/** PAGING -> PAGED for the claim's token (ESCALATED); null when the claim is no longer this token's. */
export function markPaged(incident: Incident, step: EscalationReason, token: string, nowMs: number): Incident | null {
  const page = incident.pages.find((p) => p.step === step);
  if (page === undefined || page.state !== 'PAGING' || page.token !== token) return null;
  const pages = incident.pages.map((p) => (p.step === step ? { ...p, state: 'PAGED' as const, atMs: nowMs } : p));
  return { ...incident, pages, state: incident.state === 'RESOLVED' ? 'RESOLVED' : 'ESCALATED', version: incident.version + 1 };
}

/** Gives a failed page's claim back, so the next sweep pages; null when it is not this token's. */
export function releasePage(incident: Incident, step: EscalationReason, token: string): Incident | null {
  const page = incident.pages.find((p) => p.step === step);
  if (page === undefined || page.state !== 'PAGING' || page.token !== token) return null;
  return { ...incident, pages: incident.pages.filter((p) => p.step !== step), version: incident.version + 1 };
}

// ---------------------------------------------------------------------------------------------
// Root cause through the dependency graph

/** What is known of where an anomaly was seen. */
export interface Sighting {
  readonly worker: string;
  /** Null for a health finding about the worker as a whole. */
  readonly job: string | null;
  readonly anomaly: AnomalyCode;
  /** The report's skip reason, if it was a skipped run. */
  readonly skipReason?: string | null;
  /** Texts that may name the failed upstream: the finding's detail, the report's recommendations and error cause. */
  readonly texts: readonly string[];
}

/** The registry as root-cause analysis needs it. */
export interface GraphLookup {
  /** Whether `worker` has a job `job`. */
  hasJob(worker: string, job: string): boolean;
  /** Whether `worker` is in the registry. */
  hasWorker(worker: string): boolean;
}

/** `<worker>.<job> failed` as the intel cycle words a failed stage (`stage youtube_worker.games failed (...)`, `youtube_worker.games failed in this intel cycle`). */
const STAGE_FAILED = /\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*) failed\b/;
/** `dependency <worker> ...` as the gate words a dependency that blocked a run. */
const DEPENDENCY_NAMED = /\bdependency ([a-z][a-z0-9_]*)\b/;

/** The failed upstream job a text names, if the registry knows it. */
export function failedUpstreamIn(texts: readonly string[], graph: GraphLookup): { readonly worker: string; readonly job: string | null } | null {
  for (const text of texts) {
    const stage = STAGE_FAILED.exec(text);
    if (stage?.[1] !== undefined && stage[2] !== undefined && graph.hasJob(stage[1], stage[2])) return { worker: stage[1], job: stage[2] };
  }
  for (const text of texts) {
    const dep = DEPENDENCY_NAMED.exec(text);
    if (dep?.[1] !== undefined && graph.hasWorker(dep[1])) return { worker: dep[1], job: null };
  }
  return null;
}

export interface RootCause {
  readonly key: IncidentKey;
  /** `<worker>.<job>` of the job it was seen on, when that is not the root (a dependent, the cycle). */
  readonly impactedJob: string | null;
}

/**
 * The incident key of a sighting. A dependent skipped with DEPENDENCY_FAILED, or a run that failed
 * because a named upstream job failed (the intel cycle's `StageFailed`), is keyed on that upstream
 * job with DEPENDENCY_FAILURE, the sighting's job impacted. Worker-level anomalies
 * (WORKER_LEVEL_CODES) are keyed on the worker. Anything else on the job it was seen on: a
 * dependent's own, independent failure is its own incident.
 */
export function rootCauseOf(s: Sighting, graph: GraphLookup): RootCause {
  const seenJob = s.job === null ? `${s.worker}.-` : `${s.worker}.${s.job}`;
  const blocked = s.skipReason === 'DEPENDENCY_FAILED' || s.anomaly === 'DEPENDENCY_FAILURE';
  const stageFailed = DEPENDENCY_SYMPTOMS.includes(s.anomaly) && s.texts.some((t) => /\bstage [a-z0-9_]+\.[a-z0-9_]+ failed\b/.test(t));
  if (blocked || stageFailed) {
    const upstream = failedUpstreamIn(s.texts, graph);
    if (upstream !== null && upstream.worker !== s.worker) {
      return { key: { worker: upstream.worker, job: upstream.job, anomaly: 'DEPENDENCY_FAILURE' }, impactedJob: seenJob };
    }
  }
  if (WORKER_LEVEL_CODES.includes(s.anomaly)) return { key: { worker: s.worker, job: null, anomaly: s.anomaly }, impactedJob: null };
  return { key: { worker: s.worker, job: s.job, anomaly: s.anomaly }, impactedJob: null };
}

/** `needs <worker>[.<job>] data` as the health sweep words a stale dependency (health-sweep.ts `levelFindings`). */
const STALE_SOURCE = /\bneeds ([a-z][a-z0-9_]*)(?:\.([a-z][a-z0-9_]*))? data\b/;

/** The job whose data a STALE_DATA sighting says is stale (`job: null`: the worker's data), if its texts name one the registry knows. */
export function staleSourceIn(texts: readonly string[], graph: GraphLookup): { readonly worker: string; readonly job: string | null } | null {
  for (const text of texts) {
    const m = STALE_SOURCE.exec(text);
    if (m?.[1] === undefined) continue;
    if (m[2] !== undefined && graph.hasJob(m[1], m[2])) return { worker: m[1], job: m[2] };
    if (m[2] === undefined && graph.hasWorker(m[1])) return { worker: m[1], job: null };
  }
  return null;
}

/**
 * Inhibition of stale data: the open incident that explains a consumer's STALE_DATA, if any. Data
 * goes stale because the job producing it is failing; while that job (or its worker as a whole)
 * has an incident that is not resolved, the consumer's stale data is a symptom of it, counted
 * there (impacted jobs, count), not an incident and a notification of its own. Another STALE_DATA
 * incident never explains one (staleness is not a cause). The oldest such incident wins, so every
 * symptom lands on the same one.
 */
export function inhibitingIncident(source: { readonly worker: string; readonly job: string | null }, incidents: readonly Incident[]): Incident | null {
  const causes = incidents.filter(
    (i) => i.state !== 'RESOLVED' && i.key.worker === source.worker && i.key.anomaly !== 'STALE_DATA' && (i.key.job === null || source.job === null || i.key.job === source.job),
  );
  return [...causes].sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id))[0] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Inhibition of rate conditions: a failing job's runs are its worker's rolling-hour rates

/**
 * The worker-level rates a failing job of the worker makes up: its failed runs are the numerator of
 * HIGH_FAILURE_RATE, its retried runs that of ELEVATED_RETRIES (window-stats `windowDelta`).
 * LOCK_CONTENTION is not one: lock failures are runs skipped because another run holds the lock,
 * not failed or retried runs, and what causes them (a run holding the lock too long) has no per-run
 * incident of its own; its recovery (a longer lease) is its own.
 */
export const RATE_SYMPTOM_CODES: readonly AnomalyCode[] = ['HIGH_FAILURE_RATE', 'ELEVATED_RETRIES'];

/**
 * The per-run anomalies whose runs failed or were retried, and so count in their worker's rates:
 * a crash (CRASHED is a failure), a job whose failure blocked its dependents (DEPENDENCY_FAILURE keyed
 * on that job), and a run past its budget (a run that times out fails, and is retried).
 */
export const FAILING_RUN_CODES: readonly AnomalyCode[] = ['WORKER_CRASH', 'DEPENDENCY_FAILURE', 'SLOW_EXECUTION'];

/**
 * Until when, epoch ms, a run at `atMs` can still be counted in its worker's rolling hour: the rules
 * read the run's hour bucket, then, for the whole next hour, the previous bucket weighted by the part
 * of it still inside the window (window-stats `rollingWindow`). So the end of the hour after the run's.
 */
export function rateWindowHoldsUntilMs(atMs: number): number {
  return Math.floor(atMs / HOUR_MS) * HOUR_MS + 2 * HOUR_MS;
}

/**
 * Whether `parent` explains a worker-level rate condition (`rate`, a RATE_SYMPTOM_CODES key) seen at
 * `atMs`: the parent is of the same worker, not itself merged, and either rooted in one of the
 * worker's jobs with a failing-run anomaly (FAILING_RUN_CODES; a DEPENDENCY_FAILURE only as the
 * upstream job that blocked others), or, for ELEVATED_RETRIES, the worker's
 * HIGH_FAILURE_RATE (failed runs are retried first). A parent not resolved explains it; a resolved
 * one still does while the rolling hour can hold the runs that failed before it resolved
 * (`rateWindowHoldsUntilMs` of its resolution): the rate lags the job it is made of.
 */
export function explainsRate(parent: Incident, rate: IncidentKey, atMs: number): boolean {
  if (rate.job !== null || !RATE_SYMPTOM_CODES.includes(rate.anomaly)) return false;
  if (parent.key.worker !== rate.worker || parent.mergedInto !== undefined || incidentKeyString(parent.key) === incidentKeyString(rate)) return false;
  // A DEPENDENCY_FAILURE explains its worker's rates when it is keyed on that worker's failed job
  // (it impacts the jobs it blocked), not when it is a blocked job's own (upstream unknown: skips, not failures).
  const failingJob = FAILING_RUN_CODES.includes(parent.key.anomaly) && (parent.key.anomaly !== 'DEPENDENCY_FAILURE' || parent.impactedJobs.length > 0);
  const failureRate = rate.anomaly === 'ELEVATED_RETRIES' && parent.key.anomaly === 'HIGH_FAILURE_RATE' && parent.key.job === null;
  if (!failingJob && !failureRate) return false;
  if (parent.state !== 'RESOLVED') return true;
  return atMs < rateWindowHoldsUntilMs(Date.parse(parent.resolvedAt ?? parent.lastSeen));
}

/**
 * TIMEOUT_WARNING (a run past 80 % of its timeout) is, on a job whose SLOW_EXECUTION incident is not
 * resolved, that same slowness seen against the timeout instead of the expected duration: one slow
 * run raises both. The SLOW_EXECUTION incident explains it (its recovery raises the timeout, which
 * answers the warning too); a warning on a job with no such incident is its own condition.
 */
export function explainsTimeoutWarning(parent: Incident, warning: IncidentKey): boolean {
  if (warning.anomaly !== 'TIMEOUT_WARNING' || warning.job === null) return false;
  if (parent.mergedInto !== undefined || parent.state === 'RESOLVED') return false;
  return parent.key.anomaly === 'SLOW_EXECUTION' && parent.key.worker === warning.worker && parent.key.job === warning.job;
}

/** Every code that can be a symptom of another incident by the rules here (rates, and a timeout warning). */
export const SYMPTOM_CODES: readonly AnomalyCode[] = [...RATE_SYMPTOM_CODES, 'TIMEOUT_WARNING'];

/** Whether `parent` explains the sighting `key` at `atMs`: a worker's rate (`explainsRate`) or a job's timeout warning (`explainsTimeoutWarning`). */
export function explainsSymptom(parent: Incident, key: IncidentKey, atMs: number): boolean {
  return key.anomaly === 'TIMEOUT_WARNING' ? explainsTimeoutWarning(parent, key) : explainsRate(parent, key, atMs);
}

/** The incident a symptom sighting belongs to (`symptomParentOf` with `explainsSymptom`), if any. */
export function symptomParentOf(key: IncidentKey, atMs: number, incidents: readonly Incident[]): Incident | null {
  return key.anomaly === 'TIMEOUT_WARNING' ? (incidents.find((i) => explainsTimeoutWarning(i, key)) ?? null) : rateParentOf(key, atMs, incidents);
}

/**
 * The incident a worker-level rate sighting is a symptom of, if any (`explainsRate`): an unresolved
 * one before a resolved one, then the most severe, then the oldest, so every symptom of one outage
 * lands on the same incident.
 */
export function rateParentOf(rate: IncidentKey, atMs: number, incidents: readonly Incident[]): Incident | null {
  const parents = incidents.filter((i) => explainsRate(i, rate, atMs));
  const resolved = (i: Incident): number => (i.state === 'RESOLVED' ? 1 : 0);
  return (
    [...parents].sort(
      (a, b) => resolved(a) - resolved(b) || SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id),
    )[0] ?? null
  );
}

/**
 * The order a report's findings are acted on: the per-run anomalies first (the root causes), then the
 * worker-level ones, ELEVATED_RETRIES last (HIGH_FAILURE_RATE explains it). So a report showing a
 * crash and the failure rate it makes opens the crash's incident and counts the rate on it.
 */
export function inhibitionRank(code: AnomalyCode): number {
  if (code === 'ELEVATED_RETRIES') return 2;
  if (code === 'TIMEOUT_WARNING') return 1; // after the run's SLOW_EXECUTION, which explains it
  return WORKER_LEVEL_CODES.includes(code) ? 1 : 0;
}

/** Whether an incident of this key can take part in a fold (a worker's rate, or a failing-run root): other openings need not look. */
export function foldsWith(key: IncidentKey): boolean {
  return (key.job === null && RATE_SYMPTOM_CODES.includes(key.anomaly)) || key.anomaly === 'TIMEOUT_WARNING' || FAILING_RUN_CODES.includes(key.anomaly);
}

/**
 * The incidents an opening root incident folds in (`foldIntoRoot`): the unresolved rate incidents of
 * its worker it explains (opened before it), and those already merged into it (a fold cut short, redone).
 */
export function foldableInto(root: Incident, incidents: readonly Incident[]): Incident[] {
  if (root.state === 'RESOLVED') return [];
  return incidents.filter((i) => i.id !== root.id && (i.mergedInto === root.id || (i.state !== 'RESOLVED' && explainsSymptom(root, i.key, Date.parse(i.lastSeen)))));
}

/**
 * Resolves `child` as merged into the incident `parentId` (at `atMs`, never before its last sighting):
 * no RESOLVED notification is sent for it (`resolvedNoticeDue`). Unchanged when it is merged into it
 * already, or it resolved on its own meanwhile.
 */
export function applyMerge(child: Incident, parentId: string, atMs: number): Incident {
  if (child.state === 'RESOLVED') return child;
  const resolvedAtMs = Math.max(atMs, Date.parse(child.lastSeen));
  return {
    ...child,
    state: 'RESOLVED',
    resolvedAt: iso(resolvedAtMs),
    resolvedBy: `merged:${parentId}`,
    resolution: `merged into ${parentId}: a symptom of it`,
    mergedInto: parentId,
    version: child.version + 1,
  };
}

/**
 * Records on `parent` the incident merged into it: its id among `covers`, its count (less the
 * sightings the parent counted already: a redelivery counted on both while they raced), impacted jobs
 * and observations added (a redelivered sighting of it then counts nothing). Unchanged when covered already.
 */
export function applyCover(parent: Incident, child: Incident): Incident {
  if (parent.covers?.includes(child.id) === true) return parent;
  const fresh = child.observations.filter((o) => !parent.observations.includes(o));
  return {
    ...parent,
    covers: sortedUnique([...(parent.covers ?? []), child.id]),
    count: parent.count + child.count - (child.observations.length - fresh.length),
    impactedJobs: sortedUnique([...parent.impactedJobs, ...child.impactedJobs]),
    observations: [...parent.observations, ...fresh].slice(-INCIDENT_OBSERVATIONS_KEPT),
    version: parent.version + 1,
  };
}

/**
 * Counts a symptom on its parent incident: like a detection of an open one (last seen, count,
 * impacted jobs). A `lagging` symptom (a rolling-hour rate, which stays high for up to two hours after
 * its root healed) and any symptom of a resolved parent count only the count, impacted jobs and
 * observation: they neither move its last seen (the root's next good run still resolves it) nor
 * reopen it. A redelivered sighting changes nothing (DUPLICATE).
 */
export function applySymptom(parent: Incident, d: Detection, lagging = false): DetectionOutcome {
  checkDetection(d);
  if (parent.observations.includes(d.observationId)) return { kind: 'DUPLICATE', incident: parent };
  if (parent.state !== 'RESOLVED' && !lagging) return applyDetection(parent, { ...d, key: parent.key });
  return {
    kind: 'UPDATED',
    incident: {
      ...parent,
      count: parent.count + 1,
      impactedJobs: d.impactedJob === null ? parent.impactedJobs : sortedUnique([...parent.impactedJobs, d.impactedJob]),
      sources: sortedUnique([...parent.sources, d.source]) as DetectionSource[],
      observations: [...parent.observations, d.observationId].slice(-INCIDENT_OBSERVATIONS_KEPT),
      version: parent.version + 1,
    },
  };
}

/** Whether a RESOLVED notification is still to be sent for the incident: resolved, not sent, and not merged (a merged one has none). */
export function resolvedNoticeDue(incident: Incident): boolean {
  return incident.state === 'RESOLVED' && incident.mergedInto === undefined && !incident.notified.includes('RESOLVED');
}

/**
 * Whether a run's report clears an incident: the run was of the incident's job (or, for a
 * worker-level incident, of the worker), it ran and succeeded (a skip proves nothing), and its
 * evaluation did not find the anomaly again.
 */
export function reportClears(incident: Pick<Incident, 'key' | 'state'>, report: { readonly worker: string; readonly job: string; readonly status: string }, foundKeys: readonly string[]): boolean {
  if (incident.state === 'RESOLVED') return false;
  if (incident.key.worker !== report.worker) return false;
  if (incident.key.job !== null && incident.key.job !== report.job) return false;
  if (report.status !== 'SUCCEEDED' && report.status !== 'PARTIAL') return false;
  return !foundKeys.includes(incidentKeyString(incident.key));
}

// ---------------------------------------------------------------------------------------------
// Ports (lambdas/adapters/dynamo-incident-store.ts; fakes in the tests)

export interface IncidentStore {
  /** The latest incident of a key (consistent read), or undefined. */
  read(key: IncidentKey): Promise<Incident | undefined>;
  /** Every key's latest incident of a worker (consistent), resolved ones included. */
  readWorker(worker: string): Promise<Incident[]>;
  /** The incidents not RESOLVED (eventually consistent: an index), for the sweep. */
  listUnresolved(): Promise<Incident[]>;
  /**
   * Writes `next` if the stored incident of its key is still at `next.version - 1` (absent for
   * version 1). False when another writer got there first.
   */
  write(next: Incident): Promise<boolean>;
}

/** Read, apply, conditional write of `write` (nothing when null); on a lost race read again (at most INCIDENT_WRITE_ATTEMPTS rounds). */
export async function updateIncident<R>(
  store: Pick<IncidentStore, 'read' | 'write'>,
  key: IncidentKey,
  apply: (current: Incident | undefined) => { readonly result: R; readonly write: Incident | null },
): Promise<R> {
  for (let attempt = 0; attempt < INCIDENT_WRITE_ATTEMPTS; attempt++) {
    const out = apply(await store.read(key));
    if (out.write === null || (await store.write(out.write))) return out.result;
  }
  throw new IncidentContentionError(`incident ${incidentKeyString(key)}: lost ${INCIDENT_WRITE_ATTEMPTS} conditional writes in a row`);
}

/** Too many concurrent writers on one incident: retryable (the stream record is retried). */
export class IncidentContentionError extends RetryableError {
  override readonly name = 'IncidentContentionError';
}

/** Counts a detection on its key's incident (concurrency-safe). */
export async function recordDetection(store: Pick<IncidentStore, 'read' | 'write'>, detection: Detection): Promise<DetectionOutcome> {
  return updateIncident(store, detection.key, (current) => {
    const out = applyDetection(current, detection);
    return { result: out, write: out.kind === 'OPENED' || out.kind === 'UPDATED' ? out.incident : null };
  });
}

export interface SymptomOptions {
  /**
   * Whether the parent (as re-read) still takes the symptom.
   * @default while it is not resolved
   */
  readonly accepts?: (parent: Incident) => boolean;
  /**
   * A symptom that lags its root (a rolling-hour rate): it does not move the parent's last seen (`applySymptom`).
   * @default false
   */
  readonly lagging?: boolean;
}

/**
 * Counts a symptom on the incident it belongs to (`detection.key`, from `inhibitingIncident` or
 * `rateParentOf`), concurrency-safe, if that incident (as re-read) still `accepts` it. Null when it
 * no longer does (nothing written): the caller then treats the sighting as a condition of its own.
 * A symptom never opens an incident, nor reopens one.
 */
export async function recordSymptom(store: Pick<IncidentStore, 'read' | 'write'>, detection: Detection, options: SymptomOptions = {}): Promise<DetectionOutcome | null> {
  const accepts = options.accepts ?? ((parent: Incident) => parent.state !== 'RESOLVED');
  return updateIncident(store, detection.key, (current) => {
    if (current === undefined || !accepts(current)) return { result: null, write: null };
    const out = applySymptom(current, detection, options.lagging ?? false);
    return { result: out, write: out.kind === 'UPDATED' ? out.incident : null };
  });
}

/**
 * Merges `child` into the incident `parentId` (concurrency-safe), both ways: the child resolved as
 * merged (`applyMerge`), then the parent covering it (`applyCover`). Idempotent: a redelivery, or a
 * concurrent fold of the same pair, writes nothing more. Null when the child resolved on its own or
 * was merged into another incident first, or the parent's key moved on to another incident.
 */
export async function recordMerge(store: Pick<IncidentStore, 'read' | 'write'>, child: IncidentKey, parentId: string, atMs: number): Promise<{ readonly child: Incident; readonly parent: Incident } | null> {
  const merged = await updateIncident(store, child, (current) => {
    if (current === undefined) return { result: null, write: null };
    const next = applyMerge(current, parentId, atMs);
    return { result: next.mergedInto === parentId ? next : null, write: next === current ? null : next };
  });
  if (merged === null) return null;
  const parent = await updateIncident(store, parseIncidentId(parentId).key, (current) => {
    if (current === undefined || current.id !== parentId) return { result: null, write: null };
    const next = applyCover(current, merged);
    return { result: next, write: next === current ? null : next };
  });
  return parent === null ? null : { child: merged, parent };
}

/**
 * The fold of rate incidents into a root incident, whichever opened first (`incident` just opened,
 * `incidents` its worker's as read after that write):
 * - a symptom incident with a parent that explains it (`symptomParentOf`) merges itself into that parent:
 *   it was opened racing the parent (each side writes, then reads the other), and is not announced;
 * - a root (or HIGH_FAILURE_RATE) incident folds in the unresolved rate incidents it explains
 *   (`foldableInto`): they are resolved as merged, with no RESOLVED message, and it covers them.
 * Returns the opened incident as it now is (covering what it folded in), the incidents it folded in,
 * and whether it was itself merged into another (then it is announced to nobody and starts no recovery).
 *
 * Known limit: when three incidents of a worker open at once (retries, failure rate, root), retries
 * folded into a failure rate that the root folded in a moment before may be left out of the root's
 * count; every link (merged into, covers) and the one incident people see are still right.
 */
export async function foldIntoRoot(
  store: Pick<IncidentStore, 'read' | 'write'>,
  incident: Incident,
  incidents: readonly Incident[],
  atMs: number,
): Promise<{ readonly incident: Incident; readonly mergedInto: Incident | null; readonly folded: readonly Incident[] }> {
  const others = incidents.filter((i) => i.id !== incident.id);
  // As read after the opening write: a concurrent root may have merged it already.
  const self = incidents.find((i) => i.id === incident.id && i.version >= incident.version) ?? incident;
  if (self.mergedInto !== undefined) return { incident: self, mergedInto: others.find((i) => i.id === self.mergedInto) ?? self, folded: [] };
  const parent = self.state === 'RESOLVED' ? null : symptomParentOf(incident.key, atMs, others);
  if (parent !== null) {
    const merged = await recordMerge(store, incident.key, parent.id, atMs);
    if (merged !== null) return { incident: merged.child, mergedInto: merged.parent, folded: [] };
  }
  let root = self;
  const folded: Incident[] = [];
  for (const child of foldableInto(self, others)) {
    const merged = await recordMerge(store, child.key, incident.id, atMs);
    if (merged === null) continue;
    root = merged.parent;
    folded.push(merged.child);
  }
  return { incident: root, mergedInto: null, folded };
}

/** Resolves the key's incident on the evidence, if it still applies (concurrency-safe); null when the key has none. */
export async function recordResolution(store: Pick<IncidentStore, 'read' | 'write'>, key: IncidentKey, evidence: ClearEvidence): Promise<ResolutionOutcome | null> {
  return updateIncident(store, key, (current) => {
    if (current === undefined) return { result: null, write: null };
    const out = applyResolution(current, evidence);
    return { result: out, write: out.kind === 'RESOLVED' ? out.incident : null };
  });
}

/** Records a started recovery on the incident `id` (concurrency-safe); null when the key's latest incident is another one. */
export async function recordRecovery(store: Pick<IncidentStore, 'read' | 'write'>, id: string, recovery: IncidentRecovery): Promise<Incident | null> {
  return updateIncident(store, parseIncidentId(id).key, (current) => {
    if (current === undefined || current.id !== id) return { result: null, write: null };
    const next = applyRecovery(current, recovery);
    return { result: next, write: next === current ? null : next };
  });
}

/** Records a published notification on the incident `id` (concurrency-safe); null when the key's latest incident is another one. */
export async function recordNotified(store: Pick<IncidentStore, 'read' | 'write'>, id: string, transition: IncidentTransition): Promise<Incident | null> {
  return updateIncident(store, parseIncidentId(id).key, (current) => {
    if (current === undefined || current.id !== id) return { result: null, write: null };
    const next = applyNotified(current, transition);
    return { result: next, write: next === current ? null : next };
  });
}

export type IncidentAckOutcome =
  | { readonly status: 'ACKNOWLEDGED' | 'ALREADY_ACKNOWLEDGED'; readonly acknowledgedAt: string }
  | { readonly status: 'NOT_FOUND' };

/**
 * Acknowledges the incident `id` once (concurrency-safe): its escalation stops. NOT_FOUND when the
 * id is not an incident id, or its key's latest incident is another generation.
 */
export async function recordAcknowledgement(store: Pick<IncidentStore, 'read' | 'write'>, id: string, by: string, nowMs: number): Promise<IncidentAckOutcome> {
  let key: IncidentKey;
  try {
    key = parseIncidentId(id).key;
  } catch {
    return { status: 'NOT_FOUND' };
  }
  return updateIncident(store, key, (current): { result: IncidentAckOutcome; write: Incident | null } => {
    if (current === undefined || current.id !== id) return { result: { status: 'NOT_FOUND' }, write: null };
    const out = applyAcknowledgement(current, by, nowMs);
    const acknowledgedAt = out.incident.acknowledgedAt ?? '';
    return { result: { status: out.changed ? 'ACKNOWLEDGED' : 'ALREADY_ACKNOWLEDGED', acknowledgedAt }, write: out.changed ? out.incident : null };
  });
}

/** A 32-hex digest of an incident transition (notification ids). */
export function transitionDigest(id: string, transition: IncidentTransition): string {
  return createHash('sha256').update(JSON.stringify([id, transition])).digest('hex').slice(0, 32);
}

// ---------------------------------------------------------------------------------------------
// Notifications: an incident's OPENED and RESOLVED transitions as alerts

export interface IncidentAlertInput {
  readonly incident: Incident;
  readonly transition: 'OPENED' | 'RESOLVED';
  /** The AWS region of the state machines (console links). */
  readonly region: string;
  /** OPENED: the opening finding's observed value and threshold. */
  readonly observed?: number | string | boolean;
  readonly threshold?: number | string | boolean;
  /** OPENED: the report it was seen in (score card, slot, execution). */
  readonly report?: WorkerScoreReport;
}

/** The id of the alert announcing an incident transition (`buildIncidentAlert`). */
export const transitionAlertId = (id: string, transition: IncidentTransition): string => `alert_${transitionDigest(id, transition)}`;

/**
 * The alert of an incident transition. Its id is the transition's (`alert_` + transitionDigest), so
 * the ALERT claim delivers each transition once, whatever the dedup windows; it is raised when the
 * incident opened (OPENED) or resolved (RESOLVED).
 */
export function buildIncidentAlert(input: IncidentAlertInput): Alert {
  const { incident, transition } = input;
  const resolved = transition === 'RESOLVED';
  if (resolved && incident.resolvedAt === null) throw new InvalidPayloadError(`incident ${incident.id} is not resolved`);
  const raisedAtMs = Date.parse(resolved ? (incident.resolvedAt as string) : incident.firstSeen);
  const base = buildAlert({
    finding: {
      code: incident.key.anomaly,
      severity: incident.severity,
      worker: incident.key.worker,
      detail: resolved ? `resolved: ${incident.resolution ?? 'the condition is gone'}` : incident.detail,
      observed: resolved ? 'resolved' : (input.observed ?? incident.detail),
      threshold: resolved ? '-' : (input.threshold ?? '-'),
    },
    ...(input.report !== undefined && !resolved ? { report: input.report } : {}),
    ...(input.report === undefined && !resolved && incident.openedOn.executionId !== null ? { executionId: incident.openedOn.executionId } : {}),
    region: input.region,
    raisedAtMs,
  });
  const id = transitionAlertId(incident.id, transition);
  return {
    ...base,
    id,
    dedupKey: `${incident.id}#${transition}`,
    windowStart: new Date(raisedAtMs).toISOString(),
    incident: {
      id: incident.id,
      transition,
      state: incident.state,
      rootJob: `${incident.key.worker}.${keyJob(incident.key.job)}`,
      impactedJobs: incident.impactedJobs,
      firstSeen: incident.firstSeen,
      lastSeen: incident.lastSeen,
      count: incident.count,
      durationMs: resolved ? raisedAtMs - Date.parse(incident.firstSeen) : null,
      resolution: resolved ? incident.resolution : null,
      ...((incident.covers ?? []).length > 0 ? { covers: incident.covers ?? [] } : {}),
    },
  };
}
