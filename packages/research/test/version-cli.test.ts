/**
 * `--version` of the research tools (the built entry points: `npx tsc -b` first): one line naming the
 * tool, the research package's version and Node's, exit code 0, whatever the environment says.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(readFileSync(path.resolve(here, '../package.json'), 'utf8')) as { version: string };

const run = (tool: string, args: string[]) => {
  const r = spawnSync(process.execPath, [path.resolve(here, `../dist/cli/${tool}.js`), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', FINSECURE_LOG_LEVEL: 'nonsense', FINSECURE_CONFIG: '/nonexistent.json' },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('research tools --version', () => {
  it.each(['baseline', 'simulate', 'compare', 'attack', 'feedback', 'local-only'])(
    '%s --version prints its name, the package version and the Node version, exit 0',
    (tool) => {
      const r = run(tool, ['--version']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe(`${tool} ${version} (node ${process.version})\n`);
    },
  );

  it('-V too, before any flag is checked, and --help lists it', () => {
    const r = run('baseline', ['--data', 'missing.csv', '-V']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`baseline ${version} (node ${process.version})\n`);
    expect(run('baseline', ['--help']).out).toMatch(/-V, --version +print the version and exit/);
  });
});
