/**
 * From commander's parsed options (camelCase keys of the flags in options.ts) to the config
 * loader's input: top-level settings, `rules`, `training` and `model`, with the `*Ms` names of the
 * config schema. Only flags that were given are set, so that the config file and the environment
 * keep their say (config/load.ts merges defaults < file < environment < flags).
 */
import type { AggregatorConfigInput } from '../config/schema.js';

/** What the command line says: the config file to read, and the settings given as flags. */
export interface ParsedFlags {
  configFile?: string;
  flags: Partial<AggregatorConfigInput>;
}

export function parsedFlags(o: Record<string, unknown>): ParsedFlags {
  const flags: Record<string, unknown> = {};
  const copy = (from: string, to: string) => {
    if (o[from] !== undefined) flags[to] = o[from];
  };
  copy('host', 'host');
  copy('port', 'port');
  copy('dataDir', 'dataDir');
  copy('sqlitePath', 'sqlitePath');
  copy('auditKey', 'auditKeyFile');
  copy('tlsCert', 'tlsCert');
  copy('tlsKey', 'tlsKey');
  copy('autoStart', 'autoStart');
  copy('helloTimeout', 'helloTimeoutMs');
  copy('unknownPeerHelloTimeout', 'unknownPeerHelloTimeoutMs');
  copy('maxUnauthenticated', 'maxUnauthenticated');
  copy('maxUnauthenticatedPerAddress', 'maxUnauthenticatedPerAddress');
  copy('maxConnectionsPerAddress', 'maxConnectionsPerAddress');
  copy('bankLoginMaxFailures', 'bankLoginMaxFailures');
  copy('bankLoginWindow', 'bankLoginWindowMs');
  copy('refusalAuditWindow', 'refusalAuditWindowMs');
  copy('seed', 'seed');
  copy('backend', 'backend');
  copy('logLevel', 'logLevel');
  const rules: Record<string, unknown> = {};
  for (const [from, to] of [
    ['rounds', 'rounds'],
    ['fraction', 'fraction'],
    ['minBanks', 'minBanks'],
    ['quorum', 'quorum'],
    ['roundTimeout', 'roundTimeoutMs'],
    ['grace', 'graceMs'],
    ['evaluationTimeout', 'evaluationTimeoutMs'],
    ['roundInterval', 'roundIntervalMs'],
    ['uploadSlots', 'uploadSlots'],
    ['uploadGrantTimeout', 'uploadGrantTimeoutMs'],
    ['strategy', 'strategy'],
    ['maxShare', 'maxShare'],
    ['normalizeSteps', 'normalizeSteps'],
    ['lossExponent', 'lossExponent'],
    ['serverLearningRate', 'serverLearningRate'],
    ['serverMomentum', 'serverMomentum'],
    ['maxUpdateNorm', 'maxUpdateNorm'],
    ['byzantineF', 'byzantineF'],
    ['multiKrumM', 'multiKrumM'],
    ['trimFraction', 'trimFraction'],
    ['clipRadius', 'clipRadius'],
    ['clipIterations', 'clipIterations'],
    ['adaptiveNormK', 'adaptiveNormK'],
    ['adaptiveNormAction', 'adaptiveNormAction'],
    ['excludeUnhealthyBanks', 'excludeUnhealthyBanks'],
    ['secureAggregation', 'secureAggregation'],
    ['secaggThreshold', 'secaggThreshold'],
    ['secaggDegree', 'secaggDegree'],
    ['secaggClip', 'secaggClip'],
    ['secaggFractionalBits', 'secaggFractionalBits'],
    ['secaggStageTimeout', 'secaggStageTimeoutMs'],
    ['maxExampleRatio', 'maxExampleRatio'],
    ['weightMaxShare', 'weightMaxShare'],
    ['evaluationMaxShare', 'evaluationMaxShare'],
    ['maxNoiseMultiplier', 'maxNoiseMultiplier'],
    ['maxAuprcDrop', 'maxAuprcDrop'],
    ['quarantineAfterExclusions', 'quarantineAfterExclusions'],
  ] as const)
    if (o[from] !== undefined) rules[to] = o[from];
  const training: Record<string, unknown> = {};
  for (const [from, to] of [
    ['epochs', 'epochs'],
    ['batchSize', 'batchSize'],
    ['learningRate', 'learningRate'],
    ['smoteRatio', 'smoteRatio'],
    ['smoteK', 'smoteK'],
    ['smoteMaxMultiplier', 'smoteMaxMultiplier'],
    ['updateEncoding', 'updateEncoding'],
  ] as const) {
    if (o[from] !== undefined) training[to] = o[from];
  }
  if (Object.keys(rules).length) flags.rules = rules;
  if (Object.keys(training).length) flags.training = training;
  if (o.inputSize !== undefined) flags.model = { inputSize: o.inputSize };
  return {
    ...(typeof o.config === 'string' ? { configFile: o.config } : {}),
    flags: flags as Partial<AggregatorConfigInput>,
  };
}
