/**
 * Which requests the sandbox faulted, read from its own log (it runs at `--log-level info`, one line
 * per response). The gateway forwards the caller's X-Request-Id, on every attempt, so each line
 * names the soak request it served:
 *
 * - `sandbox request dropped`: an injected drop;
 * - `sandbox request` with status 500: an injected error (an operation that throws is logged as
 *   `sandbox operation failed` first, at error level, and is not counted);
 * - either, with `delayMs` at least the slow fault's extra delay: an injected slow answer.
 *
 * A fault-shaped 5xx is then explained exactly when its own request was faulted that way, which
 * the referee's totals alone cannot tell once the gateway retries.
 */
import fs from 'node:fs';
import readline from 'node:readline';

export interface FaultEvidence {
  error: ReadonlySet<number>;
  drop: ReadonlySet<number>;
  slow: ReadonlySet<number>;
}

interface SandboxLine {
  msg?: unknown;
  requestId?: unknown;
  status?: unknown;
  delayMs?: unknown;
}

/** Adds what one log line says about request `<prefix>-<n>` (pure, apart from the sets it fills). */
export function readEvidenceLine(
  line: string,
  requestIdPattern: RegExp,
  slowMs: number,
  into: { error: Set<number>; drop: Set<number>; slow: Set<number> },
): void {
  if (!line.startsWith('{')) return;
  let parsed: SandboxLine;
  try {
    parsed = JSON.parse(line) as SandboxLine;
  } catch {
    return;
  }
  if (typeof parsed.requestId !== 'string') return;
  const match = requestIdPattern.exec(parsed.requestId);
  if (!match) return;
  const n = Number(match[1]);
  const dropped = parsed.msg === 'sandbox request dropped';
  if (!dropped && parsed.msg !== 'sandbox request') return;
  if (dropped) into.drop.add(n);
  else if (parsed.status === 500) into.error.add(n);
  if (typeof parsed.delayMs === 'number' && parsed.delayMs >= slowMs) into.slow.add(n);
}

export function requestIdPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`)}-(\\d+)$`);
}

/** Streams the sandbox's log (tens of MB after a long soak) into the three sets. */
export async function readFaultEvidence(logFile: string, prefix: string, slowMs: number): Promise<FaultEvidence> {
  const sets = { error: new Set<number>(), drop: new Set<number>(), slow: new Set<number>() };
  const pattern = requestIdPattern(prefix);
  const lines = readline.createInterface({ input: fs.createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) readEvidenceLine(line, pattern, slowMs, sets);
  return sets;
}
