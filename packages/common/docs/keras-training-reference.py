#!/usr/bin/env python3
"""Keras reference for FinSecure's training benchmark (bench/training.ts): the same fraud MLP
(30 -> 64 -> 32 -> 1, ReLU, dropout 0.2, sigmoid, binary cross-entropy, Adam lr 1e-3 with
Keras' defaults beta1 0.9, beta2 0.999, epsilon 1e-7) on native TensorFlow, all cores
(TensorFlow's default thread pools), trained with plain `model.fit` on the very rows the
benchmark trains MlpTrainer on.

  python3 packages/common/docs/keras-training-reference.py \\
      --features f.bin --labels y.bin --rows 20000 --cols 30 \\
      --batch-sizes 256,1024 --epochs 3 [--predict-features p.bin --predict-rows 200000]

Inputs are raw little-endian files: float32 [rows, cols] row-major, uint8 labels [rows].
For every batch size: a fresh model (Glorot-uniform, seed 7), one untimed warm-up epoch
(graph tracing), then `epochs` timed epochs in one `fit` call. Prediction: a direct call
`model(x, training=False)` on 65,536-row chunks and `model.predict_on_batch` on the same
chunks, after an untimed warm-up on every chunk shape; the faster of the two is the
reference. Prints one JSON object on stdout:
  {"tensorflow": "...", "keras": "...", "threads": {...},
   "training": [{"batchSize": 256, "samplesPerSecond": ..., "seconds": ..., "loss": ...}, ...],
   "predict": {"call": samples/s, "predictOnBatch": samples/s, "rows": n}}
Python needs tensorflow-cpu (pip install tensorflow-cpu, from the local mirror here).
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

PREDICT_CHUNK = 65536


def build(cols, seed):
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(cols,)),
            tf.keras.layers.Dense(64, activation="relu"),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.Dense(32, activation="relu"),
            tf.keras.layers.Dropout(0.2),
            tf.keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        loss="binary_crossentropy",
    )
    return model


def load(path, rows, cols):
    x = np.fromfile(path, dtype="<f4")
    if x.size != rows * cols:
        sys.exit(f"{path}: expected {rows}x{cols} float32 values, found {x.size}")
    return x.reshape(rows, cols)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--features", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--cols", type=int, required=True)
    p.add_argument("--batch-sizes", default="256,1024")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--predict-features")
    p.add_argument("--predict-rows", type=int, default=0)
    a = p.parse_args()

    x = load(a.features, a.rows, a.cols)
    y = np.fromfile(a.labels, dtype=np.uint8).astype(np.float32).reshape(-1, 1)
    if y.shape[0] != a.rows:
        sys.exit(f"{a.labels}: expected {a.rows} labels, found {y.shape[0]}")

    out = {
        "tensorflow": tf.__version__,
        "keras": tf.keras.__version__ if hasattr(tf.keras, "__version__") else "",
        "threads": {
            "intraOp": tf.config.threading.get_intra_op_parallelism_threads(),
            "interOp": tf.config.threading.get_inter_op_parallelism_threads(),
            "cpus": os.cpu_count(),
        },
        "training": [],
    }
    for bs in [int(b) for b in a.batch_sizes.split(",") if b]:
        model = build(a.cols, 7)
        model.fit(x, y, batch_size=bs, epochs=1, shuffle=True, verbose=0)  # warm-up: tracing
        t0 = time.perf_counter()
        h = model.fit(x, y, batch_size=bs, epochs=a.epochs, shuffle=True, verbose=0)
        s = time.perf_counter() - t0
        out["training"].append(
            {"batchSize": bs, "samplesPerSecond": a.rows * a.epochs / s, "seconds": s, "loss": h.history["loss"][-1]}
        )

    if a.predict_features and a.predict_rows > 0:
        xp = load(a.predict_features, a.predict_rows, a.cols)
        model = build(a.cols, 7)
        chunks = [xp[i : i + PREDICT_CHUNK] for i in range(0, a.predict_rows, PREDICT_CHUNK)]
        tensors = [tf.constant(c) for c in chunks]

        def call():
            for c in tensors:
                model(c, training=False).numpy()

        def on_batch():
            for c in chunks:
                model.predict_on_batch(c)

        result = {"rows": a.predict_rows}
        for name, fn in (("call", call), ("predictOnBatch", on_batch)):
            fn()  # warm-up: one trace per chunk shape
            t0 = time.perf_counter()
            fn()
            result[name] = a.predict_rows / (time.perf_counter() - t0)
        out["predict"] = result

    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
