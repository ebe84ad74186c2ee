import type { ReactNode } from 'react';
import type { RoundStatus, TrainingState } from '../lib/types';

type Tone = 'ok' | 'warn' | 'error' | 'info' | 'muted';

export function Badge({ tone, children, title }: { tone: Tone; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

const ROUND_TONE: Record<RoundStatus, Tone> = {
  selecting: 'info',
  training: 'info',
  aggregating: 'info',
  evaluating: 'info',
  committed: 'ok',
  failed: 'error',
};

export function RoundStatusBadge({ status }: { status: RoundStatus }) {
  return <Badge tone={ROUND_TONE[status]}>{status}</Badge>;
}

const STATE_TONE: Record<TrainingState, Tone> = {
  idle: 'muted',
  running: 'ok',
  paused: 'warn',
  stopped: 'error',
  finished: 'info',
};

export function TrainingStateBadge({ state }: { state: TrainingState }) {
  return (
    <Badge tone={STATE_TONE[state]}>
      <span data-testid="training-state">{state}</span>
    </Badge>
  );
}
