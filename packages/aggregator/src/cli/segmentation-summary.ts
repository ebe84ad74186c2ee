/**
 * `npm start` runs one segmentation after training (issue 19 item 4) and prints one line
 * about it: through the admin API, as any admin would (POST /api/jobs/segmentation, then
 * GET /api/jobs/:id).
 */

/**
 * The demo's segmentation: 4 segments, DP on every release (z = 2 per Lloyd step, 3 for the
 * histogram, at most 10 steps: ε ≈ 9 at δ = 1e-5 per bank; with the default 60,000 rows each
 * bank has ~600 customers, enough for segments above the 3σ minimum count).
 */
export const DEMO_SEGMENTATION = {
  k: 4,
  maxIterations: 10,
  // Noised centres never stop moving by 1e-10: stop once they move less than this (scaled units²).
  tol: 1e-3,
  minCustomers: 20,
  privacy: { clip: 4, noiseMultiplier: 2, histogramNoiseMultiplier: 3 },
};

/** Queues the segmentation; returns its job id, or null after printing why it was refused. */
export async function startSegmentation(
  url: string,
  headers: Record<string, string>,
  print: (line: string) => void,
): Promise<number | null> {
  const res = await fetch(`${url}/api/jobs/segmentation`, {
    method: 'POST',
    headers,
    body: JSON.stringify(DEMO_SEGMENTATION),
  });
  const body = (await res.json()) as { id?: number; message?: string };
  if (res.status !== 202 || body.id === undefined) {
    print(`Segmentation not started: ${body.message ?? res.status}\n`);
    return null;
  }
  print(`Segmenting the banks' customers (job ${body.id}, k = ${DEMO_SEGMENTATION.k}, with differential privacy)…\n`);
  return body.id;
}

interface SegmentationResult {
  iterations: number;
  converged: boolean;
  names: string[];
  sizes: number[];
  fraudRate: (number | null)[];
  privacy: { maxEpsilon: number };
}

/** One line once the job ended (null while it runs). */
export async function segmentationSummary(
  url: string,
  headers: Record<string, string>,
  id: number,
): Promise<string | null> {
  const job = (await (await fetch(`${url}/api/jobs/${id}`, { headers })).json()) as {
    status: string;
    failureReason: string | null;
    result: SegmentationResult | null;
  };
  if (job.status === 'queued' || job.status === 'running') return null;
  if (job.status === 'failed' || !job.result) return `Segmentation (job ${id}) failed: ${job.failureReason}`;
  const r = job.result;
  const parts = r.names.map((n, j) => {
    const fraud = r.fraudRate[j];
    return `${n} (≈${Math.round(r.sizes[j] ?? 0)}${typeof fraud === 'number' ? `, fraud ${(fraud * 100).toFixed(1)}%` : ''})`;
  });
  return `Segmentation (job ${id}): ${r.names.length} segments after ${r.iterations} iteration(s)${r.converged ? '' : ' (round budget)'}, ε ≤ ${r.privacy.maxEpsilon.toFixed(2)} per bank: ${parts.join('; ')}. See the dashboard's Segments view.`;
}
