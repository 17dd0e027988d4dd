/**
 * The twelve operations, behind the pipeline (request id, routing, auth, rate limit, role, faults
 * are done by then). Each returns a value: a finished JSON response or an ApiError. The sandbox
 * plays the provider, so it knows operations by the document's routes ("METHOD template"), not by
 * the gateway's ids; the compiler holds the table complete against the catalog.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteKey } from '../catalog/catalog';
import { successEnvelope, type PaginationMeta } from '../shared/envelope';
import type { ComputeStore } from './computes';
import { apiError, type ApiError } from './errors';
import { bodyFingerprint, isUuidV4, type IdempotencyStore } from './idempotency';
import type { AuthenticatedKey } from './keys';
import type { PowerAction } from './lifecycle';
import { HEALTH, IMAGES, REGIONS, SPECIFICATIONS } from './reference-data';
import {
  checkCreateBody,
  checkPagination,
  checkUpsizeBody,
  isJsonContentType,
  parseJsonObject,
  type Checked,
} from './validation';

export interface OperationContext {
  /** Null only for operations that need no key (`/health`). */
  key: AuthenticatedKey | null;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  nowMs: number;
  requestId: string;
}

export interface JsonResponse {
  kind: 'response';
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Set when a create was performed, with its idempotency key (the referee counts these). */
  createdUnder?: string;
}

export type OperationOutcome = JsonResponse | ApiError;
export type OperationHandler = (ctx: OperationContext) => OperationOutcome;

export interface OperationDeps {
  computes: ComputeStore;
  idempotency: IdempotencyStore;
}

