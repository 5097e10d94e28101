/**
 * The quiet periods of the fuzz script: every client loop waits at its gate with its connection
 * closed, and respguard must come back to an idle state. The readings of two quiet periods
 * are compared to find leaks.
 */
import type { ProxyProcess } from '../helpers/proxy-process.js';

/** respguard's state once its clients have gone. */
export interface QuietState {
  label: string;
  rssBytes: number;
  peakRssBytes: number;
  /** Gauges that must be 0 when no client is connected. */
  metrics: Record<string, number>;
  /** What was not back at rest, as sentences for the report. */
  problems: string[];
}

/** Gauges that count per-client state; each must fall to 0 once every client has left. */
const IDLE_GAUGES = ['respguard_client_connections', 'respguard_upstream_pending_requests', 'respguard_upstream_pinned_connections'];
/** Time that client loops get to finish their session and park, in ms. */
const PARK_TIMEOUT_MS = 60_000;
/** Time that respguard gets to close sessions and release connections, in ms. */
const SETTLE_TIMEOUT_MS = 15_000;
/** Pause after the gauges settled before memory is read, so that freed buffers can be collected. */
const MEMORY_SETTLE_MS = 5000;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `parked()` reaches `total`, then until the idle gauges are 0, then reads memory.
 * `currentProxy` is read at each step because the script restarts respguard after a crash.
 */
export async function measureQuietState(currentProxy: () => ProxyProcess, parked: () => number, total: number, label: string): Promise<QuietState> {
  const problems: string[] = [];
  const parkDeadline = Date.now() + PARK_TIMEOUT_MS;
  while (parked() < total && Date.now() < parkDeadline) await delay(100);
  if (parked() < total) problems.push(`${total - parked()} client loops did not finish within ${PARK_TIMEOUT_MS} ms`);

  let gauges: Record<string, number> = {};
  const settleDeadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const metrics = await currentProxy().metrics().catch(() => new Map<string, number>());
    gauges = Object.fromEntries(IDLE_GAUGES.map((name) => [name, metrics.get(name) ?? Number.NaN]));
    if (Object.values(gauges).every((value) => value === 0) || Date.now() > settleDeadline) break;
    await delay(250);
  }
  for (const [name, value] of Object.entries(gauges)) {
    if (value !== 0) problems.push(`${name} is ${value} ${SETTLE_TIMEOUT_MS} ms after every client left`);
  }
  await delay(MEMORY_SETTLE_MS);
  let memory = { rssBytes: Number.NaN, peakRssBytes: Number.NaN };
  try {
    memory = currentProxy().memory();
  } catch {
    problems.push('respguard was not running when its memory was read');
  }
  return { label, rssBytes: memory.rssBytes, peakRssBytes: memory.peakRssBytes, metrics: gauges, problems };
}
