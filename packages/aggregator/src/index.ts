export * from './service.js';
export * from './config/schema.js';
export * from './config/load.js';
export * from './auth/tokens.js';
export * from './round/rules.js';
export { secaggRuleIssues } from './round/secagg-rules.js';
export * as roundMachine from './round/machine.js';
export * from './federation/federation.js';
export * from './federation/clock.js';
export * from './store/types.js';
export { createLogger } from './logger.js';
export {
  parseHeld,
  parseLifts,
  QuarantineLedger,
  QUARANTINE_HELD_SETTING,
  QUARANTINE_HISTORY_ROUNDS,
  QUARANTINE_LIFTS_SETTING,
} from './reputation/index.js';
