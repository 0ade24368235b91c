"""`dataset-validate`: check a KITTI dataset and report every problem at once, with class statistics.

Problems name the file and line so a user can fix them in one pass, before a long conversion or
training run finds them one at a time (or, like a class-name case mismatch, never).

    >>> report = validate_dataset("data/kitti", class_mapping={"car": "car", "van": "car"})
    >>> print(report.format_table()); print(report.format_problems())
"""

from __future__ import annotations

import html
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import DataError
from . import images as _images
from . import kitti
from .kitti import Problem

__all__ = ["validate_dataset", "ValidationReport", "ClassStats", "Problem", "HEIGHT_BINS"]

BOX_TOLERANCE = 0.5
"""A box may extend this many pixels past the image border before it is reported."""

HEIGHT_BINS = (("h<25", 0.0, 25.0), ("h25-40", 25.0, 40.0), ("h40-80", 40.0, 80.0),
               ("h80-160", 80.0, 160.0), ("h>=160", 160.0, float("inf")))
"""Box-height histogram bins in pixels: (column name, low inclusive, high exclusive)."""

DIFFICULTY_COLUMNS = ("easy", "moderate", "hard", "ignored")

# Problem kinds added by dataset validation (label-line kinds are in kitti.py).
LABEL_WITHOUT_IMAGE = "label_without_image"
IMAGE_WITHOUT_LABEL = "image_without_label"
DUPLICATE_IMAGE = "duplicate_image"
DUPLICATE_LABEL = "duplicate_label"
CORRUPT_IMAGE = "corrupt_image"
BOX_OUTSIDE_IMAGE = "box_outside_image"
UNKNOWN_CLASS = "unknown_class"
CLASS_CASE = "class_case"
CLASS_WITHOUT_OBJECTS = "class_without_objects"
MAPPING_CONFLICT = "mapping_conflict"
NO_DATA = "no_data"


@dataclass
class ClassStats:
    """Objects of one class (name lower-cased, as the converter writes it). Difficulty counts are
    exclusive: each object counts once, at the easiest KITTI level it meets; `ignored` is beyond
    hard (and every DontCare region). `target` is the class it maps to, None when it is dropped
    (only set when a class mapping was given)."""

    name: str
    objects: int = 0
    images: int = 0
    easy: int = 0
    moderate: int = 0
    hard: int = 0
    ignored: int = 0
    heights: list[float] = field(default_factory=list, repr=False)
    target: str | None = None

    @property
    def min_h(self) -> float | None:
        return min(self.heights) if self.heights else None

    @property
    def median_h(self) -> float | None:
        return float(statistics.median(self.heights)) if self.heights else None

    @property
    def max_h(self) -> float | None:
        return max(self.heights) if self.heights else None

    def height_bins(self) -> dict[str, int]:
        counts = {name: 0 for name, _, _ in HEIGHT_BINS}
        for h in self.heights:
            for name, low, high in HEIGHT_BINS:
                if low <= h < high:
                    counts[name] += 1
                    break
            else:  # negative height cannot happen for a parsed box; keep the total right anyway
                counts[HEIGHT_BINS[0][0]] += 1
        return counts

    def row(self) -> dict:
        """This class's statistics as a flat dict (the columns of ValidationReport.to_frame)."""
        r = {"objects": self.objects, "images": self.images, "easy": self.easy,
             "moderate": self.moderate, "hard": self.hard, "ignored": self.ignored,
             "min_h": _round(self.min_h), "median_h": _round(self.median_h),
             "max_h": _round(self.max_h)}
        r.update(self.height_bins())
        return r


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 2)


