/**
 * What the gateway accepts as the head of an upstream response. The provider answers every
 * operation with one final status and a handful of headers; anything else (a protocol switch, an
 * unrequested informational answer, a flood of headers) is a misbehaving or hostile upstream, and
 * the caller gets a 502 instead of being held on a connection that will never give it an answer.
 */
import http from 'node:http';
import https from 'node:https';

/**
 * Status line plus headers. The provider's heads are about 1 KiB; half of Node's default (16 KiB),
 * and set explicitly so that the bound is the gateway's, not whatever the runtime defaults to.
 */
export const MAX_UPSTREAM_HEADER_BYTES = 8 * 1024;
/** Header lines; the provider sends about fifteen. */
export const MAX_UPSTREAM_HEADER_COUNT = 100;

/** Why an upstream response head is refused, for logs (`reason`) and nothing else. */
export type UpstreamHeadRefusal =
  'upstream-upgrade' | 'upstream-informational' | 'upstream-too-many-headers' | 'upstream-headers-too-large';

/**
 * 100 Continue is the one informational answer HTTP/1.1 lets a server send unasked (Node skips it);
 * any other 1xx (101 included, which Node may hand over as a final response) is refused.
 */
export function isRefusedInformational(status: number): boolean {
  return status >= 101 && status < 200;
}

/** A final response with more header lines than the bound. */
export function hasTooManyHeaders(rawHeaders: readonly string[]): boolean {
  return rawHeaders.length / 2 > MAX_UPSTREAM_HEADER_COUNT;
}

/** Node's client parser fails with this code when the head passes `maxHeaderSize`. */
export function isHeaderOverflow(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'HPE_HEADER_OVERFLOW';
}

/** The part of a ClientRequest the parser reads when the request gets its socket. */
interface ParserLimits {
  maxHeaderSize?: number;
  maxHeadersCount: number | null;
}

/**
 * A keep-alive agent whose requests parse at most `MAX_UPSTREAM_HEADER_BYTES` of response head and
 * keep at most one header line beyond the count bound. http-proxy builds the `http.request` options
 * itself and passes no `maxHeaderSize`; the agent sees each request before its parser is set up
 * (the parser reads both limits when the socket is assigned), so the limits are set here.
 */
export function createUpstreamAgent(isHttps: boolean, maxSockets: number): http.Agent {
  const agent = isHttps
    ? new https.Agent({ keepAlive: true, maxSockets })
    : new http.Agent({ keepAlive: true, maxSockets });
  const internals = agent as unknown as { addRequest: (req: ParserLimits, ...rest: unknown[]) => void };
  const addRequest = internals.addRequest.bind(agent);
  internals.addRequest = (req, ...rest) => {
    req.maxHeaderSize = MAX_UPSTREAM_HEADER_BYTES;
    // One more than allowed, so that `hasTooManyHeaders` sees the excess (the parser drops lines past it).
    req.maxHeadersCount = MAX_UPSTREAM_HEADER_COUNT + 1;
    addRequest(req, ...rest);
  };
  return agent;
}
