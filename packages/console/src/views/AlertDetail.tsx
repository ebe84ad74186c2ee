/** One alert: the transaction, its score, its reasons, similar past cases, decisions. */
import { useCallback, useEffect, useState } from 'react';
import { ReasonsChart } from '../components/ReasonsChart';
import { StatusBadge } from '../components/StatusBadge';
import { api } from '../lib/api';
import { DECISION_LABEL, formatAmount, formatProbability, formatTime } from '../lib/format';
import type { AlertDetail as Detail } from '../lib/types';
import { DecisionForm } from './DecisionForm';

export function AlertDetail({ id, canDecide }: { id: number; canDecide: boolean }) {
  const [a, setA] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loads, setLoads] = useState(0);
  const load = useCallback(() => setLoads((n) => n + 1), []);
  useEffect(() => {
    // Only the answer for the alert in the URL is shown: after a click on a similar case, a slower
    // answer for the previous alert must not come back under the decision form (which would decide it).
    let live = true;
    setA((shown) => (shown?.id === id ? shown : null));
    setError(null);
    api<Detail>('GET', `/api/alerts/${id}`)
      .then((d) => live && (setA(d), setError(null)))
      .catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [id, loads]);

  if (error)
    return (
      <section className="card">
        <h1>Alert {id}</h1>
        <p className="callout callout-error" role="alert" data-testid="alert-error">
          {error}
        </p>
      </section>
    );
  if (!a) return <p className="muted">Loading…</p>;
  return (
    <div className="detail" data-testid="alert-detail">
      <p>
        <a href="#/alerts">← Alerts</a>
      </p>
      <section className="card">
        <h1>
          Transaction <span className="mono">{a.transactionId}</span> <StatusBadge status={a.status} />
        </h1>
        <dl className="facts">
          <dt>Fraud probability</dt>
          <dd className="mono" data-testid="detail-score">
            {formatProbability(a.probability, a.logit)} <span className="muted">(logit {a.logit.toFixed(3)})</span>
          </dd>
          <dt>Account</dt>
          <dd>{a.accountId ?? '—'}</dd>
          <dt>Time</dt>
          <dd>{a.time ?? '—'}</dd>
          <dt>Amount</dt>
          <dd>{formatAmount(a.amount)}</dd>
          <dt>Source</dt>
          <dd>
            {a.source}
            {a.line !== null ? `, line ${a.line}` : ''} · model v{a.modelVersion} · flagged {formatTime(a.createdAt)}
          </dd>
        </dl>
      </section>
      <div className="two-col">
        <section className="card">
          <h3>Why it was flagged</h3>
          {a.explanationNote ? (
            <p className="muted">{a.explanationNote}</p>
          ) : (
            <ReasonsChart reasons={a.reasons} bars={a.bars} method={a.explanation?.method ?? null} />
          )}
        </section>
        <section className="card">
          <h3>Decision</h3>
          {a.decisions.length > 0 && (
            <ul className="decisions" data-testid="decisions">
              {a.decisions.map((d) => (
                <li key={d.id}>
                  <strong>{DECISION_LABEL[d.decision]}</strong> by {d.analyst}, {formatTime(d.at)}
                  {d.note && <div className="note">{d.note}</div>}
                </li>
              ))}
            </ul>
          )}
          {canDecide ? (
            <DecisionForm alertId={a.id} onDecided={load} />
          ) : (
            <p className="muted">Your role cannot decide alerts.</p>
          )}
        </section>
      </div>
      <section className="card">
        <h3>Similar past cases</h3>
        {a.similar.length === 0 ? (
          <p className="muted">No other alerts yet.</p>
        ) : (
          <table className="table" data-testid="similar-table">
            <thead>
              <tr>
                <th>Transaction</th>
                <th>Score</th>
                <th className="num">Amount</th>
                <th>Status</th>
                <th className="num">Distance</th>
              </tr>
            </thead>
            <tbody>
              {a.similar.map((s) => (
                <tr key={s.id}>
                  <td>
                    <a href={`#/alerts/${s.id}`}>{s.transactionId}</a>
                  </td>
                  <td className="mono">{formatProbability(s.probability, s.logit)}</td>
                  <td className="num">{formatAmount(s.amount)}</td>
                  <td>
                    <StatusBadge status={s.status} />
                  </td>
                  <td className="num">{s.distance.toFixed(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <details className="card">
        <summary>All features</summary>
        <table className="table compact">
          <tbody>
            {Object.entries(a.features).map(([k, v]) => (
              <tr key={k}>
                <td>{k}</td>
                <td className="num mono">{v.toPrecision(6)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}
