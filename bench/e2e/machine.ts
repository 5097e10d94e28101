/**
 * The machine and software facts that a benchmark report records, so that a reader can tell
 * which hardware and which versions produced the numbers.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { outputOf } from '../lib/processes.js';
import { sourceRevision } from '../lib/respguard.js';
import type { Target } from './targets.js';

function cpuModel(): string {
  const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1'));
  return match ? match[1]!.trim() : 'unknown';
}

function firstLine(text: string | null): string {
  return text ? text.split('\n')[0]!.trim() : 'not installed';
}

/** Markdown lines naming the machine, the versions of every program and the targets' setups. */
export function describeMachine(targets: readonly Target[]): string {
  const versions = [
    `node ${process.version}`,
    firstLine(outputOf('redis-server', ['--version'])),
    firstLine(outputOf('redis-benchmark', ['--version'])),
    firstLine(outputOf('nutcracker', ['-V'])),
    firstLine(outputOf('haproxy', ['-v'])),
    firstLine(outputOf('openssl', ['version'])),
    `respguard ${sourceRevision()}`,
  ];
  return [
    `Machine: ${availableParallelism()} cores (${cpuModel()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}.`,
    `Versions: ${versions.join('; ')}.`,
    `Targets: ${targets.map((target) => `${target.name}: ${target.setup}`).join('; ')}.`,
  ].join('\n');
}
