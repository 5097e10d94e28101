import { describe, expect, it } from 'vitest';
import { joinAdjacent } from '../../../src/util/buffers.js';

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
