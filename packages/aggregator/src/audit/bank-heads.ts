/**
 * The heads of the audit chain a bank was sent with its round assignments, as the bank
 * client keeps them: `<state-dir>/audit-heads.jsonl`, one JSON object per line,
 * `{"at": <ms>, "roundId": <n>, "seq": <n>, "hash": "<64 hex>"}`, appended only.
 * Any bank's file proves a rewrite of the aggregator's log up to the last head it saw.
 */
import { readFileSync } from 'node:fs';
import type { WitnessedHead } from './anchor.js';

export const BANK_HEADS_FILE = 'audit-heads.jsonl';

/**
 * Reads a bank's heads file.
 * @throws Error naming the file, line and column of the first malformed line.
 */
export function readBankHeads(file: string): WitnessedHead[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`bank heads file ${file} cannot be read: ${(err as Error).message}`);
  }
  return parseBankHeads(text, file);
}

/** Parses the text of a heads file; `file` is only used in messages. */
export function parseBankHeads(text: string, file: string): WitnessedHead[] {
  const out: WitnessedHead[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const where = `${file}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      // The bank keeps <state-dir>/audit-heads.jsonl sealed under its state key, one base64
      // record per line: the file the aggregator reads is the one `audit-heads` prints.
      const sealed = /^[A-Za-z0-9+/]+={0,2}$/.test(line);
      throw new Error(
        sealed
          ? `${where}:1: this looks like the bank's encrypted heads file; export it on the bank's host with ` +
              '`finsecure-bank audit-heads > heads.jsonl` and pass that file'
          : `${where}:1: not JSON (${(err as Error).message})`,
      );
    }
    const o = v as { seq?: unknown; hash?: unknown; roundId?: unknown };
    if (typeof o !== 'object' || o === null || !Number.isSafeInteger(o.seq) || (o.seq as number) < 1)
      throw new Error(`${where}:1: "seq" must be a positive integer`);
    if (typeof o.hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.hash))
      throw new Error(`${where}:1: "hash" must be 64 lowercase hex digits`);
    const round = Number.isSafeInteger(o.roundId) ? ` (round ${o.roundId as number})` : '';
    out.push({ seq: o.seq as number, hash: o.hash, source: `bank heads file ${where}${round}` });
  }
  return out;
}
