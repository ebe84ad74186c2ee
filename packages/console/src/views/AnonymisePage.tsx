/**
 * Anonymise: upload a transaction file and keep a safe copy of it for sharing, made in the
 * bank by the same code as `finsecure-bank anonymise` (POST /api/anonymise). The form has
 * the CLI's options; the answer is the report (what was done to each column, ε, the
 * k-anonymity of the quasi-identifiers) and a download link; a refusal (min k not met, a
 * column with no role) writes nothing and is explained, with a role picker for unplaced
 * columns. Below: the bank's earlier runs.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { NumberField } from '../components/NumberField';
import { api, ApiError, uploadFile } from '../lib/api';
import { ReportTable, type Report, type RunSummary } from './AnonymiseReport';

const ROLES = [
  'drop',
  'keep',
  'categorical',
  'label',
  'name',
  'email',
  'phone',
  'free-text',
  'account-number',
  'customer-id',
  'account-id',
  'transaction-id',
  'amount',
  'timestamp',
] as const;

export function AnonymisePage() {
  const [file, setFile] = useState<File | null>(null);
  const [amount, setAmount] = useState<'laplace' | 'band'>('laplace');
  const [epsilon, setEpsilon] = useState('1');
  const [clip, setClip] = useState('1000');
  const [bands, setBands] = useState('');
  const [time, setTime] = useState<'hour' | 'day'>('hour');
  const [minK, setMinK] = useState('');
  const [knownTransactions, setKnownTransactions] = useState('');
  const [dropUnclassified, setDropUnclassified] = useState(false);
  const [roles, setRoles] = useState<Record<string, string>>({});
  const [unplaced, setUnplaced] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<Report | null>(null);
  const [result, setResult] = useState<(RunSummary & { report: Report }) | null>(null);
  const [runs, setRuns] = useState<RunSummary[]>([]);

  const loadRuns = useCallback(() => {
    api<{ runs: RunSummary[] }>('GET', '/api/anonymise')
      .then((r) => setRuns(r.runs))
      .catch((e: unknown) => setError((e as Error).message));
  }, []);
  useEffect(loadRuns, [loadRuns]);

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (!file) return setError('Choose a transaction file first.');
    const q = new URLSearchParams({ amount, time, unclassified: dropUnclassified ? 'drop' : 'refuse' });
    if (amount === 'laplace') {
      q.set('epsilon', epsilon);
      q.set('clip', clip);
    } else if (bands.trim()) q.set('bands', bands.trim());
    if (minK.trim()) q.set('minK', minK.trim());
    if (knownTransactions.trim()) q.set('knownTransactions', knownTransactions.trim());
    if (Object.keys(roles).length) q.set('mapping', JSON.stringify({ columns: roles }));
    setBusy(true);
    setError(null);
    setRefusal(null);
    setResult(null);
    try {
      const r = await uploadFile<RunSummary & { report: Report }>(`/api/anonymise?${q}`, file);
      setResult(r);
      setUnplaced([]);
      loadRuns();
    } catch (err) {
      setError((err as Error).message);
      if (err instanceof ApiError && err.body.error === 'min_k') setRefusal(err.body.report as Report);
      if (err instanceof ApiError && err.body.error === 'unclassified') {
        const cols = err.body.columns as string[];
        setUnplaced(cols);
        setRoles((r) => ({ ...r, ...Object.fromEntries(cols.filter((c) => !(c in r)).map((c) => [c, 'drop'])) }));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <section className="card" data-testid="anonymise-page">
        <h1>Anonymise</h1>
        <p className="muted">
          Make a safe copy of a transaction file to share with analysts, here in the bank (as{' '}
          <span className="mono">finsecure-bank anonymise</span>): names, e-mails, phones and free text are dropped;
          customer, account and transaction ids become keyed pseudonyms; account, IBAN and card numbers keep their last
          four characters; amounts get Laplace noise (ε per transaction) or are rounded to bands; timestamps are
          generalised. The pseudonyms use the bank&apos;s own sealed key, so a customer here has the same pseudonym as
          on the Segments page (only the bank can re-identify). Only the safe copy is kept, never the uploaded file.
        </p>
        <form onSubmit={submit} className="filters" data-testid="anonymise-form">
          <label>
            Transaction file (CSV)
            <input
              type="file"
              accept=".csv,.gz,text/csv"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                setRoles({});
                setUnplaced([]);
              }}
              data-testid="anonymise-file"
            />
          </label>
          <label>
            Amounts
            <select
              value={amount}
              onChange={(e) => setAmount(e.target.value as typeof amount)}
              data-testid="anonymise-amount"
            >
              <option value="laplace">Laplace noise (ε)</option>
              <option value="band">bands</option>
            </select>
          </label>
          {amount === 'laplace' ? (
            <>
              <NumberField
                label="ε per transaction"
                value={epsilon}
                onChange={setEpsilon}
                testId="anonymise-epsilon-input"
                min="0"
              />
              <label>
                Clip amounts at
                <input
                  className="narrow"
                  type="number"
                  step="any"
                  min="0"
                  value={clip}
                  onChange={(e) => setClip(e.target.value)}
                />
              </label>
            </>
          ) : (
            <label>
              Band edges
              <input
                value={bands}
                placeholder="0,10,20,50,100,200,500,1000,2000,5000"
                onChange={(e) => setBands(e.target.value)}
              />
            </label>
          )}
          <label>
            Timestamps to the
            <select value={time} onChange={(e) => setTime(e.target.value as typeof time)} data-testid="anonymise-time">
              <option value="hour">hour</option>
              <option value="day">day</option>
            </select>
          </label>
          <NumberField label="Minimum k" value={minK} onChange={setMinK} testId="anonymise-min-k" min="1" step="1" />
          <NumberField
            label="Known transactions (m)"
            value={knownTransactions}
            onChange={setKnownTransactions}
            testId="anonymise-known-transactions"
            min="1"
            step="1"
            title="Count k as k^m-anonymity: any m of a person's transactions are shared by at least k people. Empty: the k of each person's whole record."
          />
          <label>
            <input type="checkbox" checked={dropUnclassified} onChange={(e) => setDropUnclassified(e.target.checked)} />{' '}
            drop columns with no role
          </label>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="anonymise-submit">
            {busy ? 'Anonymising…' : 'Anonymise'}
          </button>
        </form>
        {unplaced.length > 0 && (
          <div className="callout callout-warn" data-testid="anonymise-roles">
            Give these columns a role, then run again:
            {unplaced.map((c) => (
              <label key={c} style={{ marginLeft: 12 }}>
                <span className="mono">{c}</span>{' '}
                <select value={roles[c] ?? 'drop'} onChange={(e) => setRoles({ ...roles, [c]: e.target.value })}>
                  {ROLES.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </label>
            ))}
            <button className="btn" style={{ marginLeft: 12 }} disabled={busy} onClick={() => void submit()}>
              Run again
            </button>
          </div>
        )}
        {error && (
          <p className="callout callout-error" role="alert" data-testid="anonymise-error">
            {error}
          </p>
        )}
        {refusal && <ReportTable report={refusal} />}
      </section>
      {result && (
        <section className="card" data-testid="anonymise-result">
          <h3>
            {result.file}: safe copy written{' '}
            <a className="btn" href={result.download} download data-testid="anonymise-download">
              Download CSV
            </a>
          </h3>
          <ReportTable report={result.report} />
        </section>
      )}
      <section className="card">
        <h3>Earlier runs</h3>
        {runs.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <table className="table" data-testid="anonymise-runs">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>File</th>
                <th className="num">Rows</th>
                <th className="num">k</th>
                <th className="num">ε / transaction</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>{new Date(r.at).toLocaleString()}</td>
                  <td>{r.by}</td>
                  <td className="mono">{r.file}</td>
                  <td className="num">{r.rows.toLocaleString('en-US')}</td>
                  <td className="num">{r.kAnonymity}</td>
                  <td className="num">{r.amount === 'laplace' ? r.epsilonPerTransaction : 'bands (0)'}</td>
                  <td>
                    <a href={r.download} download>
                      download
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
