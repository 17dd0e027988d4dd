/**
 * Splits the request target (exactly as on the request line) into the API path segments, a
 * referee path or neither. Segments are percent-decoded one by one and never normalised, so
 * `/computes/../health` is simply not a route.
 */
export type Target =
  | { kind: 'api'; segments: string[]; query: URLSearchParams }
  | { kind: 'referee'; path: string; query: URLSearchParams }
  | { kind: 'undecodable' }
  | { kind: 'other' };

export const REFEREE_BASE_PATH = '/_sandbox';

export function parseTarget(rawTarget: string, apiBasePath: string): Target {
  // Absolute-form and asterisk-form targets name no resource of ours.
  if (!rawTarget.startsWith('/')) return { kind: 'other' };
  const queryAt = rawTarget.indexOf('?');
  const path = queryAt === -1 ? rawTarget : rawTarget.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : rawTarget.slice(queryAt + 1));
  if (path === REFEREE_BASE_PATH || path.startsWith(`${REFEREE_BASE_PATH}/`)) return { kind: 'referee', path, query };
  if (path !== apiBasePath && !path.startsWith(`${apiBasePath}/`)) return { kind: 'other' };
  const rest = path.slice(apiBasePath.length);
  const segments: string[] = [];
  for (const raw of rest === '' ? [] : rest.split('/').slice(1)) {
    try {
      segments.push(decodeURIComponent(raw));
    } catch {
      return { kind: 'undecodable' };
    }
  }
  return { kind: 'api', segments, query };
}
