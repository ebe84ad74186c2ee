/**
 * Errors raised for bad input data. They carry the file, the 1-based file line and the
 * column so that a bank operator can open the file at the right place; the CLI maps
 * them to exit code 2 ("your input is wrong") rather than 1 ("we crashed").
 */
export class DataError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(message);
    this.name = 'DataError';
  }

  /** Builds the conventional `file:line: column "X": problem` message. */
  static at(file: string, line: number, column: string | undefined, problem: string): DataError {
    const where = column === undefined ? '' : ` column "${column}":`;
    return new DataError(`${file}:${line}:${where} ${problem}`, file, line, column);
  }
}
