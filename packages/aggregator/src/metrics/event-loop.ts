/**
 * Event-loop lag and utilization gauges that cost the process almost nothing when it is idle.
 *
 * Why not prom-client's own: its `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`
 * read Node's `monitorEventLoopDelay` histogram sampled every 10 ms. That timer wakes the process
 * 100 times a second whether anything happens or not (measured on the 2-core VM: 4–11 ms of CPU a
 * second for an otherwise idle process, most of an idle aggregator's CPU; see bench/RESULTS.md,
 * issue 14 item 1), and Node records the whole time between two of its ticks (src/node_perf.cc,
 * `ELDHistogram::OnInterval` → `RecordDelta`), so those gauges read the sampling period plus the
 * lag: 0.010 s on a healthy loop.
 *
 * Here the same Node histogram samples every `periodMs` (default 500 ms: 2 wake-ups a second) and
 * the period is subtracted, so the gauges keep their names and read the lag itself: how late a
 * timer due at that moment ran. The price is coverage: a stall shorter than the period is seen
 * only if a tick falls due during it (probability stall / period). Stalls of a period or longer are
 * always seen, and `nodejs_eventloop_utilization` (Node's `performance.eventLoopUtilization`, the
 * share of wall time the loop was busy since the last scrape, 0..1) counts every one of them with
 * no timer at all.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** The lag statistics prom-client's default metrics define, by name suffix; replaced by `registerEventLoopMetrics`. */
export const EVENT_LOOP_LAG_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;

/** The default sampling period of the lag histogram, ms. */
export const EVENT_LOOP_SAMPLE_MS = 500;

/**
 * The name prom-client gives one of its lag statistics, e.g. `finsecure_process_nodejs_eventloop_lag_p99_seconds`.
 */
export function eventLoopLagName(prefix: string, stat: (typeof EVENT_LOOP_LAG_STATS)[number]): string {
  return `${prefix}nodejs_eventloop_lag_${stat}_seconds`;
}

/**
 * Registers the lag gauges (`<prefix>nodejs_eventloop_lag_<stat>_seconds`, seconds, over the samples
 * since the last scrape) and `<prefix>nodejs_eventloop_utilization` (ratio 0..1 since the last
 * scrape) on `registry`. The caller removes prom-client's gauges of the same names first.
 *
 * @param periodMs the histogram's sampling period in ms, an integer ≥ 1.
 * @returns `stop()` disables the histogram (its timer is unref'd by Node, so a process may also
 *   just exit).
 * @throws RangeError when `periodMs` is not an integer ≥ 1.
 */
export function registerEventLoopMetrics(
  registry: Registry,
  prefix: string,
  periodMs: number = EVENT_LOOP_SAMPLE_MS,
): { stop(): void } {
  if (!Number.isInteger(periodMs) || periodMs < 1) {
    throw new RangeError(`event-loop sampling period must be an integer ≥ 1 ms, got ${periodMs}`);
  }
  const histogram = monitorEventLoopDelay({ resolution: periodMs });
  histogram.enable();
  const periodNs = periodMs * 1e6;
  /** Lag in seconds from one of Node's interval figures (ns); a tick can land up to ~1 ms early. */
  const lag = (intervalNs: number): number => Math.max(0, intervalNs - periodNs) / 1e9;
  const gauges = new Map<string, Gauge>();
  const read = (): void => {
    // No tick since the last scrape (scrapes closer together than the period): keep the last values.
    if (histogram.count === 0) return;
    const values: Record<(typeof EVENT_LOOP_LAG_STATS)[number], number> = {
      min: lag(histogram.min),
      max: lag(histogram.max),
      mean: lag(histogram.mean),
      stddev: histogram.stddev / 1e9,
      p50: lag(histogram.percentile(50)),
      p90: lag(histogram.percentile(90)),
      p99: lag(histogram.percentile(99)),
    };
    for (const stat of EVENT_LOOP_LAG_STATS) gauges.get(stat)?.set(values[stat]);
    histogram.reset();
  };
  for (const stat of EVENT_LOOP_LAG_STATS) {
    gauges.set(
      stat,
      new Gauge({
        name: eventLoopLagName(prefix, stat),
        help: `The ${stat} of the event loop's lag in seconds since the last scrape: how late a timer ran, sampled every ${periodMs} ms`,
        registers: [registry],
        // One gauge reads the histogram for all seven, as prom-client does: registries collect in order.
        ...(stat === 'min' ? { collect: read } : {}),
      }),
    );
  }
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  new Gauge({
    name: `${prefix}nodejs_eventloop_utilization`,
    help: 'Share of wall time the event loop was busy since the last scrape (0..1)',
    registers: [registry],
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, last).utilization);
      last = now;
    },
  });
  return { stop: () => histogram.disable() };
}
