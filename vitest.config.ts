import { defineConfig } from 'vitest/config';

// One vitest run over every package. Workspace packages resolve to their TypeScript
// sources (the "source" export condition), so in-process tests need no build; tests
// that spawn real processes (bank clients, the aggregator CLI) use the built dist/,
// which is why `npm test` runs `tsc -b` first.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'datasets/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits on something the test drives (a page, a server): its 1 s default failed
    // on a loaded machine, where a browser round trip or a password hash can take longer.
    expect: { poll: { timeout: 15_000 } },
    // Two cores: files that train models or start servers would only fight each other.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
