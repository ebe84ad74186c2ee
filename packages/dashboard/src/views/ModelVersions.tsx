/**
 * Every model version: its round, federated AUPRC and F1, the best one marked, a download of
 * any version, and (for roles with training control: admins and ML engineers) a rollback that
 * makes an earlier version the global model again.
 */
import { useCallback, useEffect, useState } from 'react';
import { Badge } from '../components/Badge';
import { Panel } from '../components/Panel';
import { downloadFile, getJson, postJson } from '../lib/api';
import { formatDateTime } from '../lib/format';
import type { ModelVersionView } from '../lib/types';

const pct = (x: number | null) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—');

export function ModelVersions({
  token,
  canRollBack,
  currentVersion,
}: {
  token: string;
  /** The role may roll back (training.control: admins and ML engineers, as the route allows). */
  canRollBack: boolean;
  /** Reloads the list when the global model changes. */
  currentVersion: number;
}) {
  const [versions, setVersions] = useState<ModelVersionView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Apart from the actions' errors: the next load that succeeds clears it (an aggregator restart
  // fails one load; the panel must not say so for ever after).
  const [loadError, setLoadError] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  const load = useCallback(async () => {
    try {
      setVersions(await getJson<ModelVersionView[]>('/api/models', token));
      setLoadError(null);
    } catch (err) {
      setLoadError(`Could not load the model versions: ${(err as Error).message}`);
    }
  }, [token]);
  useEffect(() => void load(), [load, currentVersion]);

  const rollback = async (v: number) => {
    if (!window.confirm(`Make model v${v} the global model again? It is stored as a new version.`)) return;
    setBusy(v);
    setError(null);
    try {
      await postJson(`/api/models/${v}/rollback`, token);
      await load();
    } catch (err) {
      setError(`Rollback refused: ${(err as Error).message}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Panel
      id="model-versions"
      title="Model versions"
      testId="model-versions"
      subtitle="Every committed version can be downloaded; the best by federated AUPRC is marked."
    >
      {loadError && (
        <p className="text-error small" role="alert">
          {loadError}
        </p>
      )}
      {error && (
        <p className="text-error small" role="alert">
          {error}
        </p>
      )}
      {!versions ? (
        <p className="muted">Loading…</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="model-versions-table">
            <thead>
              <tr>
                <th>Version</th>
                <th>From</th>
                <th className="num">AUPRC</th>
                <th className="num">F1</th>
                <th>Committed</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.slice(0, 50).map((m) => (
                <tr key={m.version} data-testid="model-version-row" data-version={m.version}>
                  <td>
                    v{m.version} {m.current && <Badge tone="ok">current</Badge>}{' '}
                    {m.best && (
                      <span data-testid="best-model">
                        <Badge tone="info">best</Badge>
                      </span>
                    )}
                  </td>
                  <td>{m.origin === 'round' ? `round ${m.roundId}` : m.origin}</td>
                  <td className="num">{pct(m.auprc)}</td>
                  <td className="num">{pct(m.f1)}</td>
                  <td>{m.committedAt ? formatDateTime(m.committedAt) : '—'}</td>
                  <td className="row-buttons">
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() =>
                        void downloadFile(
                          `/api/models/${m.version}/model.json`,
                          token,
                          `model-v${m.version}.json`,
                        ).catch((err: Error) => setError(`Download failed: ${err.message}`))
                      }
                    >
                      model.json
                    </button>
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() =>
                        void downloadFile(
                          `/api/models/${m.version}/weights.bin`,
                          token,
                          `weights-v${m.version}.bin`,
                        ).catch((err: Error) => setError(`Download failed: ${err.message}`))
                      }
                    >
                      weights.bin
                    </button>
                    {canRollBack && !m.current && (
                      <button
                        type="button"
                        className="btn btn-small"
                        data-testid={`rollback-${m.version}`}
                        disabled={busy !== null}
                        onClick={() => void rollback(m.version)}
                      >
                        {busy === m.version ? '…' : 'Roll back to this'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
