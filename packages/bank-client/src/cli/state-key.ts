/**
 * The `--state-key-file` flag shared by the commands that read or write the bank's state
 * directory, and `finsecure-bank state-key new --out <file>`, which makes a key. Opening the
 * state with the key is in open-state.ts, which the actions import when they run: this file is
 * loaded by every `finsecure-bank` invocation, `--help` included, so it imports nothing heavy.
 */
import type { Command } from 'commander';
import { fail } from './fail.js';

export const STATE_KEY_HELP =
  "REQUIRED: file holding the 32-byte key (base64 or hex) the bank's state is encrypted under at rest (AES-256-GCM); " +
  'make one with `finsecure-bank state-key new --out <file>`; env FINSECURE_STATE_KEY_FILE, or the key itself in FINSECURE_STATE_KEY';

export function addStateKeyFlag(c: Command, help = STATE_KEY_HELP): Command {
  return c.option('--state-key-file <file>', help);
}

/** `finsecure-bank state-key new --out <file>`: a new random state key, mode 0600, never overwriting. */
export function addStateKeyCommand(program: Command, out: (s: string) => void = (s) => process.stdout.write(s)): void {
  const cmd = program
    .command('state-key')
    .description("Manage the key the bank's state directory is encrypted under at rest (AES-256-GCM)");
  cmd
    .command('new')
    .description(
      'Write a new random state key (32 bytes from node:crypto, base64) to --out with mode 0600; refuses to overwrite a file. ' +
        'Keep a copy somewhere safe: the state cannot be read without it. Give it to the bank with --state-key-file <file> ' +
        '(or env FINSECURE_STATE_KEY_FILE)',
    )
    .requiredOption('-o, --out <file>', 'file to create (must not exist)')
    .action(async (o: { out: string }) => {
      // key.ts alone (node:crypto), not the state-crypto index, which loads the model code.
      const { StateKeyError, writeNewStateKeyFile } = await import('../state-crypto/key.js');
      try {
        const keyId = writeNewStateKeyFile(o.out);
        out(
          `wrote a new state key to ${o.out} (mode 0600, key id ${keyId})\n` +
            `use it with: finsecure-bank start --state-key-file ${o.out} (or FINSECURE_STATE_KEY_FILE=${o.out})\n`,
        );
      } catch (err) {
        if (err instanceof StateKeyError) fail(err.message);
        throw err;
      }
    });
}
