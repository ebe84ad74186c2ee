/**
 * The attack lab's hostile behaviour lives in the research package only: the production bank
 * (`finsecure-bank`, the built CLI) offers no attack option in any command, its configuration
 * has no such setting, and its sources never import the research package.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadBankConfig } from '@finsecure/bank-client';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(root, 'packages/bank-client/dist/cli/main.js');
const HOSTILE = /attack|malicious|poison|byzantine|backdoor|sign.?flip|label.?flip|scale.?update|boost/i;

async function help(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [cli, ...args, '--help'], { timeout: 60_000 });
  return stdout;
}

describe('the production bank client', () => {
  it('has no attack option in any command (built CLI --help)', async () => {
    const top = await help([]);
    const commands = [...top.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(2);
    expect(top).not.toMatch(HOSTILE);
    const helps = await Promise.all(commands.map((c) => help([c])));
    helps.forEach((h, i) => expect(h, commands[i]).not.toMatch(HOSTILE));
  }, 120_000);

  it('has no attack setting in its configuration (an unknown one is dropped)', () => {
    const flags = {
      server: 'ws://127.0.0.1:1/ws/bank',
      bankId: 'b',
      token: 'a-token-of-32-characters-0123456',
      data: 'x.csv',
    };
    expect(loadBankConfig({ flags }).bankId).toBe('b');
    const config = loadBankConfig({ flags: { ...flags, attack: 'scale-100', malicious: true } as never });
    expect(Object.keys(config).length).toBeGreaterThan(5);
    expect(Object.keys(config).filter((k) => HOSTILE.test(k))).toEqual([]);
  });

  it('never imports the research package', async () => {
    const dir = path.join(root, 'packages/bank-client/src');
    const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files)
      expect(await readFile(path.join(dir, f), 'utf8'), f).not.toMatch(/@finsecure\/research|attack\//);
  });
});
