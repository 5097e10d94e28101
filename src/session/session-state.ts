/**
 * The connection state that one client session has set up, as respguard tracks it: what makes
 * the session need an upstream connection of its own, and what a reply must be matched against
 * (subscriptions per kind). The tracked state is the client's view; the pinned upstream
 * connection carries the real one, and the two change together because every command that
 * changes state runs on that connection.
 */
import type { CommandInfo } from '../commands/types.js';
import type { SubscriptionKind } from './stateful.js';

/** A transaction between MULTI and EXEC. */
export interface Transaction {
  /** A queued command was rejected (denied, blocked, unknown): EXEC must abort. */
  dirty: boolean;
  /** Queued commands, checked again at EXEC when the policy changed in between. */
  readonly queued: { readonly command: CommandInfo; readonly args: readonly Buffer[] }[];
  /**
   * Cluster mode: keyless commands queued before the first command with keys chose the
   * transaction's node. They got +QUEUED from respguard and go upstream behind MULTI on that node.
   */
  readonly deferred: { readonly name: string; readonly request: Buffer }[];
}

export class SessionState {
  transaction: Transaction | null = null;
  watching = false;
  readonly subscriptions: Record<SubscriptionKind, Set<string>> = {
    channel: new Set(),
    pattern: new Set(),
    shard: new Set(),
  };
  db = 0;
  /** SELECT commands sent so far, to tell the latest one's reply apart. */
  selects = 0;
  tracking = false;
  /**
   * Cluster mode: the CLIENT TRACKING ON request as sent upstream, sent again on a connection
   * pinned on each other node that the client's keys reach. Null when tracking is off or uses
   * REDIRECT, whose client id exists on one node only.
   */
  trackingRequest: Buffer | null = null;
  monitor = false;
  readOnly = false;
  noTouch = false;
  noEvict = false;
  /** Blocking commands sent and not yet answered. */
  blocking = 0;
  /** CLIENT REPLY: 'off' drops every reply, 'skip' drops the next one. */
  replyMode: 'on' | 'off' | 'skip' = 'on';

  get subscribed(): boolean {
    return this.subscriptions.channel.size + this.subscriptions.pattern.size + this.subscriptions.shard.size > 0;
  }

  /**
   * Names the state that needs the pinned connection, for error replies: the first of MULTI,
   * WATCH, CLIENT TRACKING, CLIENT NO-TOUCH, SUBSCRIBE, MONITOR, SELECT, READONLY and blocking
   * commands that is set.
   */
  pinReason(): string {
    if (this.transaction) return 'MULTI';
    if (this.watching) return 'WATCH';
    if (this.tracking) return 'CLIENT TRACKING';
    if (this.noTouch) return 'CLIENT NO-TOUCH';
    if (this.subscribed) return 'SUBSCRIBE';
    if (this.monitor) return 'MONITOR';
    if (this.db !== 0) return 'SELECT';
    if (this.readOnly) return 'READONLY';
    return 'blocking command';
  }

  /**
   * True when commands with keys must run on the pinned connection because the state changes
   * what they do there: CLIENT TRACKING remembers the keys they read, and CLIENT NO-TOUCH keeps
   * their access time.
   */
  get keysNeedPin(): boolean {
    return this.tracking || this.noTouch;
  }

  /** True when keys of another node than the pinned connection's can run on a connection pinned there with the same state. */
  get keysFollowToOtherNodes(): boolean {
    return this.trackingRequest !== null && !this.noTouch;
  }

  /** True while the session needs its own upstream connection. */
  needsPin(): boolean {
    return (
      this.transaction !== null ||
      this.watching ||
      this.subscribed ||
      this.db !== 0 ||
      this.tracking ||
      this.monitor ||
      this.readOnly ||
      this.noTouch ||
      this.blocking > 0
    );
  }
}
