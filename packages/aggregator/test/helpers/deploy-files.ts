/**
 * The deployment files as the deploy tests read them: the compose files (parsed with the `yaml`
 * package, YAML 1.1 merge keys on, as docker-compose reads them), the Dockerfiles (instructions,
 * continuation lines, stages) and .dockerignore. Used by deploy-references.test.ts (compose,
 * environment, .env.example) and deploy-images.test.ts (what the images build, copy and run).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { expect } from 'vitest';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');
export const AGGREGATOR_DOCKERFILE = 'docker/aggregator.Dockerfile';
export const BANK_DOCKERFILE = 'docker/bank-client.Dockerfile';
/** Where the images put the repository (WORKDIR of every stage). */
export const APP_DIR = '/app';

// ---------------------------------------------------------------- compose files --

export interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: unknown };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  restart?: string;
  secrets?: string[];
}
export interface ComposeFile {
  version?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

export function loadCompose(rel: string): ComposeFile {
  const doc = parse(read(rel), { merge: true }) as ComposeFile;
  expect(Object.keys(doc?.services ?? {}).length, `${rel} has no services`).toBeGreaterThan(0);
  return doc;
}

export function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

export function buildOf(service: Service): { context: string; dockerfile: string } | null {
  if (!service.build) return null;
  if (typeof service.build === 'string') return { context: service.build, dockerfile: 'Dockerfile' };
  return { context: service.build.context ?? '.', dockerfile: service.build.dockerfile ?? 'Dockerfile' };
}

export function asArray(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean);
}

/** A short-syntax volume `source:target[:mode]`, where the source may be `${VAR:-default}`. */
export function volumeParts(v: string): { source: string; target: string; mode: string | undefined } {
  const COLON = '\u{E000}'; // a private-use character, never in a path
  const masked = v.replace(/\$\{[^}]*\}/g, (m) => m.replaceAll(':', COLON));
  const [source, target, mode] = masked.split(':').map((p) => p.replaceAll(COLON, ':'));
  return { source: source!, target: target!, mode };
}

/** Names interpolated anywhere in a compose file: ${NAME}, ${NAME:-x}, ${NAME:?msg}, $NAME. */
export function interpolated(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  for (const m of text.matchAll(/(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return names;
}

export const base = loadCompose('docker-compose.yml');
export const tls = loadCompose('docker-compose.tls.yml');

/** Services merged as `docker compose -f docker-compose.yml -f docker-compose.tls.yml` does (environment: key by key). */
export function withOverride(name: string): Service {
  const b = base.services[name]!;
  const o = tls.services[name] ?? {};
  return { ...b, ...o, environment: { ...envOf(b), ...envOf(o) } };
}

export function kindOf(service: Service): 'aggregator' | 'bank' | 'image' {
  const b = buildOf(service);
  if (!b) return 'image';
  const file = path.normalize(path.join(b.context, b.dockerfile));
  if (file === path.normalize(AGGREGATOR_DOCKERFILE)) return 'aggregator';
  if (file === path.normalize(BANK_DOCKERFILE)) return 'bank';
  throw new Error(`service builds from ${file}, which these tests do not know: add its checks`);
}

export const serviceNames = Object.keys(base.services);
export const aggregatorNames = serviceNames.filter((n) => kindOf(base.services[n]!) === 'aggregator');
export const bankNames = serviceNames.filter((n) => kindOf(base.services[n]!) === 'bank');

// ---------------------------------------------------------------- Dockerfiles --

export interface Instruction {
  op: string;
  args: string;
  stage: string;
  line: number;
}

/** Instructions of a Dockerfile, with continuation lines joined and each tagged with its stage. */
export function readDockerfile(rel: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = '';
  let stageIndex = -1;
  let pending = '';
  let startLine = 0;
  read(rel)
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (!pending && (line === '' || line.startsWith('#'))) return;
      if (pending && line.startsWith('#')) return; // comment inside a continued instruction
      if (!pending) startLine = i + 1;
      if (line.endsWith('\\')) {
        pending += line.slice(0, -1) + ' ';
        return;
      }
      const full = (pending + line).trim();
      pending = '';
      const m = /^(\S+)\s*(.*)$/s.exec(full)!;
      const op = m[1]!.toUpperCase();
      const args = m[2]!;
      if (op === 'FROM') {
        stageIndex++;
        stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? String(stageIndex);
      }
      out.push({ op, args, stage, line: startLine });
    });
  return out;
}

export function finalStage(ins: Instruction[]): Instruction[] {
  const last = ins.filter((i) => i.op === 'FROM').at(-1)!.stage;
  return ins.filter((i) => i.stage === last);
}

/** The exec form of ENTRYPOINT/CMD/HEALTHCHECK CMD (JSON array), or the shell form split on spaces. */
export function execForm(args: string): string[] {
  const s = args.trim();
  if (s.startsWith('[')) return JSON.parse(s) as string[];
  return s.split(/\s+/).filter(Boolean);
}

/** ENV lines: both `ENV A=1 B=2` (with continuations) and the legacy `ENV A 1`. */
export function envLines(ins: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of ins.filter((x) => x.op === 'ENV')) {
    if (!i.args.includes('=')) {
      const [k, ...v] = i.args.split(/\s+/);
      env[k!] = v.join(' ');
      continue;
    }
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
      env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

/** COPY instructions: sources, destination, --from stage (null for the build context). */
export function copies(ins: Instruction[]): { from: string | null; sources: string[]; dest: string; stage: string }[] {
  return ins
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/).filter(Boolean);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
      const paths = words.filter((w) => !w.startsWith('--'));
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)!, stage: i.stage };
    });
}

