/**
 * The Docker images against the code: each runs (ENTRYPOINT, HEALTHCHECK) a file the image builds or
 * copies, has the built dist of every FinSecure package its program imports and the web app it
 * serves, gets every workspace's package.json where it runs npm ci, copies only files that exist and
 * .dockerignore lets through, and runs node:20-bookworm-slim as a non-root user. The Dockerfiles are
 * read with helpers/deploy-files.ts; docker itself is not needed (deploy-compose.test.ts runs it
 * where there is one).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AGGREGATOR_DOCKERFILE,
  BANK_DOCKERFILE,
  ROOT,
  copies,
  execForm,
  expectImageFile,
  finalStage,
  ignoredBy,
  inRepo,
  nodeScript,
  read,
  readDockerfile,
} from './helpers/deploy-files.js';

describe('the Docker images', () => {
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
