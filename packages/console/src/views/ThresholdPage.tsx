/**
 * The operating threshold: the score above which a transaction becomes an alert, chosen
 * explicitly for this bank and shown with what it implies. Until chosen nothing is flagged.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../lib/api';
import { useRefreshTick } from '../lib/refresh';
import { formatTime } from '../lib/format';
import type { ThresholdKind, ThresholdState } from '../lib/types';
import { PrCurve } from '../components/PrCurve';
import { FeedbackPanel } from '../components/FeedbackPanel';

const KIND_LABEL: Record<ThresholdKind, string> = {
  probability: 'Fraud probability at least',
  fpr: 'False-positive rate at most',
  precision: 'Precision at least',
  'alerts-per-day': 'Alerts per day at most',
};

export function ThresholdPage({ canWrite }: { canWrite: boolean }) {
  const [state, setState] = useState<ThresholdState | null>(null);
  const [kind, setKind] = useState<ThresholdKind>('probability');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<ThresholdState>('GET', '/api/threshold')
      .then(setState)
      .catch((e: Error) => setError(e.message));
  // Another engineer may change it, and the daemon's rounds move the curve: read again on focus.
  const tick = useRefreshTick();
  useEffect(() => void load(), [tick]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await api('PUT', '/api/threshold', { kind, value: Number(value) });
      setValue('');
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  if (!state && error)
    return (
      <section className="card">
        <h1>Operating threshold</h1>
        <p className="callout callout-error" role="alert">
          {error}
        </p>
      </section>
    );
  if (!state) return <p className="muted">Loading…</p>;
  const t = state.threshold;
  return (
    <section className="card" data-testid="threshold-page">
      <h1>Operating threshold</h1>
      {t ? (
        <dl className="facts" data-testid="threshold-current">
          <dt>Flag when</dt>
          <dd>
            {KIND_LABEL[t.target.kind].toLowerCase()} {t.target.value}
            {t.target.kind !== 'probability' && ` (probability ≥ ${t.probability.toPrecision(4)})`}
          </dd>
          {t.implied && (
            <>
              <dt>
                On the validation split
                {t.validation ? ` (${t.validation.rows} rows, ${t.validation.frauds} frauds)` : ''}
              </dt>
              <dd>
                precision {(t.implied.precision * 100).toFixed(1)}%, recall {(t.implied.recall * 100).toFixed(1)}%,
                false-positive rate {(t.implied.fpr * 100).toFixed(2)}%
                {t.implied.alertsPerDay !== null && `, ${t.implied.alertsPerDay.toFixed(1)} alerts per day`}
              </dd>
            </>
          )}
          <dt>Chosen</dt>
          <dd>
            by {t.chosenBy}, {formatTime(t.at)}, model v{t.modelVersion}
          </dd>
        </dl>
      ) : (
        <p className="callout callout-warn" data-testid="threshold-none">
          Not chosen yet: nothing is flagged until an ML engineer or an admin chooses the operating threshold.
        </p>
      )}
      {t && t.curve.length > 0 && <PrCurve points={t.curve} chosen={t.implied} />}
      {canWrite && (
        <form onSubmit={submit} className="threshold-form">
          <label>
            Target
            <select
              value={kind}
              onChange={(e) => setKind(e.target.value as ThresholdKind)}
              data-testid="threshold-kind"
            >
              {state.targets.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </label>
          <label>
            Value
            <input
              value={value}
              onChange={(e) => setValue(e.target.value)}
              className="narrow"
              inputMode="decimal"
              data-testid="threshold-value"
            />
          </label>
          <button type="submit" className="btn btn-primary" data-testid="threshold-submit">
            Choose
          </button>
        </form>
      )}
      {error && <p className="callout callout-error">{error}</p>}
      <FeedbackPanel />
    </section>
  );
}
