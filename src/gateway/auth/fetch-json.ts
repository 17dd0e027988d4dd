/**
 * One bounded JSON GET for identity documents (OIDC discovery, JWKS): a timeout, no redirects (a
 * redirect could lead to any host, past the host check), and a byte cap enforced while reading, so
 * a hostile or broken issuer cannot make the gateway buffer an unbounded body.
 */
export type FetchJsonFailure = 'unreachable' | 'timeout' | 'http-status' | 'too-large' | 'not-json';

export type FetchJsonResult = { ok: true; value: unknown } | { ok: false; reason: FetchJsonFailure; detail: string };

export interface FetchJsonLimits {
  timeoutMs: number;
  maxBytes: number;
}

export type FetchJson = (url: string, limits: FetchJsonLimits) => Promise<FetchJsonResult>;

export const fetchJson: FetchJson = async (url, limits) => {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'error', signal, headers: { accept: 'application/json' } });
  } catch (error) {
    return signal.aborted
      ? { ok: false, reason: 'timeout', detail: `no answer within ${limits.timeoutMs} ms` }
      : { ok: false, reason: 'unreachable', detail: describe(error) };
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    return { ok: false, reason: 'http-status', detail: `status ${response.status}` };
  }
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > limits.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return { ok: false, reason: 'too-large', detail: `${declared} bytes declared (limit ${limits.maxBytes})` };
  }
  const read = await readCapped(response, limits.maxBytes, signal);
  if (!read.ok) return read;
  try {
    return { ok: true, value: JSON.parse(read.text) as unknown };
  } catch {
    return { ok: false, reason: 'not-json', detail: 'the body is not JSON' };
  }
};

async function readCapped(
  response: Response,
  maxBytes: number,
  signal: AbortSignal,
): Promise<{ ok: true; text: string } | { ok: false; reason: FetchJsonFailure; detail: string }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (!reader) return { ok: true, text: '' };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { ok: false, reason: 'too-large', detail: `over ${maxBytes} bytes` };
      }
      chunks.push(value);
    }
  } catch (error) {
    return signal.aborted
      ? { ok: false, reason: 'timeout', detail: 'the body did not arrive in time' }
      : { ok: false, reason: 'unreachable', detail: describe(error) };
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}

/** The cause's code or message only: never a body, never a header. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message.slice(0, 200);
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
}
