/**
 * The deployment files refer to the code, and the code moves: these tests fail when a
 * compose service points at a Dockerfile or build context that is gone, when an image
 * starts a file the build does not produce, when a service sets an environment
 * variable its program does not read (a typo there is silently ignored at run time),
 * or when .env.example forgets a setting.
 *
 * The compose files are parsed with the `yaml` package (YAML 1.1 merge keys on, as
 * docker-compose reads them); the Dockerfiles with a few lines below (instructions,
 * continuation lines, stages). docker-compose itself validates the files in
 * deploy-compose.test.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BANK_ENV } from '../../bank-client/src/config.js';
import { ENV_VARS } from '../src/config/schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (rel: string) => readFileSync(path.join(ROOT, rel), 'utf8');

const AGGREGATOR_DOCKERFILE = 'docker/aggregator.Dockerfile';
const BANK_DOCKERFILE = 'docker/bank-client.Dockerfile';
/** Where the images put the repository (WORKDIR of every stage). */
const APP_DIR = '/app';

// ---------------------------------------------------------------- compose files --

interface Service {
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
interface ComposeFile {
  version?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}

function loadCompose(rel: string): ComposeFile {
  const doc = parse(read(rel), { merge: true }) as ComposeFile;
  expect(Object.keys(doc?.services ?? {}).length, `${rel} has no services`).toBeGreaterThan(0);
  return doc;
}

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

function buildOf(service: Service): { context: string; dockerfile: string } | null {
  if (!service.build) return null;
  if (typeof service.build === 'string') return { context: service.build, dockerfile: 'Dockerfile' };
  return { context: service.build.context ?? '.', dockerfile: service.build.dockerfile ?? 'Dockerfile' };
}

function asArray(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(/\s+/).filter(Boolean);
}

/** A short-syntax volume `source:target[:mode]`, where the source may be `${VAR:-default}`. */
function volumeParts(v: string): { source: string; target: string; mode: string | undefined } {
  const COLON = '\u{E000}'; // a private-use character, never in a path
  const masked = v.replace(/\$\{[^}]*\}/g, (m) => m.replaceAll(':', COLON));
  const [source, target, mode] = masked.split(':').map((p) => p.replaceAll(COLON, ':'));
  return { source: source!, target: target!, mode };
}