@dataclass
class ValidationReport:
    """Everything found in a KITTI dataset: problems (errors block conversion; warnings do not) and
    per-class statistics over the labels that have an image."""

    root: str
    image_dir: str
    label_dir: str
    num_images: int = 0
    num_labels: int = 0
    num_pairs: int = 0
    num_empty: int = 0
    num_objects: int = 0
    num_with_objects: int = 0
    problems: list[Problem] = field(default_factory=list)
    classes: dict[str, ClassStats] = field(default_factory=dict)
    class_mapping: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        """True when no problem is an error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    # --- tables ---------------------------------------------------------------------------------

    def to_frame(self):
        """Class statistics as a pandas DataFrame: one row per class (sorted), columns objects,
        images, easy, moderate, hard, ignored, min_h, median_h, max_h and the height bins (plus
        target when a class mapping was given)."""
        import pandas as pd

        columns = ["objects", "images", *DIFFICULTY_COLUMNS, "min_h", "median_h", "max_h",
                   *(name for name, _, _ in HEIGHT_BINS)]
        rows = {}
        for name in sorted(self.classes):
            stats = self.classes[name]
            rows[name] = stats.row()
            if self.class_mapping is not None:
                rows[name]["target"] = stats.target
        if self.class_mapping is not None:
            columns.append("target")
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
        frame.index.name = "class"
        return frame

    def problems_frame(self):
        """Problems as a pandas DataFrame: severity, kind, path, line, message."""
        import pandas as pd

        return pd.DataFrame([p.to_dict() for p in self.problems],
                            columns=["severity", "kind", "path", "line", "message"])

    def __str__(self) -> str:
        return self.format_table() + "\n\n" + self.format_problems()

    def summary(self) -> str:
        """One line: what was checked and how many errors and warnings."""
        return (f"{self.root}: {self.num_images} images, {self.num_labels} label files "
                f"({self.num_empty} empty), {self.num_objects} objects in {len(self.classes)} "
                f"classes; {_count(len(self.errors), 'error')}, "
                f"{_count(len(self.warnings), 'warning')}.")

    def format_table(self) -> str:
        """The class statistics as aligned plain-text tables with `===` rules, for a terminal."""
        names = sorted(self.classes)
        mapped = self.class_mapping is not None
        counts_head = ["class", "objects", "images", *DIFFICULTY_COLUMNS] + (["target"] if mapped else [])
        counts_rows = []
        for n in names:
            s = self.classes[n]
            row = [n, s.objects, s.images, s.easy, s.moderate, s.hard, s.ignored]
            if mapped:
                row.append(s.target if s.target is not None else "(dropped)")
            counts_rows.append(row)
        total = ["(all)", self.num_objects, self.num_with_objects,
                 *(sum(getattr(s, c) for s in self.classes.values()) for c in DIFFICULTY_COLUMNS)]
        if mapped:
            total.append("")
        heights_head = ["class", "min_h", "median_h", "max_h", *(n[1:] for n, _, _ in HEIGHT_BINS)]
        heights_rows = []
        for n in names:
            r = self.classes[n].row()
            heights_rows.append([n, _num(r["min_h"]), _num(r["median_h"]), _num(r["max_h"]),
                                 *(r[b] for b, _, _ in HEIGHT_BINS)])
        parts = [self.summary(), ""]
        if not names:
            parts.append("(no objects)")
            return "\n".join(parts)
        parts.append("Objects per class and KITTI difficulty (each object at its easiest level)")
        parts.append(_table(counts_head, counts_rows, footer=total))
        parts.append("")
        parts.append("Box height in pixels")
        parts.append(_table(heights_head, heights_rows))
        return "\n".join(parts)

    def format_problems(self, limit: int | None = 50) -> str:
        """Errors first, then warnings, one line each (`path:line: message`), at most `limit`
        lines in all, then "... and N more"."""
        if not self.problems:
            return f"No problems found in {self.root}."
        shown = 0
        lines = []
        total = len(self.problems)
        for title, group in (("Errors", self.errors), ("Warnings", self.warnings)):
            if not group:
                continue
            if limit is not None and shown >= limit:
                break
            lines.append(f"{title} ({len(group)}):")
            for p in group:
                if limit is not None and shown >= limit:
                    break
                lines.append(f"  {p.message}")
                shown += 1
        if shown < total:
            lines.append(f"... and {total - shown} more")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the whole report."""
        return {
            "root": self.root, "image_dir": self.image_dir, "label_dir": self.label_dir,
            "ok": self.ok, "num_images": self.num_images, "num_labels": self.num_labels,
            "num_pairs": self.num_pairs, "num_empty": self.num_empty,
            "num_objects": self.num_objects, "num_with_objects": self.num_with_objects,
            "num_errors": len(self.errors),
            "num_warnings": len(self.warnings), "class_mapping": self.class_mapping,
            "classes": {n: {**self.classes[n].row(),
                            **({"target": self.classes[n].target} if self.class_mapping is not None else {})}
                        for n in sorted(self.classes)},
            "problems": [p.to_dict() for p in self.problems],
        }

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = "#2e7d32" if self.ok else "#c62828"
        out = [f"<div><p style='color:{colour}'><b>{esc(self.summary())}</b></p>"]
        if self.classes:
            out.append(self.to_frame().to_html(na_rep=""))
        if self.problems:
            out.append("<table><thead><tr><th>severity</th><th>where</th><th>problem</th></tr>"
                       "</thead><tbody>")
            ordered = self.errors + self.warnings
            for p in ordered[:50]:
                where = p.path + (f":{p.line}" if p.line is not None else "")
                text = p.message[len(where) + 2:] if p.message.startswith(where + ": ") else p.message
                c = "#c62828" if p.severity == "error" else "#ef6c00"
                out.append(f"<tr><td style='color:{c}'>{p.severity}</td><td><code>{esc(where)}"
                           f"</code></td><td style='text-align:left'>{esc(text)}</td></tr>")
            out.append("</tbody></table>")
            if len(ordered) > 50:
                out.append(f"<p>... and {len(ordered) - 50} more (see <code>problems_frame()"
                           "</code>)</p>")
        out.append("</div>")
        return "".join(out)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.1f}"


