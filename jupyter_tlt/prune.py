"""`prune`: remove low-scoring filters (TAO's min_weight method) and save a smaller, ordinary Keras model.

Example:
    >>> report = prune("runs/detect/weights/model.keras", "runs/detect/prune/model_pruned.keras",
    ...                threshold=0.3)
    >>> report.params_ratio, report.to_frame()        # fraction of parameters kept; per-layer table
    >>> prune_sweep("runs/detect/weights/model.keras", [0.1, 0.2, 0.4])   # the threshold's effect
    >>> prune("runs/detect/weights/model.keras", "runs/detect/prune/half.keras", target_flops=0.5).target

Retrain the pruned model by pointing the spec's `pretrained_model_path` (or `pretrained_model_file`)
at it: training keeps its widths and copies its weights. The report goes next to the pruned model
(`<name>_prune_report.json` and `<name>_prune_layers.csv`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import atomic
from .errors import OutputError, UsageError
from .pruning.options import DEFAULTS, SWEEP_THRESHOLDS


@dataclass
class PruneReport:
    """Sizes before and after, the options used, and the per-layer kept/total table."""

    model_path: str
    output_path: str
    options: dict
    params_before: int
    params_after: int
    flops_before: int
    flops_after: int
    file_bytes_before: int
    file_bytes_after: int
    layers: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    target: dict | None = None  # pruning to a target: the threshold chosen and what it achieved
    sweep: Any = field(default=None, repr=False, compare=False)  # parameters/FLOPs per SWEEP_THRESHOLDS (a frame)

    @property
    def params_ratio(self) -> float:
        """TAO's "pruning ratio": parameters of the pruned model / parameters of the original."""
        return self.params_after / self.params_before

    @property
    def flops_ratio(self) -> float:
        return self.flops_after / self.flops_before if self.flops_before else 1.0

    def to_frame(self):
        """The per-layer table: layer, kept, total, pruned, equalization group, why it was not pruned."""
        import pandas as pd

        return pd.DataFrame(self.layers).set_index("layer")

    def summary_frame(self):
        """Parameters, FLOPs and file size, before / after / ratio."""
        import pandas as pd

        rows = {"parameters": (self.params_before, self.params_after),
                "GFLOPs": (self.flops_before / 1e9, self.flops_after / 1e9),
                "file MB": (self.file_bytes_before / 2**20, self.file_bytes_after / 2**20)}
        frame = pd.DataFrame(rows, index=["before", "after"]).T
        frame["after / before"] = frame["after"] / frame["before"]
        return frame

    def shown_summary(self):
        """`summary_frame` as people read it: parameters as integers, sizes in kB / MB."""
        import pandas as pd

        from .table_cells import decimals, file_size, integer

        ratio = decimals(3)
        rows = {"parameters": (*map(integer, (self.params_before, self.params_after)), ratio(self.params_ratio)),
                "GFLOPs": (*(decimals(3)(f / 1e9) for f in (self.flops_before, self.flops_after)),
                           ratio(self.flops_ratio)),
                "file size": (*map(file_size, (self.file_bytes_before, self.file_bytes_after)),
                              ratio(self.file_bytes_after / self.file_bytes_before if self.file_bytes_before
                                    else float("nan")))}
        return pd.DataFrame(rows, index=["before", "after", "after / before"]).T

    def to_dict(self) -> dict:
        fields = asdict(replace(self, sweep=None))
        del fields["sweep"]  # a table for the notebook's curve, not part of the JSON report
        return {**fields, "params_ratio": self.params_ratio, "flops_ratio": self.flops_ratio}

    def __str__(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options.items() if v not in ((), [], None))
        table = self.shown_summary().to_string()
        chosen = f"{self.target_line()}\n" if self.target else ""
        return (f"Pruned {self.model_path} -> {self.output_path} ({opts}) in {self.seconds:.1f}s\n"
                f"{chosen}{table}\n"
                f"{self.params_before / self.params_after:.2f}x fewer parameters, "
                f"{self.flops_before / max(self.flops_after, 1):.2f}x fewer FLOPs; "
                f"per-layer table: {report_paths(self.output_path)[1]}")

    def target_line(self) -> str:
        """Which threshold was used for the target and what it achieved ("" without a target)."""
        from .pruning.target import TargetChoice

        return TargetChoice(**self.target).describe() if self.target else ""

    def _repr_html_(self) -> str:
        return (f"<p>Pruned <code>{self.model_path}</code> &rarr; <code>{self.output_path}</code>: "
                f"{self.params_before / self.params_after:.2f}x fewer parameters"
                f"{'; ' + self.target_line() if self.target else ''}</p>"
                + self.shown_summary().to_html())


