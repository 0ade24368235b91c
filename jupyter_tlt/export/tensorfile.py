"""Calibration data for INT8: batches preprocessed exactly as the model sees them, NCHW float32.

From a folder of images (``--cal_image_dir``), or from an HDF5 "tensorfile" written by
``tlt calibration-tensorfile`` (``--cal_data_file``), which takes them from a spec's dataset:

    write_tensorfile("specs/detect.cfg", "export/calibration.h5", max_batches=10)
    batches = calibration_batches(data_file="export/calibration.h5", input_shape=(160, 256, 3),
                                  task="detection", batches=10, batch_size=16)

The tensorfile holds one dataset ``images`` of shape (N, C, H, W) with attributes ``layout`` and
``batch_size``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass
class TensorfileResult:
    path: Path
    images: int
    batch_size: int
    shape: tuple[int, ...]

    def __str__(self) -> str:
        return (f"Wrote {self.images} calibration images ({self.images // self.batch_size} batches of "
                f"{self.batch_size}, NCHW {self.shape[1:]}) to {self.path}")


def write_tensorfile(spec, output, *, task: str | None = None, max_batches: int = 10, batch_size: int | None = None,
                     use_validation_set: bool = False, overwrite: bool = False) -> TensorfileResult:
    """Preprocessed images of the spec's training (or validation) data, un-augmented, to HDF5.

    An existing `output` is replaced only with `overwrite`."""
    import h5py

    from ..data.loader import spec_batch_size
    from ..spec import load_experiment_spec
    from ..limits import require_batch, require_int
    from ..tasks import infer_task, make_task

    require_int(max_batches, "-m/--max_batches")
    atomic.check_overwrite([output], overwrite, "calibration data file")
    if batch_size is not None:
        require_batch(batch_size)
    spec = load_experiment_spec(spec)
    task = task or infer_task(spec)
    batch_size = int(batch_size or spec_batch_size(spec))
    images = []
    for batch, _ in make_task(task, spec).eval_batches(batch_size, use_training_set=not use_validation_set):
        images.append(np.transpose(np.asarray(batch, np.float32), (0, 3, 1, 2)))
        if len(images) == max_batches:
            break
    if not images:
        raise DataError("calibration-tensorfile: the spec's dataset has no images; check its data sources")
    data = np.concatenate(images)
    with atomic.atomic_path(output) as tmp:
        with h5py.File(tmp, "w") as h5:
            h5.create_dataset("images", data=data, chunks=(min(len(data), batch_size), *data.shape[1:]))
            h5.attrs["layout"] = "NCHW"
            h5.attrs["batch_size"] = batch_size
    return TensorfileResult(Path(output), len(data), batch_size, data.shape)


def read_tensorfile(path) -> np.ndarray:
    """The (N, C, H, W) float32 images of a tensorfile."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: calibration data file not found; write one with tlt calibration-tensorfile")
    try:
        with h5py.File(path, "r") as h5:
            if "images" not in h5:
                raise DataError(f"{path}: has no 'images' dataset; write it with tlt calibration-tensorfile")
            return np.asarray(h5["images"], np.float32)
    except OSError as exc:
        raise DataError(f"{path}: not an HDF5 calibration file ({exc})") from None


def calibration_batches(*, input_shape: tuple[int, int, int], task: str, batches: int, batch_size: int,
                        image_dir=None, data_file=None, allow_fewer: bool = False) -> list[np.ndarray]:
    """``batches`` NCHW batches of ``batch_size`` from ``image_dir`` or ``data_file``.

    Fewer images than ``batches x batch_size`` is an error unless ``allow_fewer``.
    """
    height, width, channels = input_shape
    needed = batches * batch_size
    if data_file:
        data = read_tensorfile(data_file)
        if data.shape[1:] != (channels, height, width):
            raise DataError(f"{data_file}: holds images of shape {data.shape[1:]} but the model takes "
                            f"{(channels, height, width)}; write the tensorfile with this model's spec")
        source = f"{data_file} holds {len(data)} images"
    elif image_dir:
        data = _images_from_folder(Path(image_dir), (height, width), task, needed)
        source = f"{image_dir} has {len(data)} images"
    else:
        raise DataError("INT8 needs calibration data: pass --cal_image_dir DIR or --cal_data_file FILE "
                        "(tlt calibration-tensorfile writes one), or an existing --cal_cache_file")
    if len(data) < needed and not allow_fewer:
        raise DataError(f"{source}, fewer than --batches x --batch_size = {batches} x {batch_size} = {needed}; "
                        "add images, lower --batches, or pass --allow_fewer")
    if len(data) == 0:
        raise DataError(f"{source}: no calibration images")
    data = data[:needed]
    return [data[i:i + batch_size] for i in range(0, len(data), batch_size)]


def _images_from_folder(folder: Path, size: tuple[int, int], task: str, limit: int) -> np.ndarray:
    from ..data.loader import image_files_dataset
    from ..tasks import task_class

    if not folder.is_dir():
        raise DataError(f"--cal_image_dir {folder}: not a folder of images")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                   and not p.name.startswith(atomic.TEMP_PREFIX))[:limit]
    if not files:
        raise DataError(f"--cal_image_dir {folder}: no .jpg/.jpeg/.png images in it")
    out = [np.transpose(np.asarray(images, np.float32), (0, 3, 1, 2))
           for images, _ in image_files_dataset([os.fspath(f) for f in files], output_size=size, batch_size=32,
                                                letterbox=task_class(task).letterbox)]
    return np.concatenate(out)
