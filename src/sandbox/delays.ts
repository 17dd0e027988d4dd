/**
 * Timers for delayed responses (latency, jitter, slow faults), tracked so that closing the sandbox
 * cancels them and no handle keeps a test process alive. Zero delay runs at once, with no timer.
 */
export class Delays {
  private readonly pending = new Set<NodeJS.Timeout>();

  after(delayMs: number, run: () => void): void {
    if (delayMs <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      run();
    }, delayMs);
    this.pending.add(timer);
  }

  cancelAll(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}
