/**
 * An incident as the API lists it and the page shows it: who it is about, where it stands for an
 * operator (OPEN, ACKNOWLEDGED, RESOLVED), its symptoms (the opening and the latest detail, how
 * often it was seen, the jobs it blocked, the recoveries tried) and, for a missed run, the backfill
 * it offers. Pure: the API reads the incidents (lambdas/api/app.ts), this module shapes them.
 */
import type { WorkerSpec } from '../registry/types.js';
import { backfillOffer, jobLookup, type BackfillOffer } from './backfill-offer.js';
import type { Incident, IncidentState } from './incident.js';

/** What an operator needs to know first: is anyone on it, is it over. */
export const INCIDENT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** The two listings of GET /incidents: unresolved ones (open or acknowledged), and resolved ones. */
export const INCIDENT_LISTINGS = ['open', 'resolved'] as const;
export type IncidentListing = (typeof INCIDENT_LISTINGS)[number];

export interface IncidentView {
  readonly id: string;
  readonly worker: string;
  /** The root-cause job, or null for a worker-wide condition. */
  readonly job: string | null;
  readonly anomaly: string;
  readonly severity: string;
  readonly status: IncidentStatus;
  /** The lifecycle state (OPEN, RECOVERING, ESCALATED, RESOLVED). */
  readonly state: IncidentState;
  readonly generation: number;
  /** ISO-8601. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** How long it has lasted (until resolved, else until `nowMs`), in ms. */
  readonly durationMs: number;
  readonly symptoms: {
    /** The opening detection's detail. */
    readonly detail: string;
    /** The latest detection's detail. */
    readonly lastDetail: string;
    /** Distinct detections counted. */
    readonly count: number;
    /** Where it was seen: `report` and/or `health`. */
    readonly sources: readonly string[];
    /** `<worker>.<job>` of the jobs it blocked. */
    readonly impactedJobs: readonly string[];
    /** The run it was first seen on. */
    readonly seenOn: Incident['openedOn'];
  };
  readonly recoveries: readonly { readonly name: string; readonly on: string; readonly actions: readonly string[]; readonly startedAt: string }[];
  /** Escalation steps paged. */
  readonly pages: number;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedAt: string | null;
  readonly resolution: string | null;
  /** The incident it was folded into (resolved as merged: a symptom of that one); null otherwise. */
  readonly mergedInto: string | null;
  /** The incidents folded into it (its worker's rate incidents opened before it), sorted. */
  readonly covers: readonly string[];
  /** Whether POST /incidents/{id}/ack would still change it (unresolved, not acknowledged). */
  readonly ackable: boolean;
  /** The backfill a missed run offers; null otherwise. */
  readonly backfill: BackfillOffer | null;
}

export function incidentStatus(incident: Pick<Incident, 'state' | 'acknowledgedAt'>): IncidentStatus {
  if (incident.state === 'RESOLVED') return 'RESOLVED';
  return incident.acknowledgedAt !== null ? 'ACKNOWLEDGED' : 'OPEN';
}

export function incidentView(incident: Incident, workers: readonly WorkerSpec[], nowMs: number): IncidentView {
  const status = incidentStatus(incident);
  const endMs = incident.resolvedAt !== null ? Date.parse(incident.resolvedAt) : nowMs;
  return {
    id: incident.id,
    worker: incident.key.worker,
    job: incident.key.job,
    anomaly: incident.key.anomaly,
    severity: incident.severity,
    status,
    state: incident.state,
    generation: incident.generation,
    firstSeen: incident.firstSeen,
    lastSeen: incident.lastSeen,
    durationMs: Math.max(0, endMs - Date.parse(incident.firstSeen)),
    symptoms: {
      detail: incident.detail,
      lastDetail: incident.lastDetail,
      count: incident.count,
      sources: incident.sources,
      impactedJobs: incident.impactedJobs,
      seenOn: incident.openedOn,
    },
    recoveries: incident.recoveries.map((r) => ({ name: r.name, on: `${r.worker}.${r.job}`, actions: r.actions, startedAt: r.startedAt })),
    pages: incident.pages.length,
    acknowledgedAt: incident.acknowledgedAt,
    acknowledgedBy: incident.acknowledgedBy,
    resolvedAt: incident.resolvedAt,
    resolution: incident.resolution,
    mergedInto: incident.mergedInto ?? null,
    covers: incident.covers ?? [],
    ackable: status === 'OPEN',
    backfill: backfillOffer(incident, jobLookup(workers)),
  };
}
