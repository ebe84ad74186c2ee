#!/usr/bin/env node
/** Entry point of `feedback` (`npm run feedback`); see commands/feedback.ts. */
import { addVersionOption } from '@finsecure/common/cli';
import { runMain } from '../cli-support.js';
import { feedbackCommand } from '../commands/feedback.js';

await runMain(addVersionOption(feedbackCommand(), new URL('../../package.json', import.meta.url)));
process.exit(process.exitCode ?? 0);
