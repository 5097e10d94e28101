import { describe, expect, it } from 'vitest';
import { AclLog, type AclLogEvent } from '../../../src/acl/acl-log.js';
import { formatG17 } from '../../../src/acl/acl-replies.js';

function event(object: string, overrides: Partial<AclLogEvent> = {}): AclLogEvent {
  return {
    reason: 'key',
    context: 'toplevel',
    object: Buffer.from(object),
    username: Buffer.from('app'),
    clientInfo: Buffer.from('id=1'),
    ...overrides,
  };
}

/** Creates an AclLog whose clock the test moves. */
function logWithClock(maxLength?: number): { log: AclLog; advance(ms: number): void } {
  let now = 1_000_000;
  const log = new AclLog({ ...(maxLength === undefined ? {} : { maxLength }), now: () => now });
  return { log, advance: (ms) => (now += ms) };
}

describe('AclLog', () => {
  it('merges repeats within 60 seconds', () => {
    const { log, advance } = logWithClock();
    log.add(event('k1'));
    advance(60_000);
    log.add(event('k1', { clientInfo: Buffer.from('id=2') }));
    expect(log.size).toBe(1);
    const [entry] = log.newest(10);
    expect(entry!.count).toBe(2);
    expect(entry!.clientInfo.toString()).toBe('id=2');
    expect(entry!.createdAt).toBe(1_000_000);
    expect(entry!.updatedAt).toBe(1_060_000);
    expect(entry!.entryId).toBe(0);
  });

  it('starts a new entry after 60 seconds', () => {
    const { log, advance } = logWithClock();
    log.add(event('k1'));
    advance(60_001);
    log.add(event('k1'));
    expect(log.newest(10).map((entry) => [entry.entryId, entry.count])).toEqual([[1, 1], [0, 1]]);
  });

  it('keeps apart other reasons, users and objects', () => {
    const { log } = logWithClock();
    log.add(event('k1'));
    log.add(event('k1', { reason: 'channel' }));
    log.add(event('k1', { username: Buffer.from('other') }));
    log.add(event('k2'));
    log.add(event('k1', { context: 'multi' }));
    expect(log.size).toBe(5);
  });

  it('moves a merged entry to the front', () => {
    const { log } = logWithClock();
    log.add(event('k1'));
    log.add(event('k2'));
    log.add(event('k1'));
    expect(log.newest(10).map((entry) => entry.object.toString())).toEqual(['k1', 'k2']);
  });

  it('compares with the 10 newest entries only', () => {
    const { log } = logWithClock();
    for (let i = 0; i <= 10; i++) log.add(event(`k${i}`));
    log.add(event('k0'));
    expect(log.size).toBe(12);
    log.add(event('k2'));
    expect(log.size).toBe(12);
  });

  it('drops the oldest entries past the maximum length', () => {
    const { log } = logWithClock(3);
    for (let i = 0; i < 5; i++) log.add(event(`k${i}`));
    expect(log.newest(10).map((entry) => entry.object.toString())).toEqual(['k4', 'k3', 'k2']);
  });

  it('keeps counting entry ids after a reset', () => {
    const { log } = logWithClock();
    log.add(event('k1'));
    log.reset();
    expect(log.size).toBe(0);
    log.add(event('k1'));
    expect(log.newest(1)[0]!.entryId).toBe(1);
  });

  it('records denials with Redis reasons', () => {
    const { log } = logWithClock();
    const args = ['sort', 'k', 'by', 'w_*'].map((arg) => Buffer.from(arg));
    log.addDenial({ allowed: false, reason: 'command', command: 'set' }, args, 'app', 'id=1');
    log.addDenial({ allowed: false, reason: 'script', command: 'eval', stricter: true }, args, 'app', 'id=1');
    log.addDenial({ allowed: false, reason: 'key', command: 'sort', argIndex: 1 }, args, 'app', 'id=1');
    log.addDenial({ allowed: false, reason: 'sort-pattern', command: 'sort', argIndex: 3, stricter: true, sortOption: 'BY' }, args, 'app', 'id=1');
    log.addDenial({ allowed: false, reason: 'channel', command: 'publish', argIndex: 2 }, args, 'app', 'id=1');
    log.addAuthFailure('nobody', 'AUTH', 'id=2');
    const shown = log.newest(10).map((entry) => `${entry.reason} ${entry.object.toString()} ${entry.username.toString()}`);
    expect(shown).toEqual(['auth AUTH nobody', 'channel by app', 'key w_* app', 'key k app', 'command eval app', 'command set app']);
  });

  it('returns no entries for a count of 0', () => {
    const { log } = logWithClock();
    log.add(event('k1'));
    expect(log.newest(0)).toEqual([]);
    expect(log.newest(-1)).toEqual([]);
  });
});

describe('formatG17', () => {
  it.each([
    [0, '0'],
    [0.008, '0.0080000000000000002'],
    [0.5, '0.5'],
    [1e-5, '1.0000000000000001e-05'],
    [123456789012345678, '1.2345678901234568e+17'],
    [1.5, '1.5'],
    [60.001, '60.000999999999998'],
    [0.0001, '0.0001'],
    [12.345, '12.345000000000001'],
    [1e17, '1e+17'],
    [0.1, '0.10000000000000001'],
    [3, '3'],
  ])('formats %d as printf does', (value, text) => {
    expect(formatG17(value)).toBe(text);
  });
});
