/**
 * Watches the config file so that an edit is applied without a signal. The file is polled with
 * fs.watchFile (a stat of the path every interval) rather than watched with fs.watch, because
 * polling follows the path. It thus detects editors that rename a new file over the old one, and
 * Kubernetes ConfigMap volumes that swap a symlink, which an fs.watch on the old inode misses.
 *
 * A change is reported once the file has stayed unchanged for `debounceMs`, so that a file
 * written in several steps is read whole. A file that is invalid when read is rejected by the
 * reload, which keeps the running config, and the next change is read again.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

export interface ConfigWatchOptions {
  /** Time between two stats of the file, in ms. */
  readonly intervalMs?: number;
  /** Quiet time after the last change before `onChange` runs, in ms. */
  readonly debounceMs?: number;
}

const DEFAULT_INTERVAL_MS = 500;
const DEFAULT_DEBOUNCE_MS = 300;

/** Calls `onChange` after each change of `file`; returns the function that stops watching. */
export function watchConfigFile(file: string, onChange: () => void, options: ConfigWatchOptions = {}): () => void {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  let timer: NodeJS.Timeout | null = null;

  const listener = (current: Stats, previous: Stats): void => {
    if (!changed(current, previous)) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, debounceMs);
  };
  // persistent: false, so that watching never keeps a stopping process alive.
  watchFile(file, { interval: options.intervalMs ?? DEFAULT_INTERVAL_MS, persistent: false }, listener);

  return () => {
    unwatchFile(file, listener);
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
}

/** Compares what an edit changes; the access time alone is no change. */
function changed(current: Stats, previous: Stats): boolean {
  return (
    current.mtimeMs !== previous.mtimeMs ||
    current.ctimeMs !== previous.ctimeMs ||
    current.size !== previous.size ||
    current.ino !== previous.ino
  );
}
