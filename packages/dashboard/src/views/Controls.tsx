/** Start / pause / stop: rendered for admins only (viewers get 403 from the API anyway). */
import { useState } from 'react';
import { ApiError, postJson, sendJson } from '../lib/api';
import type { TrainingState } from '../lib/types';

type Action = 'start' | 'pause' | 'stop';

/** The most rounds one start may add (the training route's additionalRounds limit). */
const MAX_ADDED_ROUNDS = 100_000;

const ENABLED: Record<Action, TrainingState[]> = {
  start: ['idle', 'paused', 'stopped', 'finished'],
  pause: ['running'],
  stop: ['running', 'paused'],
};

export function Controls({
  token,
  state,
  roundsCompleted,
  onChanged,
}: {
  token: string;
  state: TrainingState;
  roundsCompleted: number;
  onChanged: () => Promise<void>;
}) {
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A finished federation starts again only with a number of rounds to add.
  const [more, setMore] = useState(10);

  const run = async (action: Action) => {
    if (action === 'stop' && !window.confirm('Stop training? The round in progress is aborted.')) return;
    setBusy(action);
    setError(null);
    try {
      if (action === 'start' && state === 'finished')
        await sendJson('/api/training/start', token, 'POST', { additionalRounds: more });
      else await postJson(`/api/training/${action}`, token);
      await onChanged();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 403
          ? 'Only admins can control training.'
          : `Could not ${action}: ${(err as Error).message}`,
      );
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="controls" data-testid="controls">
      {(['start', 'pause', 'stop'] as const).map((a) => (
        <button
          key={a}
          type="button"
          data-testid={`control-${a}`}
          className={`btn ${a === 'start' ? 'btn-primary' : a === 'stop' ? 'btn-danger' : ''}`}
          disabled={busy !== null || !ENABLED[a].includes(state)}
          onClick={() => void run(a)}
        >
          {busy === a
            ? '…'
            : a === 'start'
              ? state === 'paused'
                ? 'Resume'
                : 'Start'
              : a === 'pause'
                ? 'Pause'
                : 'Stop'}
        </button>
      ))}
      {state === 'finished' && (
        <label className="small" data-testid="more-rounds">
          {' '}
          rounds to add{' '}
          <input
            type="number"
            min={1}
            max={MAX_ADDED_ROUNDS}
            value={more}
            onChange={(e) => setMore(Math.min(MAX_ADDED_ROUNDS, Math.max(1, Math.floor(Number(e.target.value) || 1))))}
            style={{ width: '5em' }}
          />{' '}
          <span className="muted">(after {roundsCompleted} committed)</span>
        </label>
      )}
      {error && (
        <span className="text-error small" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
