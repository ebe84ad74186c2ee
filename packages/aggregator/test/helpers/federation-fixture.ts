/**
 * The set-up of the tests that run a real aggregator with real bank clients (in-process BankClient
 * over real sockets on 127.0.0.1, real SQLite files, real training): the secure-aggregation tests
 * and bank-client's roster federation test. `useFederation()` in a describe block gives the block a
 * temp dir to start federations in; after each test it stops the banks, their relay and the
 * aggregator, and after all of them it removes the dir.
 */
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';
import type { RoundRecord } from '@finsecure/common/api';
import type { BankClient } from '@finsecure/bank-client';
import type { AggregatorConfigInput, RunningAggregator } from '../../src/index.js';
import * as harness from './federation.js';
import { relay, type Relay } from './relay.js';

/** The four banks of a federation unless a test names others. */
export const BANKS: readonly string[] = ['bank-a', 'bank-b', 'bank-c', 'bank-d'];

export interface FederationOptions {
  /** The aggregator's settings (seed, rules, training) over the test defaults. */
  aggregator?: Partial<AggregatorConfigInput>;
  /** The banks to start, in order, bank i on shard i + 1 (default BANKS). */
  banks?: readonly string[];
  /** Rows of each bank's synthetic shard (default 400). */
  rows?: number;
  /** Bank i's client settings over the test defaults (seed, roster, DP, …). */
  bank?: (i: number, id: string) => Record<string, unknown>;
  /** Connects the banks through a relay that records every frame they send. */
  relay?: boolean;
}

export interface StartedFederation {
  agg: RunningAggregator;
  /** The folder of the shards, the aggregator's data (agg/) and each bank's state (<id>/). */
  base: string;
  /** The relay between the banks and the aggregator, with `relay: true`. */
  tap?: Relay;
}

export class TestFederation {
  private readonly clients: BankClient[] = [];
  private readonly relays: Relay[] = [];
  private agg: RunningAggregator | undefined;

  constructor(readonly dir: string) {}

  /** Starts the aggregator of the test, stopped with the federation. */
  async startAggregator(dataDir: string, over: Partial<AggregatorConfigInput> = {}): Promise<RunningAggregator> {
    if (this.agg) throw new Error('stop() the running federation before starting another');
    this.agg = await harness.startTestAggregator(dataDir, over);
    return this.agg;
  }

  /**
   * Writes a shard per bank in `dir/name`, starts the aggregator in `dir/name/agg`, registers the
   * banks and starts their clients (state in `dir/name/<id>`). Training is not started.
   */
  start(name: string, opts: FederationOptions & { relay: true }): Promise<StartedFederation & { tap: Relay }>;
  start(name: string, opts?: FederationOptions): Promise<StartedFederation>;
  async start(name: string, opts: FederationOptions = {}): Promise<StartedFederation> {
    const base = path.join(this.dir, name);
    const ids = opts.banks ?? BANKS;
    const shards = await harness.writeShards(base, ids.length, opts.rows ?? 400);
    const agg = await this.startAggregator(path.join(base, 'agg'), opts.aggregator);
    let tap: Relay | undefined;
    if (opts.relay) {
      tap = await relay(`${agg.wsUrl}/ws/bank`);
      this.relays.push(tap);
    }
    // The relay takes the plain URL: startBank appends /ws/bank, the relay forwards to the aggregator's.
    const target = tap ? ({ ...agg, wsUrl: tap.url } as RunningAggregator) : agg;
    for (const [i, id] of ids.entries()) {
      const token = await harness.createBank(agg, id);
      this.clients.push(
        await harness.startBank(target, id, token, shards[i]!, path.join(base, id), opts.bank?.(i, id)),
      );
    }
    return { agg, base, ...(tap ? { tap } : {}) };
  }

  /** Stops the bank clients, then their relay (it closes only once its connections have). */
  async stopBanks(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((c) => c.stop()));
    await Promise.all(this.relays.splice(0).map((r) => r.close()));
  }

  /** Stops the banks, their relay and the aggregator: another federation may start. */
  async stop(): Promise<void> {
    await this.stopBanks();
    await this.agg?.close();
    this.agg = undefined;
  }
}

/** A federation fixture for the enclosing describe block (see the file's comment). */
export function useFederation(prefix?: string): TestFederation {
  const fed = new TestFederation(harness.tempDir(prefix));
  afterEach(() => fed.stop());
  afterAll(() => harness.cleanup(fed.dir));
  return fed;
}

/** Starts training and polls the rounds (newest first) until `pred` holds; by default, until one committed. */
export async function train(
  agg: RunningAggregator,
  pred: (rounds: RoundRecord[]) => boolean = (r) => r.some((x) => x.status === 'committed'),
  what = 'a committed round',
  timeoutMs = 90_000,
): Promise<RoundRecord[]> {
  await harness.api(agg, 'POST', '/api/training/start');
  return harness.waitRounds(agg, pred, what, timeoutMs);
}
