#!/usr/bin/env node
/** Entry point of `attack`; see commands/attack.ts. */
import { addVersionOption } from '@finsecure/common/cli';
import { runMain } from '../cli-support.js';
import { attackCommand } from '../commands/attack.js';

await runMain(addVersionOption(attackCommand(), new URL('../../package.json', import.meta.url)));
process.exit(process.exitCode ?? 0);
