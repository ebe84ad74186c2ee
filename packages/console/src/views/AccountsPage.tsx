/**
 * Accounts: upload a transaction file and get the account anomaly report computed in the
 * bank (as `finsecure-bank accounts`), or transaction-level Isolation Forest scores for a
 * bank with no labels; the score distribution with a threshold control (expected
 * contamination or a score cut-off), the table with reasons in words, and a CSV export.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { EarlierReports } from '../components/EarlierReports';
import { ScoreHistogram } from '../components/ScoreHistogram';
import { cutQuery, type AccountReportView, type Cut } from '../lib/accounts';
import { NumberField } from '../components/NumberField';
import { api, uploadFile } from '../lib/api';

const PAGE = 25;

function formatValue(x: number): string {
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return Math.abs(x) >= 100 ? x.toLocaleString('en-US', { maximumFractionDigits: 0 }) : x.toPrecision(3);
}

export function AccountsPage({ canRun }: { canRun: boolean }) {
  const [mode, setMode] = useState<'accounts' | 'transactions'>('accounts');
  const [layout, setLayout] = useState('auto');
  const [detector, setDetector] = useState('iforest');
  const [contamination, setContamination] = useState('0.01');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [report, setReport] = useState<AccountReportView | null>(null);
  const [cut, setCut] = useState<Cut | null>(null);
  const [cutKind, setCutKind] = useState<Cut['kind']>('contamination');
  const [cutValue, setCutValue] = useState('');
  const [flaggedOnly, setFlaggedOnly] = useState(false);
  const [offset, setOffset] = useState(0);
  const id = report?.id;
  // The consortium's score threshold (calibration job), offered as the cut-off of Isolation Forest reports.
  const [consortium, setConsortium] = useState<{ threshold: number; contamination: number; banks: number } | null>(
    null,
  );
  useEffect(() => {
    api<{ threshold: { threshold: number; contamination: number; banks: number } | null }>(
      'GET',
      '/api/consortium-threshold',
    )
      .then((r) => setConsortium(r.threshold))
      .catch(() => setConsortium(null));
  }, []);

  // Threshold, filter or page changed: the server re-flags the stored report.
  useEffect(() => {
    if (!id) return;
    const q = [cutQuery(cut), `offset=${offset}`, `limit=${PAGE}`, `flagged=${flaggedOnly ? 1 : 0}`].filter(Boolean);
    // The answer of the newest cut only: an older, slower one must not replace it.
    let live = true;
    api<AccountReportView>('GET', `/api/accounts/reports/${id}?${q.join('&')}`)
      .then((r) => live && (setReport(r), setError(null)))
      .catch((e: unknown) => live && setError((e as Error).message));
    return () => {
      live = false;
    };
  }, [id, cut, offset, flaggedOnly]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setError('Choose a transaction file first.');
    setBusy(true);
    setError(null);
    const q =
      mode === 'accounts'
        ? `layout=${layout}&detector=${detector}&contamination=${encodeURIComponent(contamination)}`
        : `contamination=${encodeURIComponent(contamination)}`;
    try {
      const r = await uploadFile<AccountReportView>(
        `/api/accounts/${mode === 'accounts' ? 'reports' : 'transactions'}?${q}`,
        file,
      );
      show(r);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  /** A report just built or reopened, at its own contamination, first page. */
  const show = (r: AccountReportView) => {
    setReport(r);
    setCut(null);
    setCutKind('contamination');
    setCutValue(String(r.contamination));
    setOffset(0);
    setFlaggedOnly(false);
  };
  const reopen = (reportId: string) => {
    setError(null);
    api<AccountReportView>('GET', `/api/accounts/reports/${reportId}?offset=0&limit=${PAGE}&flagged=0`)
      .then(show)
      .catch((e: unknown) => setError((e as Error).message));
  };

  const applyCut = (e: FormEvent) => {
    e.preventDefault();
    const v = Number(cutValue);
    if (cutValue.trim() === '' || !Number.isFinite(v)) return setError('The threshold must be a number.');
    if (cutKind === 'contamination' && !(v > 0 && v <= 0.5))
      return setError('The expected contamination must be > 0 and ≤ 0.5.');
    setOffset(0);
    setCut({ kind: cutKind, value: v });
  };

  const unit = report?.kind === 'transactions' ? 'transactions' : 'accounts';
  return (
    <>
      {canRun && (
        <section className="card">
          <h1>Accounts</h1>
          <p className="muted">
            Find unusual accounts without fraud labels: a transaction file (handbook CUSTOMER_ID layout, Berka
            trans.asc, or a plain export Timestamp,TransactionID,AccountID,Amount,…; plain or .gz) is read here, in the
            bank, and every account is scored against the others. Or score each transaction of a file in the bank&apos;s
            scoring layout (no label column needed).
          </p>
          <form onSubmit={submit} className="filters" data-testid="accounts-form">
            <label>
              Score
              <select value={mode} onChange={(e) => setMode(e.target.value as typeof mode)} data-testid="accounts-mode">
                <option value="accounts">accounts (account report)</option>
                <option value="transactions">transactions (Isolation Forest, no labels)</option>
              </select>
            </label>
            {mode === 'accounts' && (
              <>
                <label>
                  Layout
                  <select value={layout} onChange={(e) => setLayout(e.target.value)} data-testid="accounts-layout">
                    <option value="auto">auto-detect</option>
                    <option value="handbook">handbook</option>
                    <option value="berka">Berka trans.asc</option>
                    <option value="export">plain export</option>
                  </select>
                </label>
                <label>
                  Detector
                  <select
                    value={detector}
                    onChange={(e) => setDetector(e.target.value)}
                    data-testid="accounts-detector"
                  >
                    <option value="iforest">Isolation Forest</option>
                    <option value="lof">Local Outlier Factor</option>
                  </select>
                </label>
              </>
            )}
            <NumberField
              label="Expected contamination"
              value={contamination}
              onChange={setContamination}
              testId="accounts-contamination"
              min="0"
              max="0.5"
            />
            <label>
              Transaction file
              <input
                type="file"
                accept=".csv,.asc,.gz,.txt,text/csv"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
                data-testid="accounts-file"
              />
            </label>
            <button type="submit" className="btn btn-primary" disabled={busy} data-testid="accounts-submit">
              {busy ? 'Computing…' : 'Build report'}
            </button>
          </form>
        </section>
      )}
      <EarlierReports current={id} refreshKey={id} onOpen={reopen} />
      {error && (
        <p className="callout callout-error" role="alert" data-testid="accounts-error">
          {error}
        </p>
      )}
      {!canRun && (
        <section className="card">
          <h1>Accounts</h1>
          {!report && <p className="muted">You may read reports but not build them.</p>}
        </section>
      )}
      {report && (
        <section className="card" data-testid="accounts-report">
          <h2>
            {report.file}{' '}
            <span className="muted small">
              ({report.kind === 'accounts' ? 'account report' : 'transaction scores'})
            </span>
          </h2>
          <p data-testid="accounts-summary">
            {report.rowsTotal.toLocaleString('en-US')} {unit} from {report.transactions.toLocaleString('en-US')}{' '}
            transactions ({report.layout} layout),{' '}
            {report.detector === 'iforest' ? 'Isolation Forest' : 'Local Outlier Factor'}:{' '}
            <strong data-testid="accounts-flagged">{report.flagged} flagged</strong>{' '}
            {report.threshold === null ? '(nothing scored)' : `(anomaly score > ${report.threshold.toFixed(4)})`}.{' '}
            <span className="muted small">
              Computed in {report.seconds.toFixed(2)} s; kept in memory until the daemon restarts.
            </span>
          </p>
          {report.notes.map((n) => (
            <p key={n} className="callout callout-warn" data-testid="accounts-note">
              {n}
            </p>
          ))}
          {report.histogram.length > 0 && (
            <>
              <ScoreHistogram bins={report.histogram} threshold={report.threshold} />
              <form onSubmit={applyCut} className="filters" data-testid="accounts-threshold">
                <label>
                  Threshold by
                  <select
                    value={cutKind}
                    onChange={(e) => setCutKind(e.target.value as Cut['kind'])}
                    data-testid="accounts-cut-kind"
                  >
                    <option value="contamination">expected contamination (share of {unit})</option>
                    <option value="cutoff">score cut-off (flag above)</option>
                  </select>
                </label>
                <input
                  className="narrow"
                  type="number"
                  step="any"
                  value={cutValue}
                  onChange={(e) => setCutValue(e.target.value)}
                  data-testid="accounts-cut-value"
                />
                <button type="submit" className="btn" data-testid="accounts-cut-apply">
                  Apply
                </button>
                {consortium && report.detector === 'iforest' && (
                  <button
                    type="button"
                    className="btn"
                    data-testid="accounts-consortium-threshold"
                    title={`Calibrated across ${consortium.banks} banks for ${(consortium.contamination * 100).toFixed(1)} % contamination`}
                    onClick={() => {
                      setCutKind('cutoff');
                      setCutValue(String(consortium.threshold));
                      setOffset(0);
                      setCut({ kind: 'cutoff', value: consortium.threshold });
                    }}
                  >
                    Consortium threshold ({consortium.threshold.toFixed(4)})
                  </button>
                )}
                <label>
                  <input
                    type="checkbox"
                    checked={flaggedOnly}
                    onChange={(e) => (setOffset(0), setFlaggedOnly(e.target.checked))}
                    data-testid="accounts-flagged-only"
                  />{' '}
                  flagged only
                </label>
                <a
                  className="btn"
                  href={`/api/accounts/reports/${report.id}/csv?${cutQuery(cut)}`}
                  download
                  data-testid="accounts-export"
                >
                  Export CSV
                </a>
              </form>
            </>
          )}
          <div style={{ overflowX: 'auto' }}>
            <table className="table" style={{ fontSize: 13 }} data-testid="accounts-table">
              <thead>
                <tr>
                  <th>{report.kind === 'accounts' ? 'Account' : 'Transaction'}</th>
                  <th className="num">Score</th>
                  <th>Flag</th>
                  <th>Top reasons</th>
                  {report.featureNames.map((f, j) => (
                    <th key={f} className="num" title={report.featureLabels[j]}>
                      {f}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {report.rows.map((r) => (
                  <tr key={`${r.id}:${r.line ?? ''}`} data-testid="accounts-row">
                    <td className="mono">
                      {r.id}
                      {r.line !== null && <span className="muted small"> (line {r.line})</span>}
                    </td>
                    <td className="num mono">{r.score === null ? '—' : r.score.toFixed(4)}</td>
                    <td>{r.flagged ? <span className="badge status-open">flagged</span> : ''}</td>
                    <td className="small" style={{ minWidth: 460 }}>
                      {r.reasons.length ? (
                        <ul style={{ margin: 0, paddingLeft: 16 }}>
                          {r.reasons.map((x) => (
                            <li key={x.feature}>{x.text}</li>
                          ))}
                        </ul>
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                    {r.features.map((v, j) => (
                      <td key={j} className="num">
                        {formatValue(v)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <span className="muted">
              {report.matching === 0
                ? 'none'
                : `${offset + 1}–${Math.min(offset + PAGE, report.matching)} of ${report.matching}`}
              , most anomalous first
            </span>
            <button className="btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              ← Previous
            </button>
            <button
              className="btn"
              disabled={offset + PAGE >= report.matching}
              onClick={() => setOffset(offset + PAGE)}
            >
              Next →
            </button>
          </div>
        </section>
      )}
    </>
  );
}
