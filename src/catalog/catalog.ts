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

/** What an operation does to the ledger of who created which compute (least privilege, issue #7). */
export type OwnershipEffect = 'creates' | 'acts-on-one' | 'deletes' | 'lists' | 'none';
/** Which request-body constraints apply to it. */
export type BodyKind = 'create' | 'upsize' | 'none';
/**
 * When sending it again is safe: a read always; a create when its Idempotency-Key makes the
 * upstream answer a repeat with the first one's compute; anything else never.
 */
export type RetrySafety = 'read' | 'keyed-create' | 'never';

/** What the gateway, the CLI and the sandbox need to know about an operation beyond the document. */
export interface OperationTraits {
  ownership: OwnershipEffect;
  body: BodyKind;
  retry: RetrySafety;
  /** Whether every request leaves an audit record (the writes). */
  audited: boolean;
}

interface OperationEntry extends OperationTraits {
  /** "METHOD template" as in the document, which has no operationIds: we name them here. */
  route: string;
  /** Which of the provider's rate limits it counts against. */
  rateClass: OperationClass;
}

const read = { rateClass: 'read', body: 'none', retry: 'read', audited: false } as const;
const write = { rateClass: 'write', body: 'none', retry: 'never', audited: true } as const;

/**
 * Every operation's traits, next to its route. The rest of the code reads these instead of
 * comparing ids, so a new endpoint is its entry here, the vendored document and a sandbox handler.
 */
const OPERATION_TABLE = {
  'computes.list': { ...read, route: 'GET /computes', ownership: 'lists' },
  'computes.create': { ...write, route: 'POST /computes', ownership: 'creates', body: 'create', retry: 'keyed-create' },
  'computes.get': { ...read, route: 'GET /computes/{id}', ownership: 'acts-on-one' },
  'computes.delete': { ...write, route: 'DELETE /computes/{id}', ownership: 'deletes' },
  'computes.start': { ...write, route: 'POST /computes/{id}/start', ownership: 'acts-on-one' },
  'computes.stop': { ...write, route: 'POST /computes/{id}/stop', ownership: 'acts-on-one' },
  'computes.reboot': { ...write, route: 'POST /computes/{id}/reboot', ownership: 'acts-on-one' },
  'computes.upsize': { ...write, route: 'PATCH /computes/{id}/upsize', ownership: 'acts-on-one', body: 'upsize' },
  'specifications.list': { ...read, route: 'GET /computes/specifications', ownership: 'none' },
  'images.list': { ...read, route: 'GET /images', ownership: 'none' },
  'regions.list': { ...read, route: 'GET /regions', ownership: 'none' },
  health: { ...read, route: 'GET /health', ownership: 'none' },
} as const satisfies Record<OperationId, OperationEntry>;

/** An operation's "METHOD template"; the sandbox, which plays the provider, keys its handlers by these. */
export type RouteKey = (typeof OPERATION_TABLE)[OperationId]['route'];

const ID_BY_ROUTE = new Map<string, OperationId>(OPERATION_IDS.map((id) => [OPERATION_TABLE[id].route, id]));

/** Path parameters are validated before matching; ids are numeric strings ("325"). */
export const PATH_PARAMETER_PATTERNS: Record<string, RegExp> = {
  id: /^[1-9][0-9]{0,18}$/,
};

export interface QueryParameter {
  name: string;
  type: 'integer' | 'string';
  required: boolean;
  /** The document's bounds for an integer (`schema.minimum`/`maximum`), when it declares them. */
  minimum?: number;
  maximum?: number;
  /** The document's allowed values (`schema.enum`), when it declares them. */
  enum?: readonly string[];
}

export type TemplateSegment = { kind: 'literal'; value: string } | { kind: 'param'; name: string; pattern: RegExp };

export interface Operation {
  id: OperationId;
  /** "METHOD template", e.g. `POST /computes/{id}/start`. */
  route: RouteKey;
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
  /**
   * The top-level properties the document's requestBody schema declares (`application/json`),
   * exactly as spelled there; empty when the operation takes no body. The gateway forwards no other.
   */
  bodyProperties: readonly string[];
  summary: string;
  traits: OperationTraits;
}

interface RawParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { type?: string; minimum?: unknown; maximum?: unknown; enum?: unknown };
}

interface RawSchema {
  $ref?: string;
  type?: string;
  properties?: Record<string, unknown>;
}

interface RawOperation {
  summary?: string;
  security?: unknown[];
  parameters?: RawParameter[];
  requestBody?: { content?: Record<string, { schema?: RawSchema }> };
}

