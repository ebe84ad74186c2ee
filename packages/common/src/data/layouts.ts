/**
 * Known CSV layouts and the custom column mapping, and how a header is turned into a
 * column plan (which file column feeds which feature / label / group / time).
 */
import { DataError } from './errors.js';

/**
 * A custom layout: which column is the label, which are numeric features, which are
 * categorical (one-hot encoded), which are ignored, and optional group / time columns.
 * Every column of the file must be mentioned somewhere: an unmapped column is an error,
 * so that a new column (possibly one that leaks the label) is never dropped or used
 * silently. Feature order is the order given here, not the file order, so banks whose
 * exports order columns differently still produce the same feature vector.
 * A column whose header cell is empty is named as pandas names it, `Unnamed: <i>` with
 * i its 0-based position (e.g. "ignore": ["Unnamed: 0"] for a pandas index column).
 */
export interface ColumnMapping {
  /** Column holding 0 (legitimate) / 1 (fraud). */
  label: string;
  /** Numeric feature columns, in model input order. */
  features: string[];
  /**
   * Categorical columns, one-hot encoded after the numeric features as `col=value`.
   * Categories come from `categories[col]` when given, else from the data (sorted). In
   * federated use give them explicitly: categories seen in one bank's data would give
   * banks different feature vectors.
   */
  categorical?: string[];
  categories?: Record<string, string[]>;
  /** Columns to skip. Listing a column that is absent from the file is not an error. */
  ignore?: string[];
  /** Grouping key (e.g. customer id) for the natural partitioner. Not a feature. */
  group?: string;
  /** Time in seconds, for time-ordered splits. Not a feature unless also in `features`. */
  time?: string;
}

/** Built-in layouts. `finsecure` is what `writeCsv` emits for datasets that fit neither. */
export type LayoutName = 'kaggle' | 'handbook' | 'finsecure';

