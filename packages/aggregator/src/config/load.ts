import { envNumber, readJsonObjectFile } from '@finsecure/common/config';
import { z } from 'zod';
import { DEFAULT_RULES } from '../round/rules.js';
import { AggregatorConfig, DEFAULT_MODEL, DEFAULT_TRAINING, ENV_VARS, type AggregatorConfigInput } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Turns zod issues into one line per problem, naming the setting and where it came from. */
export function describeIssues(error: z.ZodError, origin: (path: string) => string = () => ''): string {
  return error.issues
    .map((i) => {
      const p = i.path.join('.') || '(root)';
      return `  - ${p}${origin(p)}: ${i.message}`;
    })
    .join('\n');
}

function parseEnvValue(name: string, raw: string, type: 'string' | 'number' | 'boolean'): unknown {
  if (type === 'string') return raw;
  if (type === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  }
  return envNumber(name, raw, (m) => new ConfigError(m));
}

export function configFromEnv(env: NodeJS.ProcessEnv): Partial<AggregatorConfigInput> {
  const out: Record<string, unknown> = {};
  for (const [name, { key, type }] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    // "rules.quorum" sets one field of a nested group.
    const [group, field] = key.split('.') as [string, string | undefined];
    const value = parseEnvValue(name, raw, type);
    if (field === undefined) out[group] = value;
    else out[group] = { ...((out[group] as Record<string, unknown>) ?? {}), [field]: value };
  }
  return out as Partial<AggregatorConfigInput>;
}

export function configFromFile(file: string): Partial<AggregatorConfigInput> {
  return readJsonObjectFile(file, (m) => new ConfigError(m)) as Partial<AggregatorConfigInput>;
}

/** Merges nested objects (model, training, rules) so a flag can override one field. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Resolves the configuration: defaults < file < environment < flags. Throws a
 * ConfigError listing every invalid setting.
 */
export function loadConfig(sources: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Partial<AggregatorConfigInput>;
}): AggregatorConfig {
  const fromFile = sources.file ? configFromFile(sources.file) : {};
  const fromEnv = sources.env ? configFromEnv(sources.env) : {};
  // Nested groups start from their defaults so that any source may set a single field.
  const defaults = { model: DEFAULT_MODEL, training: DEFAULT_TRAINING, rules: DEFAULT_RULES };
  const merged = [fromFile, fromEnv, sources.flags ?? {}].reduce<Record<string, unknown>>(
    (acc, src) => merge(acc, src as Record<string, unknown>),
    defaults,
  );
  const result = AggregatorConfig.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(`invalid aggregator configuration:\n${describeIssues(result.error)}`);
  }
  return result.data;
}
