#!/usr/bin/env node
/** Entry point of `simulate`; see commands/simulate.ts. */
import { runMain } from '../cli-support.js';
import { simulateCommand } from '../commands/simulate.js';

await runMain(simulateCommand());
process.exit(process.exitCode ?? 0);