export const KAGGLE_LABEL = 'Class';
/** Kaggle creditcard.csv features: Time, V1..V28, Amount (30 = the model's default input). */
export const KAGGLE_FEATURES: readonly string[] = [
  'Time',
  ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`),
  'Amount',
];

export const HANDBOOK_LABEL = 'TX_FRAUD';
export const HANDBOOK_GROUP = 'CUSTOMER_ID';
export const HANDBOOK_TIME = 'TX_TIME_SECONDS';
/** TX_AMOUNT plus the 14 engineered features of the ULB handbook's transformed data. */
export const HANDBOOK_FEATURES: readonly string[] = [
  'TX_AMOUNT',
  'TX_DURING_WEEKEND',
  'TX_DURING_NIGHT',
  ...[1, 7, 30].flatMap((d) => [`CUSTOMER_ID_NB_TX_${d}DAY_WINDOW`, `CUSTOMER_ID_AVG_AMOUNT_${d}DAY_WINDOW`]),
  ...[1, 7, 30].flatMap((d) => [`TERMINAL_ID_NB_TX_${d}DAY_WINDOW`, `TERMINAL_ID_RISK_${d}DAY_WINDOW`]),
];
/** Handbook columns that are never features; TX_FRAUD_SCENARIO leaks the label. */
export const HANDBOOK_IGNORED: readonly string[] = [
  'TRANSACTION_ID',
  'TX_DATETIME',
  'TERMINAL_ID',
  'TX_TIME_DAYS',
  'TX_FRAUD_SCENARIO',
];

/** Reserved column names of the `finsecure` layout. */
export const FINSECURE_LABEL = 'Class';
export const FINSECURE_GROUP = '_group';
export const FINSECURE_TIME = '_time';

/** Where each role is read from in a file with a given header. */
export interface ColumnPlan {
  layout: LayoutName | 'custom';
  header: string[];
  labelCol: number;
  /** Numeric features: names and the file column of each. */
  numericNames: string[];
  numericCols: number[];
  categorical: { name: string; col: number; categories: string[] | null }[];
  groupCol: number;
  timeCol: number;
}

function list(cols: readonly string[]): string {
  const shown = cols.slice(0, 40).join(', ');
  return cols.length > 40 ? `${shown}, ... (${cols.length} columns)` : shown;
}

/** Recognises the Kaggle and handbook layouts (and our own) from the header. */
export function detectLayout(header: string[], file = '<csv>'): LayoutName {
  const has = new Set(header);
  const missing = (cols: readonly string[]) => cols.filter((c) => !has.has(c));
  const kaggleMissing = missing([...KAGGLE_FEATURES, KAGGLE_LABEL]);
  if (kaggleMissing.length === 0) return 'kaggle';
  const handbookMissing = missing([...HANDBOOK_FEATURES, HANDBOOK_LABEL]);
  if (handbookMissing.length === 0) return 'handbook';
  // A file that is clearly one of the two but lacks columns must not silently load as a
  // generic file with fewer features.
  if (has.has(HANDBOOK_LABEL)) {
    throw new DataError(`${file}: looks like the handbook layout but lacks ${list(handbookMissing)}`, file, 1);
  }
  if (has.has(KAGGLE_LABEL) && header.some((c) => /^V\d+$/.test(c))) {
    throw new DataError(`${file}: looks like the Kaggle layout but lacks ${list(kaggleMissing)}`, file, 1);
  }
  if (has.has(FINSECURE_LABEL)) return 'finsecure';
  throw new DataError(
    `${file}: cannot detect the layout: expected a label column "${KAGGLE_LABEL}" (Kaggle / FinSecure) or ` +
      `"${HANDBOOK_LABEL}" (handbook), or pass a column mapping (--mapping mapping.json, see ` +
      `datasets/README.md); found columns: ${list(header)}`,
    file,
    1,
  );
}

/** The mapping a built-in layout stands for, given the actual header (minus `ignored` columns). */
function builtinMapping(layout: LayoutName, header: string[], ignored: ReadonlySet<string>): ColumnMapping {
  const has = new Set(header);
  if (layout === 'kaggle') return { label: KAGGLE_LABEL, features: [...KAGGLE_FEATURES], time: 'Time' };
  if (layout === 'handbook') {
    return {
      label: HANDBOOK_LABEL,
      features: [...HANDBOOK_FEATURES],
      // Optional in the file: shards written by writeCsv keep them only when present.
      group: has.has(HANDBOOK_GROUP) ? HANDBOOK_GROUP : undefined,
      time: has.has(HANDBOOK_TIME) ? HANDBOOK_TIME : undefined,
    };
  }
  return {
    label: FINSECURE_LABEL,
    features: header.filter(
      (c) => c !== FINSECURE_LABEL && c !== FINSECURE_GROUP && c !== FINSECURE_TIME && !ignored.has(c),
    ),
    group: has.has(FINSECURE_GROUP) ? FINSECURE_GROUP : undefined,
    time: has.has(FINSECURE_TIME) ? FINSECURE_TIME : undefined,
  };
}

/**
 * Resolves a layout (auto, built-in or custom mapping) against a header. Built-in layouts
 * ignore extra columns; custom mappings must account for every column. `implicitIgnore`
 * lists columns no layout may use (the unnamed leading index column of a pandas export).
 */
export function planColumns(
  header: string[],
  layout: 'auto' | LayoutName | ColumnMapping,
  file = '<csv>',
  implicitIgnore: readonly string[] = [],
  /** The file's own columns, for messages: `header` without a label column the loader stood in for. */
  fileColumns: readonly string[] = header,
): ColumnPlan {
  const implicit = new Set(implicitIgnore);
  const seen = new Set<string>();
  for (const c of header) {
    if (seen.has(c)) throw new DataError(`${file}:1: column "${c}" appears twice in the header`, file, 1, c);
    seen.add(c);
  }
  let name: ColumnPlan['layout'];
  let mapping: ColumnMapping;
  if (typeof layout === 'string') {
    name = layout === 'auto' ? detectLayout(header, file) : layout;
    mapping = builtinMapping(name, header, implicit);
  } else {
    name = 'custom';
    mapping = layout;
  }
  const index = new Map(header.map((c, i) => [c, i]));
  const col = (c: string, role: string): number => {
    const i = index.get(c);
    if (i === undefined) {
      throw new DataError(`${file}: ${role} column "${c}" not found; found columns: ${list(fileColumns)}`, file, 1, c);
    }
    return i;
  };
  const labelCol = col(mapping.label, 'label');
  const numericCols = mapping.features.map((c) => col(c, 'feature'));
  const cats = mapping.categorical ?? [];
  const categorical = cats.map((c) => ({
    name: c,
    col: col(c, 'categorical'),
    categories: mapping.categories?.[c] ? [...mapping.categories[c]] : null,
  }));
  const groupCol = mapping.group === undefined ? -1 : col(mapping.group, 'group');
  const timeCol = mapping.time === undefined ? -1 : col(mapping.time, 'time');

  // A column with two roles is a mistake, except time also used as a feature (Kaggle).
  const roles = new Map<string, string>();
  const claim = (c: string, role: string) => {
    const prev = roles.get(c);
    if (prev !== undefined) throw new DataError(`${file}: column "${c}" is both ${prev} and ${role}`, file, 1, c);
    roles.set(c, role);
  };
  claim(mapping.label, 'the label');
  mapping.features.forEach((c) => claim(c, 'a feature'));
  cats.forEach((c) => claim(c, 'categorical'));
  if (mapping.group !== undefined) claim(mapping.group, 'the group');
  if (mapping.time !== undefined && roles.get(mapping.time) !== 'a feature') claim(mapping.time, 'the time');

  if (name === 'custom') {
    const ignored = new Set([...(mapping.ignore ?? []), ...implicit]);
    for (const c of ignored) {
      if (roles.has(c)) throw new DataError(`${file}: column "${c}" is both ignored and ${roles.get(c)}`, file, 1, c);
    }
    if (mapping.time !== undefined) roles.set(mapping.time, 'the time');
    const unmapped = header.filter((c) => !roles.has(c) && !ignored.has(c));
    if (unmapped.length > 0) {
      throw new DataError(
        `${file}: columns not in the mapping: ${list(unmapped)} (add them to "features", "categorical" or "ignore")`,
        file,
        1,
        unmapped[0],
      );
    }
    for (const c of categorical) {
      if (c.categories !== null) {
        if (c.categories.length === 0) throw new DataError(`${file}: categories of "${c.name}" are empty`, file, 1, c.name);
        if (new Set(c.categories).size !== c.categories.length) {
          throw new DataError(`${file}: categories of "${c.name}" contain duplicates`, file, 1, c.name);
        }
      }
    }
  }
  return { layout: name, header, labelCol, numericNames: [...mapping.features], numericCols, categorical, groupCol, timeCol };
}