_TEXT_COLUMNS = ("class", "target")


def _table(head: list[str], rows: list[list], footer: list | None = None) -> str:
    """A reStructuredText-style simple table: text columns left-aligned, numbers right-aligned."""
    cells = [[str(c) for c in r] for r in [head, *rows, *([footer] if footer else [])]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    rule = "  ".join("=" * w for w in widths)

    def fmt(r):
        return "  ".join(c.ljust(w) if head[i] in _TEXT_COLUMNS else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()

    out = [rule, fmt(cells[0]), rule, *(fmt(r) for r in cells[1:len(rows) + 1])]
    if footer:
        out += [rule, fmt(cells[-1])]
    out.append(rule)
    return "\n".join(out)


# --- validation -------------------------------------------------------------------------------

@dataclass
class _Sample:
    stem: str
    image: Path | None
    label: Path | None


@dataclass
class _Result:
    sample: _Sample
    objects: list[tuple[int, kitti.KittiObject]]
    problems: list[Problem]
    empty: bool


def _check_sample(sample: _Sample, check_images: bool) -> _Result:
    """Read one label file and its image; every problem found becomes a Problem."""
    problems: list[Problem] = []
    size = None
    if sample.image is not None:
        try:
            size = (_images.check_image(sample.image) if check_images
                    else _images.image_size(sample.image))
        except DataError as exc:
            problems.append(Problem("error", CORRUPT_IMAGE, str(sample.image), None, str(exc)))
    objects: list[tuple[int, kitti.KittiObject]] = []
    empty = False
    if sample.label is not None:
        objects, line_problems = kitti.read_labels_numbered(sample.label)
        problems += line_problems
        empty = not objects and not line_problems
        if size is not None:
            width, height = size
            for lineno, obj in objects:
                problem = _outside(obj, width, height, sample, lineno)
                if problem:
                    problems.append(problem)
    return _Result(sample, objects, problems, empty)


def _outside(obj: kitti.KittiObject, width: int, height: int, sample: _Sample,
             lineno: int) -> Problem | None:
    over = [(name, value, limit) for name, value, limit in
            (("x2", obj.x2, width), ("y2", obj.y2, height), ("x1", obj.x1, width),
             ("y1", obj.y1, height)) if value > limit + BOX_TOLERANCE]
    if not over:
        return None
    name, value, limit = over[0]
    side = "width" if name[0] == "x" else "height"
    message = (f"{sample.label}:{lineno}: box outside the {width}x{height} image (field '{name}', "
               f"value {value:.2f} > image {side} {limit}) in {sample.image.name}; fix the box "
               "or check that the label belongs to this image.")
    return Problem("error", BOX_OUTSIDE_IMAGE, str(sample.label), lineno, message)


def _scan_labels(label_dir: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    labels: dict[str, list[Path]] = {}
    for entry in _images.visible_entries(label_dir, "label"):
        p = Path(entry.path)
        if p.suffix.lower() != ".txt":
            continue
        labels.setdefault(p.stem, []).append(p)
    return ({s: ps[0] for s, ps in labels.items()},
            {s: ps for s, ps in labels.items() if len(ps) > 1})


def validate_dataset(root: str | os.PathLike, *, image_dir_name: str = "image_2",
                     label_dir_name: str = "label_2", class_mapping: Mapping[str, str] | None = None,
                     check_images: bool = True, progress: bool = True) -> ValidationReport:
    """Check the KITTI dataset at `root` (`root/<image_dir_name>`, `root/<label_dir_name>`) and
    report every problem at once, with per-class statistics.

    `class_mapping` (source class -> target class, TAO's target_class_mapping) enables the
    unknown-class and case checks; names are compared lower-cased, as the converter writes them.
    `check_images` fully decodes each image (catches truncated files); otherwise only headers are
    read. A missing image or label directory raises DataError at once.
    """
    root = Path(root)
    image_dir, label_dir = root / image_dir_name, root / label_dir_name
    if not root.is_dir():
        raise DataError(f"{root}: dataset directory not found; a KITTI dataset is a directory "
                        f"holding {image_dir_name}/ (images) and {label_dir_name}/ (label files): "
                        "fix the root path.")
    missing = [d for d in (image_dir, label_dir) if not d.is_dir()]
    if missing:
        what = " and ".join(str(d) for d in missing)
        verb = "are not directories" if len(missing) > 1 else "is not a directory"
        raise DataError(f"{what}: {verb}; a KITTI dataset needs images in "
                        f"{root / image_dir_name} and label files in {root / label_dir_name} "
                        "(root/image_2, root/label_2); fix the root path or the directory names.")
    mapping = dict(class_mapping) if class_mapping is not None else None
    report = ValidationReport(str(root), str(image_dir), str(label_dir), class_mapping=mapping)
    problems = report.problems

    scan = _images.scan_images(image_dir)
    labels, label_duplicates = _scan_labels(label_dir)
    report.num_images, report.num_labels = len(scan.images), len(labels)
    for stem, paths in scan.duplicates.items():
        problems.append(Problem(
            "error", DUPLICATE_IMAGE, str(paths[0]), None,
            f"{paths[0]}: {len(paths)} images share the name '{stem}' "
            f"({', '.join(p.name for p in paths)}); keep one image per label file."))
    for stem, paths in label_duplicates.items():
        problems.append(Problem(
            "error", DUPLICATE_LABEL, str(paths[0]), None,
            f"{paths[0]}: {len(paths)} label files share the name '{stem}' "
            f"({', '.join(p.name for p in paths)}); keep one label file per image."))

    stems = sorted(set(scan.images) | set(labels))
    samples = [_Sample(s, scan.images.get(s), labels.get(s)) for s in stems]
    sample_problems: list[Problem] = []
    tally = Tally(report)

    from ..progress import bar as progress_bar

    workers = min(8, (os.cpu_count() or 1) + 2)
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            progress_bar(total=len(samples), desc="validate", unit="img", enabled=progress) as bar:
        for result in pool.map(lambda s: _check_sample(s, check_images), samples):
            bar.update(1)
            sample = result.sample
            sample_problems += result.problems
            if sample.image is None:
                other = scan.unsupported.get(sample.stem)
                found = (f" (found {other[0].name}: convert it to PNG or JPEG)" if other else "")
                sample_problems.append(Problem(
                    "error", LABEL_WITHOUT_IMAGE, str(sample.label), None,
                    f"{sample.label}: label file has no image {sample.stem}.jpg/.jpeg/.png in "
                    f"{image_dir}{found}; add the image or remove the label file."))
                continue
            if sample.label is None:
                sample_problems.append(Problem(
                    "error", IMAGE_WITHOUT_LABEL, str(sample.image), None,
                    f"{sample.image}: image has no label file {sample.stem}.txt in {label_dir}; "
                    "add one (an empty file for an image with no objects) or remove the image."))
                continue
            tally.add(str(sample.label), sample.stem, result.objects, result.empty)

    problems += sorted(sample_problems, key=lambda p: (p.path, p.line or 0))
    problems += tally.class_problems(mapping)
    if not stems:
        problems.append(Problem("error", NO_DATA, str(root), None,
                                f"{root}: no images ({', '.join(_images.IMAGE_EXTENSIONS)}) in "
                                f"{image_dir} and no label files (.txt) in {label_dir}; check "
                                "the root path and the directory names."))
    # errors first, stable within each severity
    report.problems = [p for p in problems if p.severity == "error"] + \
                      [p for p in problems if p.severity == "warning"]
    return report


class Tally:
    """Adds one frame's objects at a time to a report's statistics, remembering where each class
    name was first seen; shared by the KITTI, COCO and YOLO validators."""

    def __init__(self, report: ValidationReport):
        self.report = report
        self.first_seen: dict[str, tuple[str, int]] = {}  # raw class name -> first (path, line)
        self.raw_counts: dict[str, int] = {}
        self.files_per_raw: dict[str, set[str]] = {}

    def add(self, path: str, stem: str, objects: list[tuple[int, kitti.KittiObject]],
            empty: bool) -> None:
        """One image's objects, with the line (or annotation number) each came from in `path`."""
        report = self.report
        report.num_pairs += 1
        report.num_empty += empty
        report.num_with_objects += bool(objects)
        seen_in_file: set[str] = set()
        for lineno, obj in objects:
            raw = obj.type
            self.first_seen.setdefault(raw, (path, lineno))
            self.raw_counts[raw] = self.raw_counts.get(raw, 0) + 1
            self.files_per_raw.setdefault(raw, set()).add(stem)
            name = raw.lower()
            stats = report.classes.get(name)
            if stats is None:
                stats = report.classes[name] = ClassStats(name)
            stats.objects += 1
            if name not in seen_in_file:
                stats.images += 1
                seen_in_file.add(name)
            level = kitti.difficulty(obj)
            setattr(stats, level or "ignored", getattr(stats, level or "ignored") + 1)
            stats.heights.append(obj.box_height)
            report.num_objects += 1

    def class_problems(self, mapping: dict[str, str] | None) -> list[Problem]:
        return _class_problems(self.report, mapping, self.first_seen, self.raw_counts,
                               self.files_per_raw)


def _class_problems(report: ValidationReport, mapping: dict[str, str] | None,
                    first_seen: dict[str, tuple[str, int]], raw_counts: dict[str, int],
                    files_per_raw: dict[str, set[str]]) -> list[Problem]:
    """Class-name checks: spellings that differ only in case, names missing from the mapping,
    mapping entries with no objects."""
    problems: list[Problem] = []
    by_lower: dict[str, list[str]] = {}
    for raw in sorted(raw_counts):
        by_lower.setdefault(raw.lower(), []).append(raw)

    for lower, spellings in sorted(by_lower.items()):
        if len(spellings) > 1:
            path, line = first_seen[spellings[0]]
            counts = ", ".join(f"'{s}' ({raw_counts[s]})" for s in spellings)
            problems.append(Problem(
                "warning", CLASS_CASE, path, line,
                f"{path}:{line}: class names differ only in case: {counts}; they are one class "
                f"'{lower}' after lower-casing (TAO lower-cases class names): use one spelling."))

    if mapping is None:
        return problems

    keys_by_lower: dict[str, list[str]] = {}
    for key in mapping:
        keys_by_lower.setdefault(str(key).lower(), []).append(key)
    for lower, keys in sorted(keys_by_lower.items()):
        targets = sorted({str(mapping[k]).lower() for k in keys})
        if len(targets) > 1:
            problems.append(Problem(
                "error", MAPPING_CONFLICT, "class_mapping", None,
                f"class_mapping: keys {', '.join(repr(k) for k in keys)} are the same class "
                f"'{lower}' after lower-casing but map to different targets "
                f"({', '.join(targets)}); keep one key per class."))
    lower_mapping = {str(k).lower(): str(v).lower() for k, v in mapping.items()}
    for name, stats in report.classes.items():
        stats.target = lower_mapping.get(name)

    for lower, spellings in sorted(by_lower.items()):
        if lower not in lower_mapping:
            objects = sum(raw_counts[s] for s in spellings)
            files = len(set().union(*(files_per_raw[s] for s in spellings)))
            path, line = first_seen[spellings[0]]
            problems.append(Problem(
                "warning", UNKNOWN_CLASS, path, line,
                f"{path}:{line}: class '{spellings[0]}' is not in the class mapping ({objects} "
                f"objects in {files} label files, first here); these objects will be dropped: "
                f"add '{lower}' to target_class_mapping to keep them."))
            continue
        for raw in spellings:
            keys = keys_by_lower[lower]
            if raw in keys:
                continue
            path, line = first_seen[raw]
            problems.append(Problem(
                "warning", CLASS_CASE, path, line,
                f"{path}:{line}: CLASS NAME CASE MISMATCH: labels say '{raw}' but the class "
                f"mapping says {', '.join(repr(k) for k in keys)}; TAO silently gave 0 mAP for "
                f"this. jupyter-tlt lower-cases both, so '{raw}' is trained as '{lower}', but use "
                f"the same spelling ('{lower}') in labels and spec."))

    present_targets = {lower_mapping[n] for n in report.classes if n in lower_mapping}
    for target in sorted(set(lower_mapping.values()) - present_targets):
        sources = sorted(k for k, v in lower_mapping.items() if v == target)
        problems.append(Problem(
            "warning", CLASS_WITHOUT_OBJECTS, report.label_dir, None,
            f"{report.label_dir}: target class '{target}' (from {', '.join(repr(s) for s in sources)}) "
            "has no objects in the dataset; its AP will be 0 and pull mAP down: add labelled "
            "objects or remove it from the class mapping."))
    return problems
