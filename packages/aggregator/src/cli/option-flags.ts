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

/** Option names, or [option name, setting name] where the config schema says `…Ms` or names it otherwise. */
type Names = ReadonlyArray<string | readonly [string, string]>;

/** Top-level settings. */
const TOP: Names = [
  'host',
  'port',
  'dataDir',
  'sqlitePath',
  ['auditKey', 'auditKeyFile'],
  'tlsCert',
  'tlsKey',
  'autoStart',
  ['helloTimeout', 'helloTimeoutMs'],
  ['requestTimeout', 'requestTimeoutMs'],
  ['unknownPeerHelloTimeout', 'unknownPeerHelloTimeoutMs'],
  'maxUnauthenticated',
  'maxUnauthenticatedPerAddress',
  'maxConnectionsPerAddress',
  'bankLoginMaxFailures',
  ['bankLoginWindow', 'bankLoginWindowMs'],
  ['refusalAuditWindow', 'refusalAuditWindowMs'],
  'seed',
  'backend',
  'logLevel',
];

/** `rules` settings. */
const RULES: Names = [
  'rounds',
  'fraction',
  'minBanks',
  'quorum',
  ['roundTimeout', 'roundTimeoutMs'],
  ['grace', 'graceMs'],
  ['evaluationTimeout', 'evaluationTimeoutMs'],
  ['roundInterval', 'roundIntervalMs'],
  'uploadSlots',
  ['uploadGrantTimeout', 'uploadGrantTimeoutMs'],
  'uploadPreGrantBytes',
  'strategy',
  'maxShare',
  'normalizeSteps',
  'lossExponent',
  'serverLearningRate',
  'serverMomentum',
  'maxUpdateNorm',
  'byzantineF',
  'multiKrumM',
  'trimFraction',
  'clipRadius',
  'clipIterations',
  'adaptiveNormK',
  'adaptiveNormAction',
  'excludeUnhealthyBanks',
  'secureAggregation',
  'secaggThreshold',
  'secaggDegree',
  'secaggClip',
  'secaggFractionalBits',
  ['secaggStageTimeout', 'secaggStageTimeoutMs'],
  'maxExampleRatio',
  'weightMaxShare',
  'evaluationMaxShare',
  'maxNoiseMultiplier',
  'maxAuprcDrop',
  'quarantineAfterExclusions',
];

/** `training` settings. */
const TRAINING: Names = [
  'epochs',
  'batchSize',
  'learningRate',
  'smoteRatio',
  'smoteK',
  'smoteMaxMultiplier',
  'updateEncoding',
];

/** Option attribute (commander's camelCase name) → setting path ("roundTimeout" → "rules.roundTimeoutMs"). */
const SETTING_OF_OPTION: ReadonlyMap<string, string> = new Map([
  ...(
    [
      [TOP, ''],
      [RULES, 'rules.'],
      [TRAINING, 'training.'],
    ] as const
  ).flatMap(([names, prefix]) =>
    names.map((n): [string, string] => (typeof n === 'string' ? [n, prefix + n] : [n[0], prefix + n[1]])),
  ),
  ['inputSize', 'model.inputSize'],
]);

/** The setting a flag sets, by the flag's attribute name (`--round-timeout` → "roundTimeout" → "rules.roundTimeoutMs"). */
export function settingOfOption(attribute: string): string | undefined {
  return SETTING_OF_OPTION.get(attribute);
}

/** The flag that sets a setting ("rules.quorum" → "--quorum"), for messages; undefined when no flag does. */
export function flagOfSetting(settingPath: string): string | undefined {
  for (const [attribute, setting] of SETTING_OF_OPTION)
    if (setting === settingPath) return `--${attribute.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return undefined;
}

/** The settings of `names` whose flags were given. */
function given(o: Record<string, unknown>, names: Names): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const [from, to] = typeof n === 'string' ? [n, n] : n;
    if (o[from] !== undefined) out[to] = o[from];
  }
  return out;
}

export function parsedFlags(o: Record<string, unknown>): ParsedFlags {
  const flags = given(o, TOP);
  const rules = given(o, RULES);
  const training = given(o, TRAINING);
  if (Object.keys(rules).length) flags.rules = rules;
  if (Object.keys(training).length) flags.training = training;
  if (o.inputSize !== undefined) flags.model = { inputSize: o.inputSize };
  return {
    ...(typeof o.config === 'string' ? { configFile: o.config } : {}),
    flags: flags as Partial<AggregatorConfigInput>,
  };
}
