/**
 * In-process publish/subscribe for live events (dashboard stream, metrics). Listeners
 * that throw are isolated: a broken subscriber must never break a round.
 */
import type { LiveEvent } from '@finsecure/common/api';

export type Listener = (event: LiveEvent) => void;

export class EventBus {
  private readonly listeners = new Set<Listener>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: LiveEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // Isolated on purpose; subscribers log their own failures.
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}
