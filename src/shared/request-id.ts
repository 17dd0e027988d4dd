import { randomUUID } from 'node:crypto';

/** Printable, bounded and free of separators, so it is safe in logs and headers. */
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function isWellFormedRequestId(value: unknown): value is string {
  return typeof value === 'string' && WELL_FORMED_REQUEST_ID.test(value);
}

/** Accept a well-formed inbound id so traces join up; otherwise mint one. */
export function requestIdFrom(inbound: string | string[] | undefined): string {
  return isWellFormedRequestId(inbound) ? inbound : randomUUID();
}
