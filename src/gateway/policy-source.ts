/**
 * A policy file as a reloadable source: each `load()` reads the file and every key or secret file it
 * references again, and remembers which files it tried to read, so a watch can follow them (a file
 * the policy starts referencing is watched from the next load on).
 */
import { loadPolicyFile, type PolicyIo, type PolicyResult } from './policy';

export interface PolicySource {
  load(): PolicyResult;
  /** Every file the last load read or tried to read (the policy itself first). */
  files(): readonly string[];
}

export function policyFileSource(sourcePath: string, io: PolicyIo): PolicySource {
  let lastFiles: string[] = [sourcePath];
  return {
    load() {
      const read = new Set<string>([sourcePath]);
      const recording: PolicyIo = {
        readEnv: (name) => io.readEnv(name),
        readFile: (file) => {
          read.add(file);
          return io.readFile(file);
        },
      };
      const result = loadPolicyFile(sourcePath, recording);
      lastFiles = [...read];
      return result;
    },
    files: () => lastFiles,
  };
}
