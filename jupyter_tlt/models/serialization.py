"""Save models atomically and load them without ever running code stored in the file.

``.keras`` (Keras 3 archive) is the format of choice; ``.h5``/``.hdf5`` (architecture and weights,
Keras' legacy format) is read and written too. Before Keras sees a file, its architecture JSON is
read as data and checked: every object must be a built-in Keras class, and no ``Lambda`` layer (whose
Python code would be unmarshalled) is allowed. Keras then loads it with ``safe_mode=True`` as a second
guard, and with ``compile=False``: training compiles the model with its own losses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..atomic import clean_stale, ensure_writable_dir, publish, temp_prefix
from ..errors import DataError, OutputError
from . import encryption
from .blocks import keras_module

KERAS_SUFFIX = ".keras"
H5_SUFFIXES = (".h5", ".hdf5")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_CODE_CLASSES = {"Lambda", "__lambda__", "TFOpLambda"}
_SAFE_MODULE_PREFIXES = ("keras", "tf_keras")  # built-in objects; anything else is someone's Python code


def save_model(model: Any, path: str | os.PathLike, *, info: dict | None = None, key: str | None = None) -> Path:
    """Write ``model`` to ``path`` (``.keras``, ``.h5`` or ``.hdf5``) atomically and return the path.

    ``info`` (task, class names, spec...) is stored inside the file (see ``model_info``); with ``key``
    the file is encrypted (see ``encryption``). The model is written under a temporary name in the
    same directory (``.tmp-<name>.<host>-<pid>.<random><suffix>``: Keras needs the suffix to choose the format) and
    renamed, so a crash never leaves half a model.
    """
    final = Path(path)
    suffix = final.suffix.lower()
    if suffix != KERAS_SUFFIX and suffix not in H5_SUFFIXES:
        raise OutputError(f"{final}: models are saved as .keras (or .hdf5/.h5); change the file name's suffix")
    ensure_writable_dir(final.parent)
    clean_stale(final)
    fd, name = tempfile.mkstemp(prefix=temp_prefix(final), suffix=suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        with _quiet_legacy_notice():
            model.save(str(tmp), overwrite=True)
        if info is not None:
            from ..model_info import write_info

            write_info(tmp, info)
        if key:
            encryption.encrypt_file(tmp, final, key)
            tmp.unlink()
        else:
            publish(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return final


@contextlib.contextmanager
def _quiet_legacy_notice():
    """Hide Keras' "HDF5 is legacy" notice (logged through absl): saving .hdf5 is the user's choice."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*legacy.*")
            yield
    finally:
        logger.setLevel(level)


def load_model(path: str | os.PathLike, key: str | None = None):
    """Load a ``.keras`` or ``.h5``/``.hdf5`` model saved by jupyter-tlt, uncompiled.

    An encrypted model (saved with ``-k KEY``) is decrypted with ``key`` first. Raises DataError naming
    the file when it is missing, not a model, holds weights only, needs another key, or contains code
    (a Lambda layer or a non-Keras class): such a file is refused before anything in it runs.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such model file; check the path (train writes <results>/weights/*.keras)")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a model file; pass a .keras or .hdf5 file")
    with _plain_copy(path, key) as plain:
        return _load(plain, path)


def check_loadable(path: str | os.PathLike, key: str | None = None) -> None:
    """DataError if ``load_model`` would refuse the file for the code it holds, found without TensorFlow.

    ``push`` calls it so that a registry never offers a model its consumers cannot load.
    """
    path = Path(path)
    with _plain_copy(path, key) as plain:
        if not _weights_only(plain):  # a weights file (TAO/NGC backbones) holds arrays only: nothing can run
            _refuse_code(_config(plain, path), path)


def architecture(path: str | os.PathLike, key: str | None = None) -> dict:
    """The model's stored architecture as data (DataError if it refers to code); nothing is loaded or run.

    Example:
        >>> architecture("runs/detect/weights/model.keras")["class_name"]
        'Functional'
    """
    path = Path(path)
    with _plain_copy(path, key) as plain:
        config = _config(plain, path)
    _refuse_code(config, path)
    return config


def _weights_only(path: Path) -> bool:
    """A Keras HDF5 weights file: layer names and arrays, no architecture."""
    if path.suffix.lower() not in H5_SUFFIXES:
        return False
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return "model_config" not in h5.attrs and "layer_names" in h5.attrs
    except OSError:
        return False


@contextlib.contextmanager
def _plain_copy(path: Path, key: str | None):
    """``path`` itself, or for an encrypted model a decrypted copy in a private folder removed after."""
    if not encryption.is_encrypted(path):
        yield path
        return
    plain = encryption.read_plain(path, key)
    suffix = H5_SUFFIXES[0] if plain.startswith(_HDF5_SIGNATURE) else KERAS_SUFFIX
    with tempfile.TemporaryDirectory(prefix="jupyter-tlt-") as tmp:  # private (0700)
        inner = Path(tmp) / f"model{suffix}"
        inner.write_bytes(plain)
        yield inner


def _config(path: Path, shown: Path) -> dict:
    """The architecture stored in ``path`` as data; messages name ``shown``."""
    suffix = path.suffix.lower()
    if suffix == KERAS_SUFFIX:
        return _keras_archive_config(path, shown)
    if suffix in H5_SUFFIXES:
        return _h5_config(path, shown)
    extra = " (encrypted TLT/TAO .tlt/.etlt models cannot be read)" if suffix in (".tlt", ".etlt") else ""
    raise DataError(f"{shown}: unsupported model file type {suffix or '(no suffix)'!r}{extra}; "
                    "jupyter-tlt loads the .keras and .hdf5/.h5 models it saves")


def _load(path: Path, shown: Path):
    """Load ``path``; messages name ``shown`` (the user's file, when ``path`` is its decrypted copy)."""
    config = _config(path, shown)
    _refuse_code(config, shown)
    keras = keras_module()
    try:
        return keras.saving.load_model(str(path), compile=False, safe_mode=True)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "arbitrary code" in str(exc):
            raise DataError(f"{shown}: the model contains code (a Lambda layer), which was not loaded: "
                            "loading it would run Python code stored in the file") from None
        raise DataError(f"{shown}: cannot be loaded as a Keras model ({_first_line(exc)}); "
                        "re-save it with jupyter-tlt (save_model)") from None
    except Exception as exc:  # Keras raises many types for a broken file; the user needs one message
        raise DataError(f"{shown}: cannot be loaded as a Keras model ({type(exc).__name__}: {_first_line(exc)}); "
                        "re-save it with jupyter-tlt (save_model)") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:300]


