/**
 * Transaction-file layouts the account report reads, recognised from the header:
 *
 * - `handbook`: the ULB fraud handbook's simulated transactions (CUSTOMER_ID,
 *   TERMINAL_ID, TX_AMOUNT, TX_DATETIME; TX_FRAUD when labelled).
 * - `berka`: the PKDD'99 Financial (Berka) `trans.asc` table as distributed:
 *   semicolon-separated, quoted header trans_id;account_id;date;type;operation;amount;
 *   balance;k_symbol;bank;account, dates YYMMDD, type PRIJEM (credit) / VYDAJ (debit)
 *   / VYBER (cash withdrawal), counterparty bank + account often empty.
 * - `export`: a plain export Timestamp,TransactionID,AccountID,Amount,Merchant,
 *   TransactionType,Location with string timestamps (ISO 8601 or dd-mm-yyyy HH:MM).
 */
import { DataError } from '../data/errors.js';

export type AccountLayoutName = 'handbook' | 'berka' | 'export';
export const ACCOUNT_LAYOUTS: readonly AccountLayoutName[] = ['handbook', 'berka', 'export'];

/** Where each role is read from; -1 when the layout has no such column. */
export interface AccountColumns {
  layout: AccountLayoutName;
  account: number;
  amount: number;
  time: number;
  /** Merchant, terminal or counterparty (Berka: bank and account together). */
  merchant: number[];
  location: number;
  balance: number;
  /** Berka transaction type, for the sign of the amount in the balance change. */
  type: number;
  label: number;
  /** The header names, for error messages. */
  header: string[];
}

interface Spec {
  account: string;
  amount: string;
  time: string;
  merchant: string[];
  location?: string;
  balance?: string;
  type?: string;
  label?: string;
}

const SPECS: Record<AccountLayoutName, Spec> = {
  handbook: {
    account: 'CUSTOMER_ID',
    amount: 'TX_AMOUNT',
    time: 'TX_DATETIME',
    merchant: ['TERMINAL_ID'],
    label: 'TX_FRAUD',
  },
  berka: {
    account: 'account_id',
    amount: 'amount',
    time: 'date',
    merchant: ['bank', 'account'],
    balance: 'balance',
    type: 'type',
  },
  export: {
    account: 'AccountID',
    amount: 'Amount',
    time: 'Timestamp',
    merchant: ['Merchant'],
    location: 'Location',
  },
};

function list(header: string[]): string {
  return header.length > 30 ? `${header.slice(0, 30).join(', ')}, … (${header.length} columns)` : header.join(', ');
}

/** The layout whose account column the header has (handbook, then Berka, then export). */
export function detectAccountLayout(header: string[], file = '<csv>'): AccountLayoutName {
  for (const name of ACCOUNT_LAYOUTS) if (header.includes(SPECS[name].account)) return name;
  throw new DataError(
    `${file}:1: no account column: expected CUSTOMER_ID (handbook), account_id (Berka trans.asc) or ` +
      `AccountID (transaction export); found columns: ${list(header)}`,
    file,
    1,
  );
}

/** Resolves a layout against a header; throws DataError naming the missing column. */
export function planAccountColumns(
  header: string[],
  layout: 'auto' | AccountLayoutName,
  file = '<csv>',
): AccountColumns {
  const name = layout === 'auto' ? detectAccountLayout(header, file) : layout;
  const spec = SPECS[name];
  const index = new Map(header.map((c, i) => [c, i]));
  const need = (c: string, role: string) => {
    const i = index.get(c);
    if (i === undefined) {
      throw new DataError(
        `${file}:1: ${name} layout: ${role} column "${c}" not found; found columns: ${list(header)}`,
        file,
        1,
        c,
      );
    }
    return i;
  };
  const optional = (c: string | undefined) => (c === undefined ? -1 : (index.get(c) ?? -1));
  return {
    layout: name,
    account: need(spec.account, 'account'),
    amount: need(spec.amount, 'amount'),
    time: need(spec.time, 'timestamp'),
    merchant: spec.merchant.map((c) => index.get(c)).filter((i): i is number => i !== undefined),
    location: optional(spec.location),
    balance: optional(spec.balance),
    type: optional(spec.type),
    label: optional(spec.label),
    header,
  };
}