/**
 * The properties of an operation's JSON request body, from its schema (following one local `$ref`).
 * A body the gateway cannot describe is a catalog error: it would otherwise forward unchecked keys.
 */
function bodyPropertiesOf(where: string, requestBody: RawOperation['requestBody']): readonly string[] {
  if (requestBody === undefined) return Object.freeze([]);
  let schema = requestBody.content?.['application/json']?.schema;
  const ref = schema?.$ref;
  if (ref !== undefined) {
    const name = /^#\/components\/schemas\/([^/]+)$/.exec(ref)?.[1];
    const schemas = openapi.components.schemas as unknown as Record<string, RawSchema>;
    schema = name !== undefined && Object.hasOwn(schemas, name) ? schemas[name] : undefined;
  }
  if (schema?.type !== 'object' || schema.properties === undefined)
    throw new Error(`catalog: ${where} has a request body without an application/json object schema`);
  return Object.freeze(Object.keys(schema.properties));
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

/**
 * A query parameter with the bounds its schema declares. The target check enforces them, so a
 * bound the check could not honour (a fractional or inverted integer bound, a non-string enum
 * value) stops the catalog from loading instead of being ignored.
 */
function readQueryParameter(raw: RawParameter, id: OperationId): QueryParameter {
  const where = `catalog: ${id} query parameter ${raw.name}`;
  const schema = raw.schema ?? {};
  const type = schema.type === 'integer' ? 'integer' : 'string';
  const bound = (name: 'minimum' | 'maximum'): number | undefined => {
    const value = schema[name];
    if (value === undefined) return undefined;
    if (type !== 'integer' || !Number.isSafeInteger(value)) throw new Error(`${where}: ${name} must be a whole number`);
    return value as number;
  };
  const minimum = bound('minimum');
  const maximum = bound('maximum');
  if (minimum !== undefined && maximum !== undefined && minimum > maximum)
    throw new Error(`${where}: minimum is above maximum`);
  let values: readonly string[] | undefined;
  if (schema.enum !== undefined) {
    if (type !== 'string' || !Array.isArray(schema.enum) || !schema.enum.every((v) => typeof v === 'string'))
      throw new Error(`${where}: enum must list strings`);
    values = Object.freeze([...(schema.enum as string[])]);
  }
  return Object.freeze({
    name: raw.name,
    type,
    required: raw.required === true,
    ...(minimum !== undefined ? { minimum } : {}),
    ...(maximum !== undefined ? { maximum } : {}),
    ...(values !== undefined ? { enum: values } : {}),
  });
}

function buildCatalog(): readonly Operation[] {
  const operations: Operation[] = [];
  const paths = openapi.paths as unknown as Record<string, Record<string, RawOperation>>;
  for (const [pathTemplate, methods] of Object.entries(paths)) {
    for (const [lowerMethod, raw] of Object.entries(methods)) {
      const method = lowerMethod.toUpperCase() as HttpMethod;
      const id = ID_BY_ROUTE.get(`${method} ${pathTemplate}`);
      if (!id) throw new Error(`catalog: no stable id for ${method} ${pathTemplate}`);
      const { route, rateClass, ...traits } = OPERATION_TABLE[id];
      // Declared, and held to the method: a GET counted as a write (or the reverse) would mislead the schedule.
      if (rateClass !== (method === 'GET' ? 'read' : 'write'))
        throw new Error(`catalog: ${id} is a ${method} but declared ${rateClass}`);
      const parameters = raw.parameters ?? [];
      operations.push(
        Object.freeze({
          id,
          route,
          method,
          pathTemplate,
          segments: Object.freeze(parseTemplate(pathTemplate)),
          class: rateClass,
          requiresAuth: Array.isArray(raw.security) && raw.security.length > 0,
          queryParameters: Object.freeze(
            parameters.filter((p) => p.in === 'query').map((p) => readQueryParameter(p, id)),
          ),
          headerParameters: Object.freeze(
            parameters.filter((p) => p.in === 'header').map((p) => ({ name: p.name, required: p.required === true })),
          ),
          hasRequestBody: raw.requestBody !== undefined,
          bodyProperties: bodyPropertiesOf(`${method} ${pathTemplate}`, raw.requestBody),
          summary: raw.summary ?? id,
          traits: Object.freeze({ ...traits }),
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

/** The upstream's own health check: no key, no slot; the gateway warms its connections with it. */
export const HEALTH_CHECK: Operation = operationById('health');

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
