#!/usr/bin/env node
/** Entry point of `feedback` (`npm run feedback`); see commands/feedback.ts. */
import { runMain } from '../cli-support.js';
import { feedbackCommand } from '../commands/feedback.js';

await runMain(feedbackCommand());
process.exit(process.exitCode ?? 0);
