/**
 * The shared `--version` helper (src/cli/version.ts), and `finsecure-datasets --version` as built
 * (`npx tsc -b` first): one line naming the program, the common package's version and Node's, exit 0.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addVersionOption, packageVersion, versionLine } from '@finsecure/common/cli';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageJson = new URL('../package.json', import.meta.url);
const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };

describe('the --version helper', () => {
  it('reads the version of the package.json it is given, and says "unknown" when it cannot', () => {
    expect(packageVersion(packageJson)).toBe(version);
    expect(packageVersion(new URL('./no-such-package.json', import.meta.url))).toBe('unknown');
    expect(versionLine('finsecure-x', packageJson)).toBe(`finsecure-x ${version} (node ${process.version})`);
  });

  it('gives a command -V, --version that prints the line and exits 0 before the action runs', () => {
    let out = '';
    let ran = false;
    const cmd = addVersionOption(
      new Command('finsecure-x')
        .exitOverride()
        .configureOutput({ writeOut: (s) => (out += s) })
        .option('--rows <n>')
        .action(() => {
          ran = true;
        }),
      packageJson,
    );
    expect(() => cmd.parse(['--rows', '3', '-V'], { from: 'user' })).toThrow(
      expect.objectContaining({ exitCode: 0, code: 'commander.version' }),
    );
    expect(out).toBe(`finsecure-x ${version} (node ${process.version})\n`);
    expect(ran).toBe(false);
  });

  it("lists --version in every subcommand's help, down to the leaves", () => {
    let out = '';
    const root = new Command('finsecure-x').exitOverride().configureOutput({ writeOut: (s) => (out += s) });
    const leaf = root.command('users').command('list').option('--role <role>');
    addVersionOption(root, packageJson);
    out = '';
    expect(() => root.parse(['users', 'list', '--help'], { from: 'user' })).toThrow(
      expect.objectContaining({ exitCode: 0 }),
    );
    expect(out).toMatch(/Global Options:\n +-V, --version +print the version and exit/);
    expect(leaf.helpInformation()).toContain('--role');
  });
});

describe('finsecure-datasets --version', () => {
  it.each([[['--version']], [['-V']], [['partition', '--version']]])('%j: one line, exit 0', (args) => {
    const r = spawnSync(process.execPath, [path.resolve(here, '../dist/cli/datasets.js'), ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', FINSECURE_LOG_LEVEL: 'nonsense' },
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`finsecure-datasets ${version} (node ${process.version})\n`);
  });
});
