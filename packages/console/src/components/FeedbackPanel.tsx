/**
 * The analyst feedback loop at a glance (GET /api/feedback): labels this bank's analysts
 * confirmed (each joins the next rounds' local training), labels used per round, and the
 * bank's own validation metrics of each global model, so one sees whether they moved.
 */
import { useEffect, useState } from 'react';
import { api } from '../lib/api';
import { useRefreshTick } from '../lib/refresh';
import { formatTime } from '../lib/format';

interface FeedbackState {
  labels: { total: number; confirmedFraud: number; falsePositive: number };
  rounds: { roundId: number; at: number; labels: number; added: number; rows: number; weight: number }[];
  evaluations: {
    roundId: number;
    modelVersion: number;
    at: number;
    loss: number;
    precision: number | null;
    recall: number | null;
    falsePositiveRate: number | null;
  }[];
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

export function FeedbackPanel() {
  const [state, setState] = useState<FeedbackState | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The daemon's rounds add to it: read again when the analyst comes back to the window.
  const tick = useRefreshTick();
  useEffect(() => {
    api<FeedbackState>('GET', '/api/feedback')
      .then((s) => (setState(s), setError(null)))
      .catch((e: Error) => setError(e.message));
  }, [tick]);
  if (error) return <p className="callout callout-error">{error}</p>;
  if (!state) return null;
  const last = state.rounds.at(-1);
  return (
    <section className="card" data-testid="feedback-panel">
      <h2>Analyst feedback</h2>
      <dl className="facts">
        <dt>Labels contributed</dt>
        <dd data-testid="feedback-labels">
          {state.labels.total} ({state.labels.confirmedFraud} confirmed fraud, {state.labels.falsePositive} false
          positives)
        </dd>
        <dt>Last round</dt>
        <dd>
          {last
            ? `round ${last.roundId}: ${last.added} labels × ${last.weight} = ${last.rows} training rows (${formatTime(last.at)})`
            : 'no round has trained yet'}
        </dd>
      </dl>
      {state.evaluations.length > 0 && (
        <table className="table" data-testid="feedback-metrics">
          <thead>
            <tr>
              <th>Model</th>
              <th>Precision</th>
              <th>Recall</th>
              <th>False-positive rate</th>
              <th>Loss</th>
            </tr>
          </thead>
          <tbody>
            {state.evaluations.slice(-10).map((e) => (
              <tr key={`${e.roundId}-${e.modelVersion}`}>
                <td>v{e.modelVersion}</td>
                <td>{pct(e.precision)}</td>
                <td>{pct(e.recall)}</td>
                <td>{pct(e.falsePositiveRate)}</td>
                <td>{e.loss.toFixed(4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