export function createOperations({ computes, idempotency }: OperationDeps): Record<RouteKey, OperationHandler> {
  const powerAction =
    (action: PowerAction, message: string): OperationHandler =>
    (ctx) => {
      const id = ctx.params.id!;
      const result = computes.act(team(ctx), id, action, ctx.nowMs);
      if (result.kind === 'not-found') return computeNotFound(id);
      if (result.kind === 'wrong-state') {
        return apiError(
          'CONFLICT',
          `Compute ${id} is ${result.state}; ${action} needs ${result.allowedFrom.join(' or ')}.`,
        );
      }
      return respond(ctx, 202, message, result.compute);
    };

  return {
    'GET /computes': (ctx) => {
      const pagination = checkPagination(ctx.query);
      if (!pagination.ok) return apiError('VALIDATION_ERROR', pagination.message);
      const { page, limit } = pagination.value;
      const { items, total } = computes.list(team(ctx), ctx.nowMs, page, limit);
      return respond(ctx, 200, 'Computes retrieved successfully', items, { total, page, limit });
    },

    'POST /computes': (ctx) => {
      const idempotencyKey = headerValue(ctx.headers['idempotency-key']);
      if (idempotencyKey === undefined)
        return apiError('INVALID_IDEMPOTENCY_KEY', 'The Idempotency-Key header is required (a UUID v4).');
      if (!isUuidV4(idempotencyKey))
        return apiError('INVALID_IDEMPOTENCY_KEY', 'The Idempotency-Key header must be a UUID v4.');
      const body = jsonBody(ctx);
      if (body.kind === 'error') return body;
      const fingerprint = bodyFingerprint(body.value);
      const key = requireKey(ctx);
      const previous = idempotency.lookup(key.id, idempotencyKey, fingerprint);
      if (previous.kind === 'replay') {
        // The provider's rule: a replay answers 202 with the original response.
        return { kind: 'response', status: 202, body: previous.body, headers: { 'idempotent-replayed': 'true' } };
      }
      if (previous.kind === 'mismatch') {
        return apiError('UNPROCESSABLE_ENTITY', 'This Idempotency-Key was already used with a different request body.');
      }
      const input = checkCreateBody(body.value);
      if (!input.ok) return apiError('VALIDATION_ERROR', input.message);
      const compute = computes.create(key.team, input.value, ctx.nowMs);
      const response = respond(ctx, 202, 'Compute creation started', compute);
      idempotency.remember(key.id, idempotencyKey, { fingerprint, body: response.body });
      return { ...response, createdUnder: idempotencyKey };
    },

    'GET /computes/{id}': (ctx) => {
      const compute = computes.get(team(ctx), ctx.params.id!, ctx.nowMs);
      return compute ? respond(ctx, 200, 'Compute retrieved successfully', compute) : computeNotFound(ctx.params.id!);
    },

    'DELETE /computes/{id}': powerAction('delete', 'Compute deletion started'),
    'POST /computes/{id}/start': powerAction('start', 'Compute start initiated'),
    'POST /computes/{id}/stop': powerAction('stop', 'Compute stop initiated'),
    'POST /computes/{id}/reboot': powerAction('reboot', 'Compute reboot initiated'),

    'PATCH /computes/{id}/upsize': (ctx) => {
      const body = jsonBody(ctx);
      if (body.kind === 'error') return body;
      const input = checkUpsizeBody(body.value);
      if (!input.ok) return apiError('VALIDATION_ERROR', input.message);
      const id = ctx.params.id!;
      const result = computes.upsize(team(ctx), id, input.value.newSpecification, ctx.nowMs);
      switch (result.kind) {
        case 'not-found':
          return computeNotFound(id);
        case 'gone':
          return apiError('CONFLICT', `Compute ${id} is ${result.state}.`);
        case 'not-stopped':
          return apiError('COMPUTE_RUNNING', `Compute ${id} is ${result.state}; stop it before upsizing.`);
        case 'not-larger':
          return apiError(
            'VALIDATION_ERROR',
            `newSpecification: ${result.to} is not larger than ${result.from}; upsize only goes up.`,
          );
        case 'accepted':
          return respond(ctx, 202, 'Compute upsize accepted', result.compute);
      }
    },

    'GET /computes/specifications': (ctx) => {
      // Not declared for this endpoint, but its response is paginated, so page/limit behave as on /computes.
      const pagination = checkPagination(ctx.query);
      if (!pagination.ok) return apiError('VALIDATION_ERROR', pagination.message);
      const { page, limit } = pagination.value;
      const items = SPECIFICATIONS.slice((page - 1) * limit, page * limit);
      return respond(ctx, 200, 'Specifications retrieved successfully', items, {
        total: SPECIFICATIONS.length,
        page,
        limit,
      });
    },

    'GET /images': (ctx) => respond(ctx, 200, 'Images retrieved successfully', IMAGES),
    'GET /regions': (ctx) => respond(ctx, 200, 'Regions retrieved successfully', REGIONS),
    'GET /health': (ctx) => respond(ctx, 200, 'Service is healthy', HEALTH),
  };
}

function respond(
  ctx: OperationContext,
  status: number,
  message: string,
  data: unknown,
  meta?: PaginationMeta,
): JsonResponse {
  const body = JSON.stringify(successEnvelope(message, data, ctx.requestId, meta, new Date(ctx.nowMs)));
  return { kind: 'response', status, body, headers: {} };
}

function computeNotFound(id: string): ApiError {
  return apiError('RESOURCE_NOT_FOUND', `Compute ${id} was not found.`);
}

function requireKey(ctx: OperationContext): AuthenticatedKey {
  if (!ctx.key) throw new Error('operations: an authenticated operation ran without a key');
  return ctx.key;
}

function team(ctx: OperationContext): string {
  return requireKey(ctx).team;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Content-Type first, then the bytes: wrong type is BAD_REQUEST, unreadable bytes MALFORMED_JSON. */
function jsonBody(ctx: OperationContext): ApiError | { kind: 'ok'; value: Record<string, unknown> } {
  if (!isJsonContentType(headerValue(ctx.headers['content-type']))) {
    return apiError('BAD_REQUEST', 'Content-Type must be application/json.');
  }
  const parsed: Checked<Record<string, unknown>> = parseJsonObject(ctx.body);
  return parsed.ok
    ? { kind: 'ok', value: parsed.value }
    : apiError('MALFORMED_JSON', `Malformed JSON: ${parsed.message}.`);
}
