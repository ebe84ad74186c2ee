/**
 * `finsecure-aggregator audit verify`: checks, offline, the aggregator's stored state —
 * the audit hash chain against its anchors (signed head and checkpoints with the
 * aggregator's key, and the heads banks kept, exported with `finsecure-bank audit-heads`: `--bank-heads <file>`),
 * every model against its sha256, every sealed round against its audit entry, and the
 * SQLite pages. Says which anchors it checked against. Exit code 0: all good; 1: a
 * problem was found (each printed, naming file, table and row); 2: bad arguments (on stderr: a
 * place without a store, an unreadable or empty heads file, a bad flag).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describeAnchors, type WitnessedHead } from '../audit/anchor.js';
import { readBankHeads } from '../audit/bank-heads.js';
import { AUDIT_KEY_FILE, loadAuditVerifierKey } from '../audit/signer.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { requireStore, sqlitePathOf, storeConfig } from './store-place.js';
import { strictUsage, usageExitCode, withVersion } from './usage.js';

interface VerifyFlags {
  config?: string;
  dataDir?: string;
  sqlitePath?: string;
  auditKey?: string;
  bankHeads?: string[];
  json?: boolean;
}

/**
 * Builds the `audit` command; `out` gets the report, `exit` the code, `err` the errors that stop
 * the check before it starts (by default where the report goes; the CLI sends them to stderr).
 */
export function auditCommand(
  out: (s: string) => void = (s) => process.stdout.write(s),
  exit: (code: number) => void = (code) => {
    process.exitCode = code;
  },
  err: (s: string) => void = out,
): Command {
  const cmd = new Command('finsecure-aggregator audit').description(
    "Check the aggregator's audit log and stored data offline.",
  );
  cmd
    .command('verify')
    .description(
      'Verify the audit hash chain against its signed head, its signed checkpoints and the heads banks kept; ' +
        "check every model's sha256, every committed round against its audit entry, and the database pages. " +
        'Exit code 0 when everything holds, 1 when anything does not, 2 for bad arguments (no store there, an unreadable heads file, a bad flag).',
    )
    .option('-c, --config <file>', 'aggregator JSON config file (env FINSECURE_CONFIG)')
    .option('--data-dir <dir>', 'directory of the SQLite database and the audit key (default ./data)')
    .option('--sqlite-path <file>', 'SQLite database file (default <data-dir>/finsecure.db)')
    .option(
      '--audit-key <file>',
      `the aggregator's audit key, private or public PEM (default <data-dir>/${AUDIT_KEY_FILE}); without it ` +
        'signatures are not checked, and the report says so',
    )
    .option(
      '--bank-heads <files...>',
      'heads files kept by banks, each exported on its host with `finsecure-bank audit-heads > heads.jsonl` (the state directory keeps them encrypted): the chain must reach every head in them',
    )
    .option('--json', 'print the report as JSON')
    .action(async (o: VerifyFlags) => {
      let bankHeads: WitnessedHead[] = [];
      let store: Store;
      try {
        for (const f of o.bankHeads ?? []) {
          const heads = readBankHeads(f);
          // An empty export would make the check pass without the anchor it was asked to use.
          if (heads.length === 0)
            throw new Error(
              `bank heads file ${f} holds no heads (is it the output of \`finsecure-bank audit-heads\`?)`,
            );
          bankHeads = bankHeads.concat(heads);
        }
        store = await openStore(o);
      } catch (e) {
        err(`finsecure-aggregator audit verify: ${(e as Error).message}\n`);
        return exit(2);
      }
      try {
        await store.init();
      } catch (e) {
        const problem = (e as Error).message;
        out(
          o.json
            ? `${JSON.stringify({ ok: false, storedState: { ok: false, problems: [problem] } }, null, 2)}\n`
            : `stored state: FAILED\n  ${problem}\n`,
        );
        return exit(1);
      }
      try {
        const audit = await store.verifyAudit({ bankHeads });
        const storage = await store.checkStorage();
        const ok = audit.ok && storage.ok;
        if (o.json) {
          out(`${JSON.stringify({ ok, audit, storage, anchors: describeAnchors(audit) }, null, 2)}\n`);
        } else {
          out(`audit log: ${audit.entries} entries, ${audit.ok ? 'ok' : 'FAILED'}\n`);
          out(`checked against: ${describeAnchors(audit)}\n`);
          for (const p of audit.problems ?? []) out(`  problem: ${p}\n`);
          out(
            `stored data: ${storage.checked.models} models, ${storage.checked.rounds} sealed rounds` +
              `${storage.checked.pages ? ', database pages' : ''}: ${storage.ok ? 'ok' : 'FAILED'}\n`,
          );
          for (const p of storage.problems) out(`  problem: ${p}\n`);
        }
        exit(ok ? 0 : 1);
      } finally {
        await store.close();
      }
    });
  return cmd;
}

async function openStore(o: VerifyFlags): Promise<Store> {
  const config = storeConfig(o);
  requireStore(config);
  const sqlitePath = sqlitePathOf(config);
  // The store's default: the key beside the database (MongoDB: in the data directory).
  const keyFile =
    o.auditKey ?? path.join(config.mongodbUri ? config.dataDir : path.dirname(sqlitePath), AUDIT_KEY_FILE);
  if (o.auditKey && !existsSync(o.auditKey)) throw new Error(`--audit-key ${o.auditKey} does not exist`);
  const key = existsSync(keyFile) ? keyFile : null;
  if (config.mongodbUri) {
    const { MongoStore } = await import('../store/mongo.js');
    return new MongoStore(config.mongodbUri, config.mongodbDb, key);
  }
  // Verify-only: a verifier never creates or signs with a key, it only checks signatures.
  return new SqliteStore(sqlitePath, {
    auditKeyFile: null,
    // Only reads (a verifier writes nothing): it may run while the aggregator holds the instance lock.
    instanceLock: false,
    ...(key ? { verifyKey: loadAuditVerifierKey(key) } : {}),
  });
}

/** `finsecure-aggregator audit …`: the report on stdout, errors on stderr, exit code 2 on bad usage. */
export async function runAuditCli(argv: string[]): Promise<void> {
  const cmd = strictUsage(
    withVersion(
      auditCommand(
        (s) => process.stdout.write(s),
        (code) => {
          process.exitCode = code;
        },
        (s) => process.stderr.write(s),
      ),
    ),
  );
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const code = usageExitCode(e);
    if (code === undefined) throw e;
    process.exitCode = code;
  }
}
