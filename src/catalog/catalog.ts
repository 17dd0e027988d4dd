/**
 * The route catalog: the provider's operations, read from the vendored OpenAPI document and given
 * stable ids and a rate class. Both the sandbox and the gateway route through it, so neither can
 * drift from the document.
 */
import openapi from './strettch-openapi.json';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type OperationClass = 'read' | 'write';

export const OPERATION_IDS = [
  'computes.list',
  'computes.create',
  'computes.get',
  'computes.delete',
  'computes.start',
  'computes.stop',
  'computes.reboot',
  'computes.upsize',
  'specifications.list',
  'images.list',
  'regions.list',
  'health',
] as const;
export type OperationId = (typeof OPERATION_IDS)[number];

/** Where the provider serves the document's paths (`servers[0].url`). */
export const API_BASE_PATH = new URL(openapi.servers[0]!.url).pathname;

/** Stable ids by "METHOD template". The document has no operationIds, so we name them here. */
const IDS_BY_ROUTE: Record<string, OperationId> = {
  'GET /computes': 'computes.list',
  'POST /computes': 'computes.create',
  'GET /computes/{id}': 'computes.get',
  'DELETE /computes/{id}': 'computes.delete',
  'POST /computes/{id}/start': 'computes.start',
  'POST /computes/{id}/stop': 'computes.stop',
  'POST /computes/{id}/reboot': 'computes.reboot',
  'PATCH /computes/{id}/upsize': 'computes.upsize',
  'GET /computes/specifications': 'specifications.list',
  'GET /images': 'images.list',
  'GET /regions': 'regions.list',
  'GET /health': 'health',
};

/** Path parameters are validated before matching; ids are numeric strings ("325"). */
export const PATH_PARAMETER_PATTERNS: Record<string, RegExp> = {
  id: /^[1-9][0-9]{0,18}$/,
};

export interface QueryParameter {
  name: string;
  type: 'integer' | 'string';
  required: boolean;
}

export type TemplateSegment = { kind: 'literal'; value: string } | { kind: 'param'; name: string; pattern: RegExp };

export interface Operation {
  id: OperationId;
  method: HttpMethod;
  /** The document's path, e.g. `/computes/{id}/start` (without the base path). */
  pathTemplate: string;
  segments: readonly TemplateSegment[];
  class: OperationClass;
  /** False only where the document declares no security (`/health`). */
  requiresAuth: boolean;
  queryParameters: readonly QueryParameter[];
  /** Header parameters the document declares, e.g. `Idempotency-Key`. */
  headerParameters: readonly { name: string; required: boolean }[];
  hasRequestBody: boolean;
  summary: string;
}

interface RawParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { type?: string };
}

interface RawOperation {
  summary?: string;
  security?: unknown[];
  parameters?: RawParameter[];
  requestBody?: unknown;
}

function parseTemplate(pathTemplate: string): TemplateSegment[] {
  return pathTemplate
    .split('/')
    .slice(1)
    .map((part): TemplateSegment => {
      const param = /^\{(\w+)\}$/.exec(part);
      if (!param) return { kind: 'literal', value: part };
      const name = param[1]!;
      const pattern = PATH_PARAMETER_PATTERNS[name];
      if (!pattern) throw new Error(`catalog: no pattern for path parameter {${name}} in ${pathTemplate}`);
      return { kind: 'param', name, pattern };
    });
}

function buildCatalog(): readonly Operation[] {
  const operations: Operation[] = [];
  const paths = openapi.paths as unknown as Record<string, Record<string, RawOperation>>;
  for (const [pathTemplate, methods] of Object.entries(paths)) {
    for (const [lowerMethod, raw] of Object.entries(methods)) {
      const method = lowerMethod.toUpperCase() as HttpMethod;
      const id = IDS_BY_ROUTE[`${method} ${pathTemplate}`];
      if (!id) throw new Error(`catalog: no stable id for ${method} ${pathTemplate}`);
      const parameters = raw.parameters ?? [];
      operations.push(
        Object.freeze({
          id,
          method,
          pathTemplate,
          segments: Object.freeze(parseTemplate(pathTemplate)),
          // Reads are GETs; every other method changes state and is a write.
          class: method === 'GET' ? 'read' : 'write',
          requiresAuth: Array.isArray(raw.security) && raw.security.length > 0,
          queryParameters: Object.freeze(
            parameters
              .filter((p) => p.in === 'query')
              .map(
                (p) =>
                  ({
                    name: p.name,
                    type: p.schema?.type === 'integer' ? 'integer' : 'string',
                    required: p.required === true,
                  }) as const,
              ),
          ),
          headerParameters: Object.freeze(
            parameters.filter((p) => p.in === 'header').map((p) => ({ name: p.name, required: p.required === true })),
          ),
          hasRequestBody: raw.requestBody !== undefined,
          summary: raw.summary ?? id,
        }),
      );
    }
  }
  const missing = OPERATION_IDS.filter((id) => !operations.some((op) => op.id === id));
  if (missing.length > 0) throw new Error(`catalog: the document lacks ${missing.join(', ')}`);
  return Object.freeze(operations);
}

export const CATALOG: readonly Operation[] = buildCatalog();

export function operationById(id: OperationId): Operation {
  const operation = CATALOG.find((op) => op.id === id);
  if (!operation) throw new Error(`catalog: unknown operation ${id}`);
  return operation;
}

export interface RouteMatch {
  operation: Operation;
  params: Record<string, string>;
}

export type RouteLookup =
  | { kind: 'match'; match: RouteMatch }
  /** The path exists for another method. */
  | { kind: 'method-not-allowed'; allowed: HttpMethod[] }
  | { kind: 'no-route' }
  /** The path has the shape of a route but a parameter breaks its pattern. */
  | { kind: 'bad-parameter'; name: string };

/**
 * Matches already-validated, already-decoded path segments (below the base path) against the
 * catalog. Literal segments win over parameters, so `/computes/specifications` is never an id.
 */
export function matchRoute(method: string, segments: readonly string[]): RouteLookup {
  let badParameter: string | undefined;
  const allowed: HttpMethod[] = [];
  let best: { match: RouteMatch; literals: number } | undefined;
  for (const operation of CATALOG) {
    if (operation.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let literals = 0;
    let fits = true;
    for (let i = 0; i < segments.length && fits; i++) {
      const template = operation.segments[i]!;
      const actual = segments[i]!;
      if (template.kind === 'literal') {
        fits = template.value === actual;
        literals++;
      } else if (template.pattern.test(actual)) {
        params[template.name] = actual;
      } else {
        fits = false;
        // Remember it only when every literal around it matched; decided below.
        if (operation.segments.every((s, j) => s.kind !== 'literal' || s.value === segments[j]))
          badParameter = template.name;
      }
    }
    if (!fits) continue;
    if (operation.method !== method) {
      if (!allowed.includes(operation.method)) allowed.push(operation.method);
      continue;
    }
    if (!best || literals > best.literals) best = { match: { operation, params }, literals };
  }
  if (best) return { kind: 'match', match: best.match };
  if (allowed.length > 0) return { kind: 'method-not-allowed', allowed };
  if (badParameter) return { kind: 'bad-parameter', name: badParameter };
  return { kind: 'no-route' };
}
