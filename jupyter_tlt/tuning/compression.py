"""Compression search: prune to several targets, retrain each briefly, evaluate, keep the Pareto front.

    result = compress("runs/detect/weights/model.keras", "runs/compress", keep=(0.7, 0.5, 0.3),
                      by="flops", epochs=4, max_drop=0.01, cpu_latency=True)
    result.to_frame()          # kept fraction, threshold, parameters, GFLOPs, objective, on the front?
    result.recommended         # the smallest model within max_drop of the original's objective

Each candidate is pruned with ``prune(..., target_flops=f)`` (or ``target_params``) into
``<results>/prune/`` and retrained as an ordinary experiment in ``<results>/trials/keep_<f>/`` (the
spec stored in the model, pointed at the pruned model, with ``epochs`` epochs); the objective is the
same as ``tlt tune``'s (mAP at ``level``, or accuracy). ``cpu_latency``: each model is also exported to
ONNX and timed in ONNX Runtime on the CPU, one image per run (as ``tlt prune --target_speedup`` times its
probes): ``cpu_ms`` and ``speedup`` over the original.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from ..errors import SpecError, UsageError
from .layout import COMPRESS_PRUNED, COMPRESS_SUMMARY, TRIALS

LATENCY_SECONDS = 3.0  # of timing per model (median of the runs)


@dataclass
class CompressionResult:
    """The original and every candidate: size, cost, objective; the front and the recommendation."""

    objective: str
    max_drop: float
    rows: list[dict] = field(default_factory=list)
    recommended: dict | None = None
    seconds: float = 0.0

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows).set_index("candidate")

    def __str__(self) -> str:
        table = self.to_frame().drop(columns=["model", "experiment"], errors="ignore").to_string(
            float_format="{:.4g}".format)
        if self.recommended is None:
            pick = f"no candidate stays within {self.max_drop:g} of the original's {self.objective}"
        else:
            r = self.recommended
            speed = f", {r['speedup']:.2f}x on the CPU" if r.get("speedup") else ""
            pick = (f"recommended: {r['candidate']} ({r['flops_kept']:.2f} of the FLOPs{speed}, {self.objective} "
                    f"{r['value']:.4f}) -> {r['model']}")
        return f"compression search, {len(self.rows) - 1} candidates in {self.seconds:.0f}s\n{table}\n{pick}"

    def _repr_html_(self) -> str:
        import base64
        import html

        from ..drawing.chart_style import figure_png
        from .views import pareto_figure

        png = base64.b64encode(figure_png(pareto_figure(self.rows, self.objective))).decode()
        pick = html.escape(str(self).splitlines()[-1])
        return (self.to_frame().drop(columns=["model", "experiment"], errors="ignore").to_html()
                + f'<p>{pick}</p><img src="data:image/png;base64,{png}"/>')


def pareto_front(rows: list[dict]) -> list[dict]:
    """Rows no other row beats on both FLOPs (fewer) and objective (higher)."""
    return [r for r in rows if not any(o is not r and o["flops"] <= r["flops"] and o["value"] >= r["value"]
                                       and (o["flops"] < r["flops"] or o["value"] > r["value"]) for o in rows)]


def _validated_within(spec, epochs: int) -> dict:
    """Spec values that keep the spec's validation schedule inside a retraining of ``epochs`` epochs
    (a first validation or a period beyond the last epoch would never validate: the spec is refused)."""
    if not spec.HasField("evaluation_config"):
        return {}
    schedule = spec.evaluation_config
    names = ("first_validation_epoch", "validation_period_during_training")
    return {f"evaluation_config.{name}": epochs for name in names if getattr(schedule, name) > epochs}


def compress(model_path, results_dir, *, keep=(0.7, 0.5, 0.3), by: str = "flops", epochs: int = 2,
             max_drop: float = 0.01, level: str = "moderate", spec=None, key: str | None = None,
             min_num_filters: int = 16, pruning_granularity: int = 8,
             cpu_latency: bool = False) -> CompressionResult:
    """Prune ``model_path`` to each kept fraction in ``keep`` (of ``by``: "flops" or "params"), retrain
    each for ``epochs`` epochs, evaluate, and recommend the smallest within ``max_drop`` (a fraction:
    0.01 = one mAP point) of the original."""
    from ..evaluate import evaluate
    from ..model_info import read_info
    from ..prune import prune
    from ..spec import load_experiment_spec
    from ..spec.form import with_pretrained
    from ..tasks import DEFAULT_TASK
    from ..train import train
    from .search import objective_value
    from .space import apply

    started = time.perf_counter()
    if by not in ("flops", "params"):
        raise UsageError(f"--by: {by!r}; use flops or params")
    if not keep:
        raise UsageError("--keep: give at least one fraction to try, e.g. --keep 0.7 0.5 0.3")
    if not isinstance(epochs, int) or epochs < 1:
        raise UsageError(f"--epochs: {epochs} epochs retrains nothing; give 1 or more")
    if not 0 <= max_drop <= 1:
        raise UsageError(f"--max_drop: {max_drop:g} is not a fraction of the objective; e.g. 0.01 for one point")
    info = read_info(model_path, key)
    text = spec if spec is not None else info.get("spec")
    if not text:
        raise SpecError(f"{model_path}: the model carries no spec; pass -e/--experiment_spec_file")
    task = info.get("task") or DEFAULT_TASK
    root = Path(results_dir)
    atomic.ensure_writable_dir(root)

    def measure(path: Path, where: Path) -> float:
        result = evaluate(task, path, spec=text if spec is not None else None, key=key, progress=False,
                          results_dir=where)
        named.append("accuracy" if getattr(result.metrics, "mAP", None) is None else f"mAP ({level})")
        return objective_value(result.metrics, level)

    named: list[str] = []
    base_value = measure(Path(model_path), root / "original")
    from ..models import count_flops, load_model

    original = load_model(model_path, key)
    base_params, base_flops = int(original.count_params()), count_flops(original)
    rows = [{"candidate": "original", "target": 1.0, "threshold": None, "params": base_params, "flops": base_flops,
             "flops_kept": 1.0, "params_kept": 1.0, "value": base_value, "model": str(model_path), "experiment": ""}]
    validation = _validated_within(load_experiment_spec(text), epochs)
    epochs_field = ("training_config.num_epochs" if load_experiment_spec(text).HasField("training_config")
                    else "train_config.n_epochs")
    for fraction in keep:
        name = f"keep_{fraction:g}"
        pruned = root / COMPRESS_PRUNED / f"{name}.keras"
        report = prune(model_path, pruned, key=key, overwrite=True, min_num_filters=min_num_filters,
                       pruning_granularity=pruning_granularity, **{f"target_{by}": fraction})
        trial = root / TRIALS / name
        final = trial / "weights" / "model.keras"
        if not final.is_file():  # a re-run keeps candidates already retrained
            retrain = apply(with_pretrained(text, str(pruned)), {epochs_field: epochs, **validation})
            train(retrain, trial, task=task, key=key, progress=False)
        rows.append({"candidate": name, "target": fraction, "threshold": report.target["threshold"],
                     "params": report.params_after, "flops": report.flops_after,
                     "flops_kept": report.flops_ratio, "params_kept": report.params_ratio,
                     "value": measure(final, trial), "model": str(final), "experiment": str(trial)})
    if cpu_latency:
        from ..pruning.target import cpu_latency as seconds_per_run

        for row in rows:
            row["cpu_ms"] = 1000 * seconds_per_run(load_model(row["model"], key), 1, LATENCY_SECONDS)
            row["speedup"] = rows[0]["cpu_ms"] / row["cpu_ms"]
    front = pareto_front(rows)
    for row in rows:
        row["pareto"] = row in front
    within = [r for r in rows[1:] if r["value"] >= base_value - max_drop]
    recommended = min(within, key=lambda r: r["flops"]) if within else None
    result = CompressionResult(named[0], max_drop, rows, recommended, time.perf_counter() - started)
    atomic.write_text(root / COMPRESS_SUMMARY, json.dumps(
        {"objective": result.objective, "max_drop": max_drop, "rows": rows, "recommended": recommended},
        indent=2, default=str) + "\n")
    return result

