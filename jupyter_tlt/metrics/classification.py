"""Classification metrics: top-1 and top-k accuracy, per-class precision/recall/F1, confusion matrix.

The prediction is the class of highest probability (the lowest class index on ties); top-k counts
a sample as correct when its true class is among the k most probable, ties broken the same way, so
top-1 equals plain accuracy and matches the confusion matrix's diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .tables import html_table, percent, text_table

__all__ = ["ClassificationMetrics", "evaluate_classification"]


@dataclass
class ClassificationMetrics:
    """Accuracy and per-class figures; values are fractions (0..1). `confusion[i, j]` counts samples
    of true class i predicted as class j."""

    class_names: list[str]
    top1: float
    top5: float
    k: int
    precision: np.ndarray = field(repr=False)
    recall: np.ndarray = field(repr=False)
    f1: np.ndarray = field(repr=False)
    support: np.ndarray = field(repr=False)
    confusion: np.ndarray = field(repr=False)
    num_samples: int = 0

    @property
    def macro(self) -> dict[str, float]:
        """Unweighted means of precision, recall and F1 over the classes."""
        return {"precision": float(np.mean(self.precision)), "recall": float(np.mean(self.recall)),
                "f1": float(np.mean(self.f1))}

    def to_frame(self):
        """pandas DataFrame: one row per class and a `macro avg` row; precision, recall and F1 in
        percent, support as a count."""
        import pandas as pd

        frame = pd.DataFrame({"precision": 100.0 * self.precision, "recall": 100.0 * self.recall,
                              "f1": 100.0 * self.f1, "support": self.support.astype(np.int64)},
                             index=list(self.class_names))
        m = self.macro
        frame.loc["macro avg"] = [100.0 * m["precision"], 100.0 * m["recall"], 100.0 * m["f1"],
                                  int(self.support.sum())]
        frame["support"] = frame["support"].astype(np.int64)
        frame.index.name = "class"
        return frame

    def _rows(self) -> list[list[str]]:
        rows = [[c, percent(p), percent(r), percent(f), str(int(s))] for c, p, r, f, s in
                zip(self.class_names, self.precision, self.recall, self.f1, self.support)]
        m = self.macro
        rows.append(["macro avg", percent(m["precision"]), percent(m["recall"]), percent(m["f1"]),
                     str(int(self.support.sum()))])
        return rows

    def format_table(self) -> str:
        """Accuracy lines and a `===`-ruled per-class table, in percent."""
        head = (f"top-1 accuracy: {percent(self.top1)} %\n"
                f"top-{self.k} accuracy: {percent(self.top5)} %  ({self.num_samples} samples)\n")
        return head + text_table(["class", "precision", "recall", "f1", "support"], self._rows())

    def __str__(self) -> str:
        return self.format_table()

    def _repr_html_(self) -> str:
        rows = self._rows()
        shades = [[None, p, r, f, None] for p, r, f in zip(self.precision, self.recall, self.f1)]
        m = self.macro
        shades.append([None, m["precision"], m["recall"], m["f1"], None])
        caption = (f"top-1 {percent(self.top1)} %, top-{self.k} {percent(self.top5)} %, "
                   f"{self.num_samples} samples")
        return html_table(["class", "precision (%)", "recall (%)", "F1 (%)", "support"], rows,
                          shades, caption=caption, footer_rows=1)

    def to_dict(self) -> dict:
        """JSON-ready dict (metrics.json)."""
        return {
            "task": "classification",
            "class_names": list(self.class_names),
            "num_samples": self.num_samples,
            "top1": float(self.top1),
            "top5": float(self.top5),
            "k": self.k,
            "precision": [float(v) for v in self.precision],
            "recall": [float(v) for v in self.recall],
            "f1": [float(v) for v in self.f1],
            "support": [int(v) for v in self.support],
            "macro": self.macro,
            "confusion": self.confusion.astype(int).tolist(),
        }

    def plot_confusion(self, ax=None, normalize: bool = True):
        """The confusion matrix as an image with class labels; rows (true classes) normalized to
        sum to 1 unless `normalize` is False. Returns the matplotlib Axes."""
        if ax is None:
            import matplotlib.pyplot as plt

            n = len(self.class_names)
            size = min(3.0 + 0.5 * n, 14.0)
            _, ax = plt.subplots(figsize=(size + 1.0, size))
        matrix = self.confusion.astype(np.float64)
        if normalize:
            totals = matrix.sum(axis=1, keepdims=True)
            matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
        image = ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        ticks = np.arange(len(self.class_names))
        ax.set_xticks(ticks, labels=self.class_names, rotation=45, ha="right")
        ax.set_yticks(ticks, labels=self.class_names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(f"Confusion matrix{' (row-normalized)' if normalize else ''}, "
                     f"top-1 {percent(self.top1)} %")
        if len(self.class_names) <= 20:
            top = matrix.max() if matrix.size else 1.0
            for i in range(matrix.shape[0]):
                for j in range(matrix.shape[1]):
                    text = f"{matrix[i, j]:.2f}" if normalize else str(int(matrix[i, j]))
                    ax.text(j, i, text, ha="center", va="center", fontsize="small",
                            color="white" if matrix[i, j] > 0.6 * top else "black")
        return ax


def evaluate_classification(y_true, probabilities, class_names: Sequence[str]) -> ClassificationMetrics:
    """Metrics of `probabilities` (N, C) (scores of any scale: only their order matters) against
    the true class indices `y_true` (N,), for the C classes `class_names`."""
    class_names = [str(c) for c in class_names]
    probs = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(y_true).reshape(-1)
    C = len(class_names)
    if probs.ndim != 2 or probs.shape[1] != C:
        raise ValueError(f"probabilities must have shape (N, {C}) for {C} classes; got {probs.shape}")
    if len(y) != len(probs):
        raise ValueError(f"got {len(y)} labels for {len(probs)} rows of probabilities")
    if C == 0:
        raise ValueError("class_names is empty")
    if len(y) and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= C):
        raise ValueError(f"y_true must hold class indices 0..{C - 1}")
    y = y.astype(np.int64)
    n = len(y)
    k = min(5, C)
    # rank of the true class: classes scored higher, plus equal-scored ones with a lower index
    true_score = probs[np.arange(n), y][:, None]
    lower_index = np.arange(C)[None, :] < y[:, None]
    rank = ((probs > true_score) | ((probs == true_score) & lower_index)).sum(axis=1)
    predicted = probs.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    confusion = np.zeros((C, C), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    tp = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted_count = confusion.sum(axis=0)
    precision = np.divide(tp, predicted_count, out=np.zeros(C), where=predicted_count > 0)
    recall = np.divide(tp, support, out=np.zeros(C), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(C), where=denom > 0)
    top1 = float(np.mean(rank < 1)) if n else 0.0
    topk = float(np.mean(rank < k)) if n else 0.0
    return ClassificationMetrics(class_names=class_names, top1=top1, top5=topk, k=k,
                                 precision=precision, recall=recall, f1=f1, support=support,
                                 confusion=confusion, num_samples=n)
