#!/usr/bin/env python3
"""Reference values for FinSecure's k-means (packages/common/src/kmeans), from scikit-learn.

Two modes:

  python3 packages/common/docs/kmeans-reference.py
      Generates the deterministic data set that packages/common/test/kmeans-quality.test.ts
      regenerates in TypeScript (same Lehmer generator, same formula), and prints, as JSON:
        - best inertia of KMeans(k=5, init='k-means++', n_init=10, random_state=0)
        - final inertia and centres of Lloyd from the fixed initial centres FIXED_INIT
          (n_init=1, algorithm='lloyd', tol=0): the same algorithm from the same start.
      The test copies these numbers.

  python3 packages/common/docs/kmeans-reference.py --csv points.csv --k 5 [--n-init 10]
      Reads a headerless CSV of (already scaled) points and prints {"inertia": ..., "sizes": [...]}
      for KMeans(k, n_init, random_state=0). Used by bench/kmeans.ts on the handbook customers.

scikit-learn version used for the committed values: printed in the output ("sklearn").
"""
import argparse
import json
import sys

import numpy as np
import sklearn
from sklearn.cluster import KMeans

M = 2147483647  # 2^31 - 1
A = 48271  # MINSTD (Park, Miller & Stockmeyer 1993): a*x < 2^47, exact in doubles


def lehmer(seed):
    x = seed
    while True:
        x = (A * x) % M
        yield x / M


CENTRES = [[0.0, 0.0, 0.0], [4.0, 4.0, 0.0], [0.0, 4.0, 4.0], [4.0, 0.0, 4.0], [2.0, 2.0, 2.0]]
SPREAD = [0.6, 1.0, 0.8, 1.2, 1.5]
N = 600
FIXED_INIT = [[0.5, 0.5, 0.5], [3.0, 3.0, 1.0], [1.0, 3.0, 3.0], [3.0, 1.0, 3.0], [2.0, 2.5, 2.0]]


def generate():
    """Point i belongs to blob i % 5; each coordinate is centre + spread * (sum of 4 uniforms - 2)."""
    u = lehmer(20181)
    pts = []
    for i in range(N):
        c = i % 5
        row = []
        for t in range(3):
            s = next(u) + next(u) + next(u) + next(u) - 2.0
            row.append(CENTRES[c][t] + SPREAD[c] * s)
        pts.append(row)
    return np.array(pts, dtype=np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--n-init", type=int, default=10)
    a = ap.parse_args()
    if a.csv:
        x = np.loadtxt(a.csv, delimiter=",", ndmin=2)
        km = KMeans(n_clusters=a.k, init="k-means++", n_init=a.n_init, random_state=0).fit(x)
        sizes = np.bincount(km.labels_, minlength=a.k).tolist()
        json.dump({"inertia": float(km.inertia_), "sizes": sizes, "n": int(x.shape[0]), "sklearn": sklearn.__version__}, sys.stdout)
        print()
        return
    x = generate()
    best = KMeans(n_clusters=5, init="k-means++", n_init=10, random_state=0).fit(x)
    fixed = KMeans(n_clusters=5, init=np.array(FIXED_INIT), n_init=1, algorithm="lloyd", tol=0, max_iter=300).fit(x)
    out = {
        "sklearn": sklearn.__version__,
        "n": int(x.shape[0]),
        "first_point": x[0].tolist(),
        "sum_all": float(x.sum()),
        "kmeanspp_inertia": float(best.inertia_),
        "fixed_init_inertia": float(fixed.inertia_),
        "fixed_init_iterations": int(fixed.n_iter_),
        "fixed_init_centres": fixed.cluster_centers_.tolist(),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