/** Names interpolated anywhere in a compose file: ${NAME}, ${NAME:-x}, ${NAME:?msg}, $NAME. */
function interpolated(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  for (const m of text.matchAll(/(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  return names;
}

const base = loadCompose('docker-compose.yml');
const tls = loadCompose('docker-compose.tls.yml');

/** Services merged as `docker compose -f docker-compose.yml -f docker-compose.tls.yml` does (environment: key by key). */
function withOverride(name: string): Service {
  const b = base.services[name]!;
  const o = tls.services[name] ?? {};
  return { ...b, ...o, environment: { ...envOf(b), ...envOf(o) } };
}

function kindOf(service: Service): 'aggregator' | 'bank' | 'image' {
  const b = buildOf(service);
  if (!b) return 'image';
  const file = path.normalize(path.join(b.context, b.dockerfile));
  if (file === path.normalize(AGGREGATOR_DOCKERFILE)) return 'aggregator';
  if (file === path.normalize(BANK_DOCKERFILE)) return 'bank';
  throw new Error(`service builds from ${file}, which these tests do not know: add its checks`);
}

const serviceNames = Object.keys(base.services);
const aggregatorNames = serviceNames.filter((n) => kindOf(base.services[n]!) === 'aggregator');
const bankNames = serviceNames.filter((n) => kindOf(base.services[n]!) === 'bank');

// ---------------------------------------------------------------- Dockerfiles --

interface Instruction {
  op: string;
  args: string;
  stage: string;
  line: number;
}

/** Instructions of a Dockerfile, with continuation lines joined and each tagged with its stage. */
function readDockerfile(rel: string): Instruction[] {
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

function finalStage(ins: Instruction[]): Instruction[] {
  const last = ins.filter((i) => i.op === 'FROM').at(-1)!.stage;
  return ins.filter((i) => i.stage === last);
}

/** The exec form of ENTRYPOINT/CMD/HEALTHCHECK CMD (JSON array), or the shell form split on spaces. */
function execForm(args: string): string[] {
  const s = args.trim();
  if (s.startsWith('[')) return JSON.parse(s) as string[];
  return s.split(/\s+/).filter(Boolean);
}

/** ENV lines: both `ENV A=1 B=2` (with continuations) and the legacy `ENV A 1`. */
function envLines(ins: Instruction[]): Record<string, string> {
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
function copies(ins: Instruction[]): { from: string | null; sources: string[]; dest: string; stage: string }[] {
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
function inRepo(p: string): string {
  return p.startsWith(APP_DIR + '/') ? p.slice(APP_DIR.length + 1) : p;
}

/**
 * A built file (`packages/<pkg>/dist/<x>.js`) must come from a source the build
 * compiles (`packages/<pkg>/src/<x>.ts`, a package referenced by the root
 * tsconfig.json) and be copied into the runtime image; any other file must be in the
 * repository and copied from the build context.
 */
function expectImageFile(dockerfile: string, ins: Instruction[], imagePath: string): void {
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
function nodeScript(cmd: string[]): string | undefined {
  const i = cmd.findIndex((w) => w === 'node' || w.endsWith('/node'));
  return i < 0 ? undefined : cmd.slice(i + 1).find((w) => !w.startsWith('-'));
}

// ---------------------------------------------------------------- .dockerignore --

/** .dockerignore patterns as regexps over repository-relative paths (a pattern also excludes everything below it). */
function dockerignore(): { pattern: string; re: RegExp; negated: boolean }[] {
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

function ignoredBy(rel: string): string | undefined {
  let hit: string | undefined;
  for (const p of dockerignore()) if (p.re.test(rel)) hit = p.negated ? undefined : p.pattern;
  return hit;
}

// ================================================================================

describe('docker-compose.yml: services and their builds', () => {
  it('has mongo, one aggregator and three banks, on the 3.9 file format', () => {
    expect(base.version).toBe('3.9');
    expect(tls.version).toBe('3.9');
    expect(serviceNames).toContain('mongo');
    expect(aggregatorNames).toEqual(['aggregator']);
    expect(bankNames).toEqual(['bank-1', 'bank-2', 'bank-3']);
    // The dashboard is served by the aggregator, not by a service of its own.
    expect(serviceNames.filter((n) => /dashboard/.test(n))).toEqual([]);
  });

  it('every build context and Dockerfile exists in the repository', () => {
    for (const [name, service] of Object.entries(base.services)) {
      const b = buildOf(service);
      if (!b) {
        expect(service.image ?? '', `${name} has neither build nor image`).toMatch(/^\S+$/);
        continue;
      }
      const context = path.resolve(ROOT, b.context);
      expect(
        existsSync(context) && statSync(context).isDirectory(),
        `${name}: build context ${b.context} is not a directory`,
      ).toBe(true);
      expect(
        existsSync(path.join(context, b.dockerfile)),
        `${name}: ${b.dockerfile} does not exist in ${b.context}`,
      ).toBe(true);
    }
  });

  it("every Dockerfile's ENTRYPOINT/CMD/HEALTHCHECK runs a file the image builds or copies", () => {
    for (const dockerfile of [AGGREGATOR_DOCKERFILE, BANK_DOCKERFILE]) {
      const ins = readDockerfile(dockerfile);
      const runtime = finalStage(ins);
      const entry = runtime.filter((i) => i.op === 'ENTRYPOINT').at(-1);
      expect(entry, `${dockerfile} has no ENTRYPOINT in its final stage`).toBeDefined();
      const script = nodeScript(execForm(entry!.args));
      expect(script, `${dockerfile}: ENTRYPOINT should be ["node", "<script>"]`).toBeDefined();
      expectImageFile(dockerfile, ins, script!);
      for (const hc of runtime.filter((i) => i.op === 'HEALTHCHECK' && !/^NONE\b/i.test(i.args))) {
        const cmd = execForm(hc.args.slice(hc.args.search(/\bCMD\b/) + 3));
        expect(cmd[0], `${dockerfile}: the slim image has no curl/wget; the health check must use node`).toBe('node');
        expectImageFile(dockerfile, ins, nodeScript(cmd)!);
      }
    }
  });

  it('the aggregator image checks its health on /api/health, the route the aggregator serves', () => {
    const hc = finalStage(readDockerfile(AGGREGATOR_DOCKERFILE)).find((i) => i.op === 'HEALTHCHECK');
    expect(hc, 'the aggregator image needs a HEALTHCHECK').toBeDefined();
    const script = inRepo(nodeScript(execForm(hc!.args.slice(hc!.args.search(/\bCMD\b/) + 3)))!);
    expect(read(script)).toContain("'/api/health'");
    expect(read('packages/aggregator/src/server/plugins/health.ts')).toContain("'/api/health'");
  });

  it('a command given in compose is a subcommand the CLI of that image defines', () => {
    for (const name of bankNames) {
      const [sub] = asArray(base.services[name]!.command);
      if (sub === undefined) continue;
      expect(read('packages/bank-client/src/cli/main.ts'), `${name}: command "${sub}"`).toContain(`.command('${sub}')`);
    }
    for (const name of aggregatorNames) {
      // The aggregator CLI has no subcommands: anything in `command:` must be flags.
      for (const word of asArray(base.services[name]!.command))
        expect(word.startsWith('-') || !/^[a-z]/.test(word), `${name}: ${word}`).toBe(true);
    }
    for (const [name, s] of Object.entries(base.services))
      expect(s.entrypoint, `${name} overrides the image's ENTRYPOINT`).toBeUndefined();
  });

  it('every stage that runs npm ci has the package.json of every workspace (npm ci fails otherwise)', () => {
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
    for (const ws of workspaces) expect(existsSync(path.join(ROOT, ws, 'package.json')), `workspace ${ws}`).toBe(true);
    for (const dockerfile of [AGGREGATOR_DOCKERFILE, BANK_DOCKERFILE]) {
      const ins = readDockerfile(dockerfile);
      const allCopies = copies(ins);
      /** Repository paths a stage holds, following COPY --from=<stage> back to the build context. */
      const holds = (stage: string, rel: string): boolean =>
        allCopies
          .filter((c) => c.stage === stage)
          .some((c) =>
            c.sources.some((src) => {
              const from = inRepo(src).replace(/^\.\//, '').replace(/\/$/, '');
              const covers = rel === from || rel.startsWith(from + '/');
              return (
                covers && (c.from === null ? existsSync(path.join(ROOT, from)) && !ignoredBy(rel) : holds(c.from, rel))
              );
            }),
          );
      for (const npmCi of ins.filter((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args))) {
        for (const file of ['package.json', 'package-lock.json', ...workspaces.map((ws) => `${ws}/package.json`)]) {
          expect(
            holds(npmCi.stage, file),
            `${dockerfile}:${npmCi.line}: stage "${npmCi.stage}" runs npm ci without ${file}`,
          ).toBe(true);
        }
      }
    }
  });

  it('each image holds the built dist of every FinSecure package its program imports, and the web app it serves', () => {
    /** @finsecure/* dependencies of a workspace package, transitively, as package folder names. */
    const folderOf = (name: string) => name.replace('@finsecure/', '');
    const deps = (folder: string, seen = new Set<string>()): Set<string> => {
      const pkg = JSON.parse(read(`packages/${folder}/package.json`)) as { dependencies?: Record<string, string> };
      for (const name of Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@finsecure/'))) {
        const dir = folderOf(name);
        if (!seen.has(dir)) deps(dir, seen.add(dir));
      }
      return seen;
    };
    const cases: [string, string, string][] = [
      [AGGREGATOR_DOCKERFILE, 'aggregator', 'dashboard'],
      [BANK_DOCKERFILE, 'bank-client', 'console'],
    ];
    for (const [dockerfile, program, app] of cases) {
      const copied = copies(readDockerfile(dockerfile))
        .filter((c) => c.from === 'build')
        .flatMap((c) => c.sources.map(inRepo));
      for (const folder of [program, ...deps(program), app])
        expect(copied, `${dockerfile} copies no packages/${folder}/dist from the build stage`).toContain(
          `packages/${folder}/dist`,
        );
    }
  });

  it('every file COPY takes from the build context exists and is not excluded by .dockerignore', () => {
    for (const dockerfile of [AGGREGATOR_DOCKERFILE, BANK_DOCKERFILE]) {
      for (const c of copies(readDockerfile(dockerfile)).filter((x) => x.from === null)) {
        for (const src of c.sources) {
          const rel = src.replace(/^\.\//, '').replace(/\/$/, '');
          expect(existsSync(path.join(ROOT, rel)), `${dockerfile}: COPY ${src}: not in the repository`).toBe(true);
          expect(ignoredBy(rel), `${dockerfile}: COPY ${src} is excluded by .dockerignore`).toBeUndefined();
        }
      }
    }
  });

  it('.dockerignore keeps node_modules, dist, data, test-output and secrets out of the context, but not source folders named data', () => {
    const cases: [string, boolean][] = [
      ['node_modules/zod/package.json', true],
      ['packages/aggregator/node_modules/x/index.js', true],
      ['packages/common/dist/index.js', true],
      ['packages/dashboard/dist/index.html', true],
      ['data/finsecure.db', true],
      ['deploy/data/bank-1/train.csv', true],
      ['test-output/run.log', true],
      ['.env', true],
      ['deploy/tls/server.key', true],
      ['packages/common/src/data/index.ts', false],
      ['packages/aggregator/src/cli/main.ts', false],
      ['packages/dashboard/index.html', false],
      ['docker/healthcheck.mjs', false],
      ['package-lock.json', false],
    ];
    for (const [rel, excluded] of cases)
      expect(ignoredBy(rel) !== undefined, `${rel} ${excluded ? 'must' : 'must not'} be excluded`).toBe(excluded);
  });

  it('both images: node:20-bookworm-slim in every stage, multi-stage, non-root at run time', () => {
    for (const dockerfile of [AGGREGATOR_DOCKERFILE, BANK_DOCKERFILE]) {
      const ins = readDockerfile(dockerfile);
      const froms = ins.filter((i) => i.op === 'FROM');
      expect(froms.length, dockerfile).toBeGreaterThanOrEqual(2);
      for (const f of froms) expect(f.args.split(/\s+/)[0], `${dockerfile}:${f.line}`).toBe('node:20-bookworm-slim');
      const user = finalStage(ins)
        .filter((i) => i.op === 'USER')
        .at(-1);
      expect(user, `${dockerfile}: the final stage must switch to a non-root USER`).toBeDefined();
      expect(['root', '0', '0:0'], dockerfile).not.toContain(user!.args.trim());
      // Only production dependencies reach the runtime image.
      expect(
        ins.some((i) => i.op === 'RUN' && /npm ci\b[^&]*--omit=dev/.test(i.args)),
        `${dockerfile}: no \`npm ci --omit=dev\``,
      ).toBe(true);
    }
  });
});

describe('environment variables: set only what the programs read', () => {
  const aggregatorKeys = new Set(Object.keys(ENV_VARS));
  const bankKeys = new Set(Object.keys(BANK_ENV));

  it('every variable set on the aggregator (compose, TLS override, image) is a key of ENV_VARS', () => {
    for (const name of aggregatorNames) {
      for (const key of Object.keys(withOverride(name).environment as Record<string, string>)) {
        expect(
          aggregatorKeys.has(key),
          `${name}: ${key} is not read by the aggregator (ENV_VARS in packages/aggregator/src/config/schema.ts)`,
        ).toBe(true);
      }
    }
    for (const key of Object.keys(envLines(finalStage(readDockerfile(AGGREGATOR_DOCKERFILE))))) {
      if (/^(FINSECURE_|MONGODB_)/.test(key))
        expect(aggregatorKeys.has(key), `${AGGREGATOR_DOCKERFILE}: ENV ${key}`).toBe(true);
    }
  });

  it('every variable set on a bank (compose, TLS override, image) is a key of BANK_ENV', () => {
    for (const name of bankNames) {
      for (const key of Object.keys(withOverride(name).environment as Record<string, string>)) {
        expect(
          bankKeys.has(key),
          `${name}: ${key} is not read by the bank client (BANK_ENV in packages/bank-client/src/config.ts)`,
        ).toBe(true);
      }
    }
    for (const key of Object.keys(envLines(finalStage(readDockerfile(BANK_DOCKERFILE))))) {
      if (/^(FINSECURE_|MONGODB_)/.test(key)) expect(bankKeys.has(key), `${BANK_DOCKERFILE}: ENV ${key}`).toBe(true);
    }
  });

  it('the aggregator: MongoDB service, all interfaces, port 8080, tokens required from .env', () => {
    const agg = base.services.aggregator!;
    const env = envOf(agg);
    const mongoHost = /^mongodb:\/\/([^:/]+)/.exec(env.MONGODB_URI ?? '')?.[1];
    expect(mongoHost, 'MONGODB_URI').toBe('mongo');
    expect(Object.keys(base.services)).toContain(mongoHost);
    const deps = Array.isArray(agg.depends_on) ? agg.depends_on : Object.keys(agg.depends_on ?? {});
    expect(deps).toContain('mongo');
    expect(env.FINSECURE_HOST).toBe('0.0.0.0');
    expect(agg.ports).toContain('8080:8080');
    for (const secret of ['FINSECURE_ADMIN_TOKEN', 'FINSECURE_VIEWER_TOKEN']) {
      // ${NAME:?message}: docker compose refuses to start without it.
      expect(env[secret], secret).toMatch(new RegExp(`^\\$\\{${secret}:\\?.+\\}$`));
    }
    expect(agg.restart).toBe('unless-stopped');
  });

  it('mongo: mongo:7 with a named volume and a health check', () => {
    const mongo = base.services.mongo!;
    expect(mongo.image).toBe('mongo:7');
    const dbVolume = (mongo.volumes ?? []).map(volumeParts).find((v) => v.target === '/data/db');
    expect(dbVolume, 'mongo needs a volume at /data/db').toBeDefined();
    expect(Object.keys(base.volumes ?? {}), 'mongo: /data/db must be a named volume').toContain(dbVolume!.source);
    expect(mongo.healthcheck?.test).toBeDefined();
  });

  it('each bank: its own id, token variable, read-only data and state volume, and the aggregator URL', () => {
    const port = envOf(base.services.aggregator!).FINSECURE_PORT ?? '8080';
    const ids = new Set<string>();
    const states = new Set<string>();
    for (const [i, name] of bankNames.entries()) {
      const n = i + 1;
      const s = base.services[name]!;
      const env = envOf(s);
      expect(env.FINSECURE_BANK_ID, name).toBe(name);
      ids.add(env.FINSECURE_BANK_ID!);
      expect(env.FINSECURE_BANK_TOKEN, name).toMatch(new RegExp(`^\\$\\{FINSECURE_BANK_${n}_TOKEN(:[-?].*)?\\}$`));
      expect(env.FINSECURE_SERVER, name).toBe(`ws://aggregator:${port}/ws/bank`);
      expect(env.FINSECURE_DATA, name).toBe('/data/train.csv');
      const volumes = (s.volumes ?? []).map(volumeParts);
      const data = volumes.find((v) => v.target === '/data');
      expect(data, `${name}: no volume at /data`).toBeDefined();
      expect(data!.mode, `${name}: /data must be read-only`).toBe('ro');
      const state = volumes.find((v) => v.target === env.FINSECURE_STATE_DIR);
      expect(state, `${name}: no volume at FINSECURE_STATE_DIR (${env.FINSECURE_STATE_DIR})`).toBeDefined();
      expect(Object.keys(base.volumes ?? {}), `${name}: state volume must be a named volume`).toContain(state!.source);
      states.add(state!.source);
      expect(data!.source, `${name}: data and state must be different volumes`).not.toBe(state!.source);
      expect(s.restart, name).toBe('unless-stopped');
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      expect(deps, name).toContain('aggregator');
      // With TLS: wss:// and a CA file from a secret.
      const tlsEnv = withOverride(name).environment as Record<string, string>;
      expect(tlsEnv.FINSECURE_SERVER, `${name} with TLS`).toBe(`wss://aggregator:${port}/ws/bank`);
      expect(tlsEnv.FINSECURE_CA_FILE, `${name} with TLS`).toMatch(/^\/run\/secrets\//);
    }
    expect(ids.size).toBe(bankNames.length);
    expect(states.size).toBe(bankNames.length);
  });

  it('the TLS override mounts the certificate and key on the aggregator only, and the CA on the banks', () => {
    const agg = withOverride('aggregator');
    const aggEnv = agg.environment as Record<string, string>;
    const secretPath = (name: string) => `/run/secrets/${name}`;
    expect((agg.secrets ?? []).map(secretPath)).toEqual(
      expect.arrayContaining([aggEnv.FINSECURE_TLS_CERT, aggEnv.FINSECURE_TLS_KEY]),
    );
    for (const name of bankNames) {
      const bank = withOverride(name);
      expect((bank.secrets ?? []).map(secretPath), name).toEqual([
        (bank.environment as Record<string, string>).FINSECURE_CA_FILE,
      ]);
    }
    for (const [name, s] of Object.entries(tls.secrets ?? {}))
      expect(s.file, name).toMatch(/\/(ca|server)\.(crt|key)$/);
  });
});

describe('.env.example documents every setting', () => {
  const text = read('.env.example');
  const mentioned = (key: string) => new RegExp(`^#?\\s*${key}=`, 'm').test(text);
  const active = new Set([...text.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1]!));
  const composeVars = new Set([
    ...interpolated(read('docker-compose.yml')),
    ...interpolated(read('docker-compose.tls.yml')),
  ]);

  it('every key of the aggregator ENV_VARS and the bank BANK_ENV, each with a comment', () => {
    for (const key of [...Object.keys(ENV_VARS), ...Object.keys(BANK_ENV)]) {
      expect(mentioned(key), `.env.example does not mention ${key}`).toBe(true);
    }
    // A comment right above each block: no bare list of names.
    const lines = text.split('\n');
    for (const key of [...Object.keys(ENV_VARS), ...Object.keys(BANK_ENV)]) {
      const i = lines.findIndex((l) => new RegExp(`^#?\\s*${key}=`).test(l));
      let j = i - 1;
      while (j >= 0 && /^#?\s*[A-Z][A-Z0-9_]*=/.test(lines[j]!)) j--;
      expect(j >= 0 && lines[j]!.startsWith('#') && lines[j]!.length > 2, `${key} has no comment above it`).toBe(true);
    }
  });

  it('every variable the compose files interpolate, including the per-bank tokens', () => {
    expect(composeVars).toContain('FINSECURE_BANK_1_TOKEN');
    for (const name of composeVars) expect(mentioned(name), `.env.example does not mention ${name}`).toBe(true);
  });

  it('every setting it leaves active is one the compose files actually forward', () => {
    for (const name of active)
      expect(composeVars.has(name), `${name}= in .env.example has no effect: docker-compose.yml never uses it`).toBe(
        true,
      );
  });

  it('ships no secret: tokens are empty, with how to generate them', () => {
    for (const secret of [
      'FINSECURE_ADMIN_TOKEN',
      'FINSECURE_VIEWER_TOKEN',
      'FINSECURE_BANK_1_TOKEN',
      'FINSECURE_BANK_2_TOKEN',
      'FINSECURE_BANK_3_TOKEN',
    ]) {
      expect(text, secret).toMatch(new RegExp(`^${secret}=$`, 'm'));
    }
    expect(text).toContain('openssl rand -base64 32');
  });
});
