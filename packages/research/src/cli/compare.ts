#!/usr/bin/env node
/** Entry point of `compare`; see commands/compare.ts. */
import { runMain } from '../cli-support.js';
import { compareCommand } from '../commands/compare.js';

await runMain(compareCommand());
process.exit(process.exitCode ?? 0);
