/** Start / pause / stop: rendered for admins only (viewers get 403 from the API anyway). */
import { useState } from 'react';
import { ApiError, postJson } from '../lib/api';
import type { TrainingState } from '../lib/types';

type Action = 'start' | 'pause' | 'stop';

const ENABLED: Record<Action, TrainingState[]> = {
  start: ['idle', 'paused', 'stopped', 'finished'],
  pause: ['running'],
  stop: ['running', 'paused'],
};

export function Controls({
  token,
  state,
  onChanged,
}: {
  token: string;
  state: TrainingState;
  onChanged: () => Promise<void>;
}) {
  const [busy, setBusy] = useState<Action | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (action: Action) => {
    if (action === 'stop' && !window.confirm('Stop training? The round in progress is aborted.')) return;
    setBusy(action);
    setError(null);
    try {
      await postJson(`/api/training/${action}`, token);
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
      {error && (
        <span className="text-error small" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
