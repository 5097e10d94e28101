/**
 * Certificate and key rotation for one TLS listener without a restart. New files are picked up
 * on request (`reload`, which SIGHUP is meant to call), when a watched directory reports a
 * change, and by a slow poll that catches file systems where watching reports nothing. Files that pass the checks of
 * tls-context.ts replace the secure context with `server.setSecureContext`: new handshakes use
 * them, and established connections keep the context they were made with. Files that fail stay
 * unused, the error is logged, and the files in use stay.
 *
 * Directories are watched rather than the files. Rotation tools usually write a new file and
 * rename it over the old one, or swap a symlink as Kubernetes secret volumes do, and a watch on
 * the old file would see nothing after that. Changes are compared by content, so a
 * burst of events costs one reload, and a broken file set is logged once, not on every event.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import type { ListenerTlsConfig } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { checkTlsMaterial, readTlsMaterial, secureContextOptions, TlsFileError, type TlsMaterial } from './tls-context.js';

/** Change detection for the TLS files, besides explicit reload requests. */
export interface RotationOptions {
  /** Watch the directories of the files for changes. */
  readonly watchDirectories: boolean;
  /** Wait after the last file event before reading the files, in ms, so that a cert and key written one after the other load together. */
  readonly debounceMs: number;
  /** Interval of the content poll in ms; 0 turns the poll off. */
  readonly pollIntervalMs: number;
}

export const DEFAULT_ROTATION: RotationOptions = { watchDirectories: true, debounceMs: 200, pollIntervalMs: 60_000 };

type Trigger = 'request' | 'file change' | 'poll';

/** The TLS files in use by one listener and the watchers that reload them. */
export class TlsRotation {
  private current: TlsMaterial;
  /** Digest of the last file set that failed, so that it is logged once. */
  private lastRejected: string | null = null;
  /** Reloads run one at a time, in the order they were asked for. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly watchers: FSWatcher[] = [];
  private debounceTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly config: ListenerTlsConfig,
    initial: TlsMaterial,
    private readonly server: tls.Server,
    private readonly logger: Logger,
  ) {
    this.current = initial;
  }

  /**
   * Reads the files again and uses them for new handshakes when they changed. Resolves when the
   * files in use are current; rejects with TlsFileError, after logging it, when the new files
   * cannot be used.
   */
  reload(): Promise<void> {
    return this.enqueue('request');
  }

  /** Starts watching the directories of the TLS files and the content poll, as `options` ask. */
  startWatching(options: RotationOptions): void {
    const files = [this.config.cert, this.config.key, ...(this.config.ca === undefined ? [] : [this.config.ca])];
    const directories = options.watchDirectories ? new Set(files.map((file) => path.dirname(file))) : [];
    for (const directory of directories) {
      try {
        const watcher = watch(directory, { persistent: false }, () => this.scheduleCheck(options.debounceMs));
        watcher.on('error', (error) => {
          this.logger.warn({ event: 'tls_watch', directory, error: error.message }, 'stopped watching a TLS file directory; the content poll goes on');
        });
        this.watchers.push(watcher);
      } catch (error) {
        this.logger.warn({ event: 'tls_watch', directory, error: (error as Error).message }, 'cannot watch a TLS file directory; relying on the content poll and SIGHUP');
      }
    }
    if (options.pollIntervalMs > 0) {
      this.pollTimer = setInterval(() => void this.enqueue('poll').catch(ignore), options.pollIntervalMs);
      this.pollTimer.unref();
    }
  }

  /** Stops the watchers and timers; a reload already running finishes. */
  close(): void {
    this.closed = true;
    for (const watcher of this.watchers) watcher.close();
    this.watchers.length = 0;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
  }

  private scheduleCheck(debounceMs: number): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.enqueue('file change').catch(ignore);
    }, debounceMs);
    this.debounceTimer.unref();
  }

  private enqueue(trigger: Trigger): Promise<void> {
    const run = this.queue.then(() => this.apply(trigger));
    this.queue = run.catch(ignore);
    return run;
  }

  private async apply(trigger: Trigger): Promise<void> {
    if (this.closed && trigger !== 'request') return;
    const automatic = trigger !== 'request';
    let material: TlsMaterial;
    try {
      material = await readTlsMaterial(this.config);
    } catch (error) {
      this.reject(trigger, `read:${(error as Error).message}`, error as Error, automatic);
      throw error;
    }
    if (material.digest === this.current.digest) {
      this.lastRejected = null;
      if (!automatic) this.logger.info({ event: 'tls_reload', trigger, result: 'unchanged' }, 'TLS files unchanged');
      return;
    }
    if (automatic && material.digest === this.lastRejected) return;

    let summary;
    try {
      summary = checkTlsMaterial(this.config, material);
      this.server.setSecureContext(secureContextOptions(this.config, material));
    } catch (error) {
      const failure = error instanceof TlsFileError ? error : new TlsFileError((error as Error).message);
      this.reject(trigger, material.digest, failure, false);
      throw failure;
    }
    this.current = material;
    this.lastRejected = null;
    this.logger.info({ event: 'tls_reload', trigger, result: 'ok', ...summary }, 'TLS certificate reloaded; new handshakes use it');
  }

  /** Logs a failed reload, once per distinct failure for automatic triggers. */
  private reject(trigger: Trigger, digest: string, error: Error, skipRepeat: boolean): void {
    if (skipRepeat && digest === this.lastRejected) return;
    this.lastRejected = digest;
    this.logger.error(
      { event: 'tls_reload', trigger, result: 'rejected', error: error.message },
      'new TLS files rejected; the certificate in use stays',
    );
  }
}

function ignore(): void {}
