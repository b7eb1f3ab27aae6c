/**
 * The route table of the API and a pure matcher: method + path -> route and path parameters, or
 * 404 (no such path) / 405 (the path exists, not with this method; `allow` lists its methods).
 */
export const ROUTES = [
  { name: 'listWorkers', method: 'GET', pattern: ['workers'] },
  { name: 'listReports', method: 'GET', pattern: ['workers', ':id', 'reports'] },
  { name: 'triggerWorker', method: 'POST', pattern: ['workers', ':id', 'trigger'] },
  { name: 'putWorkerConfig', method: 'PUT', pattern: ['workers', ':id', 'config'] },
  { name: 'listRuns', method: 'GET', pattern: ['workers', ':id', 'jobs', ':job', 'runs'] },
  { name: 'backfill', method: 'POST', pattern: ['workers', ':id', 'jobs', ':job', 'backfill'] },
  { name: 'listAlerts', method: 'GET', pattern: ['alerts'] },
  { name: 'ackAlert', method: 'POST', pattern: ['alerts', ':id', 'ack'] },
  { name: 'listIncidents', method: 'GET', pattern: ['incidents'] },
  { name: 'ackIncident', method: 'POST', pattern: ['incidents', ':id', 'ack'] },
  { name: 'pause', method: 'POST', pattern: ['orchestrator', 'pause'] },
  { name: 'resume', method: 'POST', pattern: ['orchestrator', 'resume'] },
  { name: 'drain', method: 'POST', pattern: ['orchestrator', 'drain'] },
] as const;

export type RouteName = (typeof ROUTES)[number]['name'];

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: RouteName; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'methodNotAllowed'; readonly allow: readonly string[] };

/** Longest path matched, in characters (longer ones are 404). */
export const MAX_PATH_CHARS = 2048;

function segmentsOf(path: string): string[] | null {
  if (path.length > MAX_PATH_CHARS) return null;
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return [];
  const out: string[] = [];
  for (const raw of trimmed.split('/')) {
    try {
      out.push(decodeURIComponent(raw));
    } catch {
      return null; // malformed percent-encoding
    }
  }
  return out;
}

export function matchRoute(method: string, path: string): RouteMatch {
  const segments = segmentsOf(path);
  if (segments === null) return { kind: 'notFound' };
  const allow: string[] = [];
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const ok = route.pattern.every((part, i) => {
      const seg = segments[i] as string;
      if (part.startsWith(':')) {
        params[part.slice(1)] = seg;
        return seg.length > 0;
      }
      return part === seg;
    });
    if (!ok) continue;
    if (route.method === method.toUpperCase()) return { kind: 'route', route: route.name, params };
    allow.push(route.method);
  }
  return allow.length > 0 ? { kind: 'methodNotAllowed', allow } : { kind: 'notFound' };
}
