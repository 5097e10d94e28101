/**
 * Protected mode: checks across listeners and users that stop a config from exposing Redis by
 * accident. A plaintext listener off loopback must set `allowPlaintext: true`, and a `nopass`
 * user must not be reachable from the network unless a client certificate is required for it.
 * These run on the validated sections, after field errors were reported.
 */
import { isLoopbackCidr, isLoopbackHost, parseCidr } from './cidr.js';
import { ConfigProblems, fieldPath, indexPath } from './problems.js';
import type { Section } from './fields.js';
import type { ListenerConfig, UserConfig } from './types.js';

/**
 * Reports every protected-mode violation to `problems`. Runs on the valid listeners and users
 * even when others had errors, except for the certificate check: it looks for a listener that
 * requests certificates, which may be among the invalid ones.
 */
export function checkProtectedMode(
  problems: ConfigProblems,
  listenerSection: Section<readonly ListenerConfig[]>,
  userSection: Section<Readonly<Record<string, UserConfig>>>,
): void {
  const listeners = listenerSection.valid;
  listeners.forEach((listener, i) => {
    if (listener.tls || listener.allowPlaintext || isLoopbackHost(listener.host)) return;
    problems.add(
      indexPath('listeners', i),
      `plaintext listener on ${listener.host}:${listener.port} sends passwords and data unencrypted over the network: ` +
        'add tls (cert and key), bind host to 127.0.0.1, or set allowPlaintext: true',
    );
  });

  for (const [name, user] of Object.entries(userSection.valid)) {
    checkNopassUser(problems, listeners, name, user);
    if (listenerSection.complete) checkCertificateUser(problems, listeners, name, user);
  }
}

/**
 * Reports a `nopass` user that anyone who reaches a non-loopback listener could log in as. Such
 * a user is accepted when it requires a client certificate, or when its `sources` or every
 * exposed listener's `sources` admit only loopback addresses.
 */
function checkNopassUser(problems: ConfigProblems, listeners: readonly ListenerConfig[], name: string, user: UserConfig): void {
  if (user.requireCertificate || !endsEnabledWithNopass(user.acl) || onlyLoopback(user.sources)) return;

  const index = listeners.findIndex((listener) => !isLoopbackHost(listener.host) && !onlyLoopback(listener.sources));
  if (index === -1) return;

  const listener = listeners[index]!;
  const userPath = fieldPath('users', name);
  problems.add(
    fieldPath(userPath, 'acl'),
    `nopass lets anyone who reaches listeners[${index}] (${listener.host}:${listener.port}) log in as ${name} without a password: ` +
      `give the user a password (>password or #sha256), set requireCertificate: true with certificates, ` +
      `or restrict ${fieldPath(userPath, 'sources')} to loopback ranges such as 127.0.0.1/32`,
  );
}

/** Reports a user mapped to client certificates when no listener requests client certificates. */
function checkCertificateUser(problems: ConfigProblems, listeners: readonly ListenerConfig[], name: string, user: UserConfig): void {
  if (user.certificates === undefined) return;
  if (listeners.some((listener) => listener.tls !== undefined && listener.tls.clientAuth !== 'none')) return;

  problems.add(
    fieldPath(fieldPath('users', name), 'certificates'),
    'no listener requests client certificates: set tls.ca and tls.clientAuth (request or require) on a listener',
  );
}

/**
 * Tests whether a rule string leaves the user enabled with `nopass`. Only the rules that set
 * these two flags are followed, in order, as Redis 7.0 applies them (checked against
 * redis-server 7.0.15). `nopass` sets the flag, while `>`, `#`, `resetpass` and `reset` clear
 * it. `on` enables the user, and `off` and `reset` disable it. The policy compiler parses the
 * other rules.
 */
export function endsEnabledWithNopass(acl: string): boolean {
  let enabled = false;
  let nopass = false;
  for (const rule of acl.trim().split(/\s+/)) {
    const lower = rule.toLowerCase();
    if (lower === 'nopass') nopass = true;
    else if (lower === 'resetpass' || rule.startsWith('>') || rule.startsWith('#')) nopass = false;
    else if (lower === 'on') enabled = true;
    else if (lower === 'off') enabled = false;
    else if (lower === 'reset') {
      nopass = false;
      enabled = false;
    }
  }
  return enabled && nopass;
}

/** Tests whether a `sources` list admits only loopback addresses; an absent list admits any. */
function onlyLoopback(sources: readonly string[] | undefined): boolean {
  if (sources === undefined) return false;
  return sources.every((text) => {
    const parsed = parseCidr(text);
    return parsed.ok && isLoopbackCidr(parsed.cidr);
  });
}
