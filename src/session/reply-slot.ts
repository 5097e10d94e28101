/**
 * A reply slot: the place of one request in a session's reply order. A slot is filled either by
 * the session itself (local replies, denials) or by an upstream connection when the upstream's
 * reply arrives; the session writes filled slots to the client strictly in request order.
 *
 * A slot sits in two singly linked FIFOs at once: its session's reply order (`next`) and, while
 * forwarded, the pending list of one upstream connection (`upstreamNext`). Linked lists avoid an
 * array shift or a closure per request on the hot path.
 */
import type { UpstreamConnection } from '../upstream/connection.js';

/** The receiver that a slot notifies when it is filled. */
export interface SlotOwner {
  slotFilled(slot: ReplySlot): void;
  /**
   * Takes a reply that redirects the request to another cluster node (MOVED, ASK) and sends the
   * request there. Returns false when the client should get the reply as it is.
   */
  redirected?(slot: ReplySlot, data: Buffer): boolean;
}

export class ReplySlot {
  /** Reply bytes once known. */
  data: Buffer | null = null;
  next: ReplySlot | null = null;
  upstreamNext: ReplySlot | null = null;
  /** Time the request was sent upstream (process.hrtime.bigint), 0n for a local reply. */
  sentAt = 0n;
  /** Full name of the forwarded command, for metrics. */
  command = '';
  /** Name of the user the forwarded command ran as, for metrics and the audit stream. */
  user = '';
  /** Key names of the forwarded command, for the audit stream when it records them. */
  keys: readonly string[] | undefined = undefined;
  /** Nanoseconds respguard spent on the request before forwarding it. */
  proxyNs = 0;
  /** Replies the upstream sends for this request (SUBSCRIBE with N channels: N). */
  repliesLeft = 1;
  /** Replies received so far when `repliesLeft` started above 1. */
  parts: Buffer[] = [];
  /** Set under CLIENT REPLY OFF or SKIP: the reply is consumed but never written to the client. */
  silent = false;
  /** Called with the reply bytes before the slot is filled, for replies that change session state. */
  onReply: ((data: Buffer) => void) | null = null;
  /** Reply sent to the client in place of the upstream's (EXECABORT for a transaction discarded upstream). */
  rewrite: Buffer | null = null;
  /** Changes the upstream's reply before the client gets it (key listings filtered by the user's key patterns). */
  transform: ((data: Buffer) => Buffer) | null = null;

  /** Request bytes kept until the reply arrives, so that a cluster redirect can resend them; null elsewhere. */
  request: Buffer | null = null;
  /**
   * Cluster mode: the client's state (such as `MULTI`) that a request on the pinned connection
   * needs, null for a request that may move to another node. A MOVED or ASK reply to a request
   * with a state becomes an error for the client, because the state cannot follow the request.
   */
  pinnedState: string | null = null;
  /** The connection and bytes of the last send, which a TRYAGAIN retry repeats. Null until sent upstream. */
  sentTo: UpstreamConnection | null = null;
  sentRequest: Buffer | null = null;
  /** TRYAGAIN retries so far. */
  retries = 0;
  /** Redirects followed for this request so far. */
  redirects = 0;
  /** Set when the request went out behind ASKING: the reply starts with ASKING's one-line reply, which the client must not get. */
  asking = false;

  constructor(readonly owner: SlotOwner) {}

  /** Fills the slot with a whole reply. */
  fill(data: Buffer): void {
    if (this.asking) {
      this.asking = false;
      data = data.subarray(data.indexOf(0x0a) + 1);
    }
    if (this.request !== null && data[0] === 0x2d /* '-' */ && this.owner.redirected?.(this, data)) return;
    // A part of a split request merges the error that replaced a redirect, not the redirect.
    if (this.onReply) this.onReply(this.rewrite ?? data);
    this.data = this.rewrite ?? (this.transform ? this.transform(data) : data);
    this.owner.slotFilled(this);
  }
}
