#!/usr/bin/env node
/** Entry point of `attack`; see commands/attack.ts. */
import { runMain } from '../cli-support.js';
import { attackCommand } from '../commands/attack.js';

await runMain(attackCommand());
process.exit(process.exitCode ?? 0);
