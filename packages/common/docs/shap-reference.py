#!/usr/bin/env python3
"""Reference attributions for packages/common/src/explain, from the `shap` package.

    python3 packages/common/docs/shap-reference.py

Builds two small ReLU MLPs (dense → ReLU → dense → ReLU → dense, linear output: the
logit, as FinSecure explains) whose weights, backgrounds and transactions come from the
MINSTD Lehmer generator (Park, Miller & Stockmeyer 1993), the same formula that
packages/common/test/explain-shap-reference.test.ts regenerates in TypeScript. Weights are
rounded to float32 (FinSecure stores float32 weights); the forward pass is float64 numpy.

Prints, as JSON, for each case the base value E[f(background)], f(x) and the Shapley
values of each transaction from:
  - case "exact6": d = 6, hidden [5, 4], a uniform background of 5 rows:
      shap.explainers.Exact with an Independent masker (all rows, uniform), and
      shap.KernelExplainer with nsamples = 2^6 − 2 (every coalition enumerated);
  - case "kernel10": d = 10, hidden [8, 6], a weighted background of 3 rows
      (weights 0.5, 0.3, 0.2, as shap.kmeans would weight centroids):
      shap.KernelExplainer on DenseData with weights, nsamples = 2^10 − 2.
With every coalition enumerated KernelSHAP equals the exact Shapley values, so both
FinSecure explainers must match these within float64 rounding. The test copies the numbers.
"""
import json
import warnings

import numpy as np
import shap
from shap.utils._legacy import DenseData

M = 2147483647  # 2^31 - 1
A = 48271  # a*x < 2^47: exact in doubles


class Lehmer:
    def __init__(self, seed):
        self.x = seed

    def next(self):
        self.x = (A * self.x) % M
        return self.x / M


def make_case(seed, d, hidden, n_background, n_x):
    """Kernels [in, out] row-major then biases, layer by layer; kernels (u - 0.5) * 4 / sqrt(in), biases (u - 0.5)."""
    g = Lehmer(seed)
    sizes = [d] + hidden + [1]
    layers = []
    for i in range(len(sizes) - 1):
        fan_in, fan_out = sizes[i], sizes[i + 1]
        s = 4.0 / np.sqrt(fan_in)
        kernel = np.array([(g.next() - 0.5) * s for _ in range(fan_in * fan_out)], dtype=np.float64)
        bias = np.array([(g.next() - 0.5) * 1.0 for _ in range(fan_out)], dtype=np.float64)
        kernel = kernel.astype(np.float32).astype(np.float64).reshape(fan_in, fan_out)
        bias = bias.astype(np.float32).astype(np.float64)
        layers.append((kernel, bias))
    # Features: (sum of 4 uniforms - 2) * 1.5, background first, then the transactions.
    def row():
        return [(g.next() + g.next() + g.next() + g.next() - 2.0) * 1.5 for _ in range(d)]

    background = np.array([row() for _ in range(n_background)])
    xs = np.array([row() for _ in range(n_x)])
    return layers, background, xs


def logits(layers, X):
    h = np.asarray(X, dtype=np.float64)
    for i, (k, b) in enumerate(layers):
        h = h @ k + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def main():
    warnings.filterwarnings("ignore")
    out = {"shap": shap.__version__, "numpy": np.__version__}

    layers, bg, xs = make_case(seed=4242, d=6, hidden=[5, 4], n_background=5, n_x=3)
    f = lambda X: logits(layers, X)
    exact = shap.explainers.Exact(f, shap.maskers.Independent(bg, max_samples=len(bg)))
    ex = exact(xs, silent=True)
    kernel = shap.KernelExplainer(f, bg)
    kv = kernel.shap_values(xs, nsamples=2**6 - 2, l1_reg=False, silent=True)
    out["exact6"] = {
        "baseValue": float(np.mean(f(bg))),
        "fx": f(xs).tolist(),
        "exactExplainer": np.asarray(ex.values).tolist(),
        "exactExplainerBase": np.asarray(ex.base_values).tolist(),
        "kernelExplainer": np.asarray(kv).tolist(),
        "kernelExplainerBase": float(kernel.expected_value),
    }

    layers, bg, xs = make_case(seed=777, d=10, hidden=[8, 6], n_background=3, n_x=2)
    f = lambda X: logits(layers, X)
    weights = np.array([0.5, 0.3, 0.2])
    data = DenseData(bg, [str(i) for i in range(10)], None, weights.copy())
    kernel = shap.KernelExplainer(f, data)
    kv = kernel.shap_values(xs, nsamples=2**10 - 2, l1_reg=False, silent=True)
    out["kernel10"] = {
        "weights": weights.tolist(),
        "baseValue": float(np.dot(weights, f(bg))),
        "fx": f(xs).tolist(),
        "kernelExplainer": np.asarray(kv).tolist(),
        "kernelExplainerBase": float(kernel.expected_value),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
