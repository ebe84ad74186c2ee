import { editDistance, envNumber, readJsonObjectSource, type JsonObjectSource } from '@finsecure/common/config';
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
      return `  - ${origin(p)}${p}: ${i.message}`;
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

/** The config file's settings, and where each value is written (for "file:line:column" messages). */
export function configFromFile(file: string): {
  settings: Partial<AggregatorConfigInput>;
  where: JsonObjectSource['where'];
} {
  const source = readJsonObjectSource(file, (m) => new ConfigError(m));
  return { settings: source.value as Partial<AggregatorConfigInput>, where: source.where };
}

/** A plain object (not an array, not null): a group of settings. */
function isGroup(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object schema under defaults, optionals and pipes, or null when `schema` is not an object. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | null {
  const def = (schema as unknown as { def: { type: string; shape?: unknown; innerType?: z.ZodType; in?: z.ZodType } })
    .def;
  if (def.type === 'object') return def.shape as Record<string, z.ZodType>;
  if (def.innerType) return objectShape(def.innerType);
  if (def.type === 'pipe' && def.in) return objectShape(def.in);
  return null;
}

/** Every setting path the schema knows ("port", "rules", "rules.quorum", "training.dp.clip", ...). */
function knownPaths(schema: z.ZodType = AggregatorConfig, prefix = ''): string[] {
  const shape = objectShape(schema);
  if (!shape) return [];
  return Object.entries(shape).flatMap(([k, s]) => [`${prefix}${k}`, ...knownPaths(s, `${prefix}${k}.`)]);
}

/** The known setting an unknown `path` was probably meant to be: a near spelling, or the same name in another group. */
function suggestion(path: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const dot = path.lastIndexOf('.');
  const parent = path.slice(0, dot + 1);
  const name = norm(path.slice(dot + 1));
  let best: { path: string; score: number } | undefined;
  for (const k of known) {
    const kDot = k.lastIndexOf('.');
    const d = editDistance(name, norm(k.slice(kDot + 1)));
    const sameGroup = k.slice(0, kDot + 1) === parent;
    // A near spelling in the same group, or the very name in another group ("quorum" → "rules.quorum").
    if (!(sameGroup ? d <= Math.min(2, Math.floor(name.length / 3)) : d === 0)) continue;
    const score = d * 2 + (sameGroup ? 0 : 1);
    if (!best || score < best.score) best = { path: k, score };
  }
  return best?.path;
}

/**
 * The settings of a config file the schema does not know, as messages naming the file and each key
 * (`c.json: unknown setting "rules.roundz" (did you mean "rules.rounds"?)`). The schema would drop
 * them silently, and a misspelt key would leave its setting at the default.
 */
export function unknownSettings(
  file: string,
  content: Record<string, unknown>,
  where: JsonObjectSource['where'] = () => '',
): string[] {
  const known = knownPaths();
  const knownSet = new Set(known);
  const out: string[] = [];
  const walk = (o: Record<string, unknown>, prefix: string, schema: z.ZodType) => {
    const shape = objectShape(schema) ?? {};
    for (const [k, v] of Object.entries(o)) {
      const p = `${prefix}${k}`;
      const sub = Object.hasOwn(shape, k) ? shape[k] : undefined;
      if (!sub || !knownSet.has(p)) {
        const hint = suggestion(p, known);
        out.push(`${file}${where(p.split('.'))}: unknown setting "${p}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
      } else if (isGroup(v) && objectShape(sub)) walk(v, `${p}.`, sub);
    }
  };
  walk(content, '', AggregatorConfig);
  return out;
}

/** Merges nested objects (model, training, rules) so a flag can override one field. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isGroup(v) && isGroup(prev) ? merge(prev, v) : v;
  }
  return out;
}

/**
 * Whether `src` supplies the value at `path` (a merge keeps the last source that sets a value or
 * replaces a whole group with a non-object). A group that several sources fill is nobody's.
 */
function supplies(src: Record<string, unknown>, path: readonly string[]): boolean {
  let v: unknown = src;
  for (const k of path) {
    if (!isGroup(v) || !Object.hasOwn(v, k) || v[k] === undefined) return false;
    v = v[k];
    if (!isGroup(v)) return true;
  }
  return false;
}

function valueAt(src: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((v, k) => (isGroup(v) && Object.hasOwn(v, k) ? v[k] : undefined), src);
}

/** The environment variable that sets `path` ("rules.quorum" → FINSECURE_QUORUM), when it is set. */
function envVarOf(path: string, env: NodeJS.ProcessEnv): string | undefined {
  return Object.entries(ENV_VARS).find(
    ([name, { key }]) => key === path && env[name] !== undefined && env[name] !== '',
  )?.[0];
}

export interface ConfigSources {
  /** JSON config file (its unknown keys are refused). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: Partial<AggregatorConfigInput>;
  /**
   * A program's own defaults, below the file and the environment (`npm start`'s launcher: its
   * round timeout, its quorum for three banks): a FINSECURE_* variable or the file still wins.
   */
  defaults?: Partial<AggregatorConfigInput>;
  /** How a setting given in `flags` is named in messages ("rules.quorum" → "--quorum"); default "flags". */
  flagName?: (settingPath: string) => string | undefined;
}

/**
 * Resolves the configuration: defaults < `sources.defaults` < file < environment < flags. Throws a ConfigError listing
 * every invalid setting, each with the source of its value (`c.json: port: …`,
 * `FINSECURE_QUORUM: rules.quorum: …`, `--quorum: rules.quorum: …`), and every unknown key of the file.
 */
export function loadConfig(sources: ConfigSources): AggregatorConfig {
  const file = sources.file ? configFromFile(sources.file) : null;
  const fromFile = file?.settings ?? {};
  const unknown = sources.file ? unknownSettings(sources.file, fromFile, file!.where) : [];
  const fromEnv = sources.env ? configFromEnv(sources.env) : {};
  const flags = (sources.flags ?? {}) as Record<string, unknown>;
  // Nested groups start from their defaults so that any source may set a single field.
  const defaults = { model: DEFAULT_MODEL, training: DEFAULT_TRAINING, rules: DEFAULT_RULES };
  const programDefaults = (sources.defaults ?? {}) as Record<string, unknown>;
  const merged = [programDefaults, fromFile, fromEnv, flags].reduce<Record<string, unknown>>(
    (acc, src) => merge(acc, src as Record<string, unknown>),
    defaults,
  );
  const origin = (p: string): string => {
    const path = p.split('.');
    // A required value that is missing belongs to whoever wrote its group (`"training": {"dp": {}}`).
    const holder = valueAt(merged, path) === undefined && path.length > 1 ? path.slice(0, -1) : null;
    const from = (src: Record<string, unknown>) =>
      supplies(src, path) || (holder !== null && isGroup(valueAt(src, holder)));
    if (from(flags)) return `${sources.flagName?.(p) ?? 'flags'}: `;
    if (from(fromEnv)) return `${envVarOf(p, sources.env ?? {}) ?? 'environment'}: `;
    if (sources.file && from(fromFile)) {
      // The value's own place, else (a missing required value) its group's.
      const where = file!.where(path) || (holder ? file!.where(holder) : '');
      return `${sources.file}${where}: `;
    }
    return '';
  };
  const result = AggregatorConfig.safeParse(merged);
  const lines = unknown.map((u) => `  - ${u}`);
  if (!result.success) lines.push(describeIssues(result.error, origin));
  if (lines.length > 0 || !result.success) {
    throw new ConfigError(`invalid aggregator configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
