"""What `push` learns from a model file before accepting it, without TensorFlow: is it a model, and its info.

    >>> describe_model("results/weights/model.keras")
    {'encrypted': False, 'task': 'detection', 'arch': 'resnet18', 'input_size': [3, 64, 96], ...}
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ..errors import DataError
from ..model_info import read_info
from ..models import encryption
from ..models.serialization import check_loadable

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_DEPTH_DEFAULT = {"resnet": 18, "vgg": 16}


def describe_model(path: str | Path, key: str | None = None) -> dict:
    """task, arch, input_size, class_names and encrypted of a jupyter-tlt/Keras model; DataError if not a model."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such model file; pass the .keras or .hdf5 model to push")
    encrypted = encryption.is_encrypted(path)
    if encrypted and not key:
        return {"encrypted": True}  # its info is sealed; the catalogue entry describes it
    plain = encryption.read_plain(path, key) if encrypted else path.read_bytes()
    _check_is_model(plain, path)
    check_loadable(path, key)  # pull consumers refuse models holding code (Lambda layers): refuse them here
    info = read_info(path, key)
    shape = info.get("input_shape")
    return {"encrypted": encrypted, "task": info.get("task"), "arch": info.get("arch") or _arch(info.get("spec", "")),
            "input_size": list(shape) if shape else None, "class_names": info.get("class_names")}


def _check_is_model(data: bytes, path: Path) -> None:
    if data.startswith(_HDF5_SIGNATURE):
        import h5py

        try:
            with h5py.File(io.BytesIO(data), "r") as h5:
                if "model_config" in h5.attrs or "layer_names" in h5.attrs:  # a model, or Keras weights (TAO/NGC)
                    return
        except OSError:
            pass
        raise DataError(f"{path}: an HDF5 file without a model architecture (weights only?); push a whole "
                        "model saved by jupyter-tlt or Keras")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "config.json" in archive.namelist():
                return
    except zipfile.BadZipFile:
        pass
    raise DataError(f"{path}: is not a model file (neither a .keras archive nor an HDF5 model); push a model "
                    "saved by jupyter-tlt (tlt train writes <results>/weights/model.keras)")


def _arch(spec_text: str) -> str | None:
    """`resnet18` from the spec stored in the model (`arch: "resnet"` plus n_layers/num_layers)."""
    found = re.search(r'\barch:\s*"(\w+)"', spec_text or "")
    if not found:
        return None
    arch = found.group(1).lower()
    depth = re.search(r"\b(?:n_layers|num_layers):\s*(\d+)", spec_text)
    number = int(depth.group(1)) if depth else _DEPTH_DEFAULT.get(arch)
    return f"{arch}{number}" if arch in _DEPTH_DEFAULT and number else arch
