/**
 * `finsecure-bank --version` (the built CLI: `npx tsc -b` first): one line naming the program, the
 * bank client package's version and Node's, exit code 0, before any setting is read, so a broken
 * config file or environment cannot stop it; also after a subcommand (`finsecure-bank start --version`).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, '../dist/cli/main.js');
const { version } = JSON.parse(readFileSync(path.resolve(here, '../package.json'), 'utf8')) as { version: string };
const line = `finsecure-bank ${version} (node ${process.version})\n`;

/** Settings `start` would refuse, had it read them. */
const BROKEN_ENV = {
  FINSECURE_LOG_LEVEL: 'nonsense',
  FINSECURE_TRAINING_THREADS: 'many',
  FINSECURE_SERVER: 'not a url',
};

const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('finsecure-bank --version', () => {
  it('prints the program, its package version and the Node version, exit 0', () => {
    const r = run(['--version']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(line);
  });

  it.each([
    [['--version']],
    [['-V']],
    [['start', '--version']],
    [['start', '--config', '/nonexistent/bank.json', '--version']],
    [['score', '--version']],
  ])('%j works with a broken config and environment', (args) => {
    const r = run(args, BROKEN_ENV);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(line);
  });

  it('is listed by --help', () => {
    expect(run(['--help']).out).toMatch(/-V, --version +print the version and exit/);
  });
});
