/**
 * The audit log: pino lines for security events, and the optional per-command audit stream.
 *
 * Security events (authentication failures, denials, blocks, limit disconnections, TLS handshake
 * failures) are rate limited. The first entry of a kind is written at once, and identical entries
 * in the next window are only counted. A summary line with the count follows when the window
 * ends. A client that repeats a wrong password in a loop thus costs one line per window, not one
 * per attempt. Entries are identical when event, listener, client IP (without the port), user,
 * command, reason and login method match.
 *
 * Audit lines carry names and reasons only: never command arguments, never passwords, and never
 * a user name that the policy does not define (a client may type a password into that field).
 */
import type { AuditConfig } from '../config/types.js';
import type { Logger } from './logger.js';
import type { CommandResult, EventSource } from './observer.js';

/** Fields of one security audit entry. */
export interface AuditFields {
  readonly event: string;
  readonly listener?: string;
  readonly remote?: string;
  readonly session?: number;
  readonly user?: string;
  readonly command?: string;
  readonly reason?: string;
  readonly via?: string;
}

export interface AuditLogOptions {
  /** Length of the window in which identical entries are counted instead of written, in ms. */
  readonly windowMs?: number;
  /** Most distinct entries tracked at once; further distinct entries are written without rate limiting. */
  readonly maxTracked?: number;
  /** Called for each entry that was counted instead of written. */
  readonly onSuppressed?: (event: string) => void;
}

interface Window {
  readonly fields: AuditFields;
  readonly message: string;
  readonly startedAt: number;
  suppressed: number;
}

const DEFAULT_WINDOW_MS = 10_000;
const DEFAULT_MAX_TRACKED = 10_000;

/** Rate-limited writer of security audit lines, at level warn. */
export class AuditLog {
  private readonly windowMs: number;
  private readonly maxTracked: number;
  private readonly onSuppressed: (event: string) => void;
  private readonly windows = new Map<string, Window>();
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    options: AuditLogOptions = {},
  ) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED;
    this.onSuppressed = options.onSuppressed ?? (() => {});
  }

  /** Writes an entry, or counts it when an identical one was written less than one window ago. */
  write(fields: AuditFields, message: string): void {
    const key = entryKey(fields);
    const now = Date.now();
    const open = this.windows.get(key);
    if (open !== undefined) {
      if (now - open.startedAt < this.windowMs) {
        open.suppressed += 1;
        this.onSuppressed(fields.event);
        return;
      }
      this.close(key, open);
    }

    this.logger.warn(fields, message);
    if (this.windows.size >= this.maxTracked) return;
    this.windows.set(key, { fields, message, startedAt: now, suppressed: 0 });
    this.sweepTimer ??= setInterval(() => this.sweep(), Math.max(10, this.windowMs / 4)).unref();
  }

  /** Writes the summary of every open window and discards the windows; for a stop. */
  flush(): void {
    for (const [key, window] of this.windows) this.close(key, window);
    this.stopSweeping();
  }

  /** Closes the windows that have ended. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, window] of this.windows) {
      if (now - window.startedAt >= this.windowMs) this.close(key, window);
    }
    if (this.windows.size === 0) this.stopSweeping();
  }

  private close(key: string, window: Window): void {
    this.windows.delete(key);
    if (window.suppressed === 0) return;
    this.logger.warn(
      { ...window.fields, repeated: window.suppressed, windowMs: this.windowMs },
      `${window.message}: ${window.suppressed} more identical entries within ${this.windowMs} ms`,
    );
  }

  private stopSweeping(): void {
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }
}

function entryKey(fields: AuditFields): string {
  return [fields.event, fields.listener, clientHost(fields.remote), fields.user, fields.command, fields.reason, fields.via].join('\u0000');
}

/** Returns the address part of `host:port` (also for IPv6 addresses, which contain colons). */
function clientHost(remote: string | undefined): string {
  if (remote === undefined) return '';
  const colon = remote.lastIndexOf(':');
  return colon === -1 ? remote : remote.slice(0, colon);
}

/**
 * The per-command audit stream: one info line per command of the selected users, with identity,
 * client address, command name, result and latency. Its lines are written whatever `log.level`
 * sets, because a team that turns the stream on must get every line. Key names are added with
 * `audit.keys: true`; argument values never are.
 */
export class CommandAuditStream {
  /** True while the commands of at least one user are recorded. */
  enabled = false;
  /** Key names are recorded too (`audit.keys`). */
  keys = false;
  private all = false;
  private users: ReadonlySet<string> = new Set();
  private readonly logger: Logger;

  constructor(logger: Logger, config: AuditConfig | undefined) {
    this.logger = logger.child({}, { level: 'info' });
    this.configure(config);
  }

  /** Applies the `audit` section of a (re)loaded config; absent means off. */
  configure(config: AuditConfig | undefined): void {
    const commands = config?.commands ?? [];
    this.all = commands === 'all';
    this.users = new Set(commands === 'all' ? [] : commands);
    this.enabled = this.all || this.users.size > 0;
    this.keys = config?.keys === true;
  }

  /** Writes the line of one finished command when its user is selected. */
  record(source: EventSource, user: string, command: string, result: CommandResult, proxyNs: number, upstreamNs: number, keys?: readonly string[]): void {
    if (!this.all && !this.users.has(user)) return;
    this.logger.info(
      {
        event: 'command',
        listener: source.listener,
        remote: source.remote,
        session: source.session,
        user,
        command,
        result,
        proxyUs: Math.round(proxyNs / 1000),
        upstreamUs: Math.round(upstreamNs / 1000),
        ...(this.keys && keys ? { keys } : {}),
      },
      'command audited',
    );
  }
}
