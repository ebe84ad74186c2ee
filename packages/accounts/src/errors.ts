/**
 * Thrown by a store when a record with the same id or unique key exists. Defined here so
 * that the account core and every store (the aggregator's SQLite and MongoDB stores, the
 * bank console's database) throw and catch one class; the aggregator re-exports it from
 * its store/types.ts.
 */
export class StoreConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreConflictError';
  }
}
