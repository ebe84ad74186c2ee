#!/usr/bin/env node
/** Entry point of `local-only`; see commands/local-only.ts. */
import { addVersionOption } from '@finsecure/common/cli';
import { runMain } from '../cli-support.js';
import { localOnlyCommand } from '../commands/local-only.js';

await runMain(addVersionOption(localOnlyCommand(), new URL('../../package.json', import.meta.url)));
process.exit(process.exitCode ?? 0);
