import { initBackend, MlpTrainer, initWeights, DEFAULT_MLP } from '@finsecure/common/model';
import { createRng } from '@finsecure/common/rng';
const b = await initBackend('wasm');
console.log(b);
for (const [d, n, bs] of [[15, 200000, 256], [30, 4000, 256], [15, 200000, 1024], [30, 100000, 64]] as const) {
  const spec = { ...DEFAULT_MLP, inputSize: d };
  const t = new MlpTrainer(spec, initWeights(spec, createRng(1)));
  const rng = createRng(2);
  const f = new Float32Array(n * d); for (let i = 0; i < f.length; i++) f[i] = rng.normal();
  const l = new Uint8Array(n); for (let i = 0; i < n; i++) l[i] = rng.next() < 0.05 ? 1 : 0;
  const r = await t.train({ features: f, labels: l, numRows: n, numFeatures: d }, { epochs: 1, batchSize: bs, learningRate: 0.001, rng });
  const s = performance.now(); t.predict(f, n); 
  console.log(d, n, bs, r.ms.toFixed(0), 'ms/epoch', (performance.now() - s).toFixed(0), 'ms predict');
}