def _keras_archive_config(path: Path, shown: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise DataError(f"{shown}: is a zip archive but not a Keras model (no config.json); "
                                "pass a model saved by jupyter-tlt")
            raw = archive.read("config.json")
    except zipfile.BadZipFile:
        raise DataError(f"{shown}: is not a Keras model file (not a .keras zip archive); "
                        "pass a model saved by jupyter-tlt") from None
    except OSError as exc:
        raise DataError(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    try:
        config = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise DataError(f"{shown}: config.json of the archive is not valid JSON; "
                        "the model file is damaged") from None
    if not isinstance(config, dict):
        raise DataError(f"{shown}: config.json does not describe a model; the model file is damaged")
    config = dict(config)
    config.pop("compile_config", None)  # not deserialized: models load with compile=False
    return config


def _h5_config(path: Path, shown: Path) -> dict:
    with open(path, "rb") as fh:
        if fh.read(8) != _HDF5_SIGNATURE:
            raise DataError(f"{shown}: is not an HDF5 model file; "
                            "pass a .keras or .hdf5 model saved by jupyter-tlt")
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("model_config")
    except OSError as exc:
        raise DataError(f"{shown}: the HDF5 file cannot be read ({exc}); the model file is damaged") from None
    if raw is None:
        raise DataError(f"{shown}: holds weights only, no model architecture; save the whole model "
                        "(save_model) or build the model from the spec and load these weights into it")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        config = json.loads(raw)
    except ValueError:
        raise DataError(f"{shown}: the model architecture stored in the file is not valid JSON; "
                        "the model file is damaged") from None
    if not isinstance(config, dict):
        raise DataError(f"{shown}: the stored architecture does not describe a model; the model file is damaged")
    return config


def _refuse_code(config: Any, path: Path) -> None:
    """DataError if the architecture refers to anything that would run or import Python code."""
    for node in _walk(config):
        class_name = node.get("class_name")
        if not isinstance(class_name, str):
            continue
        inner = node.get("config") if isinstance(node.get("config"), dict) else {}
        layer = inner.get("name")
        where = f" layer {layer!r}" if isinstance(layer, str) else ""
        if class_name in _CODE_CLASSES or "function_type" in inner:
            raise DataError(f"{path}: the model contains code ({class_name}{where}), which was not loaded: "
                            "loading it would run Python code stored in the file; rebuild the model from "
                            "built-in layers")
        module = node.get("module")
        if isinstance(module, str) and not module.startswith(_SAFE_MODULE_PREFIXES):
            raise DataError(f"{path}: the model refers to code outside Keras ({module}.{class_name}{where}), "
                            "which was not loaded; jupyter-tlt models use built-in Keras layers only")
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            raise DataError(f"{path}: the model contains a custom object ({registered}{where}), which was "
                            "not loaded; jupyter-tlt models use built-in Keras layers only")


def _walk(value: Any):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def call_keras(model: Any, images: Any) -> Any:
    """``model(images, training=False)``, quiet about models saved with a one-element input list."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
        return model(images, training=False)
