/**
 * Batches of buffers that go to one socket together at the end of a tick: the requests that the
 * upstream connection sends in one event-loop turn, and the replies that a client gets in one
 * tick. A batch leaves in one write, so in one system call where the kernel takes it all.
 */
import type { Writable } from 'node:stream';

/**
 * Batches up to this many bytes are copied into one buffer: a copy of a few KiB costs less than
 * handing Node.js many small buffers for a writev. Larger batches are written corked, as a writev.
 */
export const BATCH_COPY_LIMIT = 64 * 1024;

/** Buffers queued for one write, in order. */
export class WriteBatch {
  private first: Buffer | null = null;
  /** The buffers after `first`; null while there is at most one, so that one reply allocates no array. */
  private rest: Buffer[] | null = null;
  /** Bytes queued. */
  bytes = 0;

  get isEmpty(): boolean {
    return this.first === null;
  }

  add(data: Buffer): void {
    if (this.first === null) {
      this.first = data;
      this.bytes = data.length;
      return;
    }
    this.bytes += data.length;
    // Only a batch too large to copy gains from joining: it goes out as a writev, which then gets
    // fewer parts. Below that, the check would cost more than the copy saves.
    if (this.bytes > BATCH_COPY_LIMIT) {
      const rest = this.rest;
      const last = rest ? rest[rest.length - 1]! : this.first;
      const joined = joinAdjacent(last, data);
      if (joined) {
        if (rest) rest[rest.length - 1] = joined;
        else this.first = joined;
        return;
      }
    }
    (this.rest ??= []).push(data);
  }

  /** Empties the batch without writing it. */
  clear(): void {
    this.first = null;
    this.rest = null;
    this.bytes = 0;
  }

  /** Writes the queued buffers to `socket` and empties the batch. Returns what the last write returned. */
  writeTo(socket: Writable): boolean {
    const first = this.first;
    const rest = this.rest;
    const bytes = this.bytes;
    this.clear();
    if (first === null) return true;
    if (rest === null) return socket.write(first);
    if (bytes <= BATCH_COPY_LIMIT) return socket.write(Buffer.concat([first, ...rest], bytes));
    socket.cork();
    let accepted = socket.write(first);
    for (const data of rest) accepted = socket.write(data);
    socket.uncork();
    return accepted;
  }
}

/** Returns one view covering `first` and then `second` when they are adjacent in memory, else null. */
export function joinAdjacent(first: Buffer, second: Buffer): Buffer | null {
  if (first.buffer !== second.buffer || first.byteOffset + first.length !== second.byteOffset) return null;
  return Buffer.from(first.buffer, first.byteOffset, first.length + second.length);
}
