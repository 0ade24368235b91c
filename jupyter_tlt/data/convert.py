"""`dataset-convert`: KITTI, COCO or YOLO datasets to sharded TFRecords with TAO's partition semantics.

Shards are written by worker processes, one whole shard per task, under temporary names; they get
their final names only when every shard is complete. Nothing here imports TensorFlow: records are
encoded by `tfrecord.example_parts` and framed by `tfrecord_io.RecordWriter`.

Example:
    >>> result = dataset_convert("specs/convert.cfg", "data/tfrecords/kitti")
    >>> result.to_frame()          # objects per class and fold
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from collections import deque
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from ..atomic import TEMP_PREFIX, ensure_writable_dir, refuse_existing
from ..errors import DataError, OutputError, SpecError, TltError
from ..progress import bar, warn
from ..spec import load_conversion_spec
from ..spec.defaults import value
from . import coco, images, kitti, tfrecord, yolo
from .tfrecord_io import RecordWriter

PARTITION_SEED = 42  # fixed, so the same data always gives the same train/validation split
MIN_FRAMES_PER_WORKER = 500
"""Worker processes are used only when each gets at least this many frames: starting them costs
about 0.05 s, plus about 0.3 s for the forkserver on a process's first conversion, which converting
~0.2 ms per frame in-process only repays on datasets of a few thousand frames."""


@dataclass
class Frame:
    """One image and its labels: a KITTI or YOLO label file (None: a YOLO image with no objects),
    or the objects themselves (read from a COCO file)."""

    frame_id: str
    image: Path
    label: Path | None | tuple[kitti.KittiObject, ...]


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
                    overwrite: bool = False, verbose: bool = False, progress: bool = True,
                    workers: int | None = None) -> ConvertResult:
    """Convert the dataset named by a conversion spec (path, text or dict) to TFRecords; the spec's
    kitti_config, coco_config or yolo_config says where the data is and how it is labelled.

    `workers` is the number of processes writing shards; None picks one per CPU (at most one per
    non-empty shard, and none for small datasets). The output is the same for any number."""
    from ..limits import require_int

    start = time.perf_counter()
    if workers is not None:
        require_int(workers, "-j/--workers", 1, 1024)
    spec = load_conversion_spec(spec)
    num_folds = _num_folds(spec)
    if not 0 <= validation_fold < num_folds:
        raise SpecError(f"-f/--validation_fold {validation_fold} is out of range: the spec makes "
                        f"{num_folds} partitions, so use 0 to {num_folds - 1}.")
    folds, num_shards, class_names, skipped = _read_source(spec, num_folds, validation_fold)

    output_filename = str(output_filename)
    out_dir = ensure_writable_dir(Path(output_filename).parent)
    prefix = Path(output_filename).name
    refuse_existing(sorted(out_dir.glob(f"{prefix}-fold-*")), overwrite, "converted dataset")

    shards = _plan_shards(output_filename, folds, num_shards, class_names)
    total = sum(len(f) for f in folds)
    n_workers = _worker_count(workers, shards, total)
    renamed: list[Path] = []
    try:
        with bar(total=total, desc="dataset-convert", unit="img", enabled=progress) as pbar:
            if n_workers <= 1:
                results = [_write_shard(s.job(), pbar.update) for s in shards]
            else:
                results = _write_in_processes(shards, n_workers, pbar.update)
        for s in shards:
            os.replace(s.tmp, s.final)
            renamed.append(s.final)
    except BaseException:
        for s in shards:  # no shard may stay under a final name, nor any temporary
            s.tmp.unlink(missing_ok=True)
        for final in renamed:
            final.unlink(missing_ok=True)
        raise

    objects_per_fold: list[dict[str, int]] = [{} for _ in range(num_folds)]
    for s, (counts, bad) in zip(shards, results):
        skipped += bad
        for name, n in counts.items():
            objects_per_fold[s.fold][name] = objects_per_fold[s.fold].get(name, 0) + n
    result = ConvertResult(output_filename, sorted(str(s.final) for s in shards), validation_fold,
                           [len(f) for f in folds], objects_per_fold, skipped,
                           seconds=time.perf_counter() - start)
    result.warnings = _class_warnings(objects_per_fold, spec.target_class_mapping)
    for message in result.warnings:
        warn(message)
    if verbose:
        for shard in result.shards:
            print(shard)
    return result


def _num_folds(spec) -> int:
    if spec.HasField("coco_config"):
        return value(spec.coco_config, "num_partitions")
    kc = spec.kitti_config
    return value(kc, "num_partitions") if value(kc, "partition_mode") == "sequence" else 2


def _read_source(spec, num_folds: int, validation_fold: int
                 ) -> tuple[list[list[Frame]], list[int], tuple[str, ...], int]:
    """The frames of each fold, the shards of each fold, the YOLO class names (empty for the
    other sources) and the number of degenerate COCO boxes skipped."""
    if spec.HasField("coco_config"):
        cc = spec.coco_config
        folds, skipped = [], 0
        for img_dir, annotations in zip(cc.img_dir_names, cc.annotation_files):
            root = Path(cc.root_directory_path)
            found, problems = coco.read_coco(root / annotations, root / img_dir)
            skipped += coco.raise_errors(problems)
            folds.append([Frame(i.frame_id, i.path, tuple(i.objects)) for i in found])
        shards = list(cc.num_shards) or [value(cc, "num_shards")]
        return folds, shards * num_folds if len(shards) == 1 else shards, (), skipped
    if spec.HasField("yolo_config"):
        yc = spec.yolo_config
        root = Path(yc.root_directory_path)
        names = tuple(yolo.read_class_names(root / yc.class_names_file))
        frames = _pair_frames(root / value(yc, "image_dir_name"), root / value(yc, "label_dir_name"),
                              "yolo_config.root_directory_path, image_dir_name, label_dir_name",
                              label_optional=True)
        folds = _random_partition(frames, value(yc, "val_split"), validation_fold)
        return folds, [value(yc, "num_shards")] * num_folds, names, 0
    kc = spec.kitti_config
    root = Path(kc.root_directory_path)
    image_root = Path(spec.image_directory_path) if spec.image_directory_path else root
    if spec.image_directory_path and not image_root.is_dir():
        raise SpecError(f"image_directory_path {spec.image_directory_path!r}: no such directory; point it at "
                        "the folder holding kitti_config.image_dir_name, or remove it to use root_directory_path")
    frames = _pair_frames(image_root / kc.image_dir_name, root / kc.label_dir_name,
                          "kitti_config.root_directory_path, image_dir_name, label_dir_name", kitti_config=kc)
    _check_mapping_occurs(frames, spec.target_class_mapping)
    folds = _partition(frames, kc, num_folds, validation_fold)
    return folds, [value(kc, "num_shards")] * num_folds, (), 0


def _pair_frames(image_dir: Path, label_dir: Path, fields: str, *, label_optional: bool = False,
                 kitti_config=None) -> list[Frame]:
    """Match every label file with its image; any unmatched file is an error naming it (an image
    without a label file is a frame without objects when `label_optional`, YOLO's convention).
    With `kitti_config`, its image_extension must match the images."""
    for what, d in (("image", image_dir), ("label", label_dir)):
        if not d.is_dir():
            raise DataError(f"{d}: {what} directory not found; check {fields}.")
    image_paths = images.find_images(image_dir)
    if kitti_config is not None:
        _check_extension(kitti_config, image_dir, image_paths)
    labels = {p.stem: p for p in label_dir.glob("*.txt")}
    missing_image = sorted(set(labels) - set(image_paths))
    missing_label = sorted(set(image_paths) - set(labels))
    if missing_image:
        raise DataError(f"{labels[missing_image[0]]}: label file has no image in {image_dir}"
                        f"{_and_more(missing_image)}; add the image or remove the label "
                        "(`tlt dataset-validate` lists every problem).")
    if label_optional:
        if not image_paths:
            raise DataError(f"{image_dir}: no images found; check {fields}.")
        return [Frame(stem, image_paths[stem], labels.get(stem)) for stem in sorted(image_paths)]
    if missing_label:
        raise DataError(f"{image_paths[missing_label[0]]}: image has no label file in {label_dir}"
                        f"{_and_more(missing_label)}; add a label file (an empty one for an image "
                        "with no objects) or remove the image.")
    if not labels:
        raise DataError(f"{label_dir}: no label files (*.txt) found; check {fields}.")
    return [Frame(stem, image_paths[stem], labels[stem]) for stem in sorted(labels)]


def _check_extension(kc, image_dir: Path, image_paths: dict[str, Path]) -> None:
    """An explicit kitti_config.image_extension that matches none of the images is a mistake."""
    if not kc.HasField("image_extension") or not image_paths:
        return
    wanted = "." + kc.image_extension.lower().lstrip(".")
    found = sorted({p.suffix.lower() for p in image_paths.values()})
    if wanted not in found and not (wanted in (".jpg", ".jpeg") and {".jpg", ".jpeg"} & set(found)):
        raise SpecError(f"kitti_config.image_extension {kc.image_extension!r} matches none of the "
                        f"{len(image_paths)} images in {image_dir} (they are {', '.join(found)}); "
                        f"set image_extension: \"{found[0]}\"")


def _check_mapping_occurs(frames: list[Frame], mapping) -> None:
    """A target_class_mapping none of whose classes occur in the labels would convert to no objects.

    (Some absent classes are only a warning after conversion: see `_class_warnings`.)"""
    from .kitti import read_labels_lenient

    if not mapping:
        return
    wanted = {key.lower() for key in mapping}
    seen: set[str] = set()
    for frame in frames:
        seen.update(obj.type.lower() for obj in read_labels_lenient(frame.label)[0])
        if seen & wanted:
            return
    shown = ", ".join(sorted(seen)[:8]) or "none"
    raise SpecError(f"target_class_mapping names {sorted(mapping)}, none of which occur in the labels "
                    f"(their classes: {shown}); map the class names the label files use")


def _and_more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""


def _partition(frames: list[Frame], kc, num_folds: int, validation_fold: int) -> list[list[Frame]]:
    """TAO's partitions: `random` puts val_split percent in the validation fold; `sequence`
    deals whole sequences (from kitti_sequence_to_frames_file) to folds, largest first."""
    if value(kc, "partition_mode") == "sequence":
        return _partition_by_sequence(frames, kc, num_folds)
    return _random_partition(frames, value(kc, "val_split"), validation_fold)


def _random_partition(frames: list[Frame], val_split: float, validation_fold: int) -> list[list[Frame]]:
    shuffled = list(frames)
    random.Random(PARTITION_SEED).shuffle(shuffled)
    n_val = int(round(len(frames) * val_split / 100.0))
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


# --- shards and the processes that write them ---------------------------------------------------

@dataclass
class _Shard:
    """One output file: its fold, index, frames (in order) and temporary and final paths."""

    fold: int
    index: int
    frames: list[Frame]
    tmp: Path
    final: Path

    class_names: tuple[str, ...] = ()

    def job(self) -> _Job:
        def labels(f: Frame):
            if isinstance(f.label, tuple):  # plain field tuples pickle far faster than dataclasses
                return tuple(tuple(vars(o).values()) for o in f.label)
            return None if f.label is None else str(f.label)

        return _Job(str(self.tmp), [(f.frame_id, str(f.image), labels(f)) for f in self.frames],
                    self.class_names)


@dataclass
class _Job:
    """What a worker needs to write one shard, in plain strings (Path objects are slow to unpickle):
    the temporary path, (frame id, image path, labels) per frame, where labels are a label file's
    path or the objects' KittiObject fields, and the class names when the label files are YOLO's."""

    tmp: str
    frames: list[tuple[str, str, str | None | tuple[tuple, ...]]]
    class_names: tuple[str, ...] = ()


def _plan_shards(output_filename: str, folds: list[list[Frame]], shards_per_fold: list[int],
                 class_names: tuple[str, ...] = ()) -> list[_Shard]:
    """Deal each fold's frames, in order, to its number of contiguous shards (TAO's assignment).
    Every shard is planned, empty ones too, so a reader always finds `num_shards` files per fold."""
    shards = []
    for fold, (fold_frames, num_shards) in enumerate(zip(folds, shards_per_fold)):
        dealt: list[list[Frame]] = [[] for _ in range(num_shards)]
        for index, frame in enumerate(fold_frames):
            dealt[min(index * num_shards // len(fold_frames), num_shards - 1)].append(frame)
        for index, shard_frames in enumerate(dealt):
            final = Path(tfrecord.shard_name(output_filename, fold, len(folds), index, num_shards))
            shards.append(_Shard(fold, index, shard_frames, final.with_name(TEMP_PREFIX + final.name),
                                 final, class_names))
    return shards


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _worker_count(requested: int | None, shards: list[_Shard], total: int) -> int:
    """Processes to use: as asked, or one per CPU but none for fewer than MIN_FRAMES_PER_WORKER
    frames each; never more than there are non-empty shards (a shard is one process's task)."""
    busy = sum(1 for s in shards if s.frames)
    if requested is None:
        requested = min(_cpu_count(), total // MIN_FRAMES_PER_WORKER)
    return max(1, min(requested, busy))


class _Stopped(Exception):
    """Another shard failed or the run was interrupted: this one stops and leaves nothing."""


def _write_shard(job: _Job, advance: Callable[[int], object],
                 stop: Callable[[], bool] = lambda: False) -> tuple[dict[str, int], int] | None:
    """Write one shard's records to its temporary path; returns (objects per class, skipped boxes),
    or None when `stop()` turned true on the way. On any error the temporary file is removed."""
    counts: dict[str, int] = {}
    skipped = 0
    try:
        with RecordWriter(job.tmp) as writer, closing(_read_ahead(job.frames)) as frames:
            for (frame_id, image, label), data in frames:
                if stop():
                    raise _Stopped
                parts, bad = _encode(frame_id, image, data, label, counts, job.class_names)
                writer.write_parts(parts)
                skipped += bad
                advance(1)
    except BaseException as exc:
        Path(job.tmp).unlink(missing_ok=True)
        if isinstance(exc, _Stopped):
            return None
        if isinstance(exc, OSError):  # reading errors became DataError: this one is writing
            raise OutputError(f"{job.tmp}: cannot write the shard ({exc.strerror or exc}); free "
                              "disk space or choose another output location.") from None
        raise
    return counts, skipped


# Worker-process state, set by _init_worker: a shared frame counter for the progress bar, and an
# event the parent sets to make every worker stop at its next frame.
_done_frames = None
_stop_event = None


def _init_worker(done_frames, stop_event) -> None:
    global _done_frames, _stop_event
    _done_frames, _stop_event = done_frames, stop_event
    # Ctrl-C reaches the whole process group; only the parent handles it (by setting the event).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _advance_shared(n: int) -> None:
    with _done_frames.get_lock():
        _done_frames.value += n


def _write_shard_in_worker(job: _Job) -> tuple[dict[str, int], int] | None:
    return _write_shard(job, _advance_shared, _stop_event.is_set)


def _mp_context():
    """A start method that never forks the caller: a notebook kernel may hold TensorFlow's threads,
    which a fork copies in whatever state they are. forkserver forks workers from a clean server
    process that has this module imported already; spawn (where there is no forkserver) starts
    fresh interpreters."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])  # only has an effect before the server starts
        return ctx
    return multiprocessing.get_context("spawn")


def _write_in_processes(shards: list[_Shard], n_workers: int,
                        advance: Callable[[int], object]) -> list[tuple[dict[str, int], int]]:
    """Write every shard in `n_workers` processes; the first error (or a KeyboardInterrupt here)
    makes every worker stop at its next frame, and is raised once they have stopped."""
    ctx = _mp_context()
    done_frames, stop_event = ctx.Value("q", 0), ctx.Event()
    shown = 0

    def show_progress() -> None:
        nonlocal shown
        now = done_frames.value
        if now > shown:
            advance(now - shown)
            shown = now

    with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                             initargs=(done_frames, stop_event)) as pool:
        # Largest shards first, so that no worker is left alone with a big one at the end.
        order = sorted(range(len(shards)), key=lambda i: -len(shards[i].frames))
        futures = {i: pool.submit(_write_shard_in_worker, shards[i].job()) for i in order}
        try:
            pending = set(futures.values())
            while pending:
                finished, pending = wait(pending, timeout=0.1, return_when=FIRST_EXCEPTION)
                show_progress()
                for future in finished:
                    future.result()  # raises the worker's error
        except BrokenProcessPool:
            stop_event.set()
            raise TltError("dataset-convert: a worker process died (out of memory, killed, or "
                            "this code runs from a script without an `if __name__ == '__main__':` "
                            "guard); pass workers=1 to convert in this process.") from None
        except BaseException:
            stop_event.set()
            for future in futures.values():
                future.cancel()
            raise  # leaving the `with` waits for the workers, which stop at their next frame
    show_progress()
    return [futures[i].result() for i in range(len(shards))]


# --- one frame -----------------------------------------------------------------------------------

READ_AHEAD = 8
"""Frames whose files are opened, and read by the kernel in the background, before their turn: on a
cold page cache this hides most of the disk's latency behind the encoding of earlier frames."""


def _read_ahead(frames: list[tuple[str, str, str]]) -> Iterator[tuple[tuple[str, str, str], bytes]]:
    """Yield each (frame id, image path, label path) with the image's bytes, having asked the kernel
    (posix_fadvise WILLNEED) to start reading the image and label files of the next READ_AHEAD
    frames. Close it when stopping early, so their descriptors are closed."""
    if not hasattr(os, "posix_fadvise"):  # Windows, macOS: plain reads
        for frame in frames:
            yield frame, _read_image(frame[1], None)
        return
    upcoming = iter(frames)
    pending: deque[tuple[tuple[str, str, str], int | None]] = deque()

    def open_next() -> None:
        frame = next(upcoming, None)
        if frame is not None:
            pending.append((frame, _open_ahead(frame[1])))
            label = _open_ahead(frame[2]) if isinstance(frame[2], str) else None
            if label is not None:
                os.close(label)  # the kernel goes on reading it into the page cache

    try:
        for _ in range(READ_AHEAD):
            open_next()
        while pending:
            open_next()
            frame, fd = pending.popleft()
            yield frame, _read_image(frame[1], fd)
    finally:
        for _, fd in pending:
            if fd is not None:
                os.close(fd)


def _open_ahead(path: str) -> int | None:
    """A descriptor of `path` whose reading the kernel has started, or None when it cannot be
    opened (reading it in its turn then raises the error)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError:
        pass  # only a hint
    return fd


def _read_image(path: str, fd: int | None) -> bytes:
    """The bytes of the image at `path`, read through `fd` (which is closed) when it is given."""
    try:
        with open(path if fd is None else fd, "rb") as f:
            return f.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the image ({exc.strerror}).") from None


def _encode(frame_id: str, image: str, data: bytes, label, counts: dict[str, int],
            class_names: tuple[str, ...] = ()) -> tuple[list[bytes], int]:
    """Check one frame (the image file's bytes `data`, its labels) and serialize it as
    `tfrecord.example_parts`, adding its objects to `counts`; returns the parts and the number of
    degenerate boxes skipped. A malformed label or image raises DataError naming the file (and line)."""
    size = images.header_size(data)
    width, height = size if size else images.size_of_bytes(data, image)
    if not images.is_complete(data):
        raise DataError(f"{image}: truncated image (the file ends before the image data does); "
                        "re-export or remove it.")
    if isinstance(label, tuple):  # KittiObject fields, read from a COCO file and checked there
        objects, problems = [kitti.KittiObject(*fields) for fields in label], []
    elif class_names:
        numbered, problems = yolo.read_labels_numbered(label, width, height, class_names)
        objects = [o for _, o in numbered]
    else:
        objects, problems = kitti.read_labels_lenient(label)
    degenerate = 0
    for p in problems:
        if p.kind != kitti.DEGENERATE_BOX:
            raise DataError(p.message)
        degenerate += 1
    for o in objects:
        name = o.type.lower()
        counts[name] = counts.get(name, 0) + 1
    return tfrecord.example_parts(frame_id, width, height, objects, data), degenerate


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
