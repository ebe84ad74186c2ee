/**
 * Prometheus instruments for the aggregator. Each aggregator gets its own registry (not
 * prom-client's global one) so that tests can run several in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FederationObserver } from '../federation/federation.js';
import { EVENT_LOOP_LAG_STATS, eventLoopLagName, registerEventLoopMetrics } from './event-loop.js';

const PREFIX = 'finsecure_process_';
/**
 * prom-client's own lag histogram is left dormant: its timer is due once in ~24.8 days (Node's
 * largest timer), and its seven gauges are replaced by event-loop.ts's (why: see there). Its
 * `nodejs_eventloop_lag_seconds`, measured at each scrape with one setImmediate, is kept. Not more:
 * Node 20 accepts a larger resolution but truncates it to 32 bits (2 ** 32 + 1 ticks every 1 ms).
 */
const DORMANT_MS = 2 ** 31 - 1;

export interface AggregatorMetrics {
  registry: Registry;
  connectedBanks: Gauge;
  observer: FederationObserver;
  /** Stops the event-loop sampling (its histogram's timer). */
  close(): void;
}

export function createMetrics(): AggregatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX, eventLoopMonitoringPrecision: DORMANT_MS });
  for (const stat of EVENT_LOOP_LAG_STATS) registry.removeSingleMetric(eventLoopLagName(PREFIX, stat));
  const eventLoop = registerEventLoopMetrics(registry, PREFIX);
  const rounds = new Counter({
    name: 'finsecure_rounds_total',
    help: 'Rounds finished, by status',
    labelNames: ['status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'finsecure_round_duration_seconds',
    help: 'Wall time of finished rounds',
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'finsecure_bytes_total',
    help: 'Bytes exchanged with banks',
    labelNames: ['direction'],
    registers: [registry],
  });
  const connectedBanks = new Gauge({
    name: 'finsecure_connected_banks',
    help: 'Banks connected now',
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'finsecure_rejected_updates_total',
    help: 'Rejected updates and frames, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const aggregation = new Histogram({
    name: 'finsecure_aggregation_seconds',
    help: 'Time to finish the aggregation of a round',
    buckets: [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
    registers: [registry],
  });
  rounds.inc({ status: 'committed' }, 0);
  rounds.inc({ status: 'failed' }, 0);
  return {
    registry,
    connectedBanks,
    close: () => eventLoop.stop(),
    observer: {
      roundFinished: (r) => {
        rounds.inc({ status: r.status });
        if (r.durations.totalMs !== undefined) duration.observe(r.durations.totalMs / 1000);
      },
      updateRejected: (reason) => rejected.inc({ reason }),
      bytes: (direction, n) => bytes.inc({ direction }, n),
      aggregationMs: (ms) => aggregation.observe(ms / 1000),
    },
  };
}
