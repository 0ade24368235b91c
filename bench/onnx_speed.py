"""ONNX Runtime CPU throughput of Keras models, measured side by side in alternating rounds."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np


def session(onnx_path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def throughput(models: dict, *, batches=(1, 8), work: Path, rounds: int = 5, seconds: float = 2.0) -> dict:
    """Images/s per model name and batch size (keys are str(batch)): the median over ``rounds`` rounds,
    each round timing every model for about ``seconds`` in turn, so both see the same machine state."""
    from jupyter_tlt.export import keras_to_onnx

    work.mkdir(parents=True, exist_ok=True)
    sessions = {}
    for name, model in models.items():
        path = work / f"{name}.onnx"
        path.write_bytes(keras_to_onnx(model).SerializeToString())
        sessions[name] = (session(path), tuple(model.inputs[0].shape[1:]))
    result = {name: {} for name in models}
    for batch in batches:
        samples = {name: [] for name in models}
        for _ in range(rounds):
            for name, (sess, shape) in sessions.items():
                h, w, c = shape
                x = np.random.default_rng(0).uniform(0, 1, (batch, c, h, w)).astype("float32")
                feed = {sess.get_inputs()[0].name: x}
                sess.run(None, feed)  # warm-up
                count, start = 0, time.perf_counter()
                while time.perf_counter() - start < seconds:
                    sess.run(None, feed)
                    count += 1
                samples[name].append(count * batch / (time.perf_counter() - start))
        for name in models:
            result[name][str(batch)] = statistics.median(samples[name])
    return result
