/**
 * Ways to cut a byte stream into socket chunks, so that parser tests can check that the result
 * does not depend on where the chunks end.
 */

/** Returns a deterministic PRNG (mulberry32), so that a failing random split can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` at `count` random offsets. Each chunk is a copy, as a socket would deliver it. */
export function randomChunks(bytes: Buffer, count: number, random: () => number): Buffer[] {
  const cuts = new Set<number>();
  while (cuts.size < Math.min(count, Math.max(0, bytes.length - 1))) cuts.add(1 + Math.floor(random() * (bytes.length - 1)));
  const offsets = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const chunks: Buffer[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) chunks.push(Buffer.from(bytes.subarray(offsets[i], offsets[i + 1])));
  return chunks;
}

export interface Chunking {
  name: string;
  chunks: Buffer[];
}

/** Returns the stream whole, byte by byte, and cut at random offsets with a fixed seed. */
export function chunkings(bytes: Buffer, randomRuns = 20): Chunking[] {
  const result: Chunking[] = [
    { name: 'whole', chunks: [Buffer.from(bytes)] },
    { name: 'byte by byte', chunks: [...bytes].map((byte) => Buffer.from([byte])) },
  ];
  const random = seededRandom(bytes.length);
  for (let run = 0; run < randomRuns; run++) {
    result.push({ name: `random split ${run}`, chunks: randomChunks(bytes, 1 + Math.floor(random() * 8), random) });
  }
  return result;
}

/** Cuts `bytes` into chunks of `size` bytes, the last one shorter. */
export function fixedChunks(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}
