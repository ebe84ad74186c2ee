/**
 * The fixture of tests that start one aggregator and a few raw banks per test: the banks and the
 * aggregator are closed after each test, the temporary directory removed after all of them. Call
 * it inside a `describe`; assign `agg` when the test starts its aggregator.
 */
import { afterAll, afterEach } from 'vitest';
import type { RunningAggregator } from '../../src/index.js';
import { cleanup, tempDir } from './federation.js';
import type { RawBank } from './raw-bank.js';

export interface RawFixture {
  readonly dir: string;
  /** Banks to close after the test (push them as they join). */
  readonly banks: RawBank[];
  agg: RunningAggregator | undefined;
}

export function rawFixture(): RawFixture {
  const fx: RawFixture = { dir: tempDir(), banks: [], agg: undefined };
  afterEach(async () => {
    for (const b of fx.banks.splice(0)) b.close();
    await fx.agg?.close();
    fx.agg = undefined;
  });
  afterAll(() => cleanup(fx.dir));
  return fx;
}
