/**
 * Analytics jobs: federated computations that are not training rounds (customer
 * segmentation, anomaly-score calibration). A job is an ordered list of stages; each stage
 * asks the connected banks one `analytics_request` and collects their answers with the same
 * generic Stage as training rounds (round/stage.ts). What a job does with the answers is a
 * pure `JobKind` (accumulate per answer, close per stage, then the next stage or the
 * outcome); the runner (runner.ts) does the IO.
 */
import type { LiveEvent } from '@finsecure/common/api';
import type { AnalyticsAnswerBody, AnalyticsResult, AnalyticsTask } from '@finsecure/common/protocol';
import type { Logger } from 'pino';
import type { Store } from '../../store/types.js';
import type { Clock } from '../clock.js';

export type JobKindName = 'segmentation' | 'calibration';
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

/** One closed stage of a job: who was asked, who answered, who dropped and why. */
export interface JobStageSummary {
  name: string;
  asked: string[];
  answered: string[];
  /** Bank → reason (declined, disconnected, invalid answer, no answer by the deadline). */
  dropped: Record<string, string>;
  closedBy: string;
  openedAt: number;
  closedAt: number;
}

/** A job as stored and as the API returns it. */
export interface JobRecord {
  id: number;
  kind: JobKindName;
  status: JobStatus;
  requestedBy: string;
  requestedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  /** The validated parameters (kind-specific, JSON). */
  params: Record<string, unknown>;
  stages: JobStageSummary[];
  /** The outcome (kind-specific, JSON) when completed. */
  result: Record<string, unknown> | null;
  failureReason: string | null;
}

/** What the next stage asks every participating bank. */
export interface StageRequest {
  name: string;
  task: AnalyticsTask;
  timeoutMs: number;
  /** Each bank's own task, where banks get different parts (a secure sum's keys and envelopes). */
  taskFor?: (bankId: string) => AnalyticsTask;
}

export type JobStep =
  | { type: 'stage'; stage: StageRequest }
  | { type: 'done'; result: Record<string, unknown>; outcome: AnalyticsResult['result'] | null }
  | { type: 'fail'; reason: string };

/**
 * The pure part of a job. The runner calls `next()` once at the start and after every
 * `close()`; between the two, `accept()` for each answer of the open stage.
 */
export interface JobKind {
  /** Banks still taking part (a bank that declined or dropped is not asked again). */
  readonly participants: ReadonlySet<string> | null;
  next(): JobStep;
  /** Validates an answer to the open stage and adds it; returns the reason when it is refused. */
  accept(bankId: string, answer: AnalyticsAnswerBody): string | null;
  /** The open stage closed with these answers (in arrival order) and drops. */
  close(answered: readonly string[], dropped: ReadonlyMap<string, string>): void | Promise<void>;
}

/** Thrown by a job's parameter check: the API answers 400 with the message. */
export class JobParamsError extends Error {}

/** What the runner needs from the federation (federation.ts builds it over its core). */
export interface JobHost {
  clock: Clock;
  logger: Logger;
  store: Store;
  subscribe(listener: (e: LiveEvent) => void): () => void;
  /** On the federation's queue: true (and no round will start) unless a round is in flight. */
  holdRounds(): Promise<boolean>;
  /** Lets training rounds start again. */
  releaseRounds(): Promise<void>;
  connectedBanks(): string[];
  send(bankId: string, frame: Uint8Array): void;
  audit(type: string, actor: string, details: Record<string, unknown>): Promise<void>;
  /** Whether training runs with secure aggregation (`rules.secureAggregation`). */
  secureAggregation(): boolean;
  /** The pinned identity keys of these banks, and the secure-aggregation rules, for secure sums. */
  identities(banks: readonly string[]): Map<string, Uint8Array>;
  secaggRules(): { threshold: number; degree: number };
}

/** A job cannot be accepted as asked (the API answers 409 with the message). */
export class JobRefused extends Error {}
