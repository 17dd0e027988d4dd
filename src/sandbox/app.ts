/**
 * The composition root of the sandbox: builds every part from the options and mounts them on an
 * express app. The app never listens (see server.ts), so tests and embedders choose the socket.
 */
import express from 'express';
import { silentLogger } from '../gateway/observability/logger';
import { API_BASE_PATH } from '../catalog/catalog';
import { errorEnvelope } from '../shared/envelope';
import { watchLoopDelay } from '../shared/loop-delay';
import { requestIdFrom } from '../shared/request-id';
import { createApiHandler } from './api-handler';
import { ComputeStore } from './computes';
import { createReferee, type SandboxReferee } from './control';
import { Delays } from './delays';
import { apiError } from './errors';
import { FaultControl } from './faults';
import { IdempotencyStore } from './idempotency';
import { KeyRing } from './keys';
import { createOperations } from './operations';
import { resolveOptions, type Clock, type SandboxOptions, type SandboxSettings } from './options';
import { RateLimiter } from './rate-limit';
import { Referee } from './referee';
import { createRefereeHandler } from './referee-routes';
import { parseTarget } from './request-target';
import { errorBody, writeJson } from './respond';

export interface SandboxApp {
  app: express.Express;
  referee: SandboxReferee;
  /** The validated, frozen settings in force. */
  settings: SandboxSettings;
  /** Cancels delayed responses still waiting (latency, slow faults) and stops the loop-delay sampler. */
  dispose(): void;
}

const SYSTEM_CLOCK: Clock = { now: () => Date.now() };

/** Throws SandboxOptionsError, listing every problem with its path, on invalid options. */
export function createSandboxApp(options: SandboxOptions = {}): SandboxApp {
  const settings = resolveOptions(options);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger();

  const keyRing = new KeyRing(settings.keys);
  const computes = new ComputeStore({
    createDelayMs: settings.createDelayMs,
    transitionDelayMs: settings.transitionDelayMs,
  });
  const idempotency = new IdempotencyStore();
  const limiter = new RateLimiter(settings.rateLimit);
  const refereeState = new Referee(settings.rateLimit, () => clock.now());
  const faults = new FaultControl(settings.faults);
  const delays = new Delays();
  const loopDelay = watchLoopDelay();
  const referee = createReferee({
    referee: refereeState,
    computes,
    idempotency,
    limiter,
    faults,
    loopDelay,
    now: () => clock.now(),
  });

  const api = createApiHandler({
    settings,
    clock,
    random,
    logger,
    keyRing,
    limiter,
    referee: refereeState,
    faults,
    operations: createOperations({ computes, idempotency }),
    delays,
  });
  const refereeRoutes = createRefereeHandler({ referee, clock, bodyLimitBytes: settings.bodyLimitBytes });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(async (req, res) => {
    const raw = req.originalUrl;
    const target = parseTarget(raw, API_BASE_PATH);
    const requestId = requestIdFrom(req.headers['x-request-id']);
    switch (target.kind) {
      case 'api':
        return api(req, res, { raw, segments: target.segments, query: target.query });
      case 'referee':
        return refereeRoutes(req, res, target);
      case 'undecodable': {
        const error = apiError('BAD_REQUEST', 'The request path is not validly percent-encoded.');
        return writeJson(res, error.status, errorBody(error, requestId, clock.now()), { 'x-request-id': requestId });
      }
      case 'other': {
        const error = apiError('NOT_FOUND', `No such route; the API is under ${API_BASE_PATH}.`);
        return writeJson(res, error.status, errorBody(error, requestId, clock.now()), { 'x-request-id': requestId });
      }
    }
  });
  // Last resort: a bug must not crash the sandbox or leak a stack trace to the client.
  app.use((error: unknown, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logger.error({ err: error }, 'sandbox: unhandled error');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = errorEnvelope(
      'INTERNAL_SERVER_ERROR',
      'An unexpected error occurred.',
      requestIdFrom(req.headers['x-request-id']),
      new Date(clock.now()),
    );
    writeJson(res, 500, JSON.stringify(body), {});
  });

  const dispose = (): void => {
    delays.cancelAll();
    loopDelay.stop();
  };
  return { app, referee, settings, dispose };
}
