/** What a saved figure of the fleet and soak benches was measured on. */
import os from 'node:os';

export interface MachineInfo {
  node: string;
  platform: string;
  cpuCount: number;
  cpuModel: string;
  /** 1, 5 and 15 minutes, at the end of the run. */
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpuCount: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
