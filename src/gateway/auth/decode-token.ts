/**
 * Splits a compact JWS and parses its header and payload, strictly and without any library: the
 * verifier must know `alg` and `kid` before choosing a key, and must never hand a library a token
 * whose shape it has not checked (jsonwebtoken accepts non-JSON payloads, for instance).
 */
export type JsonObject = Record<string, unknown>;

export type DecodedToken = { ok: true; header: JsonObject; payload: JsonObject } | { ok: false; detail: string };

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const BASE64URL_OR_EMPTY = /^[A-Za-z0-9_-]*$/;

export function decodeToken(token: string): DecodedToken {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, detail: 'not three dot-separated parts' };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  // The signature may be empty here so that an unsigned token is reported as the algorithm problem it is.
  if (!BASE64URL.test(headerPart) || !BASE64URL.test(payloadPart) || !BASE64URL_OR_EMPTY.test(signaturePart)) {
    return { ok: false, detail: 'not base64url' };
  }
  const header = parseJsonObject(headerPart);
  if (!header) return { ok: false, detail: 'header is not a JSON object' };
  const payload = parseJsonObject(payloadPart);
  if (!payload) return { ok: false, detail: 'payload is not a JSON object' };
  return { ok: true, header, payload };
}

function parseJsonObject(part: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}
