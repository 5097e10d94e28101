/**
 * The IPC messages between the primary process and its workers. The primary queries values
 * that only workers have (metrics, upstream readiness), and each worker replies with the same id.
 * Type names start with `respguard:` so that they never collide with prom-client's or Node's
 * own cluster messages on the same channel.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** Sent by a worker once its listeners accept clients. */
export interface StartedMessage {
  readonly type: 'respguard:started';
}

/** What the primary asks a worker for. */
export type WorkerQuery = 'metrics' | 'ready';

export interface QueryMessage {
  readonly type: 'respguard:query';
  readonly id: number;
  readonly query: WorkerQuery;
}

/** A worker's metrics, as prom-client's `getMetricsAsJSON()` returns them. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

export interface ReplyMessage {
  readonly type: 'respguard:reply';
  readonly id: number;
  readonly metrics?: MetricsSnapshot;
  readonly ready?: boolean;
  /** The reason the worker is not ready, when `ready` is false. */
  readonly reason?: string;
  /** Set instead of the value when the worker could not produce it. */
  readonly error?: string;
}

/** Tests whether an IPC message has the given respguard type. */
export function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}
