/**
 * Column roles for the bank-side anonymisation pipeline: what a column IS (a name, an
 * e-mail, a customer id, an amount...) decides what is done to it. Roles are guessed
 * from common header names and can be set explicitly with a mapping file; a column
 * whose role cannot be guessed is reported and dropped, never silently passed through
 * (the safe default: an unknown column may hold anything, e.g. a free-text memo).
 */
import { z } from 'zod';

/**
 * - `name`, `email`, `phone`, `free-text`: direct identifiers, dropped.
 * - `account-number`: IBAN, account or card number, masked to its last four characters.
 * - `customer-id`, `account-id`, `transaction-id`: replaced by keyed pseudonyms (HMAC-SHA-256).
 * - `amount`: Laplace noise or bands.
 * - `timestamp`: generalised to the hour or the day.
 * - `categorical`: kept, and counted as a quasi-identifier for k-anonymity.
 * - `label`: the fraud label, kept (it is the point of the data set), a quasi-identifier.
 * - `keep`: kept as is, by explicit decision of the bank (never guessed), not a quasi-identifier.
 * - `drop`: dropped, by explicit decision.
 */
export const COLUMN_ROLES = [
  'name',
  'email',
  'phone',
  'free-text',
  'account-number',
  'customer-id',
  'account-id',
  'transaction-id',
  'amount',
  'timestamp',
  'categorical',
  'label',
  'keep',
  'drop',
] as const;
export type ColumnRole = (typeof COLUMN_ROLES)[number];

/** Normalised header: lower case, separators removed ("Customer_ID" → "customerid"). */
function norm(header: string): string {
  return header.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Header patterns, first match wins, so the more specific come first ("account_number"
 * before "account_id", "customer_name" before "customer_id").
 */
const RULES: ReadonlyArray<readonly [RegExp, ColumnRole]> = [
  [/^(e?mail|emailaddress|.*email.*)$/, 'email'],
  [/(phone|mobile|telephone|^tel$|msisdn)/, 'phone'],
  [/(iban|cardnumber|cardno|^pan$|cardpan|accountnumber|accountno|acctno|acctnumber|^bban$)/, 'account-number'],
  [
    /^(name|fullname|firstname|lastname|surname|givenname|familyname|customername|holdername|cardholder(name)?|accountholder(name)?|beneficiary(name)?|payee(name)?)$/,
    'name',
  ],
  [/(description|memo|comment|note|notes|narrative|remittance|reference|freetext|message|address|street)/, 'free-text'],
  [/^(customer|customerid|custid|clientid|client|userid|customerno|customernumber|clientnumber)$/, 'customer-id'],
  [/^(account|accountid|acctid)$/, 'account-id'],
  [/^(transactionid|txid|txnid|trxid|transactionref|transaction)$/, 'transaction-id'],
  [/^(amount|txamount|transactionamount|amt|value|sum|txvalue)$/, 'amount'],
  [
    /^(time|timestamp|datetime|txdatetime|date|txdate|transactiondate|transactiontime|txtimeseconds|txtimedays|bookingdate|valuedate)$/,
    'timestamp',
  ],
  [/^(class|txfraud|fraud|isfraud|label|target)$/, 'label'],
  [
    /^(currency|country|channel|mcc|merchantcategory|category|type|txtype|transactiontype|entrymode|posentrymode|txduringweekend|txduringnight|weekend|night)$/,
    'categorical',
  ],
];

/** The role guessed from a header name, or undefined if none of the known names matches. */
export function guessRole(header: string): ColumnRole | undefined {
  const h = norm(header);
  if (h === '') return undefined;
  for (const [re, role] of RULES) if (re.test(h)) return role;
  return undefined;
}

/** Mapping file: `{ "columns": { "<header>": "<role>" } }`; explicit roles override guesses. */
export const anonymiseMappingSchema = z.strictObject({
  columns: z.record(z.string().min(1), z.enum(COLUMN_ROLES)),
});
export type AnonymiseMapping = z.infer<typeof anonymiseMappingSchema>;

/** Parses a mapping; errors name the source (file) and the offending key. */
export function parseAnonymiseMapping(value: unknown, source = 'mapping'): AnonymiseMapping {
  const r = anonymiseMappingSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
    throw new Error(
      `${source}${where}: ${issue.message} (expected {"columns": {"<header>": "<role>"}} with role one of ${COLUMN_ROLES.join(', ')})`,
    );
  }
  return r.data;
}

export interface ResolvedColumn {
  /** 0-based position in the input header. */
  index: number;
  header: string;
  /** undefined: could not be classified (the column is dropped and reported). */
  role: ColumnRole | undefined;
  /** Where the role came from. */
  source: 'mapping' | 'header' | 'none';
}

/**
 * Resolves every header to a role. Throws if the mapping names a column the file does
 * not have (a typo there would otherwise let the real column fall back to a guess) or
 * if the header repeats a name.
 */
export function resolveRoles(header: readonly string[], mapping?: AnonymiseMapping, file = '<csv>'): ResolvedColumn[] {
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new Error(`${file}:1: column "${h}" appears twice in the header`);
    seen.add(h);
  }
  const explicit = mapping?.columns ?? {};
  for (const name of Object.keys(explicit))
    if (!seen.has(name))
      throw new Error(`mapping names column "${name}", which ${file} does not have (header: ${header.join(', ')})`);
  return header.map((h, index) => {
    const m = explicit[h];
    if (m !== undefined) return { index, header: h, role: m, source: 'mapping' as const };
    const g = guessRole(h);
    return { index, header: h, role: g, source: g === undefined ? ('none' as const) : ('header' as const) };
  });
}
