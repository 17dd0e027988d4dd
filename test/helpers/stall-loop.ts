/** Holds this thread busy for `ms`, from inside a timer `afterMs` from now (so samplers have run first). */
export function stallLoop(ms: number, afterMs = 20): Promise<void> {
  return new Promise<void>((resolve) =>
    setTimeout(() => {
      const until = performance.now() + ms;
      while (performance.now() < until);
      resolve();
    }, afterMs),
  );
}

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
