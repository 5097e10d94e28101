/**
 * Client certificate identities. A verified certificate names its holder by the subject's
 * common name and by DNS and URI subject alternative names (SPIFFE ids are URIs). respguard
 * writes each as one string in the form that users' `certificates` lists use: `CN=billing-api`,
 * `DNS:billing.internal`, `URI:spiffe://prod/billing`. Two identities are the same only when
 * these strings are equal byte for byte: no case folding, no wildcards, no unescaping.
 *
 * Values come from Node's parsed certificate, never from a formatted distinguished name: the
 * common name is the attribute value itself, so a look-alike such as `O=CN=billing-api`, an
 * escaped `\,` or a NUL byte inside the value cannot produce a match. The alternative names are
 * read from Node's `subjectaltname` text. Node quotes and escapes any value that contains a
 * comma, quote, backslash or control character, and the parser below undoes that exactly.
 */
import tls from 'node:tls';
import type net from 'node:net';

/** Prefixes of the identity forms, as users' `certificates` lists write them. */
export const IDENTITY_PREFIXES = ['CN=', 'DNS:', 'URI:'] as const;

/**
 * Returns the identities of the client certificate of `socket`: empty unless `socket` is a TLS
 * socket whose certificate verified against the listener's CA (`socket.authorized === true`).
 */
export function verifiedCertificateIdentities(socket: net.Socket): string[] {
  if (!(socket instanceof tls.TLSSocket) || socket.authorized !== true) return [];
  const certificate = socket.getPeerCertificate(false) as Partial<tls.PeerCertificate> | undefined;
  if (!certificate || certificate.subject === undefined) return [];

  const identities: string[] = [];
  const commonName = singleCommonName(certificate.subject as unknown as Record<string, unknown>);
  if (commonName !== null) identities.push(`CN=${commonName}`);
  if (typeof certificate.subjectaltname === 'string') identities.push(...altNameIdentities(certificate.subjectaltname));
  return identities;
}

/**
 * Returns the subject's common name, or null when there is none or more than one. Node lists a
 * repeated attribute as an array. With two CN attributes, in one multi-valued RDN or in two
 * RDNs, it is ambiguous which one names the client, so neither does.
 */
function singleCommonName(subject: Record<string, unknown>): string | null {
  const value = subject['CN'];
  return typeof value === 'string' ? value : null;
}

/** Returns the `DNS:` and `URI:` identities in Node's `subjectaltname` text; none when the text cannot be parsed. */
export function altNameIdentities(text: string): string[] {
  const names = splitAltNames(text);
  if (names === null) return [];
  return names.filter((name) => name.startsWith('DNS:') || name.startsWith('URI:'));
}

// A JSON string literal at the start of the text, as Node writes a quoted alternative name.
const QUOTED_VALUE = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/;

/**
 * Splits Node's `subjectaltname` text (`DNS:a, URI:spiffe://x, DNS:"b\u002c c"`) into entries
 * such as `DNS:a`. Entries are separated by `, `. Node quotes an entry's value as a JSON string
 * when it is not plain printable text, and escapes commas inside quotes, so a separator never
 * occurs inside a quoted value. Returns null for text that does not follow this format.
 */
export function splitAltNames(text: string): string[] | null {
  const names: string[] = [];
  let current = '';
  let offset = 0;
  while (offset < text.length) {
    const separator = text.indexOf(', ', offset);
    const quote = text.indexOf('"', offset);
    if (quote !== -1 && (separator === -1 || quote < separator)) {
      const match = QUOTED_VALUE.exec(text.slice(quote));
      if (!match) return null;
      current += text.slice(offset, quote) + (JSON.parse(match[0]) as string);
      offset = quote + match[0].length;
      continue;
    }
    const end = separator === -1 ? text.length : separator;
    names.push(current + text.slice(offset, end));
    current = '';
    offset = separator === -1 ? text.length : separator + 2;
  }
  if (current !== '') names.push(current);
  return names;
}

/**
 * Checks an identity as a user's `certificates` list gives it. Returns it in canonical form
 * (upper-case prefix), or the reason it is invalid. Control characters are rejected because a
 * verified identity containing one could only match by accident.
 */
export function parseIdentity(text: string): { ok: true; identity: string } | { ok: false; expected: string } {
  const expected = 'a certificate identity "CN=<common name>", "DNS:<name>" or "URI:<uri>", such as "CN=billing-api"';
  const prefix = IDENTITY_PREFIXES.find((candidate) => text.slice(0, candidate.length).toUpperCase() === candidate);
  if (prefix === undefined || text.length === prefix.length) return { ok: false, expected };
  if (/[\u0000-\u001f\u007f]/.test(text)) return { ok: false, expected: `${expected}, without control characters` };
  return { ok: true, identity: prefix + text.slice(prefix.length) };
}
