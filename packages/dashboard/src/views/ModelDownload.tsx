/** Download of the current global model (TF.js layers format: model.json + weights.bin). */
import { useState } from 'react';
import { Panel } from '../components/Panel';
import { downloadFile } from '../lib/api';
import { formatNumber } from '../lib/format';
import type { ModelInfo } from '../lib/types';

export function ModelDownload({ token, model }: { token: string; model: ModelInfo | null }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const get = async (file: 'model.json' | 'weights.bin') => {
    setBusy(file);
    setError(null);
    try {
      await downloadFile(`/api/model/${file}`, token, file);
    } catch (err) {
      setError(`Download failed: ${(err as Error).message}`);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Panel
      id="model"
      title="Global model"
      testId="model-download"
      subtitle="The current global model in TF.js layers format. Banks score transactions with it locally."
    >
      {!model ? (
        <p className="muted">Model information is not available.</p>
      ) : (
        <>
          <dl className="kv">
            <div>
              <dt>Version</dt>
              <dd data-testid="model-version">
                v{model.version}
                {model.version === 0 && <span className="muted"> (initial weights, no round committed yet)</span>}
              </dd>
            </div>
            <div>
              <dt>Parameters</dt>
              <dd>{formatNumber(model.parameters)}</dd>
            </div>
            <div>
              <dt>SHA-256 of weights</dt>
              <dd className="mono small break">{model.sha256}</dd>
            </div>
          </dl>
          <div className="row-buttons">
            <button
              type="button"
              className="btn btn-primary"
              data-testid="download-model-json"
              disabled={busy !== null}
              onClick={() => void get('model.json')}
            >
              {busy === 'model.json' ? 'Downloading…' : 'Download model.json'}
            </button>
            <button
              type="button"
              className="btn"
              data-testid="download-weights"
              disabled={busy !== null}
              onClick={() => void get('weights.bin')}
            >
              {busy === 'weights.bin' ? 'Downloading…' : 'Download weights.bin'}
            </button>
          </div>
          {error && (
            <p className="text-error small" role="alert">
              {error}
            </p>
          )}
        </>
      )}
    </Panel>
  );
}
