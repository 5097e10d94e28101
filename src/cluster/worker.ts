/**
 * The worker side of `workers: N`: each worker runs the whole proxy (startServer) on listeners
 * that node:cluster shares with the other workers, and replies to the primary's queries for its
 * metrics and readiness over IPC. It serves no metrics listener of its own, and it leaves the
 * IPC channel when it has stopped, because an open channel keeps the process alive.
 */
import type { Readiness } from '../observability/http.js';
import type { RespguardMetrics } from '../observability/metrics.js';
import { isMessage, type ReplyMessage, type QueryMessage, type StartedMessage } from './messages.js';

/** The link of a worker to its primary. */
export interface PrimaryLink {
  /** Tells the primary that this worker's listeners accept clients. */
  started(): void;
  /** Stops replying to queries and closes the IPC channel. */
  leave(): void;
}

/** Replies to the primary's queries from `metrics` and `readiness` until `leave` is called. */
export function joinPrimary(metrics: RespguardMetrics, readiness: () => Readiness): PrimaryLink {
  const onMessage = (message: unknown): void => {
    if (!isMessage<QueryMessage>(message, 'respguard:query')) return;
    void replyTo(message, metrics, readiness).then(send);
  };
  process.on('message', onMessage);

  return {
    started: () => send({ type: 'respguard:started' }),
    leave() {
      process.off('message', onMessage);
      if (process.connected) process.disconnect();
    },
  };
}

async function replyTo(query: QueryMessage, metrics: RespguardMetrics, readiness: () => Readiness): Promise<ReplyMessage> {
  try {
    if (query.query === 'ready') {
      const state = readiness();
      return { type: 'respguard:reply', id: query.id, ready: state.ready, ...(state.ready ? {} : { reason: state.reason }) };
    }
    return { type: 'respguard:reply', id: query.id, metrics: await metrics.registry.getMetricsAsJSON() };
  } catch (error) {
    return { type: 'respguard:reply', id: query.id, error: (error as Error).message };
  }
}

function send(message: ReplyMessage | StartedMessage): void {
  // The channel closes when the primary goes away; the worker then stops on its own signal.
  if (process.connected) process.send!(message);
}
