#!/usr/bin/env node
// Committed launcher for `finsecure-simulate`. npm links a package's bins at install time, before
// `tsc -b` has built dist/; a bin that pointed into dist/ would not exist then, and
// `npx finsecure-simulate` would fall through to the public registry. This file always exists, so
// the command always resolves to this repository, and it says what to do when the
// build is missing instead of failing with a module error.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = new URL('../dist/cli/simulate.js', import.meta.url);
if (!existsSync(fileURLToPath(target))) {
  process.stderr.write(
    'finsecure-simulate: this checkout is not built yet; run `npm run build` (or `npm start`) in the repository root first\n',
  );
  process.exit(2);
}
await import(target.href);
