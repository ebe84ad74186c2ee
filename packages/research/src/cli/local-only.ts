#!/usr/bin/env node
/** Entry point of `local-only`; see commands/local-only.ts. */
import { runMain } from '../cli-support.js';
import { localOnlyCommand } from '../commands/local-only.js';

await runMain(localOnlyCommand());
process.exit(process.exitCode ?? 0);
