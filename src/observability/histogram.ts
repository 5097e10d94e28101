/**
 * A histogram without labels for the per-command hot path, registered in a prom-client registry
 * beside prom-client's own metrics. prom-client's Histogram builds a label object and a hash for
 * every observation. This one takes durations in nanoseconds and costs a short scan of the
 * bucket bounds and three additions. At scrape time it reports the same value list as prom-client's
 * Histogram, so the registry formats it and AggregatorRegistry sums it across workers.
 */
import type { Metric } from 'prom-client';

/** One value of a metric as prom-client's `get()` reports it. */
interface HistogramValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

/** Histogram of durations, observed in nanoseconds and exposed in seconds. */
export class NanosecondHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly boundsNs: Float64Array;
  /** Observations per bucket, not cumulative; the last slot counts those above every bound. */
  private readonly counts: Float64Array;
  private sumNs = 0;
  private count = 0;

  /** `bucketsSeconds` are the upper bounds in seconds, in increasing order. */
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bucketsSeconds: readonly number[],
  ) {
    this.boundsNs = Float64Array.from(bucketsSeconds, (seconds) => seconds * 1e9);
    this.counts = new Float64Array(bucketsSeconds.length + 1);
  }

  /** Records one duration in nanoseconds. */
  observe(ns: number): void {
    const bounds = this.boundsNs;
    let i = 0;
    while (i < bounds.length && ns > bounds[i]!) i++;
    this.counts[i]! += 1;
    this.sumNs += ns;
    this.count += 1;
  }

  /** Returns the metric in the shape of prom-client's Histogram `get()`. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] }> {
    const values: HistogramValue[] = [];
    const bucketName = `${this.name}_bucket`;
    let cumulative = 0;
    this.bucketsSeconds.forEach((bound, i) => {
      cumulative += this.counts[i]!;
      values.push({ labels: { le: bound }, value: cumulative, metricName: bucketName });
    });
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: bucketName });
    values.push({ labels: {}, value: this.sumNs / 1e9, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.counts.fill(0);
    this.sumNs = 0;
    this.count = 0;
  }

  /**
   * Returns this histogram typed as a prom-client metric for `Registry.registerMetric`. The
   * registry calls only `name`, `help`, `type`, `aggregator`, `get()` and `reset()`, which this class has.
   */
  asPromMetric(): Metric {
    return this as unknown as Metric;
  }
}