/** Maps an absolute path in the image to a repository-relative one (`/app/x` → `x`). */
export function inRepo(p: string): string {
  return p.startsWith(APP_DIR + '/') ? p.slice(APP_DIR.length + 1) : p;
}

/**
 * A built file (`packages/<pkg>/dist/<x>.js`) must come from a source the build
 * compiles (`packages/<pkg>/src/<x>.ts`, a package referenced by the root
 * tsconfig.json) and be copied into the runtime image; any other file must be in the
 * repository and copied from the build context.
 */
export function expectImageFile(dockerfile: string, ins: Instruction[], imagePath: string): void {
  const rel = inRepo(imagePath);
  const built = /^packages\/([^/]+)\/dist\/(.+)\.js$/.exec(rel);
  const allCopies = copies(ins);
  if (built) {
    const [, pkg, file] = built;
    const source = `packages/${pkg}/src/${file}.ts`;
    expect(
      existsSync(path.join(ROOT, source)),
      `${dockerfile} runs ${imagePath}, built from ${source}, which does not exist`,
    ).toBe(true);
    const refs = (JSON.parse(read('tsconfig.json')) as { references: { path: string }[] }).references.map((r) =>
      path.normalize(r.path),
    );
    expect(refs, `${dockerfile}: \`tsc -b\` (npm run build) must build packages/${pkg}`).toContain(
      path.normalize(`packages/${pkg}`),
    );
    // The build stage runs the build, and its dist/ reaches the runtime image.
    expect(
      ins.some((i) => i.op === 'RUN' && /\bnpm run build\b|\btsc -b\b/.test(i.args)),
      `${dockerfile} never runs the build`,
    ).toBe(true);
    expect(
      allCopies.some((c) => c.from && c.sources.some((s) => inRepo(s) === `packages/${pkg}/dist`)),
      `${dockerfile} runs ${imagePath} but never copies packages/${pkg}/dist out of its build stage`,
    ).toBe(true);
  } else {
    expect(existsSync(path.join(ROOT, rel)), `${dockerfile} runs ${imagePath}, which is not in the repository`).toBe(
      true,
    );
    expect(
      allCopies.some((c) => c.from === null && c.sources.includes(rel)),
      `${dockerfile} runs ${imagePath} but never copies ${rel} from the build context`,
    ).toBe(true);
  }
}

/** `node <file>` in an exec-form command: the file. */
export function nodeScript(cmd: string[]): string | undefined {
  const i = cmd.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return i < 0 ? undefined : cmd.slice(i + 1).find((w) => !w.startsWith('-'));
}

// ---------------------------------------------------------------- .dockerignore --

/** .dockerignore patterns as regexps over repository-relative paths (a pattern also excludes everything below it). */
export function dockerignore(): { pattern: string; re: RegExp; negated: boolean }[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const pattern = (negated ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
      const body = pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) =>
          part === '**/'
            ? '(?:.*/)?'
            : part === '**'
              ? '.*'
              : part === '*'
                ? '[^/]*'
                : part === '?'
                  ? '[^/]'
                  : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return { pattern: l, re: new RegExp(`^${body}(?:/.*)?$`), negated };
    });
}

export function ignoredBy(rel: string): string | undefined {
  let hit: string | undefined;
  for (const p of dockerignore()) if (p.re.test(rel)) hit = p.negated ? undefined : p.pattern;
  return hit;
}

// ================================================================================
