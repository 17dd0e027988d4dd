/** Busy for `ms` on this thread: nothing else runs, not timers, not socket reads. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Holds this thread busy for `ms`, from inside a timer `afterMs` from now (so samplers have run first). */
export function stallLoop(ms: number, afterMs = 20): Promise<void> {
  return new Promise<void>((resolve) =>
    setTimeout(() => {
      busyFor(ms);
      resolve();
    }, afterMs),
  );
}

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
