"""generate(): write a synthetic KITTI detection set or a class-folder classification set.

Every image i is drawn from its own generator numpy.random.default_rng([seed, i, domain_key]), so
the output is byte-identical for a seed whatever the number of worker processes. The domain's name
is part of the key (domain_key = CRC-32 of the name), so "source" and "target" sets made with the
same seed show different scenes, not the same scenes in two lights. Files are written under a
temporary name and renamed (atomic.py), so an interrupted run never leaves half-written files.
"""

from __future__ import annotations

import concurrent.futures as cf
import html
import json
import math
import multiprocessing
import os
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ...atomic import ensure_writable_dir, refuse_existing, write_bytes, write_text
from ...errors import OutputError, SpecError
from ...progress import bar as progress_bar
from .domain import DOMAINS, Domain, resolve_domain
from .objects import CLASSES
from .render import apply_sensor, encode, rasterize
from .scene import (CROP_CLASSES, EMPTY_FRACTION, MAX_OCCLUSION, MAX_TRUNCATION, MIN_BOX_HEIGHT_PX,
                    OCCLUSION_LEVELS, build_scene, canvas_size, crop_scene)

GENERATOR_VERSION = 1
TASKS = ("detection", "classification")
IMAGE_FORMATS = ("jpg", "png")
MIN_SIDE = 64
MAX_SIDE = 8192
CHUNK_MAX = 16
"""Images per task handed to a worker process (fewer for small runs, so all workers get work)."""


@dataclass
class GenerateResult:
    """What generate() wrote: where, which task and domain, how many images and objects per class."""

    out_dir: Path
    task: str
    domain: str
    num_images: int
    num_objects: int
    class_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.num_images / self.seconds if self.seconds > 0 else float("nan")

    def to_frame(self):
        """Per-class counts as a pandas DataFrame (columns: class, count, fraction)."""
        import pandas as pd

        total = max(1, sum(self.class_counts.values()))
        rows = [{"class": c, "count": n, "fraction": n / total} for c, n in self.class_counts.items()]
        return pd.DataFrame(rows, columns=["class", "count", "fraction"])

    def summary(self) -> str:
        what = "objects" if self.task == "detection" else "crops"
        return (f"Synthetic {self.task} data, domain {self.domain}: {self.num_images} images, "
                f"{self.num_objects} {what} in {self.out_dir} ({self.seconds:.1f} s)")

    def __str__(self) -> str:
        return self.summary() + "\n\n" + self.to_frame().to_string(index=False, float_format="%.3f")

    def _repr_html_(self) -> str:
        what = "objects" if self.task == "detection" else "crops"
        head = (f"<p><b>Synthetic {html.escape(self.task)} data</b>, domain "
                f"<code>{html.escape(self.domain)}</code>: {self.num_images} images, "
                f"{self.num_objects} {what} in <code>{html.escape(str(self.out_dir))}</code> "
                f"({self.seconds:.1f} s)</p>")
        return head + self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")


def _check_args(num_images, width, height, task, image_format, crop_size, workers, seed) -> None:
    def integer(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if not integer(num_images) or num_images < 1:
        raise SpecError(f"num_images={num_images!r}: must be an integer of at least 1.")
    for name, v in (("width", width), ("height", height)):
        if not integer(v) or not MIN_SIDE <= v <= MAX_SIDE:
            raise SpecError(f"{name}={v!r}: must be an integer from {MIN_SIDE} to {MAX_SIDE} pixels.")
    if task not in TASKS:
        raise SpecError(f"task={task!r} is unknown; use one of {', '.join(map(repr, TASKS))}.")
    if image_format not in IMAGE_FORMATS:
        raise SpecError(f"image_format={image_format!r} is not supported; use "
                        f"{' or '.join(map(repr, IMAGE_FORMATS))}.")
    if not integer(crop_size) or not 16 <= crop_size <= 512:
        raise SpecError(f"crop_size={crop_size!r}: must be an integer from 16 to 512 pixels.")
    if not integer(seed) or seed < 0:
        raise SpecError(f"seed={seed!r}: must be a non-negative integer.")
    if workers is not None and (not integer(workers) or workers < 1):
        raise SpecError(f"workers={workers!r}: must be a positive integer, or None for one per CPU core.")


def _has_files(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists()


@dataclass(frozen=True)
class _Job:
    out_dir: str
    start: int
    stop: int
    width: int
    height: int
    domain: Domain
    seed: int
    task: str
    image_format: str
    crop_size: int
    max_distance: float | None = None


def _write(path: Path, data: bytes | str) -> None:
    try:
        (write_text if isinstance(data, str) else write_bytes)(path, data)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc}); "
                          "free some space or choose another output directory.") from None


