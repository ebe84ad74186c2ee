"""
Reference values for packages/common/src/anomaly (Isolation Forest and Local Outlier
Factor), computed with scikit-learn. The TypeScript tests read the files this script
writes; they never run Python.

    python3 packages/common/docs/anomaly-reference.py            # rewrite the fixtures
    python3 packages/common/docs/anomaly-reference.py bench N    # timings for bench/anomaly.ts (JSON on stdout)
    python3 packages/common/docs/anomaly-reference.py quality F  # handbook AUPRC for bench/anomaly.ts (JSON on stdout)

Fixtures (packages/common/test/fixtures/):
  anomaly-iforest.csv    2,000 labelled rows x 8 features (numpy seed 18): two Gaussian
                         clusters of inliers; outliers drawn wider in features 0-1 only
                         (hard on purpose: AUC about 0.8, so a wrong split rule shows);
                         feature 6 is constant and feature 7 binary, to exercise the
                         splitter's constant-feature rule.
  anomaly-lof-ref.csv    300 reference rows x 5 features, with exact duplicates (row 0
                         three times, a block of 25 identical rows: k-distance 0).
  anomaly-lof-query.csv  120 query rows: fresh draws, copies of reference rows, far points.
  anomaly-reference.json IsolationForest ROC AUC and mean score_samples for random_state
                         0..4 (100 trees, max_samples 'auto' = 256); LocalOutlierFactor
                         (novelty=True, algorithm='kd_tree': exact distances, so a
                         duplicate is at distance 0) score_samples of the queries for
                         k = 20 (default), k = 5 and k = 20 on the first 12 reference rows
                         (k capped at n - 1); and negative_outlier_factor_ of the
                         reference rows (k = 20), the population scored among itself.
"""
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")


