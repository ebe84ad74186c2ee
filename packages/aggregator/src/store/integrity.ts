/**
 * Checks of stored data against what was recorded when it was written, shared by both
 * stores: a model's weights against its sha256, a committed round against the hash its
 * audit entry carries. Stored data is never served or trained on unchecked.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical.js';
import { roundParams } from './sqlite-rows.js';
import type { AuditEntry, ModelVersionRecord, RoundRecord } from './types.js';

/** Stored data that fails its check; names where it lives so an operator can find it. */
export class DamagedDataError extends Error {
  constructor(
    message: string,
    /** e.g. { file: 'data/finsecure.db', table: 'models', row: 'version 54' } */
    readonly where: { file?: string; table: string; row: string },
  ) {
    super(message);
    this.name = 'DamagedDataError';
  }
}

/** sha256 (hex) of the little-endian float32 bytes, the same as weightsSha256 in common/model. */
export function weightsDigest(weights: Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength))
    .digest('hex');
}

/**
 * Returns the model if its weights match its stored sha256.
 * @throws DamagedDataError naming the version, file, table and row.
 */
export function checkModel(m: ModelVersionRecord, where: { file?: string; table: string }): ModelVersionRecord {
  const actual = weightsDigest(m.weights);
  if (actual !== m.sha256) {
    const row = `version ${m.version}`;
    throw new DamagedDataError(
      `stored model v${m.version} is damaged: its weights hash to ${actual.slice(0, 12)}…, not the recorded ` +
        `sha256 ${m.sha256.slice(0, 12)}… (${describeWhere({ ...where, row })})`,
      { ...where, row },
    );
  }
  return m;
}

/**
 * sha256 (hex) of a round record as stored: the canonical JSON of its column values
 * (JSON columns as their text, non-finite numbers tagged), so a SQLite row and a MongoDB
 * document of the same round hash alike, and a re-read round hashes as it was written.
 */
export function roundRecordHash(r: RoundRecord): string {
  return roundParamsHash(roundParams(r));
}

/**
 * roundRecordHash from the column values themselves (`roundParams`' output), for a writer that
 * has just bound them: serialising a round record's JSON columns is most of the hash's cost, and
 * re-reading and re-serialising the record made a 1,000-bank commit cost twice as much (33–47 ms
 * of CPU against 18–23 ms; bench/RESULTS.md, issue 14 item 1, seventh pass).
 */
export function roundParamsHash(params: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(params), 'utf8').digest('hex');
}

/** Audit entry types that seal a committed round (carry details.roundId and details.roundHash). */
export const ROUND_SEAL_TYPES: readonly string[] = ['round.committed', 'round.sealed'];

/**
 * Checks a committed round against the audit entry that sealed it.
 * @throws DamagedDataError naming the round, file, table and row.
 */
export function checkRound(
  r: RoundRecord,
  seal: AuditEntry | null,
  sealSeq: number,
  where: { file?: string; table: string },
): RoundRecord {
  const row = `id ${r.id}`;
  const fail = (why: string): never => {
    throw new DamagedDataError(`stored round ${r.id} ${why} (${describeWhere({ ...where, row })})`, {
      ...where,
      row,
    });
  };
  if (!seal) return fail(`names audit entry ${sealSeq} as its seal, but that entry does not exist`);
  if (!ROUND_SEAL_TYPES.includes(seal.type) || seal.details.roundId !== r.id)
    return fail(`names audit entry ${sealSeq} as its seal, but that entry is not about this round`);
  if (seal.details.roundHash !== roundRecordHash(r))
    return fail(`does not match the hash recorded by audit entry ${sealSeq}: the stored round was altered`);
  return r;
}

export function describeWhere(w: { file?: string; table: string; row: string }): string {
  return `${w.file ? `file ${w.file}, ` : ''}table ${w.table}, row ${w.row}`;
}

/**
 * Whether a sealed round's model is the one its seal named (details.modelSha256; entries that
 * seal older rounds after the fact name none and are not checked). Both stores' checkStorage use it.
 * @returns the problem (from "version …" on), or null.
 */
export function sealedModelProblem(
  roundId: number,
  modelVersion: number | null,
  seq: number,
  entry: AuditEntry | null,
  storedSha256: string | undefined,
): string | null {
  const sealedSha = entry?.details.modelSha256;
  if (typeof sealedSha !== 'string') return null;
  const version = typeof entry?.details.modelVersion === 'number' ? entry.details.modelVersion : modelVersion;
  if (storedSha256 === undefined)
    return `version ${version}: the model of committed round ${roundId} is missing (audit entry ${seq} sealed sha256 ${sealedSha})`;
  if (storedSha256 !== sealedSha)
    return (
      `version ${version}: the model of committed round ${roundId} has sha256 ${storedSha256}, but audit entry ${seq} ` +
      `sealed ${sealedSha}: the model was replaced after the round was committed`
    );
  return null;
}
