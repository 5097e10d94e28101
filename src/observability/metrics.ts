/**
 * The Prometheus metrics of respguard, declared in one list (name, type, help, labels) from
 * which each process builds its prom-client registry. The metrics observer updates them; the
 * metrics listener and, with workers, the primary process read them.
 *
 * Label values come only from bounded sets: listener labels from the config, user names from
 * the policy, command names from the command table, node addresses of the upstream cluster,
 * and fixed result and reason words. No value is ever taken from client input, so the number
 * of series stays bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { NanosecondHistogram } from './histogram.js';

/** Combination of the values of one series from several worker processes: their sum, or the largest. */
export type MetricAggregator = 'sum' | 'max';

/** One metric of the declared list. */
export interface MetricSpec {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly labels: readonly string[];
  /** Upper bounds of the buckets of a histogram, in seconds. */
  readonly buckets?: readonly number[];
  /** Absent: 'sum'. */
  readonly aggregator?: MetricAggregator;
}

/** Bucket bounds for the time respguard adds to a command: mostly microseconds. */
const PROXY_BUCKETS = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05];
/** Bucket bounds for the upstream round trip: from a loopback Redis to a slow network. */
const UPSTREAM_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/** Every respguard metric. */
export const METRICS = [
  { name: 'respguard_client_connections', type: 'gauge', help: 'Client connections open now, per listener.', labels: ['listener'] },
  { name: 'respguard_client_connections_total', type: 'counter', help: 'Client connections accepted, per listener.', labels: ['listener'] },
  {
    name: 'respguard_authentications_total',
    type: 'counter',
    help: 'Authentication attempts by user and result (success or failure); user is "unknown" for a name that the policy does not define.',
    labels: ['user', 'result'],
  },
  {
    name: 'respguard_commands_total',
    type: 'counter',
    help: 'Commands by user, command and result (allowed, denied, blocked, rejected, upstream_error).',
    labels: ['user', 'command', 'result'],
  },
  {
    name: 'respguard_proxy_duration_seconds',
    type: 'histogram',
    help: 'Time respguard added to each command: from reading the request to forwarding it, or to the reply when respguard replied itself.',
    labels: [],
    buckets: PROXY_BUCKETS,
  },
  {
    name: 'respguard_upstream_duration_seconds',
    type: 'histogram',
    help: 'Upstream round trip of each forwarded command, from forwarding the request to its reply.',
    labels: [],
    buckets: UPSTREAM_BUCKETS,
  },
  { name: 'respguard_upstream_connections', type: 'gauge', help: 'Shared upstream connections open or opening.', labels: [] },
  { name: 'respguard_upstream_ready_connections', type: 'gauge', help: 'Shared upstream connections ready for requests.', labels: [] },
  {
    name: 'respguard_upstream_pinned_connections',
    type: 'gauge',
    help: 'Upstream connections held by one session each (transactions, subscriptions, blocking commands).',
    labels: [],
  },
  { name: 'respguard_upstream_pending_requests', type: 'gauge', help: 'Requests sent upstream and still waiting for their reply.', labels: [] },
  { name: 'respguard_upstream_reconnects_total', type: 'counter', help: 'Upstream connections lost and reopened.', labels: [] },
  {
    name: 'respguard_upstream_node_connections',
    type: 'gauge',
    help: 'Cluster and sentinel mode: upstream connections open or opening per node address, shared and pinned (cluster mode: including nodes that left the slot map and still finish requests; sentinel mode: the primary and the replicas).',
    labels: ['node'],
  },
  {
    name: 'respguard_upstream_redirects_total',
    type: 'counter',
    help: 'Cluster mode: MOVED and ASK replies that respguard followed for client requests, by the node address they named and kind (moved or ask).',
    labels: ['node', 'kind'],
  },
  {
    name: 'respguard_upstream_failovers_total',
    type: 'counter',
    help: 'Primary switches that respguard followed, by upstream mode: in sentinel mode a new primary, in cluster mode a primary whose slots a replica took over. With workers, the count of the worker that saw the most.',
    labels: ['mode'],
    aggregator: 'max',
  },
  {
    name: 'respguard_upstream_topology_refreshes_total',
    type: 'counter',
    help: 'Reads of the upstream topology by result (ok or failed): in cluster mode the slot map, in sentinel mode the primary asked from the sentinels and confirmed with ROLE.',
    labels: ['result'],
  },
  { name: 'respguard_client_bytes_total', type: 'counter', help: 'Bytes read from clients (in) and written to clients (out).', labels: ['direction'] },
  {
    name: 'respguard_tls_handshake_failures_total',
    type: 'counter',
    help: 'Failed TLS handshakes by listener and reason (an OpenSSL or system error code, or "other").',
    labels: ['listener', 'reason'],
  },
  {
    name: 'respguard_config_reloads_total',
    type: 'counter',
    help: 'Config reloads by result (ok or failed). With workers, the count of the worker that saw the most.',
    labels: ['result'],
    aggregator: 'max',
  },
  {
    name: 'respguard_limit_disconnects_total',
    type: 'counter',
    help: 'Clients disconnected for crossing a limit or for a protocol error, by reason.',
    labels: ['reason'],
  },
  {
    name: 'respguard_audit_suppressed_total',
    type: 'counter',
    help: 'Audit log entries not written because an identical entry was written shortly before, by event.',
    labels: ['event'],
  },
  { name: 'respguard_worker_restarts_total', type: 'counter', help: 'Worker processes that exited and were replaced.', labels: [] },
] as const satisfies readonly MetricSpec[];

type Spec = (typeof METRICS)[number];
/** Names of the metrics of a given type. */
export type CounterName = Extract<Spec, { type: 'counter' }>['name'];
export type GaugeName = Extract<Spec, { type: 'gauge' }>['name'];
export type HistogramName = Extract<Spec, { type: 'histogram' }>['name'];

/** The registry of one process, with typed access to each declared metric. */
export class RespguardMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, NanosecondHistogram>();
  /** Callbacks that bring a metric up to date just before it is read. */
  private readonly collectors = new Map<string, () => void>();

  /** `processMetrics` adds prom-client's process metrics (CPU, memory, event loop lag) as `respguard_process_*` and `respguard_nodejs_*`. */
  constructor(options: { processMetrics?: boolean } = {}) {
    for (const spec of METRICS as readonly MetricSpec[]) this.add(spec);
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'respguard_' });
  }

  private add(spec: MetricSpec): void {
    if (spec.type === 'histogram') {
      const histogram = new NanosecondHistogram(spec.name, spec.help, spec.buckets ?? []);
      this.histograms.set(spec.name, histogram);
      this.registry.registerMetric(histogram.asPromMetric());
      return;
    }
    const collectors = this.collectors;
    const options = {
      name: spec.name,
      help: spec.help,
      labelNames: spec.labels,
      registers: [this.registry],
      aggregator: spec.aggregator ?? 'sum',
      collect() {
        collectors.get(spec.name)?.();
      },
    };
    if (spec.type === 'counter') this.counters.set(spec.name, new Counter(options));
    else this.gauges.set(spec.name, new Gauge(options));
  }

  counter(name: CounterName): Counter {
    return this.counters.get(name)!;
  }

  gauge(name: GaugeName): Gauge {
    return this.gauges.get(name)!;
  }

  histogram(name: HistogramName): NanosecondHistogram {
    return this.histograms.get(name)!;
  }

  /** Sets the callback that updates metric `name` each time the registry is read; replaces an earlier one. */
  onCollect(name: CounterName | GaugeName, collect: () => void): void {
    this.collectors.set(name, collect);
  }
}
