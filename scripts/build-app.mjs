#!/usr/bin/env node
/**
 * Builds a vite app (packages/dashboard, packages/console) only when its inputs changed.
 *
 * Usage: node scripts/build-app.mjs [--force] <package dir>...
 *
 * Inputs: the app's src/ tree, index.html, vite.config.ts, package.json, tsconfig.json, the src/ tree and
 * package.json of every workspace package it depends on (@finsecure/ui: vite compiles it into the app), and
 * the root package-lock.json (the versions of vite, react and recharts). Their sha256 (path and content of every
 * file, in sorted order) is written to <dir>/dist/.build-stamp after a successful build; the next call
 * skips vite when the stamp matches and dist/index.html exists. A content hash, not mtimes: a fresh
 * clone or a `touch` does not force a rebuild, and an edit always does. Hashing both apps' sources takes
 * a few milliseconds; a vite build takes about 2 s per app on the 2-core machine.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = '.build-stamp';
const INPUT_FILES = ['index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'];

/** Every file under dir (recursively), as paths relative to base. */
function walk(dir, base, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, base, out);
    else if (entry.isFile()) out.push(path.relative(base, full));
  }
  return out;
}

/** The directories of the workspace packages (@finsecure/*) the app's package.json depends on. */
function workspaceDeps(appDir) {
  const pkg = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8'));
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
    .filter((name) => name.startsWith('@finsecure/'))
    .map((name) => path.join(root, 'packages', name.slice('@finsecure/'.length)))
    .filter((dir) => existsSync(path.join(dir, 'package.json')));
}

/** sha256 over the app's inputs: each file's path (from the repository root), a NUL, its bytes, a NUL. */
function inputHash(appDir) {
  const files = [];
  for (const dir of [appDir, ...workspaceDeps(appDir)]) {
    if (existsSync(path.join(dir, 'src'))) walk(path.join(dir, 'src'), root, files);
    for (const f of dir === appDir ? INPUT_FILES : ['package.json'])
      if (existsSync(path.join(dir, f))) files.push(path.relative(root, path.join(dir, f)));
  }
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f.split(path.sep).join('/'))
      .update('\0')
      .update(readFileSync(path.join(root, f)))
      .update('\0');
  }
  const lock = path.join(root, 'package-lock.json');
  if (existsSync(lock)) h.update('package-lock.json\0').update(readFileSync(lock));
  return h.digest('hex');
}

function main(argv) {
  const force = argv.includes('--force');
  const dirs = argv.filter((a) => a !== '--force');
  if (dirs.length === 0) {
    process.stderr.write('usage: node scripts/build-app.mjs [--force] <package dir>...\n');
    return 2;
  }
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  for (const d of dirs) {
    const appDir = path.resolve(root, d);
    if (!existsSync(path.join(appDir, 'vite.config.ts'))) {
      process.stderr.write(`build-app: ${d} has no vite.config.ts\n`);
      return 2;
    }
    const hash = inputHash(appDir);
    const stampFile = path.join(appDir, 'dist', STAMP);
    const built =
      existsSync(path.join(appDir, 'dist', 'index.html')) &&
      existsSync(stampFile) &&
      statSync(stampFile).isFile() &&
      readFileSync(stampFile, 'utf8').trim() === hash;
    if (built && !force) continue;
    process.stdout.write(`build-app: building ${d} (${force ? '--force' : 'sources changed since the last build'})\n`);
    const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: appDir, stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`build-app: vite build failed in ${d} (exit ${r.status ?? r.signal})\n`);
      return r.status || 1;
    }
    writeFileSync(stampFile, hash + '\n');
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
