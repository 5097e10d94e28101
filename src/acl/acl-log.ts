/**
 * respguard's own ACL LOG: recent ACL denials and failed logins, kept in memory and shown by
 * `ACL LOG` in the entry format of Redis 7.2 (the fields of Redis 7.0 plus entry-id,
 * timestamp-created and timestamp-last-updated). As in Redis, an event that repeats one of the
 * 10 newest entries (same reason, context, object and user, last seen at most 60 s before)
 * updates that entry and moves it to the front instead of adding a new one. The log keeps the
 * newest `maxLength` entries (Redis's acllog-max-len, 128 by default).
 *
 * One AclLog is shared by every session of a process and survives config reloads. It never
 * stores a password: a failed login records the user name and the command name only.
 */
import type { Denial } from './noperm.js';

/** Reasons of ACL LOG entries, as Redis names them. */
export type AclLogReason = 'command' | 'key' | 'channel' | 'auth';

/** The context the denied command ran in. Sessions in respguard only run commands at the top level. */
export type AclLogContext = 'toplevel' | 'multi' | 'lua' | 'module';

/** One event to record. */
export interface AclLogEvent {
  readonly reason: AclLogReason;
  readonly context: AclLogContext;
  /** The command's full name, the denied key or channel, or for `auth` the command as typed (AUTH, HELLO). */
  readonly object: Buffer;
  /** The user of the session, or for `auth` the user name that failed to log in. */
  readonly username: Buffer;
  /** The client's description, in the format of CLIENT INFO. */
  readonly clientInfo: Buffer;
}

/** One entry of the log. */
export interface AclLogEntry {
  readonly reason: AclLogReason;
  readonly context: AclLogContext;
  readonly object: Buffer;
  readonly username: Buffer;
  /** Number of events merged into this entry. */
  count: number;
  /** Client description of the latest event. */
  clientInfo: Buffer;
  /** Unix time in ms of the latest event. */
  updatedAt: number;
  readonly createdAt: number;
  /** Sequence number, unique for the life of the process. */
  readonly entryId: number;
}

/** Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA: events further apart than this are not merged. */
const GROUPING_WINDOW_MS = 60_000;
/** Redis compares a new event with this many of the newest entries only. */
const ENTRIES_SCANNED = 10;
/** Redis's default acllog-max-len. */
export const DEFAULT_ACL_LOG_LENGTH = 128;

/** The log. Newest entries first. */
export class AclLog {
  private entries: AclLogEntry[] = [];
  private nextEntryId = 0;
  private readonly maxLength: number;
  private readonly now: () => number;

  /** `now` returns the time in ms; tests pass their own clock. */
  constructor(options: { maxLength?: number; now?: () => number } = {}) {
    this.maxLength = options.maxLength ?? DEFAULT_ACL_LOG_LENGTH;
    this.now = options.now ?? Date.now;
  }

  /** Number of entries. */
  get size(): number {
    return this.entries.length;
  }

  /** Records one event, merging it into a recent equal entry as Redis does. */
  add(event: AclLogEvent): void {
    const now = this.now();
    const scanned = Math.min(ENTRIES_SCANNED, this.entries.length);
    for (let i = 0; i < scanned; i++) {
      const entry = this.entries[i]!;
      if (!matches(entry, event, now)) continue;
      entry.count++;
      entry.clientInfo = Buffer.from(event.clientInfo);
      entry.updatedAt = now;
      this.entries.splice(i, 1);
      this.entries.unshift(entry);
      return;
    }

    this.entries.unshift({
      reason: event.reason,
      context: event.context,
      object: Buffer.from(event.object),
      username: Buffer.from(event.username),
      count: 1,
      clientInfo: Buffer.from(event.clientInfo),
      updatedAt: now,
      createdAt: now,
      entryId: this.nextEntryId++,
    });
    if (this.entries.length > this.maxLength) this.entries.length = this.maxLength;
  }

  /**
   * Records a denial that CompiledUser.check returned for `args` (args[0] is the command name).
   * A script denial is logged as a command denial and a SORT pattern denial as a key denial
   * naming the pattern, because ACL LOG readers know only Redis's reasons.
   */
  addDenial(decision: Denial, args: readonly Buffer[], username: string, clientInfo: string | Buffer): void {
    const commandDenial = decision.reason === 'command' || decision.reason === 'script';
    let reason: AclLogReason = 'key';
    if (commandDenial) reason = 'command';
    else if (decision.reason === 'channel') reason = 'channel';
    const object = commandDenial ? Buffer.from(decision.command) : (args[decision.argIndex!] ?? Buffer.alloc(0));
    this.add({ reason, context: 'toplevel', object, username: Buffer.from(username), clientInfo: Buffer.from(clientInfo) });
  }

  /**
   * Records a failed login. `command` is the command as the client typed it (AUTH or HELLO) and
   * `username` the name it tried, which may be a user the policy does not have.
   */
  addAuthFailure(username: string | Buffer, command: string | Buffer, clientInfo: string | Buffer): void {
    this.add({
      reason: 'auth',
      context: 'toplevel',
      object: Buffer.from(command),
      username: Buffer.from(username),
      clientInfo: Buffer.from(clientInfo),
    });
  }

  /** Returns up to `count` entries, newest first. */
  newest(count: number): readonly AclLogEntry[] {
    return this.entries.slice(0, Math.max(0, count));
  }

  /** Removes every entry, as ACL LOG RESET does. Entry ids keep counting. */
  reset(): void {
    this.entries = [];
  }
}

function matches(entry: AclLogEntry, event: AclLogEvent, now: number): boolean {
  return (
    entry.reason === event.reason &&
    entry.context === event.context &&
    Math.abs(now - entry.updatedAt) <= GROUPING_WINDOW_MS &&
    entry.object.equals(event.object) &&
    entry.username.equals(event.username)
  );
}
