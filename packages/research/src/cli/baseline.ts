#!/usr/bin/env node
/** Entry point of `baseline`; see commands/baseline.ts. */
import { addVersionOption } from '@finsecure/common/cli';
import { runMain } from '../cli-support.js';
import { baselineCommand } from '../commands/baseline.js';

await runMain(addVersionOption(baselineCommand(), new URL('../../package.json', import.meta.url)));
process.exit(process.exitCode ?? 0);
