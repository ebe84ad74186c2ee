#!/usr/bin/env node
/** Entry point of `baseline`; see commands/baseline.ts. */
import { runMain } from '../cli-support.js';
import { baselineCommand } from '../commands/baseline.js';

await runMain(baselineCommand());
process.exit(process.exitCode ?? 0);
