#!/usr/bin/env node
/** Entry point of `compare`; see commands/compare.ts. */
import { addVersionOption } from '@finsecure/common/cli';
import { runMain } from '../cli-support.js';
import { compareCommand } from '../commands/compare.js';

await runMain(addVersionOption(compareCommand(), new URL('../../package.json', import.meta.url)));
process.exit(process.exitCode ?? 0);
