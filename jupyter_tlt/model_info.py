"""What a saved model must carry besides its weights: task, class names, input size, provenance.

Stored inside the model file itself (a `jupyter_tlt.json` member of the `.keras` zip, a root
attribute of an `.h5`/`.hdf5` file, or the `jupyter_tlt` metadata of an exported ONNX file), so a
model copied anywhere still knows its classes.

    read_info("runs/detect/weights/model.keras")["class_names"]
    onnx_info("runs/detect/export/model.onnx")["task"]
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

from .errors import DataError

MEMBER = "jupyter_tlt.json"
METADATA_KEY = "jupyter_tlt"  # the ONNX metadata property holding the info (written by export)


def write_info(path: str | os.PathLike, info: dict) -> None:
    """Add `info` to the model file at `path` (call before the file gets its final name)."""
    path = Path(path)
    text = json.dumps(info, indent=2, sort_keys=True)
    if path.suffix.lower() == ".keras":
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr(MEMBER, text)
    else:
        import h5py

        with h5py.File(path, "a") as f:
            f.attrs[MEMBER] = text


def read_info(path: str | os.PathLike, key: str | None = None) -> dict:
    """The info stored by `write_info`, or {} for a model saved by other tools (decrypted with `key`)."""
    from .models.encryption import is_encrypted, read_plain

    path = Path(path)
    try:
        plain = io.BytesIO(read_plain(path, key)) if is_encrypted(path) else path
        if zipfile.is_zipfile(plain):
            with zipfile.ZipFile(plain) as zf:
                return json.loads(zf.read(MEMBER)) if MEMBER in zf.namelist() else {}
        import h5py

        with h5py.File(plain, "r") as f:
            text = f.attrs.get(MEMBER)
            return json.loads(text) if text else {}
    except FileNotFoundError:
        raise DataError(f"{path}: model file not found; check -m/--model_path.") from None
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable model file ({exc}); give a .keras or .hdf5 model "
                        "saved by jupyter-tlt or Keras.") from None


def onnx_info(path) -> dict:
    """The jupyter-tlt info stored in an exported ONNX file ({} if none)."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, OSError...
        raise DataError(f"{path}: not an ONNX model ({type(exc).__name__}); pass a file written by tlt export") from None
    props = {p.key: p.value for p in model.metadata_props}
    return json.loads(props[METADATA_KEY]) if METADATA_KEY in props else {}