def prune(model, output, *, threshold: float = DEFAULTS.threshold, min_num_filters: int = DEFAULTS.min_num_filters,
          pruning_granularity: int = DEFAULTS.pruning_granularity, normalizer: str = DEFAULTS.normalizer,
          equalization_criterion: str = DEFAULTS.equalization_criterion,
          excluded_layers: Iterable[str] = (), key: str | None = None, overwrite: bool = False,
          target_params: float | None = None, target_flops: float | None = None,
          target_speedup: float | None = None) -> PruneReport:
    """Prune ``model`` (a path, or a ``keras.Model``) and save the smaller model to ``output``.

    With one of ``target_params`` / ``target_flops`` (fractions kept) or ``target_speedup`` (measured
    in ONNX Runtime on the CPU) the threshold is chosen to reach it (``pruning/target.py``) and
    ``threshold`` is ignored; ``report.target`` says which threshold was used.
    An existing ``output`` (or its report) is replaced only with ``overwrite``."""
    from .model_info import read_info
    from .models import count_flops, load_model, save_model
    from .pruning import Pruner

    start = time.perf_counter()
    output = Path(output)
    if isinstance(model, (str, os.PathLike)):
        source = Path(model)
        if output.exists() and source.exists() and output.resolve() == source.resolve():
            raise OutputError(f"-o/--output_file {output} is the model being pruned; write the pruned model "
                              "to another file (e.g. results/prune/model_pruned.keras)")
        keras_model, info = load_model(source, key), read_info(source, key)
        model_name, bytes_before = str(source), source.stat().st_size
    else:
        keras_model, info = model, {}
        model_name, bytes_before = model.name, int(model.count_params()) * 4
    atomic.check_overwrite([output, *report_paths(output)], overwrite, "pruned model")
    excluded = [name.strip() for name in excluded_layers if name.strip()]
    pruner = Pruner(keras_model, normalizer=normalizer, criterion=equalization_criterion, excluded=excluded)
    choice = _target_choice(pruner, min_num_filters, pruning_granularity, params=target_params,
                            flops=target_flops, speedup=target_speedup)
    if choice is not None:
        threshold = choice.threshold
    keep = pruner.keep(threshold, min_num_filters, pruning_granularity)
    pruned = pruner.prune(threshold, min_num_filters, pruning_granularity)
    options = {"threshold": threshold, "min_num_filters": min_num_filters,
               "pruning_granularity": pruning_granularity, "normalizer": normalizer,
               "equalization_criterion": equalization_criterion, "excluded_layers": excluded}
    save_model(pruned, output, key=key, info={**info, "pruned": {
        **options, "source": model_name, "params_before": int(keras_model.count_params())}})
    report = PruneReport(model_name, str(output), options, int(keras_model.count_params()),
                         int(pruned.count_params()), count_flops(keras_model), count_flops(pruned),
                         bytes_before, output.stat().st_size, pruner.layer_table(keep),
                         time.perf_counter() - start, choice.to_dict() if choice else None,
                         sweep=pruner.sweep(list(SWEEP_THRESHOLDS), min_num_filters, pruning_granularity))
    json_path, csv_path = report_paths(output)
    atomic.write_text(json_path, json.dumps(report.to_dict(), indent=2))
    atomic.write_text(csv_path, report.to_frame().to_csv())
    if isinstance(model, (str, os.PathLike)):
        from . import lineage

        lineage.record(output, "prune", lineage.parent_ref(model),
                       lineage.keras_figures(pruned, output, threshold=threshold,
                                             parameters_ratio=report.params_ratio),
                       files={"prune report": json_path, "prune layers": csv_path}, task=info.get("task"))
    return report


def _target_choice(pruner, min_filters: int, granularity: int, **targets):
    from .pruning.target import choose_threshold

    given = {kind: value for kind, value in targets.items() if value is not None}
    if len(given) > 1:
        raise UsageError("give one target: --target_params, --target_flops or --target_speedup, not "
                         f"{len(given)}")
    if not given:
        return None
    (kind, value), = given.items()
    return choose_threshold(pruner, kind, value, min_filters, granularity)


def prune_sweep(model, thresholds: Sequence[float] = SWEEP_THRESHOLDS, *,
                min_num_filters: int = DEFAULTS.min_num_filters,
                pruning_granularity: int = DEFAULTS.pruning_granularity, normalizer: str = DEFAULTS.normalizer,
                equalization_criterion: str = DEFAULTS.equalization_criterion,
                excluded_layers: Iterable[str] = (), key: str | None = None) -> Any:
    """Parameters and FLOPs against the threshold (a pandas DataFrame), without building any model.

    ``model`` is a path or a ``keras.Model``. Filter norms are computed once; each threshold then
    costs well under a millisecond, which is what lets a slider show the effect as it moves.
    """
    from .models import load_model
    from .pruning import Pruner

    keras_model = load_model(model, key) if isinstance(model, (str, os.PathLike)) else model
    pruner = Pruner(keras_model, normalizer=normalizer, criterion=equalization_criterion,
                    excluded=list(excluded_layers))
    return pruner.sweep(thresholds, min_num_filters, pruning_granularity)


def report_paths(output) -> tuple[Path, Path]:
    """Where the report of a pruned model goes: ``<name>_prune_report.json``, ``<name>_prune_layers.csv``."""
    output = Path(output)
    return (output.with_name(output.stem + "_prune_report.json"),
            output.with_name(output.stem + "_prune_layers.csv"))
