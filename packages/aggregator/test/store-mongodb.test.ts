/**
 * The store contract against a real MongoDB. Nothing on a developer machine without a
 * server can run it, so it only runs when MONGODB_URI is set (e.g.
 * MONGODB_URI=mongodb://127.0.0.1:27017); otherwise it is skipped, loudly.
 * Every test gets its own database, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoStore } from '../src/store/mongo.js';
import { runStoreContract, type StoreFixture } from './store-contract.js';

const uri = process.env.MONGODB_URI;
const SKIP_REASON = 'MONGODB_URI is not set';
if (!uri) console.warn(`MongoDB store contract skipped: ${SKIP_REASON}`);

const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
let counter = 0;
const dbNames: string[] = [];

/** Unique per run and per test, so parallel runs against one server never meet. */
function newDbName(): string {
  const name = `finsecure_test_${runId}_${++counter}`;
  dbNames.push(name);
  return name;
}

let admin: MongoClient | undefined;
beforeAll(async () => {
  if (uri) admin = await new MongoClient(uri).connect();
});
afterAll(async () => {
  // Backstop for fixtures a failed test did not dispose.
  for (const name of dbNames) await admin?.db(name).dropDatabase();
  await admin?.close();
});

async function fixture(): Promise<StoreFixture> {
  const dbName = newDbName();
  const store = new MongoStore(uri!, dbName);
  await store.init();
  const audit = () => admin!.db(dbName).collection('audit');
  return {
    store,
    reopen: async () => new MongoStore(uri!, dbName),
    backdoor: {
      // details are stored as the JSON text that was hashed (see mongo.ts).
      setDetails: async (seq, details) =>
        void (await audit().updateOne({ seq }, { $set: { details: JSON.stringify(details) } })),
      setHash: async (seq, hash) => void (await audit().updateOne({ seq }, { $set: { hash } })),
      deleteEntry: async (seq) => void (await audit().deleteOne({ seq })),
    },
    dispose: async () => void (await admin!.db(dbName).dropDatabase()),
  };
}

runStoreContract('MongoStore', fixture, uri ? { durable: true, tamper: true } : { skip: SKIP_REASON });

describe.skipIf(!uri)(uri ? 'MongoStore specifics' : `MongoStore specifics [SKIPPED: ${SKIP_REASON}]`, () => {
  it('creates a unique index for every natural key', async () => {
    const dbName = newDbName();
    const store = new MongoStore(uri!, dbName);
    await store.init();
    await store.init(); // idempotent
    const expected: Record<string, string> = {
      banks: 'id',
      rounds: 'id',
      models: 'version',
      settings: 'key',
      audit: 'seq',
    };
    for (const [collection, key] of Object.entries(expected)) {
      const indexes = await admin!.db(dbName).collection(collection).listIndexes().toArray();
      expect(
        indexes.some((ix) => ix.unique === true && Object.keys(ix.key as object).join() === key),
        `${collection}.${key}`,
      ).toBe(true);
    }
    await store.close();
    await admin!.db(dbName).dropDatabase();
  });
});
