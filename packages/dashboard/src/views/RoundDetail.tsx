/** One round in full: participants and their FedAvg weights, per-bank results, phases, failure reason. */
import { useEffect, useState } from 'react';
import { RoundStatusBadge } from '../components/Badge';
import { EmptyState, Panel } from '../components/Panel';
import { ApiError, getJson } from '../lib/api';
import { formatBytes, formatDateTime, formatDecimal, formatMs, formatNumber, formatPct } from '../lib/format';
import { compressionRatio, encodingOf } from '../lib/rounds';
import type { RoundRecord } from '../lib/types';
import { isSecureRound, RoundStages, SecureAggregationBadge } from './RoundStages';

export function RoundDetail({
  token,
  roundId,
  rounds,
  parameters,
  onClose,
}: {
  token: string;
  roundId: number | null;
  rounds: RoundRecord[];
  /** The current model's size, for stored rounds that lack `parameters`. */
  parameters: number | null;
  onClose: () => void;
}) {
  const fromList = roundId === null ? undefined : rounds.find((r) => r.id === roundId);
  const [fetched, setFetched] = useState<RoundRecord | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setFetched(null);
    setError(null);
    if (roundId === null || fromList) return;
    let cancelled = false;
    getJson<RoundRecord>(`/api/rounds/${roundId}`, token).then(
      (r) => !cancelled && setFetched(r),
      (err: unknown) =>
        !cancelled &&
        setError(
          err instanceof ApiError && err.status === 404 ? `Round ${roundId} does not exist.` : (err as Error).message,
        ),
    );
    return () => {
      cancelled = true;
    };
    // fromList is only checked to skip the fetch; a live update must not refetch.
  }, [roundId, token]);

  const round = fromList ?? fetched;
  if (roundId === null) {
    return (
      <Panel title="Round detail" testId="round-detail-empty" className="detail">
        <EmptyState title="No round selected">
          Click a round in the list to see who took part, with what weight, and how it went.
        </EmptyState>
      </Panel>
    );
  }
  if (!round) {
    return (
      <Panel title={`Round ${roundId}`} testId="round-detail" className="detail">
        <p className={error ? 'text-error' : 'muted'}>{error ?? 'Loading…'}</p>
      </Panel>
    );
  }

  const ids = [...new Set([...round.selected, ...Object.keys(round.banks)])].sort();
  const encoding = encodingOf(round);
  const secure = isSecureRound(round);
  const m = round.metrics;
  return (
    <Panel
      title={`Round ${round.id}`}
      testId="round-detail"
      className="detail"
      subtitle={
        <>
          <RoundStatusBadge status={round.status} /> <SecureAggregationBadge round={round} /> started{' '}
          {formatDateTime(round.startedAt)}
          {round.modelVersion !== null
            ? ` · produced model v${round.modelVersion}`
            : ` · from model v${round.baseModelVersion}`}
        </>
      }
      actions={
        <button type="button" className="btn btn-ghost" onClick={onClose} aria-label="Close round detail">
          Close
        </button>
      }
    >
      {round.status === 'failed' && (
        <p className="callout callout-error" data-testid="round-failure">
          <strong>This round failed:</strong> {round.failureReason ?? 'no reason recorded'}. The global model was not
          changed.
        </p>
      )}
      <dl className="kv kv-inline">
        <div>
          <dt>Participants</dt>
          <dd>
            {round.participants.length} of {round.selected.length} selected
          </dd>
        </div>
        <div>
          <dt>Training</dt>
          <dd>{formatMs(round.durations.trainingMs)}</dd>
        </div>
        <div>
          <dt>Aggregation</dt>
          <dd>{formatMs(round.durations.aggregationMs)}</dd>
        </div>
        <div>
          <dt>Evaluation</dt>
          <dd>{formatMs(round.durations.evaluationMs)}</dd>
        </div>
        <div>
          <dt>Total</dt>
          <dd>{formatMs(round.durations.totalMs)}</dd>
        </div>
        {m && (
          <>
            <div>
              <dt>F1 / AUPRC</dt>
              <dd>
                {formatPct(m.f1)} / {formatPct(m.auprc)}
              </dd>
            </div>
            <div>
              <dt>ROC AUC</dt>
              <dd>{formatPct(m.rocAuc)}</dd>
            </div>
          </>
        )}
      </dl>
      <RoundStages round={round} />
      <div className="table-wrap">
        <table className="table table-compact" data-testid="round-participants">
          <thead>
            <tr>
              <th>Bank</th>
              <th>Weight</th>
              <th className="num">Examples</th>
              <th className="num">Train loss</th>
              <th className="num">Train time</th>
              <th className="num">Update</th>
              <th className="num">F1</th>
              <th className="num" title="Its share of the pooled evaluation behind the round's metrics (after the cap)">
                Eval share
              </th>
              <th className="outcome">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {ids.map((id) => {
              const b = round.banks[id];
              const weight = b?.weight ?? 0;
              const ratio = encoding !== 'float32' ? compressionRatio(round, b, parameters) : null;
              return (
                <tr key={id} data-testid="participant-row" data-bank-id={id}>
                  <td className="nowrap">{id}</td>
                  <td>
                    {secure ? (
                      // A masked update's weight is a masked coordinate: the aggregator never learns it.
                      <span className="muted" title="Masked: the aggregator only learns the sum of the weights">
                        masked
                      </span>
                    ) : (
                      <span className="weight">
                        <span className="meter" aria-hidden>
                          <span className="meter-fill" style={{ width: `${Math.min(100, weight * 100)}%` }} />
                        </span>
                        {formatPct(weight)}
                      </span>
                    )}
                  </td>
                  <td className="num">{formatNumber(b?.numExamples)}</td>
                  <td className="num">{formatDecimal(b?.loss, 4)}</td>
                  <td className="num">{formatMs(b?.trainMs)}</td>
                  <td className="num">
                    {formatBytes(b?.updateBytes)}
                    {ratio !== null && <span className="muted"> ({ratio.toFixed(1)}×)</span>}
                  </td>
                  {secure ? (
                    // The secure evaluation sums every bank's counts masked: only the pooled metrics exist.
                    <>
                      <td className="num muted" title="Masked: the aggregator only learns the pooled counts">
                        masked
                      </td>
                      <td
                        className="num muted"
                        data-testid="evaluation-share"
                        title="Masked: the aggregator only learns the pooled counts"
                      >
                        masked
                      </td>
                    </>
                  ) : (
                    <>
                      <td className="num">{formatPct(b?.metrics?.f1)}</td>
                      <td
                        className="num"
                        data-testid="evaluation-share"
                        title={
                          b?.evaluationShare && b.evaluationShare.cappedShare < b.evaluationShare.share
                            ? `capped from ${formatPct(b.evaluationShare.share)}`
                            : undefined
                        }
                      >
                        {formatPct(b?.evaluationShare?.cappedShare)}
                      </td>
                    </>
                  )}
                  <td>
                    {b?.rejected ? (
                      <span className="text-error">✕ {b.rejected}</span>
                    ) : round.participants.includes(id) ? (
                      <span className="text-ok">contributed</span>
                    ) : (
                      <span className="muted">{round.selected.includes(id) ? 'no update' : 'not selected'}</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        Model:{' '}
        {formatNumber((typeof round.config.parameters === 'number' ? round.config.parameters : null) ?? parameters)}{' '}
        parameters, updates encoded as {encoding}.
      </p>
    </Panel>
  );
}
