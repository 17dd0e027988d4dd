/**
 * The request path of the API, in one natural order:
 *   request id → body (size limit) → route → key → rate limit → role → fault → operation.
 * Unknown routes are answered before authentication; rate limiting needs a key, so it follows
 * authentication and precedes everything the operation checks (validation, existence, state).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../gateway/observability/logger';
import { matchRoute, type OperationId, type RouteKey } from '../catalog/catalog';
import { envelopeTimestamp } from '../shared/envelope';
import { requestIdFrom } from '../shared/request-id';
import { readBody } from './body';
import type { Delays } from './delays';
import { describeBody, describeRequest } from './describe-request';
import { apiError, type ApiError } from './errors';
import { planResponse, type FaultControl, type ResponsePlan } from './faults';
import type { AuthenticatedKey, KeyRing } from './keys';
import type { OperationHandler } from './operations';
import type { Clock, SandboxSettings } from './options';
import { rateLimitHeaders, type RateLimiter } from './rate-limit';
import type { RandomSource } from './random';
import type { Referee } from './referee';
import { errorBody, writeJson } from './respond';

export interface ApiDeps {
  settings: SandboxSettings;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  keyRing: KeyRing;
  limiter: RateLimiter;
  referee: Referee;
  faults: FaultControl;
  operations: Record<RouteKey, OperationHandler>;
  delays: Delays;
}

export type ApiHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  target: { raw: string; segments: string[]; query: URLSearchParams },
) => Promise<void>;

export function createApiHandler(deps: ApiDeps): ApiHandler {
  const { settings, clock, random, logger, keyRing, limiter, referee, faults, operations, delays } = deps;

  return async (req, res, target) => {
    const method = req.method ?? '';
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const recorded = describeRequest(
      { method, target: target.raw, rawHeaders: req.rawHeaders, receivedAt: envelopeTimestamp(new Date(clock.now())) },
      keyRing,
    );
    referee.received(recorded);
    // Filled in as the request gets further; the response log reports what was known.
    let operationId: OperationId | undefined = undefined;
    let key: AuthenticatedKey | undefined;

    const send = (status: number, body: string, headers: Record<string, string>, plan: ResponsePlan): void => {
      delays.after(plan.delayMs, () => {
        const log = { requestId, method, operation: operationId, key: key?.label, status, delayMs: plan.delayMs };
        if (plan.drop) {
          logger.info({ ...log, fault: 'drop' }, 'sandbox request dropped');
          req.socket.destroy();
          return;
        }
        writeJson(res, status, body, { ...headers, 'x-request-id': requestId });
        logger.info(log, 'sandbox request');
      });
    };
    const sendError = (error: ApiError, headers: Record<string, string> = {}, plan?: ResponsePlan): void => {
      const chosen = plan ?? planResponse(faults.get(), random, false);
      send(error.status, errorBody(error, requestId, clock.now()), { ...headers, ...error.headers }, chosen);
    };

    const read = await readBody(req, settings.bodyLimitBytes);
    if (read.kind === 'aborted') return;
    // Recorded before anything can refuse the request, so a test sees every body that arrived.
    if (read.kind === 'read') recorded.bodyBase64 = describeBody(read.bytes, keyRing);
    if (read.kind === 'too-large') {
      sendError(apiError('PAYLOAD_TOO_LARGE', `The request body exceeds ${settings.bodyLimitBytes} bytes.`), {
        connection: 'close',
      });
      return;
    }

    // An empty segment (trailing or doubled slash) names no route, rather than an empty id.
    const lookup = target.segments.includes('') ? ({ kind: 'no-route' } as const) : matchRoute(method, target.segments);
    if (lookup.kind === 'no-route') return sendError(apiError('NOT_FOUND', 'No such route.'));
    if (lookup.kind === 'bad-parameter')
      return sendError(apiError('RESOURCE_NOT_FOUND', `No resource has this ${lookup.name}.`));
    if (lookup.kind === 'method-not-allowed') {
      return sendError(
        apiError('METHOD_NOT_ALLOWED', `Method ${method} is not allowed here.`, { allow: lookup.allowed.join(', ') }),
      );
    }
    const { operation, params } = lookup.match;
    operationId = operation.id;

    let rateHeaders: Record<string, string> = {};
    if (operation.requiresAuth) {
      const auth = keyRing.authenticate(headerValue(req.headers.authorization));
      if (auth.kind !== 'authenticated') {
        referee.unauthenticatedRequest();
        const message =
          auth.kind === 'missing'
            ? 'An API key is required (Authorization: Bearer <key>).'
            : 'The API key is not valid.';
        return sendError(apiError('UNAUTHORIZED', message), { 'www-authenticate': 'Bearer' });
      }
      key = auth.key;
      referee.receivedFor(key, recorded);
      const decidedAtMs = clock.now();
      const decision = limiter.tryAdmit(key.id, operation.class, decidedAtMs);
      referee.rateDecision(key, operation.class, decision.admitted, decidedAtMs);
      rateHeaders = rateLimitHeaders(limiter.profile().profile, decision);
      if (!decision.admitted)
        return sendError(apiError('TOO_MANY_REQUESTS', 'Rate limit exceeded; retry after the reset.'), rateHeaders);
      // Members may view but not change anything (the team role matrix).
      if (operation.class === 'write' && key.role === 'member') {
        return sendError(
          apiError('FORBIDDEN', "This API key's role (member) may not perform this action."),
          rateHeaders,
        );
      }
    }

    const plan = planResponse(faults.get(), random, true);
    if (plan.slow) referee.faultInjected('slow');
    if (plan.error) {
      referee.faultInjected('error');
      return sendError(apiError('INTERNAL_SERVER_ERROR', 'An unexpected error occurred.'), rateHeaders, plan);
    }
    if (plan.drop) referee.faultInjected('drop');

    let outcome;
    try {
      outcome = operations[operation.route]({
        key: key ?? null,
        params,
        query: target.query,
        headers: req.headers,
        body: read.bytes,
        nowMs: clock.now(),
        requestId,
      });
    } catch (error) {
      logger.error({ err: error, requestId, operation: operation.id }, 'sandbox operation failed');
      return sendError(apiError('INTERNAL_SERVER_ERROR', 'An unexpected error occurred.'), rateHeaders, plan);
    }
    if (outcome.kind === 'error') return sendError(outcome, rateHeaders, plan);
    if (outcome.createdUnder !== undefined && key) referee.createPerformed(key, outcome.createdUnder);
    send(outcome.status, outcome.body, { ...rateHeaders, ...outcome.headers }, plan);
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
