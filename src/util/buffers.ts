/**
 * Joining views that sit next to each other in one underlying buffer, without copying: the
 * decoder and the reply framer return views into the chunk they read, so consecutive requests
 * of one client, or consecutive replies to one client, are usually adjacent and can go out as
 * one write.
 */

/** Returns one view covering `first` and then `second` when they are adjacent in memory, else null. */
export function joinAdjacent(first: Buffer, second: Buffer): Buffer | null {
  if (first.buffer !== second.buffer || first.byteOffset + first.length !== second.byteOffset) return null;
  return Buffer.from(first.buffer, first.byteOffset, first.length + second.length);
}
