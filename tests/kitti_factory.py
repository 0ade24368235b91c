"""Builds tiny KITTI datasets on disk for tests: real image files (Pillow) and label files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def label_line(cls: str, x1: float, y1: float, x2: float, y2: float, truncated: float = 0.0,
               occluded: int = 0) -> str:
    return (f"{cls} {truncated:.2f} {occluded} 0.00 {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} "
            "1.50 1.60 3.90 1.00 1.50 20.00 0.00")


def write_image(path: Path, width: int = 96, height: int = 64, mode: str = "RGB", seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (height, width, 4), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGBA").convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def make_kitti(root: Path, frames: dict[str, list[str]], *, width: int = 96, height: int = 64,
               ext: str = ".jpg", modes: dict[str, str] | None = None) -> Path:
    """`frames` maps a frame id to its label lines; images are random noise of the given size."""
    for i, (frame, lines) in enumerate(frames.items()):
        frame_ext = ext if not modes or frame not in modes else ".png"
        mode = (modes or {}).get(frame, "RGB")
        write_image(root / "image_2" / f"{frame}{frame_ext}", width, height, mode, seed=i)
        label = root / "label_2" / f"{frame}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("".join(line + "\n" for line in lines))
    return root


def conversion_spec(root: Path, *, val_split: float = 25, num_shards: int = 2,
                    partition_mode: str = "random", mapping: dict[str, str] | None = None,
                    extra: str = "") -> str:
    mapping = mapping if mapping is not None else {"car": "car", "pedestrian": "pedestrian"}
    maps = "".join(f'target_class_mapping {{ key: "{k}" value: "{v}" }}\n' for k, v in mapping.items())
    partitions = 2
    return (f'kitti_config {{\n  root_directory_path: "{root}"\n  image_dir_name: "image_2"\n'
            f'  label_dir_name: "label_2"\n  image_extension: ".jpg"\n'
            f'  partition_mode: "{partition_mode}"\n  num_partitions: {partitions}\n'
            f'  val_split: {val_split}\n  num_shards: {num_shards}\n{extra}}}\n'
            f'image_directory_path: "{root}"\n{maps}')
