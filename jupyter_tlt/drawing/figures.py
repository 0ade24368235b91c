"""Error-analysis charts as matplotlib Figures (no pyplot state): the detection confusion matrix
and precision / recall / F1 against the confidence threshold, per class."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .boxes import class_color
from .chart_style import figure_png  # noqa: F401  (the figures' PNG form, themed like every chart)


def confusion_figure(matrix: np.ndarray, class_names: Sequence[str], title: str = ""):
    """Counts with background (last row: detections of nothing, last column: objects not
    detected); cells shaded by their share of the row (of the column for the background row)."""
    from matplotlib.figure import Figure

    labels = [*class_names, "background"]
    n = len(labels)
    matrix = np.asarray(matrix)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows = matrix / matrix.sum(axis=1, keepdims=True)
        cols = matrix / matrix.sum(axis=0, keepdims=True)
    share = np.nan_to_num(np.vstack([rows[:-1], cols[-1:]]))
    share[-1, -1] = 0.0  # background detected as background is not counted
    fig = Figure(figsize=(1.2 + 0.75 * n, 1.0 + 0.65 * n), layout="constrained")
    ax = fig.subplots()
    ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            if i == n - 1 and j == n - 1:
                continue
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize="small",
                    color="white" if share[i, j] > 0.55 else "black")
    ax.set_xticks(range(n), labels, rotation=30, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "Detection confusion matrix", fontsize="medium")
    return fig


def confidence_figure(curves: Mapping[str, object], thresholds: Mapping[str, float | None],
                      class_names: Sequence[str], title: str = ""):
    """Precision, recall and F1 against the confidence threshold (`metrics.analysis.ConfidenceCurve`
    per class), the chosen threshold of each class marked with a dot on its F1 curve and a dashed
    line; legend outside the plots."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.6), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    for k, name in enumerate(class_names):
        curve = curves[name]
        color = tuple(v / 255 for v in class_color(k))
        if len(curve.thresholds) == 0:
            axes[0].plot([], [], color=color, label=f"{name} (no detections)")
            continue
        x = curve.thresholds
        for ax, y in zip(axes, (curve.precision, curve.recall, curve.f1)):
            ax.plot(x, y, color=color, drawstyle="steps-post", label=name if ax is axes[0] else None)
        t = thresholds.get(name)
        if t is not None:
            at = int(np.argmin(np.abs(x - t)))
            for ax in axes:
                ax.axvline(t, color=color, linestyle="--", linewidth=0.8)
            axes[2].plot([t], [curve.f1[at]], "o", color=color)
            axes[2].annotate(f"{t:.2f}", (t, curve.f1[at]), textcoords="offset points", xytext=(4, 4),
                             fontsize="x-small", color=color)
    scores = np.concatenate([curves[c].thresholds for c in class_names] + [np.zeros(0)])
    scores = scores[scores > 0]
    # DBSCAN confidences are summed coverages: they spread over decades, so a log axis keeps the
    # low thresholds (where the chosen ones usually are) readable
    wide = len(scores) > 0 and scores.max() / scores.min() > 20
    for ax, what in zip(axes, ("precision", "recall", "F1")):
        ax.set_title(what, fontsize="medium")
        ax.set_xlabel("confidence threshold" + (" (log)" if wide else ""))
        ax.set_ylim(0.0, 1.05)
        if wide:
            ax.set_xscale("log")
        else:
            ax.set_xlim(left=0.0)
        ax.grid(True, alpha=0.3)
    fig.legend(loc="outside right upper", fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig
