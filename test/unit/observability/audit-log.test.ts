import { describe, expect, it } from 'vitest';
import { AuditLog, CommandAuditStream } from '../../../src/observability/audit.js';
import { createLogger } from '../../../src/observability/logger.js';
import { captureLogs } from '../../helpers/proxy.js';

const SOURCE = { listener: '127.0.0.1:6380', remote: '10.0.0.7:50001', session: 1 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function setup(windowMs: number, level: 'warn' | 'info' = 'info') {
  const { capture, stream } = captureLogs();
  const suppressed: string[] = [];
  const log = new AuditLog(createLogger(level, stream), { windowMs, onSuppressed: (event) => suppressed.push(event) });
  return { log, capture, suppressed };
}

describe('AuditLog', () => {
  it('writes the first of identical entries and counts the rest', () => {
    const { log, capture, suppressed } = setup(60_000);
    for (let i = 0; i < 5; i++) log.write({ event: 'auth_failed', ...SOURCE, user: 'app', via: 'AUTH', reason: 'password mismatch' }, 'authentication failed');
    expect(capture.lines.length).toBe(1);
    expect(capture.lines[0]).toMatchObject({ level: 40, event: 'auth_failed', user: 'app', reason: 'password mismatch', msg: 'authentication failed' });
    expect(suppressed).toEqual(['auth_failed', 'auth_failed', 'auth_failed', 'auth_failed']);
    log.flush();
  });

  it('treats another port of the same client as identical', () => {
    const { log, capture } = setup(60_000);
    log.write({ event: 'denied', ...SOURCE, user: 'app', command: 'set', reason: 'key' }, 'command denied by ACL');
    log.write({ event: 'denied', ...SOURCE, remote: '10.0.0.7:50002', session: 2, user: 'app', command: 'set', reason: 'key' }, 'command denied by ACL');
    expect(capture.lines.length).toBe(1);
    log.flush();
  });

  it('writes entries that differ in a field', () => {
    const { log, capture } = setup(60_000);
    log.write({ event: 'denied', ...SOURCE, user: 'app', command: 'set', reason: 'key' }, 'command denied by ACL');
    log.write({ event: 'denied', ...SOURCE, user: 'app', command: 'get', reason: 'key' }, 'command denied by ACL');
    log.write({ event: 'denied', ...SOURCE, remote: '10.0.0.8:50001', user: 'app', command: 'set', reason: 'key' }, 'command denied by ACL');
    log.write({ event: 'denied', ...SOURCE, user: 'ops', command: 'set', reason: 'key' }, 'command denied by ACL');
    expect(capture.lines.map((line) => [line.user, line.command, line.remote])).toEqual([
      ['app', 'set', '10.0.0.7:50001'],
      ['app', 'get', '10.0.0.7:50001'],
      ['app', 'set', '10.0.0.8:50001'],
      ['ops', 'set', '10.0.0.7:50001'],
    ]);
    log.flush();
  });

  it('writes a summary when the window ends', async () => {
    const { log, capture } = setup(100);
    for (let i = 0; i < 3; i++) log.write({ event: 'blocked', ...SOURCE, user: 'app', command: 'flushall' }, 'command blocked by blockCommands');
    await sleep(250);
    expect(capture.lines.length).toBe(2);
    expect(capture.lines[1]).toMatchObject({
      level: 40,
      event: 'blocked',
      user: 'app',
      command: 'flushall',
      repeated: 2,
      windowMs: 100,
      msg: 'command blocked by blockCommands: 2 more identical entries within 100 ms',
    });
  });

  it('writes no summary for a single entry', async () => {
    const { log, capture } = setup(50);
    log.write({ event: 'limit', ...SOURCE, reason: 'output_buffer' }, 'client disconnected at a limit');
    await sleep(150);
    expect(capture.lines.length).toBe(1);
  });

  it('writes again after the window', async () => {
    const { log, capture } = setup(50);
    log.write({ event: 'limit', ...SOURCE, reason: 'output_buffer' }, 'client disconnected at a limit');
    await sleep(80);
    log.write({ event: 'limit', ...SOURCE, reason: 'output_buffer' }, 'client disconnected at a limit');
    expect(capture.lines.length).toBe(2);
    log.flush();
  });

  it('flushes open summaries', () => {
    const { log, capture } = setup(60_000);
    log.write({ event: 'denied', ...SOURCE, user: 'app', command: 'set', reason: 'key' }, 'command denied by ACL');
    log.write({ event: 'denied', ...SOURCE, user: 'app', command: 'set', reason: 'key' }, 'command denied by ACL');
    log.flush();
    expect(capture.lines.length).toBe(2);
    expect(capture.lines[1]!.repeated).toBe(1);
  });
});

describe('CommandAuditStream', () => {
  const finished = (stream: CommandAuditStream, user: string) => stream.record(SOURCE, user, 'get', 'allowed', 12_400, 250_600);

  it('records every user with all', () => {
    const { capture, stream } = captureLogs();
    const audit = new CommandAuditStream(createLogger('info', stream), { commands: 'all' });
    expect(audit.enabled).toBe(true);
    finished(audit, 'app');
    finished(audit, 'unauthenticated');
    expect(capture.lines.map((line) => line.user)).toEqual(['app', 'unauthenticated']);
    expect(capture.lines[0]).toMatchObject({
      level: 30,
      event: 'command',
      listener: '127.0.0.1:6380',
      remote: '10.0.0.7:50001',
      session: 1,
      user: 'app',
      command: 'get',
      result: 'allowed',
      proxyUs: 12,
      upstreamUs: 251,
      msg: 'command audited',
    });
  });

  it('records only listed users', () => {
    const { capture, stream } = captureLogs();
    const audit = new CommandAuditStream(createLogger('info', stream), { commands: ['ops'] });
    finished(audit, 'app');
    finished(audit, 'ops');
    expect(capture.lines.map((line) => line.user)).toEqual(['ops']);
  });

  it('is off without a config', () => {
    const { capture, stream } = captureLogs();
    const audit = new CommandAuditStream(createLogger('info', stream), undefined);
    expect(audit.enabled).toBe(false);
    audit.configure({ commands: [] });
    expect(audit.enabled).toBe(false);
    audit.configure({ commands: ['app'] });
    expect(audit.enabled).toBe(true);
    finished(audit, 'app');
    expect(capture.lines.length).toBe(1);
  });

  it('writes above the log level', () => {
    const { capture, stream } = captureLogs();
    const audit = new CommandAuditStream(createLogger('error', stream), { commands: 'all' });
    finished(audit, 'app');
    expect(capture.lines.length).toBe(1);
  });
});
