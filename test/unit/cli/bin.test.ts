import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Runs the installed entry point, bin/respguard.js, against a fresh build in dist/. The build's
 * exit status is ignored because tsc emits JavaScript even when some file has a type error.
 * A type error elsewhere in the tree then does not hide whether the command works, and the
 * typecheck still reports it.
 */
describe('bin/respguard.js', () => {
  beforeAll(() => {
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { encoding: 'utf8' });
  }, 120_000);

  it('checks the example config', () => {
    const result = spawnSync('node', ['bin/respguard.js', 'check-config', 'config/respguard.example.yaml'], { encoding: 'utf8' });
    // The example keeps readable passwords for a first run, so check-config warns about them.
    expect(result.stderr).toBe(
      'config/respguard.example.yaml: users.app_writer.acl: warning: the file contains a plaintext password (">..."). Replace it with its "#<sha256>" form from respguard hash-password\n' +
        'config/respguard.example.yaml: users.admin.acl: warning: the user may run every command on every key (+@all ~*). Grant only the categories and key patterns it needs\n' +
        'config/respguard.example.yaml: users.admin.acl: warning: the file contains a plaintext password (">..."). Replace it with its "#<sha256>" form from respguard hash-password\n',
    );
    expect(result.stdout).toBe('config/respguard.example.yaml: OK (1 listener, 3 users)\n');
    expect(result.status).toBe(0);
  });

  it('hashes a password from stdin', () => {
    const result = spawnSync('node', ['bin/respguard.js', 'hash-password'], { input: 'reader-secret\n', encoding: 'utf8' });
    expect(result.stdout).toBe('#f03319dee240faa729e0cfa7ab5ffd80a1d64a127e3643f239009abff6382914\n');
    expect(result.status).toBe(0);
  });

  it('exits 1 on an invalid config', () => {
    const result = spawnSync('node', ['bin/respguard.js', 'check-config', 'config/absent.yaml'], { encoding: 'utf8' });
    expect(result.stderr).toBe('config/absent.yaml: cannot read the config file: file not found\n');
    expect(result.status).toBe(1);
  });
});
