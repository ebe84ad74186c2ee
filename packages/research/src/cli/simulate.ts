#!/usr/bin/env node
/** Entry point of `simulate`; see commands/simulate.ts. */
import { addVersionOption } from '@finsecure/common/cli';
import { runMain } from '../cli-support.js';
import { simulateCommand } from '../commands/simulate.js';

await runMain(addVersionOption(simulateCommand(), new URL('../../package.json', import.meta.url)));
process.exit(process.exitCode ?? 0);
