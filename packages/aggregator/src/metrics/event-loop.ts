/**
 * Event-loop lag and utilization gauges that cost the process almost nothing when it is idle.
 *
 * Why not prom-client's own: its `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds`
 * read Node's `monitorEventLoopDelay` histogram sampled every 10 ms. That timer wakes the process
 * 100 times a second whether anything happens or not (measured on the 2-core VM: 4–11 ms of CPU a
 * second for an otherwise idle process, most of an idle aggregator's CPU; see bench/RESULTS.md,
 * issue 14 item 1, seventh pass), and Node records the whole time between two of its ticks
 * (src/node_perf.cc, `ELDHistogram::OnInterval` → `RecordDelta`), so those gauges read the sampling
 * period plus the lag: 0.010 s on a healthy loop. Its `reset()` also forgets the last tick, so a
 * stall over the first tick after a scrape is never recorded.
 *
 * Here an unref'd interval timer ticks every `periodMs` (default 500 ms: 2 wake-ups a second) and
 * records how late each tick ran (the time since the previous tick, minus the period) in a Node
 * `createHistogram`, so the gauges keep their names and read the lag itself. The previous tick's
 * time is kept here, not in the histogram, so a scrape's reset loses nothing. The price is
 * coverage: a stall shorter than the period is seen only if a tick falls due during it
 * (probability stall / period); a stall of a period or longer always delays a tick.
 * `nodejs_eventloop_utilization` (Node's `performance.eventLoopUtilization`, the share of wall time
 * the loop was busy since the last scrape, 0..1) counts every stall, however short, with no timer.
 */
import { createHistogram, performance, type EventLoopUtilization } from 'node:perf_hooks';
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
 * @param periodMs the sampling period in ms, an integer from 1 to 2^31 − 1.
 * @returns `stop()` stops the timer (it is unref'd, so a process may also just exit).
 * @throws RangeError when `periodMs` is out of that range.
 */
export function registerEventLoopMetrics(
  registry: Registry,
  prefix: string,
  periodMs: number = EVENT_LOOP_SAMPLE_MS,
): { stop(): void } {
  // Node runs an interval above 2^31 − 1 ms every 1 ms instead.
  if (!Number.isInteger(periodMs) || periodMs < 1 || periodMs > 2 ** 31 - 1) {
    throw new RangeError(`event-loop sampling period must be an integer from 1 to 2^31 − 1 ms, got ${periodMs}`);
  }
  const histogram = createHistogram();
  /** Seconds from one of the histogram's figures (ns); 1 ns stands for "on time". */
  const seconds = (ns: number): number => (ns <= 1 ? 0 : ns / 1e9);
  const gauges = new Map<string, Gauge>();
  const read = (): void => {
    // No tick since the last scrape (scrapes closer together than the period): keep the last values.
    if (histogram.count === 0) return;
    const values: Record<(typeof EVENT_LOOP_LAG_STATS)[number], number> = {
      min: seconds(histogram.min),
      max: seconds(histogram.max),
      mean: seconds(histogram.mean),
      stddev: histogram.stddev / 1e9,
      p50: seconds(histogram.percentile(50)),
      p90: seconds(histogram.percentile(90)),
      p99: seconds(histogram.percentile(99)),
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
  // Started last: a registration that throws (a duplicate name) leaves no timer behind.
  const periodNs = periodMs * 1e6;
  let previous = process.hrtime.bigint();
  const timer = setInterval(() => {
    // Node runs a late interval's next tick a period after this one ran: each tick's lag is its own.
    const now = process.hrtime.bigint();
    // libuv's timers keep whole milliseconds, so a tick can run up to ~1 ms early: no lag then.
    // The histogram records integers ≥ 1 (ns).
    histogram.record(Math.max(1, Number(now - previous) - periodNs));
    previous = now;
  }, periodMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
