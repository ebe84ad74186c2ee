/**
 * Addresses a bank has authenticated from: their sockets get the full hello timeout,
 * every other ("unknown peer") the short one. A bounded set, least recently used first out,
 * so an address only stays known while banks keep connecting from it.
 */
export class KnownAddresses {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = 4096) {}

  has(address: string): boolean {
    return this.seen.has(address);
  }

  /** Marks `address` as known (most recently used). */
  add(address: string): void {
    this.seen.delete(address);
    this.seen.add(address);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value as string);
  }
}
