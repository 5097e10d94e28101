/**
 * The rules of `respguard audit`: each reads the facts collected from a live Redis and may
 * return a finding with its severity and the fix. High means that anyone who reaches the port,
 * or has a user name, can use the server; medium means more exposure or privilege than a
 * deployment usually needs; low is hardening that limits damage.
 */
import type { AuditFacts } from './audit-checks.js';

export type Severity = 'high' | 'medium' | 'low';

/** One weak setting, with what it allows and how to fix it. */
export interface Finding {
  /** Stable identifier, for scripts that filter the output. */
  readonly id: string;
  readonly severity: Severity;
  readonly title: string;
  readonly fix: string;
}

const SEVERITY_ORDER: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
const ALL_INTERFACES = new Set(['*', '0.0.0.0', '::', '::*']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Applies every rule; returns the findings, most severe first. */
export function findIssues(facts: AuditFacts): Finding[] {
  const passwordless = hasNoPassword(facts);
  const findings = [
    ...authenticationFindings(facts, passwordless),
    ...networkFindings(facts, passwordless),
    ...userFindings(facts),
    ...commandFindings(facts),
  ];
  return findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
}

function hasNoPassword(facts: AuditFacts): boolean {
  if (facts.anonymous === 'open' || facts.anonymous === 'protected') return true;
  return facts.users?.some((user) => user.name === 'default' && user.enabled && user.nopass) ?? false;
}

function authenticationFindings(facts: AuditFacts, passwordless: boolean): Finding[] {
  const findings: Finding[] = [];
  if (passwordless) {
    const reach =
      facts.anonymous === 'protected'
        ? 'Protected mode turns away clients from other hosts, but every process on the Redis host gets in'
        : 'Anyone who reaches the port can run commands';
    findings.push({
      id: 'no-password',
      severity: 'high',
      title: `No password: a connection without credentials is logged in as the default user (nopass). ${reach}.`,
      fix: 'Give the default user a long random password (ACL SETUSER default on >PASSWORD, or requirepass), or turn it off (ACL SETUSER default off) and give each application its own user.',
    });
  }
  const nopassUsers = facts.users?.filter((user) => user.name !== 'default' && user.enabled && user.nopass).map((user) => user.name) ?? [];
  if (nopassUsers.length > 0) {
    findings.push({
      id: 'nopass-users',
      severity: 'high',
      title: `Users that log in with any password (nopass): ${nopassUsers.join(', ')}.`,
      fix: 'Give each of them a password (ACL SETUSER NAME resetpass >PASSWORD) or turn them off.',
    });
  }
  return findings;
}

function networkFindings(facts: AuditFacts, passwordless: boolean): Finding[] {
  const findings: Finding[] = [];
  if (facts.config.get('protected-mode') === 'no') {
    findings.push({
      id: 'protected-mode-off',
      severity: passwordless ? 'high' : 'low',
      title: 'Protected mode is off: without a password, clients from any host are served.',
      fix: 'Set protected-mode yes in redis.conf (and CONFIG SET protected-mode yes on the running server).',
    });
  }
  const bind = facts.config.get('bind');
  const addresses = bind === undefined ? [] : bind.split(/\s+/).filter((word) => word !== '').map((word) => word.replace(/^-/, ''));
  if (bind !== undefined && (addresses.length === 0 || addresses.some((address) => ALL_INTERFACES.has(address)))) {
    findings.push({
      id: 'bind-all-interfaces',
      severity: passwordless ? 'high' : 'medium',
      title: `Redis listens on all network interfaces (bind "${bind}").`,
      fix: 'Bind only the addresses that clients use (for example bind 127.0.0.1 -::1, or a private address) and keep the port closed in the firewall.',
    });
  }
  const loopbackOnly = addresses.length > 0 && addresses.every((address) => LOOPBACK.has(address));
  findings.push(...tlsFindings(facts, loopbackOnly));
  return findings;
}

function tlsFindings(facts: AuditFacts, loopbackOnly: boolean): Finding[] {
  const tlsPort = facts.config.get('tls-port');
  const port = facts.config.get('port');
  if (tlsPort === '0') {
    return [
      {
        id: 'no-tls',
        severity: loopbackOnly ? 'low' : 'medium',
        title: `No TLS: passwords and data travel in clear text${loopbackOnly ? ', though only over loopback here' : ' across the network'}.`,
        fix: 'Set tls-port, tls-cert-file, tls-key-file and tls-ca-cert-file, then set port 0 to close the plaintext port.',
      },
    ];
  }
  if (tlsPort !== undefined && port !== undefined && port !== '0') {
    return [
      {
        id: 'plaintext-port-open',
        severity: 'medium',
        title: `The plaintext port ${port} is open beside TLS port ${tlsPort}.`,
        fix: 'Set port 0 once every client uses TLS.',
      },
    ];
  }
  return [];
}

function userFindings(facts: AuditFacts): Finding[] {
  const enabled = facts.users?.filter((user) => user.enabled) ?? [];
  const everything = enabled.filter((user) => user.allCommandsAllKeys).map((user) => user.name);
  const dangerous = enabled.filter((user) => user.dangerous).map((user) => user.name);
  const findings: Finding[] = [];
  if (everything.length > 0) {
    findings.push({
      id: 'all-commands-all-keys',
      severity: 'medium',
      title: `Users allowed every command on every key (+@all ~*): ${everything.join(', ')}.`,
      fix: 'Grant each user only the command categories and key patterns it needs (for example ~app:* +@read +@write -@dangerous).',
    });
  }
  if (dangerous.length > 0) {
    findings.push({
      id: 'dangerous-commands-allowed',
      severity: 'medium',
      title: `Users allowed @dangerous or @admin commands (CONFIG, FLUSHALL, DEBUG, ACL, ...), with which they can read requirepass, masterauth and password hashes: ${dangerous.join(', ')}.`,
      fix: 'Add -@dangerous to the rules of every user that does not administer the server.',
    });
  }
  return findings;
}

function commandFindings(facts: AuditFacts): Finding[] {
  const findings: Finding[] = [];
  if (facts.availableDangerous !== undefined && facts.availableDangerous.length > 0) {
    findings.push({
      id: 'dangerous-commands-available',
      severity: 'low',
      title: `Dangerous commands are available under their own names: ${facts.availableDangerous.join(', ')}.`,
      fix: 'Deny them in the ACL rules (-@dangerous); where no user needs one, also disable it in redis.conf with rename-command NAME "".',
    });
  }
  for (const [setting, what] of [
    ['enable-debug-command', 'DEBUG'],
    ['enable-module-command', 'MODULE'],
    ['enable-protected-configs', 'CONFIG SET of protected settings (dir, dbfilename)'],
  ] as const) {
    const value = facts.config.get(setting);
    if (value !== 'yes' && value !== 'local') continue;
    findings.push({
      id: setting,
      severity: value === 'yes' ? 'medium' : 'low',
      title: `${what} is enabled for ${value === 'yes' ? 'every connection' : 'local connections'} (${setting} ${value}).`,
      fix: `Set ${setting} no in redis.conf unless an administrator needs it.`,
    });
  }
  const major = facts.version === undefined ? undefined : Number(facts.version.split('.')[0]);
  if (major !== undefined && major < 6) {
    findings.push({
      id: 'old-version',
      severity: 'medium',
      title: `Redis ${facts.version} has no ACL users and no TLS.`,
      fix: 'Upgrade to a supported Redis version (7 or newer).',
    });
  }
  return findings;
}