def iforest_data():
    rng = np.random.default_rng(18)
    n_in, n_out = 1900, 100
    a = rng.normal(0, 1, size=(n_in // 2, 8))
    b = rng.normal(3, 0.5, size=(n_in - n_in // 2, 8))
    inl = np.vstack([a, b])
    out = rng.normal(0, 1, size=(n_out, 8))
    out[:, 0:2] *= 2.5
    x = np.vstack([inl, out])
    x[:, 6] = 1.0
    x[:, 7] = rng.integers(0, 2, size=len(x))
    y = np.r_[np.zeros(n_in), np.ones(n_out)].astype(int)
    order = rng.permutation(len(x))
    # float32 on disk: what IsolationForest works in (it casts X to float32).
    return x[order].astype(np.float32), y[order]


def lof_data():
    rng = np.random.default_rng(1800)
    ref = rng.normal(0, 1, size=(300, 5))
    ref[1] = ref[0]
    ref[2] = ref[0]
    ref[100:125] = ref[100]
    q = rng.normal(0, 1.3, size=(120, 5))
    q[0] = ref[0]
    q[1] = ref[100]
    q[2] = ref[50]
    q[3] = ref[100] + 1e-3
    q[4] = np.full(5, 8.0)
    q[5] = np.full(5, -6.0)
    return ref, q


def write_csv(path, header, rows, fmt):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")


def fixtures():
    os.makedirs(FIXTURES, exist_ok=True)
    x, y = iforest_data()
    write_csv(
        os.path.join(FIXTURES, "anomaly-iforest.csv"),
        [f"f{j}" for j in range(8)] + ["label"],
        [list(map(float, r)) + [int(l)] for r, l in zip(x, y)],
        lambda v: repr(v) if isinstance(v, float) else str(v),
    )
    seeds = [0, 1, 2, 3, 4]
    aucs, means = [], []
    for s in seeds:
        f = IsolationForest(n_estimators=100, max_samples="auto", random_state=s).fit(x)
        sc = f.score_samples(x)
        aucs.append(float(roc_auc_score(y, -sc)))
        means.append(float(sc.mean()))

    ref, q = lof_data()
    write_csv(os.path.join(FIXTURES, "anomaly-lof-ref.csv"), [f"x{j}" for j in range(5)], ref, lambda v: repr(float(v)))
    write_csv(os.path.join(FIXTURES, "anomaly-lof-query.csv"), [f"x{j}" for j in range(5)], q, lambda v: repr(float(v)))

    def lof(k, r):
        m = LocalOutlierFactor(n_neighbors=k, novelty=True, algorithm="kd_tree").fit(r)
        return [float(v) for v in m.score_samples(q)]

    out = {
        "sklearn": sklearn.__version__,
        "iforest": {"seeds": seeds, "auc": aucs, "meanAuc": float(np.mean(aucs)), "meanScore": means},
        "lof": {
            "k20": lof(20, ref),
            "k5": lof(5, ref),
            "k20first12": lof(20, ref[:12]),
            # the reference rows among themselves (outlier-detection mode, own index excluded)
            "nofK20": [float(v) for v in LocalOutlierFactor(n_neighbors=20, algorithm="kd_tree").fit(ref).negative_outlier_factor_],
        },
    }
    with open(os.path.join(FIXTURES, "anomaly-reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("IsolationForest AUC per seed:", [round(a, 4) for a in aucs], "mean", round(float(np.mean(aucs)), 4))


def bench(rows):
    """Same shapes as bench/anomaly.ts: IsolationForest fit on `rows` x 30 and scoring;
    LOF fit on 10,000 x 12 and scoring 10,000 rows. Seconds, best of 3 (LOF: 1 run)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 30)).astype(np.float32)

    def best(fn, reps=3):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return min(ts)

    f = IsolationForest(n_estimators=100, random_state=0).fit(x)
    fit_s = best(lambda: IsolationForest(n_estimators=100, random_state=0).fit(x))
    score_s = best(lambda: f.score_samples(x), 1)
    a = rng.normal(size=(10_000, 12))
    lof_s = best(lambda: LocalOutlierFactor(n_neighbors=20, novelty=True).fit(a).score_samples(a), 1)
    print(json.dumps({"sklearn": sklearn.__version__, "rows": rows, "iforestFitS": fit_s, "iforestScoreS": score_s, "lofFitScoreS": lof_s}))


HANDBOOK_FEATURES = ["TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT"] + [
    f"CUSTOMER_ID_{k}_{d}DAY_WINDOW" for d in (1, 7, 30) for k in ("NB_TX", "AVG_AMOUNT")
] + [f"TERMINAL_ID_{k}_{d}DAY_WINDOW" for d in (1, 7, 30) for k in ("NB_TX", "RISK")]


def quality(path):
    """Isolation Forest AUPRC on the handbook time split of bench/anomaly.ts: rows ordered
    by TX_TIME_SECONDS (ties by file order), the latest 20 % scored, fitted on the rest."""
    import pandas as pd
    from sklearn.metrics import average_precision_score

    df = pd.read_csv(path)
    df = df.iloc[np.lexsort((np.arange(len(df)), df["TX_TIME_SECONDS"].to_numpy()))]
    n_test = int(round(len(df) * 0.2))
    x = df[HANDBOOK_FEATURES].to_numpy(dtype=np.float32)
    y = df["TX_FRAUD"].to_numpy()
    xtr, xte, yte = x[:-n_test], x[-n_test:], y[-n_test:]
    aps = []
    for s in range(5):
        f = IsolationForest(n_estimators=100, random_state=s).fit(xtr)
        aps.append(float(average_precision_score(yte, -f.score_samples(xte))))
    print(json.dumps({"sklearn": sklearn.__version__, "testRows": int(n_test), "iforestAuprc": aps}))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "bench":
        bench(int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
    elif len(sys.argv) > 2 and sys.argv[1] == "quality":
        quality(sys.argv[2])
    else:
        fixtures()
