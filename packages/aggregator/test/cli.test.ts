/** The finsecure-aggregator binary as an operator runs it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('finsecure-aggregator CLI', () => {
  it('--help explains every flag and where secrets come from', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--config',
      '--host',
      '--port',
      '--data-dir',
      '--tls-cert',
      '--tls-key',
      '--rounds',
      '--fraction',
      '--min-banks',
      '--quorum',
      '--round-timeout',
      '--grace',
      '--strategy',
      '--max-share',
      '--normalize-steps',
      '--no-normalize-steps',
      '--loss-exponent',
      '--server-learning-rate',
      '--server-momentum',
      '--max-update-norm',
      '--epochs',
      '--batch-size',
      '--learning-rate',
      '--smote-ratio',
      '--smote-k',
      '--smote-max-multiplier',
      '--update-encoding',
      '--auto-start',
      '--backend',
      '--log-level',
    ]) {
      expect(r.out).toContain(flag);
    }
    expect(r.out).toContain('FINSECURE_ADMIN_TOKEN');
  });

  it('--no-normalize-steps overrides the environment', () => {
    // The port error proves the config was validated; no normalizeSteps/maxShare conflict is reported.
    const r = run(['--no-normalize-steps', '--max-share', '0.5'], {
      FINSECURE_NORMALIZE_STEPS: 'true',
      FINSECURE_PORT: '70000',
    });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/port: Too big/i);
    expect(r.err).not.toMatch(/normalizeSteps/);
    const clash = run(['--max-share', '0.5'], { FINSECURE_NORMALIZE_STEPS: 'true', FINSECURE_PORT: '70000' });
    expect(clash.err).toMatch(/normalizeSteps cannot be combined with maxShare < 1/);
  });

  it.each([
    [['--port', 'eighty'], {}, /--port must be an integer in 0\.\.65535, got "eighty"/],
    [['--fraction', '0'], {}, /--fraction must be a number in \(0, 1\], got "0"/],
    [['--quorum', '3', '--min-banks', '2'], {}, /rules\.quorum: quorum cannot exceed minBanks/],
    [['--update-encoding', 'float8'], {}, /training\.updateEncoding/],
    [[], { FINSECURE_PORT: 'x' }, /FINSECURE_PORT must be a number, got "x"/],
    [['--tls-cert', 'a.pem'], {}, /tlsCert and tlsKey must be given together/],
    [['--normalize-steps', '--max-share', '0.5'], {}, /rules\.normalizeSteps: normalizeSteps cannot be combined/],
    [['--strategy', 'fedmedian', '--loss-exponent', '1'], {}, /reset lossExponent \(1 → 0\) or use fedavg/],
    [['--server-momentum', '1'], {}, /--server-momentum must be a number in \[0, 1\), got "1"/],
    [['--smote-max-multiplier', '0'], {}, /--smote-max-multiplier must be a number in \(0, 1000000\], got "0"/],
  ])('rejects %j %j with a message naming the setting', (args, env, message) => {
    const r = run(args as string[], env as Record<string, string>);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message as RegExp);
  });
});
