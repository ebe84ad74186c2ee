/**
 * Bank identity keys for secure aggregation. A bank sends its Ed25519 public key in its hello;
 * the aggregator pins it on first sight (trust on first use, an audit entry) and refuses a
 * hello with another key for that bank until an admin resets it. Banks pin the keys the
 * aggregator forwards in the same way (bank-client/src/secagg), so a key swapped later by the
 * aggregator is caught by the banks.
 */
import { fromBase64 } from '@finsecure/common/secagg';
import type { Store } from '../../store/types.js';

const KEY = 'identityKeys';

export class IdentityKeys {
  private keys: Record<string, string> = {};

  constructor(private readonly store: Store) {}

  async load(): Promise<void> {
    this.keys = (await this.store.getSetting<Record<string, string>>(KEY)) ?? {};
  }

  /**
   * Checks (and on first sight pins) `bankId`'s key. Returns 'pinned' the first time, 'same'
   * for the pinned key, or the refusal reason for a different one.
   */
  async check(bankId: string, key: string): Promise<'pinned' | 'same' | { refused: string }> {
    const pinned = this.keys[bankId];
    if (pinned === key) return 'same';
    if (pinned !== undefined)
      return {
        refused: `identity key differs from the one pinned for ${bankId}; an admin must reset it (POST /api/banks/${bankId}/identity/reset) if the bank really changed its key`,
      };
    this.keys[bankId] = key;
    await this.store.setSetting(KEY, this.keys);
    return 'pinned';
  }

  /** Forgets a bank's pinned key (admin action; the next hello pins the new one). */
  async reset(bankId: string): Promise<boolean> {
    if (this.keys[bankId] === undefined) return false;
    delete this.keys[bankId];
    await this.store.setSetting(KEY, this.keys);
    return true;
  }

  has(bankId: string): boolean {
    return this.keys[bankId] !== undefined;
  }

  /** The pinned keys of these banks, raw (throws RangeError for a bank without one). */
  directory(bankIds: readonly string[]): Map<string, Uint8Array> {
    return new Map(
      bankIds.map((b) => {
        const k = this.keys[b];
        if (k === undefined) throw new RangeError(`bank ${b} has no identity key`);
        return [b, fromBase64(k, `identity key of ${b}`)];
      }),
    );
  }
}
