import { describe, expect, it } from 'vitest';
import { Blocklist, blockedText, DEFAULT_BLOCKED_COMMANDS } from '../../../src/acl/blocklist.js';
import { CommandTable } from '../../../src/commands/table.js';
import type { CommandInfo } from '../../../src/commands/types.js';
import { RespguardError } from '../../../src/errors.js';

const table = CommandTable.default();

function command(...request: string[]): CommandInfo {
  const lookup = table.resolve(request.map((arg) => Buffer.from(arg)));
  if (lookup.kind !== 'ok') throw new Error(`request ${request.join(' ')} does not resolve: ${lookup.kind}`);
  return lookup.command;
}

function configError(entries: string[]): RespguardError {
  try {
    new Blocklist(entries, table);
  } catch (error) {
    expect(error).toBeInstanceOf(RespguardError);
    return error as RespguardError;
  }
  throw new Error('the blocklist was built without an error');
}

describe('Blocklist', () => {
  it('knows every default entry', () => {
    expect(() => new Blocklist(DEFAULT_BLOCKED_COMMANDS, table)).not.toThrow();
    expect(DEFAULT_BLOCKED_COMMANDS).toHaveLength(45);
  });

  it('blocks default commands and subcommands', () => {
    const blocklist = new Blocklist(DEFAULT_BLOCKED_COMMANDS, table);
    expect(blocklist.blocks(command('flushall'))).toBe(true);
    expect(blocklist.blocks(command('config', 'get', 'maxmemory'))).toBe(true);
    expect(blocklist.blocks(command('acl', 'setuser', 'x'))).toBe(true);
    expect(blocklist.blocks(command('client', 'kill', '1.2.3.4:5'))).toBe(true);
    expect(blocklist.blocks(command('cluster', 'meet', '127.0.0.1', '1'))).toBe(true);
  });

  it.each([
    ['swapdb', '0', '1'],
    ['client', 'unblock', '7'],
    ['slowlog', 'reset'],
    ['latency', 'reset'],
    ['config', 'resetstat'],
    ['function', 'delete', 'lib'],
    ['function', 'restore', 'payload'],
    ['function', 'flush'],
    ['cluster', 'addslots', '1'],
    ['cluster', 'addslotsrange', '1', '2'],
    ['cluster', 'delslots', '1'],
    ['cluster', 'delslotsrange', '1', '2'],
    ['cluster', 'flushslots'],
    ['cluster', 'setslot', '1', 'stable'],
    ['cluster', 'bumpepoch'],
    ['cluster', 'set-config-epoch', '1'],
    ['cluster', 'saveconfig'],
    ['cluster', 'replicate', 'id'],
    ['cluster', 'reset'],
    ['cluster', 'failover'],
    ['cluster', 'forget', 'id'],
    ['cluster', 'meet', '127.0.0.1', '1'],
  ])('blocks %s %s by default', (...request) => {
    const blocklist = new Blocklist(DEFAULT_BLOCKED_COMMANDS, table);
    expect(blocklist.blocks(command(...request))).toBe(true);
    expect(blocklist.blocks(command(...request.map((word) => word.toUpperCase())))).toBe(true);
  });

  it.each([
    ['cluster', 'info'],
    ['cluster', 'nodes'],
    ['cluster', 'slots'],
    ['cluster', 'shards'],
    ['cluster', 'myid'],
    ['cluster', 'keyslot', 'k'],
    ['cluster', 'countkeysinslot', '1'],
    ['slowlog', 'get'],
    ['latency', 'latest'],
    ['function', 'list'],
    ['function', 'load', 'code'],
  ])('leaves %s %s to the ACL', (...request) => {
    const blocklist = new Blocklist(DEFAULT_BLOCKED_COMMANDS, table);
    expect(blocklist.blocks(command(...request))).toBe(false);
  });

  it('lets other commands through', () => {
    const blocklist = new Blocklist(DEFAULT_BLOCKED_COMMANDS, table);
    expect(blocklist.blocks(command('get', 'k'))).toBe(false);
    expect(blocklist.blocks(command('acl', 'whoami'))).toBe(false);
    expect(blocklist.blocks(command('client', 'setname', 'n'))).toBe(false);
    expect(blocklist.blocks(command('script', 'load', 'return 1'))).toBe(false);
    expect(blocklist.blocks(command('cluster', 'info'))).toBe(false);
  });

  it('reads entries in any case', () => {
    const blocklist = new Blocklist(['keys', 'Object|Freq'], table);
    expect(blocklist.blocks(command('KEYS', '*'))).toBe(true);
    expect(blocklist.blocks(command('object', 'freq', 'k'))).toBe(true);
    expect(blocklist.blocks(command('object', 'encoding', 'k'))).toBe(false);
  });

  it('blocks nothing when empty', () => {
    expect(new Blocklist([], table).blocks(command('flushall'))).toBe(false);
  });

  it.each(['nosuchcommand', 'config|nosuch', 'get|x', 'config|get|x', '', 'flushall '])('rejects entry %j', (entry) => {
    const error = configError(['flushall', entry]);
    expect(error.code).toBe('RG_ERR_CONFIG');
    expect(error.message).toContain(JSON.stringify(entry));
  });
});

describe('blockedText', () => {
  it('names the command', () => {
    expect(blockedText(command('flushall'))).toBe("ERR command 'flushall' is blocked by respguard");
  });

  it('names a subcommand in full', () => {
    expect(blockedText(command('acl', 'setuser', 'x'))).toBe("ERR command 'acl|setuser' is blocked by respguard");
  });
});
