"""Pruning to a target: the threshold that keeps a stated fraction of parameters or FLOPs, or gives a
stated speed-up, chosen from the pruner's analytic sweep instead of guessed.

    pruner = Pruner(model)
    choice = choose_threshold(pruner, "params", 0.5)      # keep at most half of the parameters
    choice.threshold, choice.achieved                       # e.g. (0.2734, 0.4961)
    choose_threshold(pruner, "speedup", 1.5)               # measured in ONNX Runtime on the CPU

The kept fraction only changes where the threshold crosses a filter's score, so the candidates are the
scores themselves (and 0). Between two neighbouring candidates one group loses at most one
granularity step of filters; a binary search over them (the fraction never grows with the threshold)
finds the smallest threshold that reaches the target, which is then within one granularity step of it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError

TARGETS = {"params": "--target_params", "flops": "--target_flops", "speedup": "--target_speedup"}


@dataclass
class TargetChoice:
    """The threshold chosen for a target and what it achieves (fractions kept, or speed-up)."""

    kind: str
    target: float
    threshold: float
    achieved: float
    reached: bool
    measured: list[dict] = field(default_factory=list)  # speed-up: every candidate timed

    def describe(self) -> str:
        what = {"params": "parameters kept", "flops": "FLOPs kept", "speedup": "speed-up (ORT CPU)"}[self.kind]
        line = (f"threshold {self.threshold:.4f} chosen for {TARGETS[self.kind]} {self.target:g}: "
                f"{what} {self.achieved:.4f}")
        return line if self.reached else line + " (the closest reachable: min_num_filters keeps the rest)"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "target": self.target, "threshold": self.threshold,
                "achieved": self.achieved, "reached": self.reached, "measured": self.measured}


def check_target(kind: str, value) -> float:
    """The target as a float, or UsageError naming the flag."""
    flag = TARGETS[kind]
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{flag}: {value!r} is not a number")
    if kind == "speedup" and value < 1:
        raise UsageError(f"{flag}: {value:g} is below 1; give the speed-up wanted, e.g. 1.5 for 1.5x faster")
    if kind != "speedup" and not 0 < value <= 1:
        raise UsageError(f"{flag}: {value:g} is not a fraction kept; use a number in (0, 1], e.g. 0.5 "
                         "to keep half")
    return float(value)


def candidates(pruner) -> np.ndarray:
    """Every threshold at which some group's kept count may change: 0 and the distinct scores."""
    scores = [s for s in pruner.scores.values() if len(s)]
    values = np.unique(np.concatenate([np.zeros(1), *scores])) if scores else np.zeros(1)
    return values[values >= 0]


def fraction(pruner, kind: str, threshold: float, min_filters: int, granularity: int) -> float:
    base = pruner.cost({})
    cost = pruner.cost(pruner.counts(float(threshold), min_filters, granularity))
    i = 0 if kind == "params" else 1
    return cost[i] / base[i] if base[i] else 1.0


def choose_threshold(pruner, kind: str, target: float, min_filters: int = 16, granularity: int = 8,
                     *, batch: int = 1, seconds: float = 1.0) -> TargetChoice:
    """The smallest threshold reaching ``target`` (a kept fraction, or a speed-up for ``speedup``)."""
    target = check_target(kind, target)
    values = candidates(pruner)
    if kind == "speedup":
        return _by_speedup(pruner, target, values, min_filters, granularity, batch, seconds)
    measure = lambda t: fraction(pruner, kind, t, min_filters, granularity)  # noqa: E731
    index = _first_reaching(values, lambda t: measure(t) <= target + 1e-12)
    reached = index is not None
    threshold = float(values[index if reached else -1])
    return TargetChoice(kind, target, threshold, measure(threshold), reached)


def _first_reaching(values: np.ndarray, reaches) -> int | None:
    """The first index whose value reaches the target, for a predicate monotone along ``values``."""
    lo, hi = 0, len(values) - 1
    if not reaches(values[hi]):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if reaches(values[mid]):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _by_speedup(pruner, target, values, min_filters, granularity, batch, seconds) -> TargetChoice:
    """Binary search on FLOPs kept, each probe's pruned model timed in ONNX Runtime on the CPU.

    Latency is not exactly monotone in the threshold (timing noise, kernel choices); the search
    assumes it is and reports what it measured for every probe."""
    base = cpu_latency(pruner.model, batch, seconds)
    measured: list[dict] = []

    def speedup(t: float) -> float:
        model = pruner.prune(float(t), min_filters, granularity)
        value = base / cpu_latency(model, batch, seconds)
        measured.append({"threshold": float(t), "speedup": value,
                         "flops_kept": fraction(pruner, "flops", t, min_filters, granularity)})
        return value

    # probe only thresholds where the FLOPs change: one per distinct FLOPs fraction
    flops = np.array([fraction(pruner, "flops", t, min_filters, granularity) for t in values])
    _, first = np.unique(-flops, return_index=True)
    probes = values[np.sort(first)]
    index = _first_reaching(probes, lambda t: speedup(t) >= target)
    reached = index is not None
    threshold = float(probes[index if reached else -1])
    achieved = next((m["speedup"] for m in reversed(measured) if m["threshold"] == threshold), None)
    return TargetChoice("speedup", target, threshold, achieved if achieved is not None else speedup(threshold),
                        reached, measured)


def cpu_latency(model, batch: int, seconds: float) -> float:
    """Median seconds per batch of ``model`` exported to ONNX and run by ONNX Runtime on the CPU."""
    from ..export import keras_to_onnx
    from ..runners import OnnxRunner

    runner = OnnxRunner(keras_to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    images = np.random.default_rng(0).uniform(0, 1, (batch, *runner.input_shape)).astype(np.float32)
    runner(images)  # warm-up
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        tick = time.perf_counter()
        runner(images)
        times.append(time.perf_counter() - tick)
    return float(np.median(times))
