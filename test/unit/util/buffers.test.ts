import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BATCH_COPY_LIMIT, WriteBatch, joinAdjacent } from '../../../src/util/buffers.js';

describe('joinAdjacent', () => {
  const chunk = Buffer.from('+OK\r\n:1\r\n$1\r\nx\r\n');

  it('joins adjacent views without a copy', () => {
    const joined = joinAdjacent(chunk.subarray(0, 5), chunk.subarray(5, 9));
    expect(joined?.toString()).toBe('+OK\r\n:1\r\n');
    expect(joined?.buffer).toBe(chunk.buffer);
    expect(joined?.byteOffset).toBe(chunk.byteOffset);
  });

  it('rejects views with a gap', () => {
    expect(joinAdjacent(chunk.subarray(0, 5), chunk.subarray(6, 9))).toBe(null);
  });

  it('rejects views in reverse order', () => {
    expect(joinAdjacent(chunk.subarray(5, 9), chunk.subarray(0, 5))).toBe(null);
  });

  it('rejects views of different buffers', () => {
    const other = Buffer.from(chunk);
    expect(joinAdjacent(chunk.subarray(0, 5), other.subarray(5, 9))).toBe(null);
  });
});

/** Returns a Writable that records the chunks of each write and writev call it gets. */
function recordingWritable(): { stream: Writable; calls: Buffer[][] } {
  const calls: Buffer[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      calls.push([chunk]);
      callback();
    },
    writev(chunks, callback) {
      calls.push(chunks.map((entry) => entry.chunk as Buffer));
      callback();
    },
  });
  return { stream, calls };
}

describe('WriteBatch', () => {
  it('writes a single buffer as it is', () => {
    const { stream, calls } = recordingWritable();
    const batch = new WriteBatch();
    const data = Buffer.from('+OK\r\n');
    batch.add(data);
    expect(batch.bytes).toBe(5);
    batch.writeTo(stream);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBe(data);
    expect(batch.isEmpty).toBe(true);
    expect(batch.bytes).toBe(0);
  });

  it('copies small batches into one write', () => {
    const { stream, calls } = recordingWritable();
    const batch = new WriteBatch();
    for (const text of ['+OK\r\n', ':1\r\n', '$1\r\nx\r\n']) batch.add(Buffer.from(text));
    batch.writeTo(stream);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(1);
    expect(calls[0]![0]!.toString()).toBe('+OK\r\n:1\r\n$1\r\nx\r\n');
  });

  it('writes large batches as one writev', () => {
    const { stream, calls } = recordingWritable();
    const batch = new WriteBatch();
    const parts = [Buffer.alloc(BATCH_COPY_LIMIT, 0x61), Buffer.from('+OK\r\n'), Buffer.alloc(10, 0x62)];
    for (const part of parts) batch.add(part);
    batch.writeTo(stream);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual(parts);
  });

  it('joins adjacent views of a large batch', () => {
    const { stream, calls } = recordingWritable();
    const batch = new WriteBatch();
    const chunk = Buffer.alloc(BATCH_COPY_LIMIT + 10, 0x61);
    batch.add(chunk.subarray(0, BATCH_COPY_LIMIT));
    batch.add(chunk.subarray(BATCH_COPY_LIMIT));
    batch.writeTo(stream);
    expect(calls).toEqual([[chunk]]);
    expect(calls[0]![0]!.buffer).toBe(chunk.buffer);
  });

  it('writes nothing when empty', () => {
    const { stream, calls } = recordingWritable();
    expect(new WriteBatch().writeTo(stream)).toBe(true);
    expect(calls).toHaveLength(0);
  });
});
