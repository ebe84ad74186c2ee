/**
 * The API tokens of a local federation (`npm start`), kept in its working directory so a
 * restart does not log out every open dashboard. The file is created with mode 0600 (owner
 * read/write only) and refused if anyone else can read it; tokens from the environment
 * (FINSECURE_ADMIN_TOKEN / FINSECURE_VIEWER_TOKEN) win over the file and are never written.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { generateToken } from '../auth/tokens.js';

export const LOCAL_TOKENS_FILE = 'local-tokens.json';

const TokensFile = z.strictObject({
  adminToken: z.string().min(16),
  viewerToken: z.string().min(16),
});
export type LocalTokens = z.infer<typeof TokensFile> & { source: 'environment' | 'file' | 'new' };

/**
 * Reads `<dir>/local-tokens.json`, or creates it with fresh random tokens.
 * @throws Error naming the file when it is unreadable, malformed or readable by others.
 */
export function localTokens(dir: string, env: NodeJS.ProcessEnv = process.env): LocalTokens {
  const file = path.join(dir, LOCAL_TOKENS_FILE);
  let stored: z.infer<typeof TokensFile> | null = null;
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0)
      throw new Error(`${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 ${file}`);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message}); delete it to issue new tokens`);
    }
    const parsed = TokensFile.safeParse(raw);
    if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}; delete it to issue new tokens`);
    stored = parsed.data;
  }
  const created = !stored;
  if (!stored) {
    stored = { adminToken: generateToken('fsa'), viewerToken: generateToken('fsv') };
    writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  }
  const fromEnv = env.FINSECURE_ADMIN_TOKEN !== undefined;
  return {
    adminToken: env.FINSECURE_ADMIN_TOKEN ?? stored.adminToken,
    viewerToken: env.FINSECURE_VIEWER_TOKEN ?? stored.viewerToken,
    source: fromEnv ? 'environment' : created ? 'new' : 'file',
  };
}
