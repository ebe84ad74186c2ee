/** Score a CSV file: flagged rows join the alert queue; a bad row is named by line and column. */
import { useState, type FormEvent } from 'react';
import { uploadFile } from '../lib/api';
import type { UploadResult } from '../lib/types';

export function UploadPage() {
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<UploadResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return setError('Choose a CSV file first.');
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await uploadFile<UploadResult>('/api/uploads', file));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card">
      <h1>Score a file</h1>
      <p className="muted">
        A CSV of transactions (plain or .gz) in the bank&apos;s layout; the label column may be absent. Id columns
        (transaction id, account or customer id, time) stay with each transaction.
      </p>
      <form onSubmit={submit} className="upload-form">
        <label>
          Transactions (CSV)
          <input
            type="file"
            accept=".csv,.gz,text/csv"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            data-testid="upload-file"
          />
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="upload-submit">
          {busy ? 'Scoring…' : 'Score'}
        </button>
      </form>
      {error && (
        <p className="callout callout-error" role="alert" data-testid="upload-error">
          {error}
        </p>
      )}
      {result && (
        <div className={`callout ${result.threshold ? 'callout-ok' : 'callout-warn'}`} data-testid="upload-result">
          <strong>{result.file}</strong>: {result.message} (model v{result.modelVersion}).{' '}
          {result.flagged > 0 && (
            <>
              Their reasons are being computed, highest score first. <a href="#/alerts">Open the alert queue →</a>
            </>
          )}
          {result.notices.map((n) => (
            <div key={n} className="small muted">
              {n}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
