/**
 * Reading a CSV header line: names, the wrong-delimiter check, and unnamed columns.
 *
 * Unnamed columns get pandas' name for them, `Unnamed: <0-based index>`, so that a column
 * mapping can refer to one ("ignore": ["Unnamed: 0"]). An unnamed FIRST column is what
 * `DataFrame.to_csv()` writes for the index; unless a mapping names it, it is ignored
 * with a notice. Any other unnamed column is an error unless a mapping names it: it
 * could be data that a mistake in the export left without a header.
 */
import { splitCsvLine } from './csv.js';
import { DataError } from './errors.js';
import type { ColumnMapping, LayoutName } from './layouts.js';

/** pandas' name for an unnamed column (0-based index), e.g. "Unnamed: 0". */
export function unnamedColumnName(index: number): string {
  return `Unnamed: ${index}`;
}

export interface ParsedHeader {
  /** Column names in file order; unnamed cells are named `Unnamed: i`. */
  header: string[];
  /** Columns no layout may use (the unnamed leading index column). */
  ignored: string[];
  /** Things worth telling the user (e.g. an ignored index column). */
  notices: string[];
}

/** Field separators people export by mistake, and how to name them in a message. */
const OTHER_DELIMITERS: readonly [string, string][] = [
  [';', '`;`-separated'],
  ['\t', 'tab-separated'],
  ['|', '`|`-separated'],
];

function count(line: string, ch: string): number {
  let n = 0;
  for (let i = line.indexOf(ch); i !== -1; i = line.indexOf(ch, i + 1)) n++;
  return n;
}

/** Every column name a custom mapping refers to. */
function mentioned(layout: 'auto' | LayoutName | ColumnMapping): Set<string> {
  if (typeof layout === 'string') return new Set();
  return new Set([
    layout.label,
    ...layout.features,
    ...(layout.categorical ?? []),
    ...(layout.ignore ?? []),
    ...(layout.group === undefined ? [] : [layout.group]),
    ...(layout.time === undefined ? [] : [layout.time]),
  ]);
}

/**
 * Parses the header line of `file`. Throws a DataError for an unclosed quote, a file
 * separated by `;`, tab or `|` instead of commas, and an unnamed column other than the
 * first that the mapping does not name.
 */
export function parseHeader(line: string, file: string, layout: 'auto' | LayoutName | ColumnMapping): ParsedHeader {
  const text = line.replace(/^\uFEFF/, '');
  const cells: string[] = [];
  const n = splitCsvLine(text, cells);
  if (n === -1) throw DataError.at(file, 1, undefined, 'unclosed quote in the header');
  // A header with more `;` (tab, `|`) fields than comma fields was not written as CSV
  // with commas; saying so beats "column X not found; found columns: <one giant name>".
  const unquoted = text.replace(/"[^"]*"/g, '');
  for (const [ch, name] of OTHER_DELIMITERS) {
    if (count(unquoted, ch) + 1 > n) {
      throw DataError.at(
        file,
        1,
        undefined,
        `wrong delimiter: the file looks ${name}; FinSecure reads comma-separated CSV (export it with "," as the separator)`,
      );
    }
  }
  const raw = cells.slice(0, n).map((c) => c.trim());
  const named = new Set(raw.filter((c) => c !== ''));
  const wanted = mentioned(layout);
  const header: string[] = [];
  const ignored: string[] = [];
  const notices: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '') {
      header.push(raw[i]!);
      continue;
    }
    const name = unnamedColumnName(i);
    if (named.has(name)) {
      throw DataError.at(file, 1, undefined, `header column ${i + 1} has no name, and "${name}" is already taken`);
    }
    header.push(name);
    if (wanted.has(name)) continue; // the mapping says what it is
    if (i === 0 && raw.length > 1) {
      ignored.push(name);
      notices.push(
        `${file}: the first column has no name (an index column, as pandas writes it); ignoring it ` +
          `(a column mapping can use it as "${name}")`,
      );
      continue;
    }
    throw DataError.at(
      file,
      1,
      undefined,
      `header column ${i + 1} has no name; name it in the file, or refer to it as "${name}" in a column mapping ` +
        `(e.g. "ignore": ["${name}"])`,
    );
  }
  return { header, ignored, notices };
}
