"""The pruning options and their defaults: the one place the CLI, the magic, `prune`, `prune_sweep`
and `PrunePanel` take them from.

    options = PruneOptions(threshold=0.3)        # the rest at TAO's defaults
    prune(model, output, **options.as_kwargs())
    prune_sweep(model, SWEEP_THRESHOLDS)         # 0, 0.05, ..., 1: the curve `--sweep` prints

Importing this module is cheap (no numpy), so the CLI's parsers read their defaults here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

NORMALIZERS = ("max", "L2", "off")  # per-layer score normalization (criteria.normalize)
CRITERIA = ("union", "intersection", "arithmetic_mean", "geometric_mean")  # equalization of aligned filters
SWEEP_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(21))  # the threshold grid of a sweep


@dataclass(frozen=True)
class PruneOptions:
    """TAO's min_weight pruning options, with its defaults."""

    threshold: float = 0.1           # -pth: filters scored at or below it are removed
    min_num_filters: int = 16        # -nf: filters kept per layer at least
    pruning_granularity: int = 8     # -pg: kept filters are a multiple of it
    normalizer: str = "max"          # -n: one of NORMALIZERS
    equalization_criterion: str = "union"  # -eq: one of CRITERIA

    def as_kwargs(self) -> dict:
        return asdict(self)


DEFAULTS = PruneOptions()
