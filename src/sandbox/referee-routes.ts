/**
 * The referee over HTTP, outside the API base path: no key, no rate limit, no latency or faults.
 *   GET  /_sandbox/stats[?phaseMs=N][&decisionsSinceMs=T]   the stats (plain JSON, see referee.ts)
 *   POST /_sandbox/reset               back to the startup state
 *   GET  /_sandbox/faults              current fault and latency settings
 *   PUT  /_sandbox/faults              partial update (JSON object), answers the new settings
 *   PUT  /_sandbox/profile             {"profile": "current", "limits"?: {...}}: the provider changes its limits
 * Errors use the API's error envelope.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { envelopeTimestamp } from '../shared/envelope';
import { requestIdFrom } from '../shared/request-id';
import { readBody } from './body';
import type { SandboxReferee } from './control';
import type { LimitOverrides, RateProfile } from './rate-profiles';
import { apiError, type ApiError } from './errors';
import { SandboxOptionsError, type Clock } from './options';
import { errorBody, writeJson } from './respond';
import { REFEREE_BASE_PATH } from './request-target';
import { isJsonContentType, parseJsonObject } from './validation';

const ROUTES: Record<string, string[]> = {
  [`${REFEREE_BASE_PATH}/stats`]: ['GET'],
  [`${REFEREE_BASE_PATH}/reset`]: ['POST'],
  [`${REFEREE_BASE_PATH}/faults`]: ['GET', 'PUT'],
  [`${REFEREE_BASE_PATH}/profile`]: ['PUT'],
};

export type RefereeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  target: { path: string; query: URLSearchParams },
) => Promise<void>;

export function createRefereeHandler(deps: {
  referee: SandboxReferee;
  clock: Clock;
  bodyLimitBytes: number;
}): RefereeHandler {
  const { referee, clock, bodyLimitBytes } = deps;

  return async (req, res, target) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const ok = (value: unknown): void => writeJson(res, 200, JSON.stringify(value), { 'x-request-id': requestId });
    const fail = (error: ApiError): void =>
      writeJson(res, error.status, errorBody(error, requestId, clock.now()), {
        ...error.headers,
        'x-request-id': requestId,
      });

    const read = await readBody(req, bodyLimitBytes);
    if (read.kind === 'aborted') return;
    if (read.kind === 'too-large')
      return fail(
        apiError('PAYLOAD_TOO_LARGE', `The request body exceeds ${bodyLimitBytes} bytes.`, { connection: 'close' }),
      );
    const allowed = ROUTES[target.path];
    if (!allowed) return fail(apiError('NOT_FOUND', 'No such referee route.'));
    const method = req.method ?? '';
    if (!allowed.includes(method))
      return fail(
        apiError('METHOD_NOT_ALLOWED', `Method ${method} is not allowed here.`, { allow: allowed.join(', ') }),
      );

    try {
      switch (`${method} ${target.path}`) {
        case `GET ${REFEREE_BASE_PATH}/stats`: {
          const phase = target.query.get('phaseMs');
          if (phase !== null && !/^[0-9]{1,3}$/.test(phase))
            return fail(apiError('VALIDATION_ERROR', 'phaseMs: must be a whole number from 0 to 999'));
          const since = target.query.get('decisionsSinceMs');
          if (since !== null && !/^[0-9]{1,16}$/.test(since))
            return fail(apiError('VALIDATION_ERROR', 'decisionsSinceMs: must be a whole number of milliseconds'));
          return ok(
            referee.stats({
              ...(phase === null ? {} : { phaseMs: Number(phase) }),
              ...(since === null ? {} : { decisionsSinceMs: Number(since) }),
            }),
          );
        }
        case `POST ${REFEREE_BASE_PATH}/reset`:
          referee.reset();
          return ok({ reset: true, at: envelopeTimestamp(new Date(clock.now())) });
        case `GET ${REFEREE_BASE_PATH}/faults`:
          return ok(referee.faults());
        default: {
          if (!isJsonContentType(req.headers['content-type']))
            return fail(apiError('BAD_REQUEST', 'Content-Type must be application/json.'));
          const body = parseJsonObject(read.bytes);
          if (!body.ok) return fail(apiError('MALFORMED_JSON', `Malformed JSON: ${body.message}.`));
          if (target.path === `${REFEREE_BASE_PATH}/profile`) return ok(setProfile(referee, body.value));
          return ok(referee.setFaults(body.value));
        }
      }
    } catch (error) {
      if (error instanceof SandboxOptionsError) return fail(apiError('VALIDATION_ERROR', error.problems.join('; ')));
      throw error;
    }
  };
}

/** `{ "profile": "current", "limits"?: { "allPerSecond": 2 } }`, as the startup options name them. */
function setProfile(referee: SandboxReferee, body: Record<string, unknown>) {
  const unknown = Object.keys(body).filter((k) => k !== 'profile' && k !== 'limits');
  if (unknown.length > 0) throw new SandboxOptionsError(unknown.map((k) => `${k}: unknown field`));
  const { profile, limits } = body;
  if (typeof profile !== 'string') throw new SandboxOptionsError(['profile: must be a string']);
  if (limits !== undefined && (typeof limits !== 'object' || limits === null || Array.isArray(limits)))
    throw new SandboxOptionsError(['limits: must be an object']);
  for (const [name, value] of Object.entries(limits ?? {}))
    if (typeof value !== 'number' || !(value > 0) || !Number.isInteger(value))
      throw new SandboxOptionsError([`limits.${name}: must be a whole number above 0`]);
  return referee.setProfile(profile as RateProfile, limits as LimitOverrides | undefined);
}
