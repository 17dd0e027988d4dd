/**
 * The optional file watch (`--watch`, `CONFIG_WATCH=1`): polls the policy file and the files it
 * references, and asks for one reload per burst of changes.
 *
 * Polling (`fs.watchFile`) rather than `fs.watch`: it stats the path, so it follows what Kubernetes
 * does to a mounted ConfigMap or Secret (a symlink swapped to a new directory) and editors' atomic
 * renames, both of which leave an inode watch looking at a file nobody uses any more.
 */
import fs from 'node:fs';

export interface ConfigWatchOptions {
  /** The files to watch; read again after every reload (the policy may reference new ones). */
  files: () => readonly string[];
  /** Called once per burst of changes; the watch waits for it before looking at the files again. */
  onChange: () => Promise<unknown>;
  intervalMs: number;
  /** Changes closer together than this make one reload (a `cp` of several key files). */
  debounceMs: number;
}

export interface ConfigWatch {
  close(): void;
}

export const CONFIG_WATCH_DEFAULTS = { intervalMs: 1000, debounceMs: 300 } as const;

export function watchConfigFiles(options: ConfigWatchOptions): ConfigWatch {
  const watched = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const listener = (current: fs.Stats, previous: fs.Stats) => {
    if (current.mtimeMs === previous.mtimeMs && current.ino === previous.ino && current.size === previous.size) return;
    clearTimeout(timer);
    timer = setTimeout(fire, options.debounceMs);
  };

  function follow(): void {
    const wanted = new Set(options.files());
    for (const file of watched) {
      if (!wanted.has(file)) {
        fs.unwatchFile(file, listener);
        watched.delete(file);
      }
    }
    for (const file of wanted) {
      if (watched.has(file)) continue;
      // Not persistent: the watch alone must not keep the process (or a test) alive.
      fs.watchFile(file, { interval: options.intervalMs, persistent: false }, listener);
      watched.add(file);
    }
  }

  function fire(): void {
    timer = undefined;
    options
      .onChange()
      .catch(() => undefined)
      .finally(() => {
        if (!closed) follow();
      });
  }

  follow();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const file of watched) fs.unwatchFile(file, listener);
      watched.clear();
    },
  };
}
