/** The main thread's side of a server thread: start it, read its load, close it for good. */
import path from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { ServerWorkerCommand, ServerWorkerData, ServerWorkerMessage } from './server-worker-protocol';
import type { ThreadCpuSample } from './thread-cpu';

export type ReadyMessage = Extract<ServerWorkerMessage, { kind: 'ready' }>;

export interface ServerThread {
  ready: ReadyMessage;
  /** Cumulative event-loop utilisation of the thread; pass an earlier reading to get the delta. */
  eventLoopUtilization(since?: EventLoopUtilization): EventLoopUtilization;
  /** The thread's own CPU time, asked of the thread itself; undefined where the OS does not tell. */
  cpuSample(): Promise<ThreadCpuSample | undefined>;
  /** Closes the servers, then waits for the thread to exit (terminating it after `timeoutMs`). */
  close(timeoutMs?: number): Promise<void>;
}

const WORKER_FILE = path.join(__dirname, 'server-worker.js');
const CPU_REPLY_TIMEOUT_MS = 2_000;

export function startServerThread(data: ServerWorkerData, startTimeoutMs = 15_000): Promise<ServerThread> {
  const worker = new Worker(WORKER_FILE, { workerData: data });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const pendingCpu = new Map<number, (sample: ThreadCpuSample | undefined) => void>();
  let nextCpuId = 0;
  worker.on('message', (message: ServerWorkerMessage) => {
    if (message.kind !== 'cpu') return;
    pendingCpu.get(message.id)?.(message.sample ?? undefined);
    pendingCpu.delete(message.id);
  });
  const cpuSample = () =>
    new Promise<ThreadCpuSample | undefined>((resolve) => {
      const id = nextCpuId++;
      const timer = setTimeout(() => {
        pendingCpu.delete(id);
        resolve(undefined);
      }, CPU_REPLY_TIMEOUT_MS);
      pendingCpu.set(id, (sample) => {
        clearTimeout(timer);
        resolve(sample);
      });
      const command: ServerWorkerCommand = { kind: 'cpu', id };
      worker.postMessage(command);
    });

  const close = async (timeoutMs = 5_000): Promise<void> => {
    const command: ServerWorkerCommand = { kind: 'close' };
    worker.postMessage(command);
    const timer = setTimeout(() => void worker.terminate(), timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<ServerThread>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`server thread (${data.role}) did not start within ${startTimeoutMs} ms`));
    }, startTimeoutMs);
    worker.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    worker.on('message', (message: ServerWorkerMessage) => {
      if (message.kind === 'ready') {
        clearTimeout(timer);
        resolve({
          ready: message,
          cpuSample,
          eventLoopUtilization: (since) =>
            since ? worker.performance.eventLoopUtilization(since) : worker.performance.eventLoopUtilization(),
          close,
        });
      } else if (message.kind === 'failed') {
        clearTimeout(timer);
        void close(1_000).finally(() =>
          reject(new Error(`server thread (${data.role}) failed to start: ${message.message}`)),
        );
      }
    });
  });
}

/** The load client's own thread, measured the same way. */
export function mainThreadUtilization(since?: EventLoopUtilization): EventLoopUtilization {
  return since ? performance.eventLoopUtilization(since) : performance.eventLoopUtilization();
}
