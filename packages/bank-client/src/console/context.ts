/** What every console plugin is given: the database, the people core, the scorer, settings. */
import type { Accounts, AccountRole, BankPermission, SessionRecord } from '@finsecure/accounts';
import type { ColumnMapping, LayoutName } from '@finsecure/common/data';
import type { ConsoleDb } from './db.js';
import type { ExplainQueue } from './explain-queue.js';
import type { Explainer } from './reasons.js';
import type { Scorer } from './scorer.js';
import type { ValidationSource } from './threshold.js';

export interface ConsoleContext {
  db: ConsoleDb;
  accounts: Accounts;
  scorer: Scorer;
  /** The bank's CSV layout or column mapping (names the model's features). */
  layout: 'auto' | LayoutName | ColumnMapping;
  /** The uploads' transaction id column, when not one of the usual names (TRANSACTION_ID, tx_id, ...). */
  idColumn: string | undefined;
  /** Largest accepted CSV upload, bytes. */
  maxUploadBytes: number;
  /** Most transactions in one JSON score request. */
  maxBatch: number;
  /** Where uploads are spooled while they are scored (deleted right after). */
  spoolDir: string;
  /** The bank's validation split, for choosing the operating threshold (absent: not configured). */
  validation: ValidationSource | null;
  /** Reasons of flagged transactions, and the background queue of an upload's alerts. */
  explainer: Explainer;
  explainQueue: ExplainQueue;
  now: () => number;
  /** Served over TLS (Secure cookies, HSTS). */
  secure: boolean;
}

/** Who is calling: a signed-in person (the console has no API tokens yet). */
export interface Operator {
  role: AccountRole;
  permissions: ReadonlySet<BankPermission>;
  /** Username, as decisions and the audit log name it. */
  name: string;
  displayName: string;
  accountId: string;
  session: SessionRecord;
  expiresAt: number;
  setup: 'password' | 'mfa' | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The console's authorisation rule of this route (see @finsecure/accounts bank-permissions). */
    access?: BankPermission;
  }
  interface FastifyRequest {
    operator: Operator | null;
  }
}
