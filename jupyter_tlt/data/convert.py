"""`dataset-convert`: KITTI images and labels to sharded TFRecords with TAO's partition semantics.

Example:
    >>> result = dataset_convert("specs/convert.cfg", "data/tfrecords/kitti")
    >>> result.to_frame()          # objects per class and fold
"""

from __future__ import annotations

import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import TEMP_PREFIX, ensure_writable_dir, refuse_existing
from ..errors import DataError, SpecError
from ..progress import bar, warn
from ..spec import load_conversion_spec
from . import images, kitti, tfrecord

PARTITION_SEED = 42  # fixed, so the same data always gives the same train/validation split


@dataclass
class Frame:
    """One image and its label file."""

    frame_id: str
    image: Path
    label: Path


@dataclass
class ConvertResult:
    """What `dataset_convert` wrote: shard paths, frames and objects per fold and class."""

    output_filename: str
    shards: list[str]
    validation_fold: int
    frames_per_fold: list[int]
    objects_per_fold: list[dict[str, int]]
    skipped_boxes: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_frame(self):
        """Objects per class (rows) and fold (columns), with a total."""
        import pandas as pd

        columns = {self.fold_name(i): counts for i, counts in enumerate(self.objects_per_fold)}
        df = pd.DataFrame(columns).fillna(0).astype(int).sort_index()
        df["total"] = df.sum(axis=1)
        df.index.name = "class"
        return df

    def fold_name(self, fold: int) -> str:
        role = "validation" if fold == self.validation_fold else "training"
        return f"fold {fold} ({role})"

    def __str__(self) -> str:
        frames = ", ".join(f"{self.fold_name(i)}: {n} frames" for i, n in enumerate(self.frames_per_fold))
        lines = [f"Wrote {len(self.shards)} shards to {self.output_filename}-fold-* in {self.seconds:.1f}s",
                 frames, "", self.to_frame().to_string()]
        if self.skipped_boxes:
            lines.append(f"\nSkipped {self.skipped_boxes} boxes with x1 >= x2 or y1 >= y2.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = str(self).split("\n\n")[0].replace("\n", "<br>")
        return f"<p>{head}</p>" + self.to_frame().to_html()


def dataset_convert(spec, output_filename: str | os.PathLike, *, validation_fold: int = 0,
                    overwrite: bool = False, verbose: bool = False,
                    progress: bool = True) -> ConvertResult:
    """Convert the KITTI dataset named by a conversion spec (path, text or dict) to TFRecords."""
    start = time.perf_counter()
    spec = load_conversion_spec(spec)
    kc = spec.kitti_config
    num_folds = kc.num_partitions if kc.partition_mode == "sequence" else 2
    if not 0 <= validation_fold < num_folds:
        raise SpecError(f"-f/--validation_fold {validation_fold} is out of range: the spec makes "
                        f"{num_folds} partitions, so use 0 to {num_folds - 1}.")
    frames = _pair_frames(spec)
    folds = _partition(frames, kc, num_folds, validation_fold)

    output_filename = str(output_filename)
    out_dir = ensure_writable_dir(Path(output_filename).parent)
    prefix = Path(output_filename).name
    refuse_existing(sorted(out_dir.glob(f"{prefix}-fold-*")), overwrite, "converted dataset")

    writer = _ShardWriter(output_filename, num_folds, max(1, kc.num_shards))
    objects_per_fold: list[dict[str, int]] = [{} for _ in range(num_folds)]
    skipped = 0
    total = sum(len(f) for f in folds)
    with bar(total=total, desc="dataset-convert", unit="img", enabled=progress) as pbar, \
            ThreadPoolExecutor(max_workers=4) as pool:
        try:
            for fold, fold_frames in enumerate(folds):
                for index, (frame, record, counts, bad) in enumerate(pool.map(_encode, fold_frames)):
                    writer.write(fold, index, len(fold_frames), record)
                    skipped += bad
                    for name, n in counts.items():
                        objects_per_fold[fold][name] = objects_per_fold[fold].get(name, 0) + n
                    pbar.update(1)
            shards = writer.commit()
        except BaseException:
            writer.abort()
            raise
    result = ConvertResult(output_filename, shards, validation_fold, [len(f) for f in folds],
                           objects_per_fold, skipped, seconds=time.perf_counter() - start)
    result.warnings = _class_warnings(objects_per_fold, spec.target_class_mapping)
    for message in result.warnings:
        warn(message)
    if verbose:
        print(result)
    return result


def _pair_frames(spec) -> list[Frame]:
    """Match every label file with its image; any unmatched file is an error naming it."""
    kc = spec.kitti_config
    root = Path(kc.root_directory_path)
    image_root = Path(spec.image_directory_path) if spec.image_directory_path else root
    image_dir, label_dir = image_root / kc.image_dir_name, root / kc.label_dir_name
    for what, d in (("image", image_dir), ("label", label_dir)):
        if not d.is_dir():
            raise DataError(f"{d}: {what} directory not found; expected the KITTI layout "
                            f"root/{kc.image_dir_name} and root/{kc.label_dir_name} "
                            "(kitti_config.root_directory_path, image_dir_name, label_dir_name).")
    image_paths = images.find_images(image_dir)
    labels = {p.stem: p for p in label_dir.glob("*.txt")}
    missing_image = sorted(set(labels) - set(image_paths))
    missing_label = sorted(set(image_paths) - set(labels))
    if missing_image:
        raise DataError(f"{labels[missing_image[0]]}: label file has no image in {image_dir}"
                        f"{_and_more(missing_image)}; add the image or remove the label "
                        "(`tlt dataset-validate` lists every problem).")
    if missing_label:
        raise DataError(f"{image_paths[missing_label[0]]}: image has no label file in {label_dir}"
                        f"{_and_more(missing_label)}; add a label file (an empty one for an image "
                        "with no objects) or remove the image.")
    if not labels:
        raise DataError(f"{label_dir}: no label files (*.txt) found; check "
                        "kitti_config.root_directory_path and label_dir_name.")
    return [Frame(stem, image_paths[stem], labels[stem]) for stem in sorted(labels)]


def _and_more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""


def _partition(frames: list[Frame], kc, num_folds: int, validation_fold: int) -> list[list[Frame]]:
    """TAO's partitions: `random` puts val_split percent in the validation fold; `sequence`
    deals whole sequences (from kitti_sequence_to_frames_file) to folds, largest first."""
    if kc.partition_mode == "sequence":
        return _partition_by_sequence(frames, kc, num_folds)
    shuffled = list(frames)
    random.Random(PARTITION_SEED).shuffle(shuffled)
    n_val = int(round(len(frames) * kc.val_split / 100.0))
    val, train = shuffled[:n_val], shuffled[n_val:]
    folds = [train, train]
    folds[validation_fold] = val
    folds[1 - validation_fold] = train
    return [sorted(f, key=lambda fr: fr.frame_id) for f in folds]


def _partition_by_sequence(frames: list[Frame], kc, num_folds: int) -> list[list[Frame]]:
    path = Path(kc.kitti_sequence_to_frames_file)
    try:
        sequences = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise SpecError(f"kitti_config.kitti_sequence_to_frames_file: cannot read {path}; "
                        "give a JSON file mapping sequence names to lists of frame ids.") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); it must map sequence "
                        "names to lists of frame ids.") from None
    if not isinstance(sequences, dict):
        raise DataError(f"{path}: must be a JSON object mapping sequence names to lists of frame ids.")
    by_id = {f.frame_id: f for f in frames}
    folds: list[list[Frame]] = [[] for _ in range(num_folds)]
    seen: set[str] = set()
    for name, ids in sorted(sequences.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        unknown = [i for i in map(str, ids) if i not in by_id]
        if unknown:
            raise DataError(f"{path}: sequence '{name}' names frame '{unknown[0]}', which has no "
                            "image and label; fix the sequence map.")
        smallest = min(range(num_folds), key=lambda i: len(folds[i]))
        folds[smallest].extend(by_id[i] for i in map(str, ids))
        seen.update(map(str, ids))
    unassigned = sorted(set(by_id) - seen)
    if unassigned:
        raise DataError(f"{path}: frame '{unassigned[0]}'{_and_more(unassigned)} belongs to no "
                        "sequence; add it to the sequence map.")
    return folds


def _encode(frame: Frame) -> tuple[Frame, bytes, dict[str, int], int]:
    """Read one frame, check it, and serialize it. Malformed labels or images raise DataError."""
    try:
        data = frame.image.read_bytes()
    except OSError as exc:
        raise DataError(f"{frame.image}: cannot read the image ({exc.strerror}).") from None
    width, height = images.size_of_bytes(data, frame.image)
    if not images.is_complete(data):
        raise DataError(f"{frame.image}: truncated image (the file ends before the image data does); "
                        "re-export or remove it.")
    objects, problems = kitti.read_labels_lenient(frame.label)
    degenerate = [p for p in problems if p.kind == kitti.DEGENERATE_BOX]
    errors = [p for p in problems if p.kind != kitti.DEGENERATE_BOX]
    if errors:
        raise DataError(errors[0].message)
    counts: dict[str, int] = {}
    for o in objects:
        counts[o.type.lower()] = counts.get(o.type.lower(), 0) + 1
    return frame, tfrecord.encode_example(frame.frame_id, width, height, objects, data), counts, len(degenerate)


class _ShardWriter:
    """Writes records into shards under temporary names; `commit` renames them all at the end."""

    def __init__(self, output_filename: str, num_folds: int, num_shards: int):
        self.output_filename, self.num_folds, self.num_shards = output_filename, num_folds, num_shards
        self.open: dict[int, tuple[object, Path, Path]] = {}
        self.done: list[tuple[Path, Path]] = []

    def write(self, fold: int, index: int, fold_size: int, record: bytes) -> None:
        shard = min(index * self.num_shards // max(fold_size, 1), self.num_shards - 1)
        key = fold * self.num_shards + shard
        if key not in self.open:
            self._close_all()
            final = Path(tfrecord.shard_name(self.output_filename, fold, self.num_folds, shard,
                                             self.num_shards))
            tmp = final.with_name(TEMP_PREFIX + final.name)
            tf = tfrecord.tensorflow()
            self.open[key] = (tf.io.TFRecordWriter(str(tmp)), tmp, final)
        self.open[key][0].write(record)

    def _close_all(self) -> None:
        for w, tmp, final in self.open.values():
            w.close()
            self.done.append((tmp, final))
        self.open.clear()

    def commit(self) -> list[str]:
        """Close every shard and give each its final name. Empty shards are written too, so a
        reader always finds `num_shards` files per fold."""
        self._close_all()
        written = {final for _, final in self.done}
        tf = tfrecord.tensorflow()
        for fold in range(self.num_folds):
            for shard in range(self.num_shards):
                final = Path(tfrecord.shard_name(self.output_filename, fold, self.num_folds, shard,
                                                 self.num_shards))
                if final not in written:
                    tmp = final.with_name(TEMP_PREFIX + final.name)
                    tf.io.TFRecordWriter(str(tmp)).close()
                    self.done.append((tmp, final))
        for tmp, final in self.done:
            os.replace(tmp, final)
        return sorted(str(final) for _, final in self.done)

    def abort(self) -> None:
        """Remove every temporary shard; nothing is left under a final name."""
        for w, _, _ in self.open.values():
            w.close()
        self.done.extend((tmp, final) for _, tmp, final in self.open.values())
        self.open.clear()
        for tmp, _ in self.done:
            tmp.unlink(missing_ok=True)


def _class_warnings(objects_per_fold: list[dict[str, int]], mapping) -> list[str]:
    """The classic 0-mAP trap: class names in the data that the spec's mapping never mentions."""
    if not mapping:
        return []
    data_classes = set().union(*objects_per_fold)
    keys = set(mapping)
    lowered = {k.lower() for k in keys}
    messages = []
    upper = sorted(k for k in keys if k != k.lower())
    if upper:
        messages.append(f"target_class_mapping keys {upper} are not lower-case; class names are "
                        "lower-cased on conversion, so write them in lower case or they never match.")
    unmapped = sorted(data_classes - lowered)
    if unmapped:
        messages.append(f"classes {unmapped} occur in the data but not in target_class_mapping; "
                        "their objects will be ignored in training. Add them to the mapping if wanted.")
    absent = sorted(lowered - data_classes)
    if absent:
        messages.append(f"target_class_mapping names {absent}, which never occur in the data; a model "
                        "would score 0 AP on them. Check the class names in your label files.")
    return messages
