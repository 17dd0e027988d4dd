/**
 * The contract: every response the sandbox gives is checked against the vendored OpenAPI
 * document with ajv (2020-12 dialect, as OpenAPI 3.1 uses). The document's schemas are lax (no
 * `required`, open objects), so each is also checked in a tightened form: every documented
 * property required and no undocumented property allowed, at any depth. Error codes must be among
 * the "Possible codes" the document lists for that operation and status, except for the listed,
 * reasoned deviations.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import openapi from '../../../../src/catalog/strettch-openapi.json';
import { API_BASE_PATH, matchRoute, type OperationId } from '../../../../src/catalog/catalog';

type Json = unknown;
type SchemaObject = Record<string, unknown>;

const COMPONENTS = openapi.components.schemas as unknown as Record<string, SchemaObject>;

/** Codes the sandbox answers beyond the document's lists, each with its reason. */
export const CODE_DEVIATIONS: Partial<Record<OperationId, Record<number, Record<string, string>>>> = {
  'computes.upsize': {
    400: {
      VALIDATION_ERROR: 'missing/unknown newSpecification or not strictly larger (the issue asks for VALIDATION_ERROR)',
      MALFORMED_JSON: 'unparseable body, as on create',
      COMPUTE_RUNNING: 'listed on the upsize page (endpoints.json), not in the OpenAPI file',
    },
  },
};

function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Inlines `#/components/schemas/X` references (the document has no cycles). */
export function inlineRefs(node: Json): Json {
  if (Array.isArray(node)) return node.map(inlineRefs);
  if (!isObject(node)) return node;
  if (typeof node.$ref === 'string') {
    const name = /^#\/components\/schemas\/(\w+)$/.exec(node.$ref)?.[1];
    const target = name ? COMPONENTS[name] : undefined;
    if (!target) throw new Error(`contract: cannot resolve ${node.$ref}`);
    return inlineRefs(target);
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, inlineRefs(v)]));
}

/** Every documented property required; nothing undocumented (allOf-aware via unevaluatedProperties). */
export function tighten(node: Json, inAllOf = false): Json {
  if (!isObject(node)) return node;
  const out: SchemaObject = { ...node };
  if (Array.isArray(out.allOf)) {
    out.allOf = out.allOf.map((branch) => tighten(branch, true));
    if (!inAllOf) {
      out.type = 'object';
      out.unevaluatedProperties = false;
    }
  }
  if (isObject(out.properties)) {
    const properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, tighten(v)]));
    out.properties = properties;
    out.required = [...new Set([...((out.required as string[] | undefined) ?? []), ...Object.keys(properties)])];
    if (!inAllOf && !Array.isArray(out.allOf)) out.additionalProperties = false;
  }
  if (out.items !== undefined) out.items = tighten(out.items);
  return out;
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addKeyword('example');
const compiled = new Map<string, { lax: ValidateFunction; tight: ValidateFunction }>();

function validators(id: string, schema: Json): { lax: ValidateFunction; tight: ValidateFunction } {
  let pair = compiled.get(id);
  if (!pair) {
    const inlined = inlineRefs(schema);
    pair = { lax: ajv.compile(inlined as SchemaObject), tight: ajv.compile(tighten(inlined) as SchemaObject) };
    compiled.set(id, pair);
  }
  return pair;
}

interface DocResponse {
  description?: string;
  content?: { 'application/json'?: { schema?: Json } };
}

function documentedResponse(
  operationId: OperationId | undefined,
  status: number,
): { response?: DocResponse; path?: string; method?: string } {
  if (!operationId) return {};
  const result = matchOperation(operationId);
  const responses = (
    openapi.paths as unknown as Record<string, Record<string, { responses: Record<string, DocResponse> }>>
  )[result.path]![result.method]!.responses;
  return { response: responses[String(status)], ...result };
}

function matchOperation(operationId: OperationId): { path: string; method: string } {
  const paths = openapi.paths as unknown as Record<string, Record<string, unknown>>;
  for (const [path, methods] of Object.entries(paths)) {
    for (const method of Object.keys(methods)) {
      const segments = path
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith('{') ? '1' : s));
      const found = matchRoute(method.toUpperCase(), segments);
      if (found.kind === 'match' && found.match.operation.id === operationId) return { path, method };
    }
  }
  throw new Error(`contract: no document entry for ${operationId}`);
}

/** The documented codes for a response, from "Possible codes: A, B" in its description. */
export function documentedCodes(description: string | undefined): string[] | undefined {
  const match = /Possible codes:\s*(.+)$/.exec(description ?? '');
  return match ? match[1]!.split(',').map((c) => c.trim()) : undefined;
}

export function operationFor(method: string, pathWithoutQuery: string): OperationId | undefined {
  if (!pathWithoutQuery.startsWith(`${API_BASE_PATH}/`)) return undefined;
  const segments = pathWithoutQuery.slice(API_BASE_PATH.length).split('/').slice(1).map(decodeURIComponent);
  const found = matchRoute(method, segments);
  return found.kind === 'match' ? found.match.operation.id : undefined;
}

export interface CheckedResponse {
  operationId?: OperationId;
  status: number;
  body: Json;
  requestIdHeader: string | null;
  contentType: string | null;
  replayed: boolean;
}

/** Problems with one API response; empty when it honours the contract. */
export function contractProblems(
  method: string,
  pathWithoutQuery: string,
  response: Omit<CheckedResponse, 'operationId'>,
): string[] {
  const problems: string[] = [];
  const operationId = operationFor(method, pathWithoutQuery);
  const { status, body } = response;
  const isError = status >= 400;
  if (!response.contentType?.startsWith('application/json')) problems.push(`content-type ${response.contentType}`);
  if (!isObject(body)) return [...problems, 'body is not a JSON object'];
  if (body.success !== !isError) problems.push(`success is ${String(body.success)} with status ${status}`);
  if (typeof body.timestamp !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(body.timestamp))
    problems.push('timestamp format');
  // A replay is the original body, original requestId included.
  if (!response.replayed && body.requestId !== response.requestIdHeader)
    problems.push('requestId differs from the X-Request-Id header');

  const doc = documentedResponse(operationId, status);
  let schemaId: string;
  let schema: Json;
  if (doc.response?.content?.['application/json']?.schema) {
    schemaId = `${operationId} ${status}`;
    schema = doc.response.content['application/json'].schema;
  } else if (isError) {
    // Statuses the document does not list for this operation (409, 422, 429...) still use ErrorResponse.
    schemaId = 'ErrorResponse';
    schema = { $ref: '#/components/schemas/ErrorResponse' };
  } else {
    return [...problems, `undocumented success status ${status} for ${operationId ?? `${method} ${pathWithoutQuery}`}`];
  }
  const { lax, tight } = validators(schemaId, schema);
  if (!lax(body)) problems.push(`schema ${schemaId}: ${ajv.errorsText(lax.errors)}`);
  if (!tight(body)) problems.push(`tightened schema ${schemaId}: ${ajv.errorsText(tight.errors)}`);

  if (isError && operationId) {
    const listed = documentedCodes(doc.response?.description);
    const allowed = [...(listed ?? []), ...Object.keys(CODE_DEVIATIONS[operationId]?.[status] ?? {})];
    if (listed && !allowed.includes(String(body.code)))
      problems.push(`code ${String(body.code)} not documented for ${operationId} ${status} (${allowed.join(', ')})`);
  }
  return problems;
}
