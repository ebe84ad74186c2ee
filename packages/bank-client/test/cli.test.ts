/** The finsecure-bank CLI as a user runs it: bad input gives clear errors; score writes one probability per row. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MLP, initWeights, saveModelDir, manifestFor } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
import { cleanup, tempDir, TEST_STATE_KEY_ENV, writeShards } from '../../aggregator/test/helpers/federation.js';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
let dir: string;
let shard: string;

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    // The state key is required by every command that reads the state directory.
    env: { PATH: process.env.PATH ?? '', ...TEST_STATE_KEY_ENV, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  dir = tempDir('finsecure-cli-');
  [shard] = await writeShards(dir, 1, 300);
});
afterAll(() => cleanup(dir));

describe('finsecure-bank CLI', () => {
  it('--help explains every flag of start', () => {
    const r = run(['start', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--server',
      '--bank-id',
      '--token',
      '--token-file',
      '--data',
      '--test',
      '--test-fraction',
      '--dp-clip',
      '--dp-noise-multiplier',
      '--dp-epsilon-budget',
      '--state-dir',
      '--ca-file',
      '--seed',
      '--backend',
    ]) {
      expect(r.out).toContain(flag);
    }
  });

  it.each([
    [
      ['start', '--server', 'http://x', '--bank-id', 'a', '--data', 'x.csv'],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(20) },
      /--server: must be a ws:\/\/ or wss:\/\/ URL/,
    ],
    [
      ['start', '--server', 'ws://localhost:1/ws/bank', '--bank-id', 'a', '--data', 'x.csv'],
      {},
      /--token \/ FINSECURE_BANK_TOKEN: is required/,
    ],
    [
      ['start', '--server', 'ws://localhost:1/ws/bank', '--bank-id', 'a'],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(20) },
      /--data: is required/,
    ],
    [['start', '--test-fraction', '1.5'], {}, /--test-fraction must be a number > 0 and < 1, got "1.5"/],
    [['start', '--dp-clip', '-1'], {}, /--dp-clip must be a number > 0, got "-1"/],
    [
      ['start', '--server', 'ws://localhost:1/ws/bank', '--bank-id', 'a', '--data', 'x.csv', '--dp-clip', '1'],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(20) },
      /--dp-clip: --dp-clip and --dp-noise-multiplier must be given together/,
    ],
    [
      ['start', '--server', 'ws://localhost:1/ws/bank', '--bank-id', 'bad id!', '--data', 'x.csv'],
      { FINSECURE_BANK_TOKEN: 'x'.repeat(20) },
      /--bank-id: may contain letters/,
    ],
  ])('rejects bad input %j with a message naming the problem', (args, env, message) => {
    const r = run(args as string[], env as Record<string, string>);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message as RegExp);
  });

  it("names every problem of a config file at once, the bank's and the console's, each with its line and column", () => {
    const file = path.join(dir, 'both-wrong.json');
    writeFileSync(file, '{\n  "testFraction": 2,\n  "consolePort": "abc"\n}\n');
    const r = run(['start', '--config', file], { FINSECURE_BANK_TOKEN: 'x'.repeat(20) });
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${file}:2:19: testFraction: must be < 1, got 2`);
    expect(r.err).toContain(`${file}:3:18: consolePort: must be a number, got "abc"`);
    // A file that cannot be parsed is said once.
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{\n  "testFraction": ,\n}\n');
    const b = run(['start', '--config', broken]);
    expect(b.code).toBe(2);
    expect(b.err.match(/is not valid JSON/g)).toHaveLength(1);
    expect(b.err).toContain(`${broken}:2:19`);
  });

  it('names the missing data file', () => {
    const r = run(
      ['start', '--server', 'ws://127.0.0.1:1/ws/bank', '--bank-id', 'a', '--data', path.join(dir, 'nope.csv')],
      // The state directory is opened (and its key checked) before the data is read.
      { FINSECURE_BANK_TOKEN: 'x'.repeat(20), FINSECURE_STATE_DIR: path.join(dir, 'state') },
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('nope.csv');
  });

  it('score writes one probability per input row, in order', async () => {
    const modelDir = path.join(dir, 'model');
    const w = initWeights(DEFAULT_MLP, createRng(3));
    await saveModelDir(modelDir, DEFAULT_MLP, { data: w.data, manifest: manifestFor(DEFAULT_MLP) }, 5, {
      mean: new Array(30).fill(0),
      std: new Array(30).fill(1),
    });
    const out = path.join(dir, 'scores.csv');
    const r = run(['score', '--model', modelDir, '--data', shard!, '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/scored 300 transactions with global model v5/);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('row,fraud_probability');
    expect(lines).toHaveLength(301);
    for (const [i, line] of lines.slice(1).entries()) {
      const [row, p] = line.split(',');
      expect(Number(row)).toBe(i + 1);
      expect(Number(p)).toBeGreaterThanOrEqual(0);
      expect(Number(p)).toBeLessThanOrEqual(1);
    }
  });

  it('score accepts transactions without a label column and refuses a broken model', async () => {
    const csv = readFileSync(shard!, 'utf8').split('\n');
    const header = csv[0]!.split(',');
    const classAt = header.findIndex((h) => h.replace(/"/g, '') === 'Class');
    const unlabeled = csv
      .filter(Boolean)
      .map((l) =>
        l
          .split(',')
          .filter((_, i) => i !== classAt)
          .join(','),
      )
      .join('\n');
    const file = path.join(dir, 'unlabeled.csv');
    writeFileSync(file, unlabeled + '\n');
    const ok = run(['score', '--model', path.join(dir, 'model'), '--data', file, '--out', path.join(dir, 's2.csv')]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const bad = run(['score', '--model', dir, '--data', file, '--out', path.join(dir, 's3.csv')]);
    // A directory with no model is bad input: exit 2, like a bad data file.
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no model there \(no model\.json\)/);
  });
});
