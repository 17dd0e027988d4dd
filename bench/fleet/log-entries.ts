/** A gateway's JSON log lines (pino) that carry `message`, parsed, with their `time` in epoch ms (NaN if none). */
export function logEntries(text: string, message: string): Array<{ entry: Record<string, unknown>; atMs: number }> {
  return text
    .split('\n')
    .filter((line) => line.includes(message))
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return [{ entry, atMs: typeof entry.time === 'string' ? Date.parse(entry.time) : Number.NaN }];
      } catch {
        return [];
      }
    });
}
