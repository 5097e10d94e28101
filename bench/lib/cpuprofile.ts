/**
 * Reads a V8 CPU profile (the .cpuprofile JSON that `node --cpu-prof` writes) and sums the
 * sampled time per function. Self time counts samples with the function on top of the stack.
 * Total time counts samples with it anywhere on the stack, once per sample even when it
 * recurses. Idle time is left out of the percentages, so they are shares of busy time.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Sampled time of one function, in microseconds. */
export interface FunctionTime {
  readonly name: string;
  /** `file:line`, with the file relative to `root` when it is inside it. */
  readonly location: string;
  self: number;
  total: number;
}

/** Summary of a profile: busy time and per-function times, both in microseconds. */
export interface ProfileSummary {
  readonly busyUs: number;
  readonly idleUs: number;
  readonly functions: readonly FunctionTime[];
}

function locationOf(frame: CallFrame, root: string): string {
  if (frame.url === '') return '';
  let file = frame.url.replace(/^file:\/\//, '');
  if (file.startsWith(root)) file = path.relative(root, file);
  return `${file}:${frame.lineNumber + 1}`;
}

/** Sums self and total time per function of the profile in `file`. */
export function summarizeProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  const byNode = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byNode.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const functions = new Map<string, FunctionTime>();
  const keyOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const location = locationOf(node.callFrame, root);
    const name = node.callFrame.functionName || '(anonymous)';
    const key = `${name} ${location}`;
    keyOf.set(node.id, key);
    if (!functions.has(key)) functions.set(key, { name, location, self: 0, total: 0 });
  }

  let busyUs = 0;
  let idleUs = 0;
  const seen = new Set<string>();
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the gap to the next sample, as Chrome's profiler view counts it.
    const delta = profile.timeDeltas[i + 1] ?? 0;
    const nodeId = profile.samples[i]!;
    if (byNode.get(nodeId)!.callFrame.functionName === '(idle)') {
      idleUs += delta;
      continue;
    }
    busyUs += delta;
    functions.get(keyOf.get(nodeId)!)!.self += delta;
    seen.clear();
    for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
      const key = keyOf.get(id)!;
      if (seen.has(key)) continue;
      seen.add(key);
      functions.get(key)!.total += delta;
    }
  }
  const sorted = [...functions.values()].filter((entry) => entry.name !== '(root)' && entry.name !== '(idle)');
  sorted.sort((a, b) => b.self - a.self);
  return { busyUs, idleUs, functions: sorted };
}

/** Formats the `top` functions by self time, with their total time, as a Markdown table. */
export function profileTable(summary: ProfileSummary, top: number): string {
  const share = (us: number): string => `${((100 * us) / summary.busyUs).toFixed(1)}%`;
  const lines = ['| function | location | self | total |', '|---|---|--:|--:|'];
  for (const entry of summary.functions.slice(0, top)) {
    lines.push(`| ${entry.name} | ${entry.location || '(native)'} | ${share(entry.self)} | ${share(entry.total)} |`);
  }
  return lines.join('\n');
}

/** Formats the self time summed per source file, largest first, as a Markdown table. */
export function fileTable(summary: ProfileSummary, top: number): string {
  const byFile = new Map<string, number>();
  for (const entry of summary.functions) {
    const file = entry.location === '' ? `(native) ${entry.name}` : entry.location.replace(/:\d+$/, '');
    byFile.set(file, (byFile.get(file) ?? 0) + entry.self);
  }
  const rows = [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = ['| file | self |', '|---|--:|'];
  for (const [file, us] of rows) lines.push(`| ${file} | ${((100 * us) / summary.busyUs).toFixed(1)}% |`);
  return lines.join('\n');
}
