/**
 * `respguard audit --url URL`: connects to a live Redis and reports its weak settings, each with
 * a severity and the fix. It needs only the rights an auditor is usually given, and lists the
 * checks that the auditing user was not allowed to make. Passwords never reach the output: the
 * target is printed as host:port only.
 *
 * Exit status: 0 without a high severity finding, 1 with one, 2 for a usage error, 3 when the
 * server could not be reached, the credentials were rejected, or a password is required and
 * none was given.
 */
import { CommandTable } from '../commands/table.js';
import { EXIT_USAGE, parseCommandArgs, printUsageError, stringOption } from './args.js';
import { parseRedisUrl, type RedisTarget } from './audit-client.js';
import { AuditConnectionError, collectFacts, type AuditFacts } from './audit-checks.js';
import { findIssues, type Finding } from './audit-findings.js';
import { HELP } from './help.js';
import type { CliIo } from './io.js';

/** Exit status when the audit could not run at all. */
export const EXIT_AUDIT_FAILED = 3;

/** Runs `audit`; resolves with the exit status. */
export async function auditCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(
    'audit',
    args,
    { url: { type: 'string' }, ca: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' } },
    io,
  );
  if (parsed === undefined) return EXIT_USAGE;
  if (parsed.values.help) {
    io.stdout.write(HELP.audit!);
    return 0;
  }
  const url = stringOption(parsed, 'url');
  if (url === undefined) {
    printUsageError('audit', 'missing --url URL', io);
    return EXIT_USAGE;
  }

  let target: RedisTarget;
  try {
    target = {
      ...parseRedisUrl(url, io.env.REDISCLI_AUTH),
      caFile: stringOption(parsed, 'ca'),
      certFile: stringOption(parsed, 'cert'),
      keyFile: stringOption(parsed, 'key'),
    };
  } catch (error) {
    printUsageError('audit', (error as Error).message, io);
    return EXIT_USAGE;
  }

  let facts: AuditFacts;
  try {
    facts = await collectFacts(target, CommandTable.default());
  } catch (error) {
    if (!(error instanceof AuditConnectionError)) throw error;
    io.stderr.write(`respguard audit: ${error.message}\n`);
    return EXIT_AUDIT_FAILED;
  }

  const findings = findIssues(facts);
  const address = formatAddress(target);
  io.stdout.write(parsed.values.json ? formatJson(address, facts, findings) : formatReport(address, facts, findings));
  if (target.password === undefined && facts.anonymous === 'closed') {
    // The report is true but covers one check: no exit status may read as a clean audit.
    io.stderr.write(`respguard audit: only anonymous access was checked, because ${address} requires a password: give one in the URL or in REDISCLI_AUTH\n`);
    return EXIT_AUDIT_FAILED;
  }
  return findings.some((finding) => finding.severity === 'high') ? 1 : 0;
}

function formatAddress(target: RedisTarget): string {
  return target.host.includes(':') ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** Formats the findings for a person: one block per finding, then what was not checked. */
export function formatReport(address: string, facts: AuditFacts, findings: readonly Finding[]): string {
  const lines = [`Audit of ${address} (Redis ${facts.version ?? 'version unknown'}, ${facts.transport} connection)`, ''];
  for (const finding of findings) {
    lines.push(`${finding.severity.toUpperCase().padEnd(7)}${finding.id}`);
    lines.push(`       ${finding.title}`);
    lines.push(`       Fix: ${finding.fix}`);
    lines.push('');
  }
  if (findings.length === 0) lines.push('No findings.', '');
  if (facts.notChecked.length > 0) {
    lines.push('Not checked:');
    for (const reason of facts.notChecked) lines.push(`  - ${reason}`);
    lines.push('');
  }
  const count = (severity: Finding['severity']) => findings.filter((finding) => finding.severity === severity).length;
  lines.push(`${findings.length} findings: ${count('high')} high, ${count('medium')} medium, ${count('low')} low`);
  return `${lines.join('\n')}\n`;
}

function formatJson(address: string, facts: AuditFacts, findings: readonly Finding[]): string {
  const report = { address, version: facts.version ?? null, transport: facts.transport, findings, notChecked: facts.notChecked };
  return `${JSON.stringify(report, null, 2)}\n`;
}
