import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EVENT_LOOP_LAG_STATS, registerEventLoopMetrics } from '../src/metrics/event-loop.js';
import { createMetrics } from '../src/metrics/prometheus.js';

/** The gauges' values from one scrape, by metric name. */
async function scrape(registry: Registry): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, value] = line.split(' ');
    values.set(name!, Number(value));
  }
  return values;
}

/** Keeps the thread busy for `ms` of wall time, as a long synchronous step would. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('event-loop metrics', () => {
  it('read the lag itself, not the sampling period, and see a stall', async () => {
    const registry = new Registry();
    const loop = registerEventLoopMetrics(registry, 't_', 100);
    try {
      // A 1 s stall: a tick due in its first 100 ms runs at least 900 ms late.
      block(1_000);
      await sleep(150);
      const stalled = await scrape(registry);
      expect(stalled.get('t_nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.89);

      // Idle for about six periods. The bounds leave room for a loaded machine's own delays, and
      // still tell: a new read without the stall, and the lag itself, where prom-client's gauges
      // would read the period plus the lag (≥ 0.099 s at every percentile).
      await sleep(600);
      const idle = await scrape(registry);
      expect(idle.get('t_nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.8);
      expect(idle.get('t_nodejs_eventloop_lag_p50_seconds')).toBeLessThan(0.099);
      expect(idle.get('t_nodejs_eventloop_lag_min_seconds')).toBeGreaterThanOrEqual(0);
    } finally {
      loop.stop();
    }
  });

  it('see a stall that starts right after a scrape (a reset forgets no tick)', async () => {
    const registry = new Registry();
    const loop = registerEventLoopMetrics(registry, 't_', 100);
    try {
      await sleep(250);
      await scrape(registry);
      // The last tick ran at most 100 ms before the stall began: the next runs ≥ 200 ms late.
      block(300);
      await sleep(200);
      const after = await scrape(registry);
      expect(after.get('t_nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.19);
    } finally {
      loop.stop();
    }
  });

  it('utilization is the busy share of the time since the last scrape', async () => {
    const registry = new Registry();
    const loop = registerEventLoopMetrics(registry, 't_', 100);
    try {
      await scrape(registry);
      block(300);
      const busy = await scrape(registry);
      expect(busy.get('t_nodejs_eventloop_utilization')).toBeGreaterThan(0.5);
      expect(busy.get('t_nodejs_eventloop_utilization')).toBeLessThanOrEqual(1);
      // Idle since that scrape: not the share since registration, nor a running total.
      await sleep(300);
      const idle = await scrape(registry);
      expect(idle.get('t_nodejs_eventloop_utilization')).toBeLessThan(0.5);
    } finally {
      loop.stop();
    }
  });

  it('a scrape with no tick since the last keeps the last numbers, not NaN', async () => {
    const quiet = new Registry();
    const never = registerEventLoopMetrics(quiet, 't_', 3_600_000);
    const registry = new Registry();
    const loop = registerEventLoopMetrics(registry, 't_', 100);
    try {
      const text = await quiet.metrics();
      expect(text).not.toContain('NaN');
      for (const stat of EVENT_LOOP_LAG_STATS) expect(text).toContain(`t_nodejs_eventloop_lag_${stat}_seconds 0`);
      block(250);
      await sleep(150);
      const read = await scrape(registry);
      expect(read.get('t_nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0.1);
      // At once, with no timer in between: no tick since, the same figures.
      const again = await scrape(registry);
      for (const stat of EVENT_LOOP_LAG_STATS) {
        const name = `t_nodejs_eventloop_lag_${stat}_seconds`;
        expect(again.get(name), name).toBe(read.get(name));
      }
    } finally {
      never.stop();
      loop.stop();
    }
  });

  it('refuses a period that is not a whole number of ms ≥ 1', () => {
    for (const bad of [0, -5, 2.5, Number.NaN, 2 ** 31]) {
      expect(() => registerEventLoopMetrics(new Registry(), 't_', bad)).toThrow(RangeError);
    }
  });

  it('the aggregator exposes each lag gauge once, with these meanings, beside the scrape-time probe', async () => {
    const metrics = createMetrics();
    try {
      const text = await metrics.registry.metrics();
      for (const stat of EVENT_LOOP_LAG_STATS) {
        const name = `finsecure_process_nodejs_eventloop_lag_${stat}_seconds`;
        expect(text.split('\n').filter((l) => l.startsWith(`# TYPE ${name} `))).toHaveLength(1);
        expect(text).toContain(`# HELP ${name} The ${stat} of the event loop's lag in seconds since the last scrape`);
      }
      expect(text).toContain('# TYPE finsecure_process_nodejs_eventloop_lag_seconds gauge');
      expect(text).toContain('# TYPE finsecure_process_nodejs_eventloop_utilization gauge');
    } finally {
      metrics.close();
    }
  });
});
