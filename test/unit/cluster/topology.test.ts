/**
 * The cluster topology read from CLUSTER NODES text (in the format of redis-server 7.0), the
 * slot map's handling of views with older config epochs, and the SCAN composite cursor.
 */
import { describe, expect, it } from 'vitest';
import { decodeScanCursor, encodeScanCursor, nextScanCursor } from '../../../src/upstream/cluster/scan.js';
import { SlotMap } from '../../../src/upstream/cluster/slot-map.js';
import { parseClusterNodes } from '../../../src/upstream/cluster/topology.js';

/** Builds one CLUSTER NODES line. */
function line(id: string, address: string, flags: string, primary: string, epoch: number, slots = ''): string {
  return `${id} ${address}@1${address.split(':')[1]} ${flags} ${primary} 0 1700000000000 ${epoch} connected ${slots}`.trimEnd();
}

const BEFORE = [
  line('a', '127.0.0.1:7000', 'myself,master', '-', 1, '0-5460'),
  line('b', '127.0.0.1:7001', 'master', '-', 2, '5461-10922'),
  line('c', '127.0.0.1:7002', 'master', '-', 3, '10923-16383'),
  line('d', '127.0.0.1:7003', 'slave', 'a', 1),
  line('e', '127.0.0.1:7004', 'slave', 'b', 2),
  line('f', '127.0.0.1:7005', 'slave,fail', 'c', 3),
].join('\n');

/** The view after replica d took over a's slots with config epoch 7. */
const AFTER_FAILOVER = [
  line('a', '127.0.0.1:7000', 'slave', 'd', 1),
  line('b', '127.0.0.1:7001', 'master', '-', 2, '5461-10922'),
  line('c', '127.0.0.1:7002', 'master', '-', 3, '10923-16383'),
  line('d', '127.0.0.1:7003', 'myself,master', '-', 7, '0-5460'),
  line('e', '127.0.0.1:7004', 'slave', 'b', 2),
].join('\n');

describe('parseClusterNodes', () => {
  it('reads ranges, epochs and replicas', () => {
    const view = parseClusterNodes(BEFORE, '127.0.0.1');
    expect(view.ranges).toEqual([
      { start: 0, end: 5460, primary: '127.0.0.1:7000', epoch: 1 },
      { start: 5461, end: 10922, primary: '127.0.0.1:7001', epoch: 2 },
      { start: 10923, end: 16383, primary: '127.0.0.1:7002', epoch: 3 },
    ]);
    expect([...view.replicas.get('127.0.0.1:7000')!]).toEqual(['127.0.0.1:7003']);
    expect([...view.replicas.get('127.0.0.1:7001')!]).toEqual(['127.0.0.1:7004']);
    // A failed replica is left out.
    expect(view.replicas.has('127.0.0.1:7002')).toBe(false);
  });

  it('lists nodes flagged fail, not fail?', () => {
    const text = [
      line('a', '127.0.0.1:7000', 'master,fail', '-', 1),
      line('b', '127.0.0.1:7001', 'master,fail?', '-', 2, '5461-10922'),
      line('d', '127.0.0.1:7003', 'myself,master', '-', 7, '0-5460'),
      line('f', '127.0.0.1:7005', 'slave,fail', 'b', 2),
    ].join('\n');
    const view = parseClusterNodes(text, '127.0.0.1');
    expect([...view.failed].sort()).toEqual(['127.0.0.1:7000', '127.0.0.1:7005']);
  });

  it('reads single slots and skips migration markers', () => {
    const text = line('a', ':7000', 'myself,master', '-', 4, '0-99 100 [101->-b] [102-<-c] 200-300');
    const view = parseClusterNodes(text, '10.0.0.1');
    expect(view.ranges).toEqual([
      { start: 0, end: 99, primary: '10.0.0.1:7000', epoch: 4 },
      { start: 100, end: 100, primary: '10.0.0.1:7000', epoch: 4 },
      { start: 200, end: 300, primary: '10.0.0.1:7000', epoch: 4 },
    ]);
  });

  it('rejects a truncated line', () => {
    expect(() => parseClusterNodes('a 127.0.0.1:7000@17000 master -', '127.0.0.1')).toThrow('invalid CLUSTER NODES line with 4 fields');
  });
});

describe('SlotMap', () => {
  it('counts a failover to a replica', () => {
    const map = new SlotMap();
    const first = map.apply(parseClusterNodes(BEFORE, '127.0.0.1'));
    expect(first.failovers).toBe(0);
    expect(first.added).toEqual(['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002']);
    const change = map.apply(parseClusterNodes(AFTER_FAILOVER, '127.0.0.1'));
    expect(change.moved).toEqual([{ start: 0, end: 5460, from: '127.0.0.1:7000', to: '127.0.0.1:7003', failover: true }]);
    expect(change.failovers).toBe(1);
    expect(change.added).toEqual(['127.0.0.1:7003']);
    expect(change.removed).toEqual(['127.0.0.1:7000']);
    expect(map.ownerOf(0)).toBe('127.0.0.1:7003');
    expect(map.primaries).toEqual(['127.0.0.1:7003', '127.0.0.1:7001', '127.0.0.1:7002']);
  });

  it('ignores a view with an older epoch', () => {
    const map = new SlotMap();
    map.apply(parseClusterNodes(BEFORE, '127.0.0.1'));
    map.apply(parseClusterNodes(AFTER_FAILOVER, '127.0.0.1'));
    // A node that has not heard of the failover yet still shows a's epoch 1 for slots 0-5460.
    const stale = map.apply(parseClusterNodes(BEFORE, '127.0.0.1'));
    expect(stale.moved).toEqual([]);
    expect(stale.failovers).toBe(0);
    expect(stale.staleSlots).toBe(5461);
    expect(map.ownerOf(5460)).toBe('127.0.0.1:7003');
  });

  it('routes a MOVED slot until the next view', () => {
    const map = new SlotMap();
    map.apply(parseClusterNodes(BEFORE, '127.0.0.1'));
    map.move(42, '127.0.0.1:7001');
    expect(map.ownerOf(42)).toBe('127.0.0.1:7001');
    expect(map.primaries).toEqual(['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.1:7002']);
    map.apply(parseClusterNodes(BEFORE, '127.0.0.1'));
    expect(map.ownerOf(42)).toBe('127.0.0.1:7000');
  });
});

describe('SCAN composite cursor', () => {
  it('round-trips node and cursor', () => {
    for (const position of [
      { node: 0, cursor: 0n },
      { node: 2, cursor: 0n },
      { node: 1, cursor: 1234n },
      { node: 16383, cursor: 18446744073709551615n },
    ]) {
      expect(decodeScanCursor(encodeScanCursor(position))).toEqual(position);
    }
  });

  it('moves to the next node and ends with 0', () => {
    expect(nextScanCursor(0, 96n, 3)).toBe(encodeScanCursor({ node: 0, cursor: 96n }));
    expect(nextScanCursor(0, 0n, 3)).toBe('1');
    expect(nextScanCursor(1, 0n, 3)).toBe('2');
    expect(nextScanCursor(2, 0n, 3)).toBe('0');
  });

  it('rejects cursors that are not decimal', () => {
    expect(decodeScanCursor('')).toBeNull();
    expect(decodeScanCursor('-1')).toBeNull();
    expect(decodeScanCursor('1e3')).toBeNull();
    expect(decodeScanCursor('1'.repeat(41))).toBeNull();
  });
});
