/**
 * Every command the README shows must work, literally, right after `npm install && npm start`
 * (which builds), and must never resolve outside this repository. This test reads the README's
 * shell blocks and checks each command:
 * - `npx …` commands use `--no-install` (npx then refuses to ask the public registry) and name a bin of
 *   a workspace package whose launcher is committed to git, so it is linked at install time, before
 *   dist/ exists (a bin pointing into dist/ is missing on a fresh clone and npx falls through to the
 *   registry: the bug this guards against);
 * - each such command runs (`--help`, since the real ones start daemons);
 * - `npm run X` commands name a root script;
 * - the dataset commands run literally (into a temporary directory).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  workspaces: string[];
};

/** Commands of the README's bash/sh blocks, with continuation lines joined and comments dropped. */
function readmeCommands(): string[] {
  const out: string[] = [];
  for (const m of readme.matchAll(/```(?:bash|sh)\n([\s\S]*?)```/g)) {
    const joined = m[1]!.replace(/\\\n\s*/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      if (line && !line.startsWith('#')) out.push(line);
    }
  }
  return out;
}

/** bin name → { package dir, launcher path relative to the repository }. */
function workspaceBins(): Map<string, { dir: string; file: string }> {
  const bins = new Map<string, { dir: string; file: string }>();
  for (const ws of rootPkg.workspaces) {
    const pkg = JSON.parse(readFileSync(path.join(root, ws, 'package.json'), 'utf8')) as {
      bin?: Record<string, string>;
    };
    for (const [name, file] of Object.entries(pkg.bin ?? {}))
      bins.set(name, { dir: ws, file: path.posix.join(ws, file.replace(/^\.\//, '')) });
  }
  return bins;
}

const tracked = new Set(execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n'));
const commands = readmeCommands();
const npxCommands = commands.filter((c) => /(^|\s)npx\s/.test(c));
const npmRunCommands = commands.filter((c) => /^npm run\s/.test(c));

describe('README commands', () => {
  it('finds the commands it is meant to check', () => {
    expect(npxCommands.length).toBeGreaterThanOrEqual(3);
    expect(npmRunCommands.length).toBeGreaterThanOrEqual(5);
  });

  it('every npx command refuses the registry and names a committed workspace launcher', () => {
    const bins = workspaceBins();
    for (const cmd of npxCommands) {
      const words = cmd.split(/\s+/);
      const at = words.indexOf('npx');
      expect(words[at + 1], cmd).toBe('--no-install');
      const bin = words[at + 2]!;
      const entry = bins.get(bin);
      expect(entry, `${bin} is not a bin of any workspace package`).toBeDefined();
      // Tracked by git (exists on a fresh clone) and not under dist/ (exists before the build).
      expect(tracked.has(entry!.file), `${entry!.file} must be committed`).toBe(true);
      expect(entry!.file).not.toMatch(/\/dist\//);
      expect(existsSync(path.join(root, 'node_modules', '.bin', bin)), `${bin} is linked by npm install`).toBe(true);
    }
  });

  // One npx start-up per distinct command (about ten, each a few seconds on a loaded 2-core
  // machine): two at a time, with room for a slow machine.
  it('every npx command resolves to this repository and runs', { timeout: 240_000 }, async () => {
    const keys = new Map<string, string[]>();
    for (const cmd of npxCommands) {
      const words = cmd.split(/\s+/);
      const at = words.indexOf('npx');
      const bin = words[at + 2]!;
      const sub = words[at + 3] && !words[at + 3]!.startsWith('-') ? [words[at + 3]!] : [];
      keys.set([bin, ...sub].join(' '), [bin, ...sub]);
    }
    const results: { key: string; bin: string; code: number | string | null; stdout: string; stderr: string }[] = [];
    const help = ([key, args]: [string, string[]]) =>
      new Promise<void>((resolve) => {
        execFile(
          'npx',
          ['--no-install', ...args, '--help'],
          {
            cwd: root,
            encoding: 'utf8',
            timeout: 120_000,
            env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), npm_config_offline: 'true' },
          },
          (err, stdout, stderr) => {
            results.push({ key, bin: args[0]!, code: err ? (err.code ?? 'killed') : 0, stdout, stderr });
            resolve();
          },
        );
      });
    const queue = [...keys];
    await Promise.all(
      [0, 1].map(async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await help(next);
      }),
    );
    expect(results).toHaveLength(keys.size);
    for (const r of results) {
      expect(r.code, `${r.key} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout, r.key).toContain(`Usage: ${r.bin}`);
    }
  });

  it('every npm run command names a root script', () => {
    for (const cmd of npmRunCommands) {
      const script = cmd.split(/\s+/)[2]!;
      expect(rootPkg.scripts[script], `npm run ${script}`).toBeDefined();
    }
  });

  it('the dataset commands run literally', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-readme-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const datasetCommands = npmRunCommands.filter((c) => c.startsWith('npm run datasets'));
    // The README's sections are independent: make the data before any section partitions it.
    const ordered = [
      ...datasetCommands.filter((c) => / generate /.test(c)),
      ...datasetCommands.filter((c) => !/ generate /.test(c)),
    ];
    for (const cmd of ordered) {
      // The README writes under data/ of the working directory; run the same words in a temp copy.
      const args = cmd
        .split(/\s+/)
        .slice(4)
        .map((a) => (a.startsWith('data/') ? path.join(dir, a) : a));
      mkdirSync(path.join(dir, 'data'), { recursive: true });
      const r = spawnSync(process.execPath, [path.join(root, 'packages/common/dist/cli/datasets.js'), ...args], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(0);
    }
    expect(existsSync(path.join(dir, 'data', 'synthetic.csv'))).toBe(true);
  });

  it('a launcher run before the build says so instead of failing with a module error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'finsecure-unbuilt-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(path.join(dir, 'bin'));
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    copyFileSync(
      path.join(root, 'packages/bank-client/bin/finsecure-bank.js'),
      path.join(dir, 'bin', 'finsecure-bank.js'),
    );
    const r = spawnSync(process.execPath, [path.join(dir, 'bin', 'finsecure-bank.js'), '--help'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('run `npm run build`');
  });
});
