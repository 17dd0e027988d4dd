/**
 * CPU time of the calling thread, from Linux's /proc/thread-self/schedstat (nanoseconds on CPU).
 * Unlike wall time or event-loop utilisation it does not grow while the thread waits for a core,
 * so it still means something when other work shares the machine. Undefined where unavailable.
 */
import fs from 'node:fs';

const SCHEDSTAT = '/proc/thread-self/schedstat';

export interface ThreadCpuSample {
  /** Time on a CPU. */
  cpuNs: number;
  /** Time runnable but waiting for a CPU: how contended the machine was. */
  waitNs: number;
}

export function threadCpuSample(): ThreadCpuSample | undefined {
  try {
    const [cpu, wait] = fs.readFileSync(SCHEDSTAT, 'utf8').trim().split(/\s+/).map(Number);
    return Number.isFinite(cpu) && Number.isFinite(wait) ? { cpuNs: cpu!, waitNs: wait! } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time of another process on this machine (all its threads), from /proc/<pid>/task/<tid>/schedstat:
 * the bench's redis-server, which shares the cores with the threads it measures. Undefined where unavailable.
 */
export function processCpuNs(pid: number): number | undefined {
  try {
    let total = 0;
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const cpu = Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(/\s+/)[0]);
      if (!Number.isFinite(cpu)) return undefined;
      total += cpu;
    }
    return total;
  } catch {
    return undefined;
  }
}
