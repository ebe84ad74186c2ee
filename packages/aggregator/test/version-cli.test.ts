/**
 * `finsecure-aggregator --version` and `npm start -- --version` (the built CLIs: `npx tsc -b` first):
 * one line naming the program, the aggregator package's version and Node's, exit code 0, before any
 * setting is read, so a broken config file or environment cannot stop it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../dist/cli/main.js');
const launcher = path.resolve(here, '../dist/cli/local-federation.js');
const { version } = JSON.parse(readFileSync(path.resolve(here, '../package.json'), 'utf8')) as { version: string };

/** Every setting the aggregator would refuse, had it read them. */
const BROKEN_ENV = {
  FINSECURE_LOG_LEVEL: 'nonsense',
  FINSECURE_PORT: 'eighty',
  FINSECURE_QUORUM: '0',
  FINSECURE_CONFIG: '/nonexistent/finsecure.json',
};

const run = (file: string, args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [file, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('finsecure-aggregator --version', () => {
  it('prints the program, its package version and the Node version, exit 0', () => {
    const r = run(cli, ['--version']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(`finsecure-aggregator ${version} (node ${process.version})\n`);
  });

  it.each([
    [['--version']],
    [['-V']],
    [['--config', '/nonexistent/config.json', '--version']],
    [['users', '--version']],
    [['users', 'list', '--version']],
    [['audit', 'verify', '--version']],
  ])('%j works with a broken config and environment', (args) => {
    const r = run(cli, args, BROKEN_ENV);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`finsecure-aggregator ${version} (node ${process.version})\n`);
  });

  it('is listed by --help, and a broken environment still stops a real start', () => {
    expect(run(cli, ['--help']).out).toMatch(/-V, --version +print the version and exit/);
    expect(run(cli, ['users', '--help']).out).toContain('--version');
    // A leaf's own help lists it too, under the options it inherits.
    for (const leaf of [
      ['users', 'list'],
      ['audit', 'verify'],
    ])
      expect(run(cli, [...leaf, '--help']).out).toMatch(/Global Options:\n +-V, --version +print the version and exit/);
    // Without --version the same environment is refused: the flag really comes first.
    const start = run(cli, [], BROKEN_ENV);
    expect(start.code).toBe(2);
    expect(start.out).toBe('');
  });
});

describe('npm start -- --version (the local federation launcher)', () => {
  it('prints finsecure-local and the aggregator package version, exit 0, with a broken environment', () => {
    const r = run(launcher, ['--version'], BROKEN_ENV);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`finsecure-local ${version} (node ${process.version})\n`);
    expect(run(launcher, ['--help']).out).toContain('-V, --version');
  });
});
