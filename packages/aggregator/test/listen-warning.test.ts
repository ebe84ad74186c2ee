/** The aggregator warns when it listens beyond this host without TLS (its log, at start-up). */
import { Writable } from 'node:stream';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startAggregator } from '../src/index.js';
import { aggregatorConfig, cleanup, tempDir } from './helpers/federation.js';

const dir = tempDir('finsecure-listen-warning-');
afterAll(() => cleanup(dir));

async function warningsAt(host: string): Promise<string[]> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const agg = await startAggregator(aggregatorConfig(path.join(dir, host.replace(/\W/g, '_')), { host }), {
    logger: pino({ level: 'warn' }, sink),
  });
  await agg.close();
  return lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.includes('without TLS'));
}

describe('listening beyond this host without TLS', () => {
  it('is warned about on 0.0.0.0, not on 127.0.0.1', async () => {
    expect(await warningsAt('127.0.0.1')).toEqual([]);
    expect(await warningsAt('0.0.0.0')).toEqual([
      'the aggregator listens on 0.0.0.0 without TLS: passwords and session cookies cross the network in the clear. ' +
        'Give --tls-cert and --tls-key, or keep it on 127.0.0.1 behind a TLS-terminating proxy',
    ]);
  });
});