def image_rng(seed: int, index: int, domain: Domain) -> np.random.Generator:
    """The generator of image `index`: independent of every other image and of the worker count."""
    return np.random.default_rng([seed, index, zlib.crc32(domain.name.encode("utf-8"))])


def render_detection(index: int, seed: int, width: int, height: int, domain: Domain,
                     max_distance: float | None = None):
    """Image `index` of a detection set: (uint8 RGB array, list of scene.ObjectLabel)."""
    rng = image_rng(seed, index, domain)
    scene = build_scene(rng, width, height, domain, max_distance=max_distance)
    img = rasterize(width, height, scene.camera.cy, domain, scene.layers())
    return apply_sensor(img, domain, rng), scene.labels


def crop_class(index: int) -> str:
    """Class of classification crop `index`: the classes in turn, so counts stay balanced."""
    return CROP_CLASSES[index % len(CROP_CLASSES)]


def render_crop(index: int, seed: int, crop_size: int, domain: Domain) -> tuple[np.ndarray, str]:
    """Crop `index` of a classification set: (crop_size x crop_size uint8 RGB array, class)."""
    rng = image_rng(seed, index, domain)
    cls = crop_class(index)
    scene, window = crop_scene(rng, cls, crop_size, domain)
    W, H = canvas_size(crop_size)
    img = rasterize(W, H, scene.camera.cy, domain, scene.layers())
    arr = apply_sensor(img, domain, rng)
    crop = Image.fromarray(arr).resize((crop_size, crop_size), Image.Resampling.BILINEAR, box=window)
    return np.asarray(crop), cls


def _run_job(job: _Job) -> tuple[int, dict[str, int]]:
    """Render and write images [start, stop); returns (images written, per-class counts)."""
    out = Path(job.out_dir)
    counts: Counter = Counter()
    ext = job.image_format
    for i in range(job.start, job.stop):
        name = f"{i:06d}"
        if job.task == "detection":
            arr, labels = render_detection(i, job.seed, job.width, job.height, job.domain, job.max_distance)
            _write(out / "image_2" / f"{name}.{ext}", encode(arr, ext))
            _write(out / "label_2" / f"{name}.txt", "".join(lb.kitti_line() + "\n" for lb in labels))
            counts.update(lb.cls for lb in labels)
        else:
            arr, cls = render_crop(i, job.seed, job.crop_size, job.domain)
            _write(out / cls / f"{name}.{ext}", encode(arr, ext))
            counts[cls] += 1
    return job.stop - job.start, dict(counts)


