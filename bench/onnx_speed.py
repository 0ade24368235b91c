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
    """Images/s per Keras model name and batch size (keys are str(batch)); see ``timed``."""
    from jupyter_tlt.export import keras_to_onnx

    work.mkdir(parents=True, exist_ok=True)
    sessions = {}
    for name, model in models.items():
        path = work / f"{name}.onnx"
        path.write_bytes(keras_to_onnx(model).SerializeToString())
        sessions[name] = session(path)
    result = {name: {} for name in models}
    for batch in batches:
        for name, speed in timed(sessions, batch, rounds, seconds).items():
            result[name][str(batch)] = speed
    return result


def timed(sessions: dict, batch: int, rounds: int = 5, seconds: float = 2.0) -> dict:
    """Images/s per ONNX Runtime session: the median over ``rounds`` rounds, each round timing every
    session for about ``seconds`` in turn, so that all see the same machine state."""
    samples = {name: [] for name in sessions}
    for _ in range(rounds):
        for name, sess in sessions.items():
            shape = sess.get_inputs()[0].shape
            x = np.random.default_rng(0).uniform(0, 1, (batch, *shape[1:])).astype(np.float32)
            feed = {sess.get_inputs()[0].name: x}
            sess.run(None, feed)  # warm-up
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                sess.run(None, feed)
                count += 1
            samples[name].append(count * batch / (time.perf_counter() - start))
    return {name: statistics.median(v) for name, v in samples.items()}
