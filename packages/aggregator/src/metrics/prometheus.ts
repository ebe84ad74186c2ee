/**
 * Prometheus instruments for the aggregator. Each aggregator gets its own registry (not
 * prom-client's global one) so that tests can run several in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FederationObserver } from '../federation/federation.js';

export interface AggregatorMetrics {
  registry: Registry;
  connectedBanks: Gauge;
  observer: FederationObserver;
}

/**
 * Sampling period of the event-loop delay histogram (finsecure_process_nodejs_eventloop_lag_*), ms.
 * prom-client's default, 10 ms, is a libuv timer that wakes the process 100 times a second whether
 * or not anything happens: on this 2-core VM about 3 ms of CPU per second, idle or not, which was
 * 5-6 % of a 10-bank round's aggregator CPU (bench/RESULTS.md, issue 14 item 1, fifth pass). The
 * delay of every wake-up is still measured; 100 ms only takes ten samples a second instead of 100.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

export function createMetrics(): AggregatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({
    register: registry,
    prefix: 'finsecure_process_',
    eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
  });
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
