"""What a saved model must carry besides its weights: task, class names, input size, provenance.

Stored inside the model file itself (a `jupyter_tlt.json` member of the `.keras` zip, or a root
attribute of an `.h5`/`.hdf5` file), so a model copied anywhere still knows its classes.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

from .errors import DataError

MEMBER = "jupyter_tlt.json"


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
