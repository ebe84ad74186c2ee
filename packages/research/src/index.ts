/**
 * @finsecure/research: compare federated training against centralized and local-only
 * training on the same split, scaling, initial model and evaluation.
 */
export * from './experiment.js';
export * from './evaluate.js';
export * from './training.js';
export * from './simulate.js';
export * from './svg.js';
export * from './report.js';
export * from './comparison-report.js';
export { UsageError, runMain, type Output } from './cli-support.js';
export { baselineCommand, baselineAction, BASELINE_EPOCHS } from './commands/baseline.js';
export { simulateCommand, simulateAction } from './commands/simulate.js';
export { localOnlyCommand, localOnlyAction } from './commands/local-only.js';
export { compareCommand, compareAction } from './commands/compare.js';
export * from './attack/attacks.js';
export {
  runAttackLab,
  strategyRules,
  type AttackLabOptions,
  type AttackLabResult,
  type AttackRun,
} from './attack/lab.js';
export { attackMarkdown, writeAttackReport, summaryTable } from './attack/report.js';
export { attackCommand, attackAction } from './commands/attack.js';