def _mp_context():
    """"fork" when the caller is single-threaded (scripts, the CLI): no `if __name__ == "__main__"`
    guard is needed and workers start at once. "spawn" otherwise (a notebook kernel, a server):
    forking a multi-threaded process can deadlock the child."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def generate(out_dir, num_images=100, *, width=960, height=544, domain="source", seed=0,
             task="detection", image_format="jpg", workers=None, overwrite=False,
             crop_size=64, progress=True, max_distance=None) -> GenerateResult:
    """Write `num_images` synthetic street-scene images of `domain` into `out_dir`.

    task="detection": KITTI layout out_dir/image_2/NNNNNN.<fmt> and out_dir/label_2/NNNNNN.txt with
    the classes car, pedestrian, cyclist and road_sign. task="classification": square crops of
    crop_size pixels in out_dir/<class>/NNNNNN.<fmt> for those classes plus background, balanced;
    width and height apply to detection only. max_distance (metres, detection only) places the labelled
    objects no farther than that (default: up to 50-75 m by class), so that they are larger in small
    frames: generate("data", 64, width=400, height=240, max_distance=20) gives most objects the 25 px
    height of KITTI's moderate level. Also writes out_dir/generate.json (parameters, counts).
    The output depends only on the arguments, not on `workers` (None = one process per CPU core).
    """
    _check_args(num_images, width, height, task, image_format, crop_size, workers, seed)
    if max_distance is not None and (isinstance(max_distance, bool) or not isinstance(max_distance, (int, float))
                                     or not math.isfinite(max_distance) or not 5 <= max_distance <= 500):
        raise SpecError(f"max_distance={max_distance!r}: must be a number of metres from 5 to 500 "
                        "(leave it out for the default depths).")
    dom = resolve_domain(domain)
    seed = int(seed)
    out = ensure_writable_dir(Path(out_dir).expanduser())
    subdirs = ["image_2", "label_2"] if task == "detection" else list(CROP_CLASSES)
    targets = [out / d for d in subdirs] + [out / "generate.json"]
    refuse_existing([p for p in targets if _has_files(p)], overwrite, "generated data")
    for d in subdirs:
        ensure_writable_dir(out / d)

    t0 = time.perf_counter()
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    chunk = max(1, min(CHUNK_MAX, math.ceil(num_images / (4 * workers))))
    jobs = [_Job(str(out), a, min(a + chunk, num_images), int(width), int(height), dom, seed, task,
                 image_format, int(crop_size), None if max_distance is None else float(max_distance))
            for a in range(0, num_images, chunk)]
    workers = min(workers, len(jobs))
    counts: Counter = Counter()
    # no tqdm monitor thread: it would make the process multi-threaded before it forks its workers
    with progress_bar(total=num_images, unit="img", desc=f"synthetic {task} ({dom.name})",
                      enabled=progress, monitor=False) as bar:
        if workers <= 1:
            for job in jobs:
                n, c = _run_job(job)
                counts.update(c)
                bar.update(n)
        else:
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context()) as pool:
                futures = [pool.submit(_run_job, job) for job in jobs]
                try:
                    for fut in cf.as_completed(futures):
                        n, c = fut.result()
                        counts.update(c)
                        bar.update(n)
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    raise

    names = CLASSES if task == "detection" else CROP_CLASSES
    class_counts = {c: int(counts.get(c, 0)) for c in names}
    num_objects = sum(class_counts.values())
    meta = {
        "generator": "jupyter_tlt.data.synthetic", "version": GENERATOR_VERSION, "task": task,
        "num_images": num_images, "width": width, "height": height, "seed": seed,
        "image_format": image_format, "crop_size": crop_size if task == "classification" else None,
        "max_distance": max_distance,
        "domain": dom.to_dict(), "builtin_domain": dom.name in DOMAINS and DOMAINS[dom.name] == dom,
        "classes": list(names), "num_objects": num_objects, "class_counts": class_counts,
        "label_rules": {"min_box_height_px": MIN_BOX_HEIGHT_PX, "max_truncation": MAX_TRUNCATION,
                        "max_occlusion": MAX_OCCLUSION, "occlusion_levels": list(OCCLUSION_LEVELS),
                        "empty_fraction": EMPTY_FRACTION},
    }
    _write(out / "generate.json", json.dumps(meta, indent=2) + "\n")
    return GenerateResult(out, task, dom.name, num_images, num_objects, class_counts,
                          time.perf_counter() - t0)
