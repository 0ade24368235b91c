"""INT8 calibration without a GPU: per-tensor ranges from ONNX Runtime, TensorRT calibration caches.

``collect_ranges`` runs the float ONNX graph over calibration batches with every intermediate tensor
exposed as an extra output and keeps one histogram of |x| per tensor (memory does not grow with the
number of batches). It turns each histogram into an ``amax`` the way TensorRT's EntropyCalibration2
does (KL-divergence threshold search), or takes a percentile or the plain maximum. ``write_cache``
writes the ranges as the text calibration cache TensorRT and DeepStream's ``int8-calib-file`` read.

    import onnx
    from jupyter_tlt.export.calibration import collect_ranges, read_cache, write_cache

    proto = onnx.load("model.onnx")
    ranges = collect_ranges(proto, batches)     # batches: NCHW float32 arrays in [0, 1]
    ranges["input_1"]                           # 1.0
    write_cache("cal.bin", ranges)              # TRT-10001-EntropyCalibration2 / input_1: 3c010204 ...
    header, scales = read_cache("cal.bin")      # scales["input_1"] == 1 / 127
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path
from typing import Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..atomic import write_text
from ..errors import DataError

METHODS = ("entropy", "percentile", "max")
NUM_BINS = 2048          # histogram resolution TensorRT uses for entropy calibration
NUM_LEVELS = 128         # int8 levels of |x|: the candidate distributions are quantized to these
MAX_CLIPPED = 0.01       # entropy never picks a threshold that clips more than 1% of the values
ZERO_AMAX = 1e-6         # amax of a tensor that was zero on every batch (a zero scale is invalid)
_HEX = re.compile(r"[0-9a-fA-F]{8}")


class _Histogram:
    """Histogram of |x| over [0, NUM_BINS * width); the width doubles (pairs of bins merge) as the max grows.

    Merging pairs is exact, so no counts are smeared across bins when a later batch holds larger values;
    the data then spans at least half of the bins.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts = np.zeros(NUM_BINS, dtype=np.int64)
        self.width = 0.0
        self.max = 0.0

    def add(self, values: np.ndarray) -> None:
        values = np.abs(values.ravel())
        batch_max = float(values.max()) if values.size else 0.0
        if not np.isfinite(batch_max):
            raise DataError(f"tensor {self.name!r} holds {batch_max} on the calibration data; check the model "
                            "and the calibration batches")
        self.max = max(self.max, batch_max)
        if self.max == 0.0:
            self.counts[0] += values.size
            return
        if self.width == 0.0:
            self.width = batch_max / NUM_BINS
        while batch_max > self.width * NUM_BINS:
            self.counts = np.concatenate([self.counts.reshape(-1, 2).sum(axis=1),
                                          np.zeros(NUM_BINS // 2, dtype=np.int64)])
            self.width *= 2
        index = np.minimum((values / self.width).astype(np.int64), NUM_BINS - 1)
        self.counts += np.bincount(index, minlength=NUM_BINS)

    def trimmed(self) -> tuple[np.ndarray, np.ndarray]:
        """(counts, edges) up to the last non-empty bin."""
        last = int(np.flatnonzero(self.counts)[-1]) + 1 if self.counts.any() else 1
        return self.counts[:last], np.arange(last + 1) * self.width


def entropy_amax(hist: np.ndarray, edges: np.ndarray) -> float:
    """Threshold minimising the KL divergence between |x|'s distribution and its int8 quantization.

    For each candidate of ``i`` bins (``NUM_LEVELS`` .. ``len(hist)``), the reference distribution P is the
    first ``i`` bins with everything beyond folded into the last one (values above the threshold clip to
    it); the candidate Q merges those ``i`` bins into ``NUM_LEVELS`` levels and spreads each level's count
    evenly over its non-empty bins. Returns ``edges[i]`` of the best candidate. Candidates that would clip
    more than ``MAX_CLIPPED`` of the values are skipped: past an empty gap of more than ``NUM_LEVELS``
    bins (e.g. the zeros of letterbox padding, then the darkest real pixel far above), a candidate that
    folds all the data into its last bin has a divergence of 0 and would otherwise win.

        >>> counts, edges = np.histogram(np.abs(np.random.randn(100_000)), bins=2048)
        >>> entropy_amax(counts, edges)   # about 3.5-4.5 (sigma 1): the rare tail beyond is clipped
    """
    hist = np.asarray(hist, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if hist.ndim != 1 or edges.shape != (hist.size + 1,):
        raise ValueError(f"need 1-D counts and len(counts) + 1 edges, got shapes {hist.shape} and {edges.shape}")
    if hist.size <= NUM_LEVELS or hist.sum() == 0:
        return float(edges[-1])  # no resolution to trade for range: keep it all
    # The exact zeros of a ReLU output pile up in bin 0; left as is, spreading that spike over the first
    # level's bins dominates every divergence and drives the threshold far too low.
    hist = hist.copy()
    hist[0] = hist[1]
    tail = np.concatenate([np.cumsum(hist[::-1])[::-1], [0.0]])  # tail[i] = counts from bin i on
    best_kl, best = np.inf, hist.size
    for i in range(NUM_LEVELS, hist.size + 1):
        kept = hist[:i]
        if kept[-1] == 0 and tail[i] > 0:
            continue  # P has mass in a bin Q leaves empty: infinite divergence
        if tail[i] > MAX_CLIPPED * tail[0]:
            continue
        p = kept.copy()
        p[-1] += tail[i]
        level = np.arange(i) * NUM_LEVELS // i
        nonzero = kept > 0
        level_counts = np.bincount(level, weights=kept, minlength=NUM_LEVELS)
        level_bins = np.bincount(level, weights=nonzero, minlength=NUM_LEVELS)
        q = np.where(nonzero, level_counts[level] / np.maximum(level_bins[level], 1), 0.0)
        mask = p > 0
        p, q = p[mask] / p.sum(), q[mask] / q.sum()
        kl = float(np.sum(p * np.log(p / q)))
        if kl < best_kl:
            best_kl, best = kl, i
    return float(edges[best])


def _percentile_amax(hist: np.ndarray, edges: np.ndarray, percentile: float) -> float:
    """The ``percentile`` of |x| read off the histogram, linear within the bin it falls in."""
    cumulative = np.cumsum(hist, dtype=np.float64)
    target = cumulative[-1] * percentile / 100.0
    i = min(int(np.searchsorted(cumulative, target)), hist.size - 1)
    before = cumulative[i - 1] if i else 0.0
    fraction = (target - before) / hist[i] if hist[i] else 1.0
    return float(edges[i] + fraction * (edges[i + 1] - edges[i]))


def calibration_tensors(onnx_model: onnx.ModelProto) -> list[str]:
    """The graph inputs and every float node output (what TensorRT quantizes), in graph order."""
    inferred = onnx.shape_inference.infer_shapes(onnx_model)
    graph = inferred.graph
    initializers = {init.name for init in graph.initializer}
    types = {v.name: v.type.tensor_type.elem_type for v in [*graph.input, *graph.value_info, *graph.output]}
    names = [v.name for v in graph.input if v.name not in initializers]
    for node in graph.node:
        names += [out for out in node.output if out and types.get(out) == TensorProto.FLOAT]
    return list(dict.fromkeys(names))


def collect_ranges(onnx_model: onnx.ModelProto, batches: Iterable[np.ndarray], *, method: str = "entropy",
                   percentile: float = 99.99) -> dict[str, float]:
    """amax per calibration tensor (see ``calibration_tensors``) over NCHW float32 ``batches``.

    ``method``: "entropy" (TensorRT EntropyCalibration2), "percentile" (``percentile`` of |x|) or "max".
    """
    import onnxruntime

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    names = calibration_tensors(onnx_model)
    exposed = onnx.ModelProto()
    exposed.CopyFrom(onnx_model)
    outputs = {out.name for out in exposed.graph.output}
    exposed.graph.output.extend(helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
                                for name in names if name not in outputs)
    session = onnxruntime.InferenceSession(exposed.SerializeToString(), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    fetch = [name for name in names if name != input_name]
    histograms = {name: _Histogram(name) for name in names}
    seen = 0
    for batch in batches:
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4:
            raise DataError(f"calibration batch {seen} has shape {batch.shape}; need NCHW (N, C, H, W)")
        histograms[input_name].add(batch)
        for name, value in zip(fetch, session.run(fetch, {input_name: batch})):
            histograms[name].add(value)
        seen += 1
    if not seen:
        raise DataError("no calibration batches: give at least one NCHW float32 batch")

    ranges = {}
    for name, histogram in histograms.items():
        if method == "max":
            amax = histogram.max
        elif method == "percentile":
            amax = _percentile_amax(*histogram.trimmed(), percentile)
        else:
            amax = entropy_amax(*histogram.trimmed())
        ranges[name] = min(amax, histogram.max) if amax > 0 else ZERO_AMAX
    return ranges


def _trt_header(trt_version: tuple[int, int, int], algorithm: str) -> str:
    major, minor, patch = trt_version
    return f"TRT-{major * 1000 + minor * 100 + patch}-{algorithm}"


def scale_hex(scale: float) -> str:
    """Big-endian IEEE-754 float32 bits of ``scale``, 8 lowercase hex digits: 1 / 127 -> '3c010204'."""
    return struct.pack(">f", scale).hex()


def write_cache(path: str | os.PathLike, ranges: dict[str, float], *, trt_version: tuple[int, int, int] = (10, 0, 1),
                algorithm: str = "EntropyCalibration2") -> Path:
    """Write the TensorRT calibration cache of ``ranges`` (tensor -> amax; scale = amax / 127) atomically."""
    lines = [_trt_header(trt_version, algorithm)]
    for name, amax in ranges.items():
        if not (np.isfinite(amax) and amax > 0):
            raise DataError(f"tensor {name!r} has amax {amax}; a calibration range must be positive and finite")
        lines.append(f"{name}: {scale_hex(amax / 127.0)}")
    return write_text(path, "\n".join(lines) + "\n")


def read_cache(path: str | os.PathLike) -> tuple[str, dict[str, float]]:
    """(header line, tensor name -> scale) of a TensorRT calibration cache."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the calibration cache ({exc})") from None
    if not lines or not lines[0].startswith("TRT-"):
        raise DataError(f"{path}:1: calibration cache must start with a 'TRT-<version>-<algorithm>' line")
    scales = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, sep, value = line.rpartition(": ")
        if not sep or not name or not _HEX.fullmatch(value.strip()):
            raise DataError(f"{path}:{number}: expected '<tensor name>: <8 hex digits>' (float32 scale bits), "
                            f"got {line!r}")
        scales[name] = struct.unpack(">f", bytes.fromhex(value.strip()))[0]
    return lines[0], scales
