/**
 * What the bank-client daemon (client.ts) tells whoever runs it (the CLI's progress bar, the
 * tests). Apart so that the parts that emit them (round-tasks.ts, frame-dispatch.ts) can name
 * them without importing the client.
 */
import type { Welcome } from '@finsecure/common/protocol';
import type { FeedbackRead } from './feedback.js';

export interface BankClientEvents {
  welcome: [Welcome];
  update_sent: [{ roundId: number; bytes: number }];
  /** Local training progress, every few batches: batches done of all epochs. */
  training_progress: [{ roundId: number; done: number; total: number }];
  update_dropped: [{ roundId: number; reason: string }];
  evaluation_sent: [{ roundId: number }];
  /** The analysts' confirmed labels read for a round's training (feedback.ts). */
  feedback: [{ roundId: number | null } & FeedbackRead];
  committed: [{ roundId: number; modelVersion: number }];
  rejected: [{ roundId: number; reason: string }];
  disconnected: [{ code: number; reason: string }];
  fatal: [Error];
}
