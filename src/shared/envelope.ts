/**
 * The Strettch response envelopes. The sandbox answers with them and the gateway answers its own
 * errors with them, so a client needs a single error handler for both.
 */
export interface ErrorEnvelope {
  success: false;
  code: string;
  message: string;
  requestId: string;
  timestamp: string;
}

export interface PaginationMeta {
  total: number;
  page: number;
  limit: number;
}

export interface SuccessEnvelope<T> {
  success: true;
  message: string;
  data: T;
  meta?: PaginationMeta;
  requestId: string;
  timestamp: string;
}

/** Second precision, as in the provider's examples ("2024-01-15T10:00:00Z"). */
export function envelopeTimestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function errorEnvelope(code: string, message: string, requestId: string, now: Date = new Date()): ErrorEnvelope {
  return { success: false, code, message, requestId, timestamp: envelopeTimestamp(now) };
}

export function successEnvelope<T>(
  message: string,
  data: T,
  requestId: string,
  meta?: PaginationMeta,
  now: Date = new Date(),
): SuccessEnvelope<T> {
  const body: SuccessEnvelope<T> = { success: true, message, data, requestId, timestamp: envelopeTimestamp(now) };
  if (meta) body.meta = meta;
  return body;
}
