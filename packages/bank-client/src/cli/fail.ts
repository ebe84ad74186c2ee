/** How `finsecure-bank` ends on bad input: one line on stderr naming the program, exit 2 (or `code`). */
export function fail(message: string, code = 2): never {
  process.stderr.write(`finsecure-bank: ${message}\n`);
  process.exit(code);
}
