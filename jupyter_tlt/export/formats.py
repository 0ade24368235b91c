"""The model formats jupyter-tlt reads and writes, and the precisions an export can have: the one table
the runners, the CLI's -f/--framework and --data_type choices and the file suffixes derive from.

    FORMATS["onnx"].suffixes        # ('.onnx',)
    FRAMEWORKS                      # ('keras', 'onnx', 'tensorrt'): what `make_runner` takes
    FRAMEWORK_CHOICES               # ('keras', 'tlt', 'onnx', 'tensorrt'): -f on the CLI (tlt = keras)
    SUFFIXES[".engine"]             # 'tensorrt'

Adding an export target: a row here, its runner class in ``runners.py`` and its writer under ``export/``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str                    # the framework name (-f/--framework)
    suffixes: tuple[str, ...]    # model file suffixes, the first one the usual
    runner: str                  # the class in ``runners.py`` that runs it
    needs_gpu: bool              # runs only on a CUDA GPU
    aliases: tuple[str, ...] = ()  # other names -f accepts (TLT's name for a Keras model)


FORMATS = {f.name: f for f in (
    Format("keras", (".keras", ".hdf5", ".h5"), "KerasRunner", False, aliases=("tlt",)),
    Format("onnx", (".onnx",), "OnnxRunner", False),
    Format("tensorrt", (".engine", ".trt", ".plan"), "TensorRTRunner", True),
)}
FRAMEWORKS = tuple(FORMATS)
FRAMEWORK_CHOICES = tuple(name for f in FORMATS.values() for name in (f.name, *f.aliases))
SUFFIXES = {suffix: f.name for f in FORMATS.values() for suffix in f.suffixes}
DATA_TYPES = ("fp32", "fp16", "int8")  # precisions of an exported model and of a TensorRT engine


def canonical(framework: str | None) -> str | None:
    """The format name for a -f value (an alias such as "tlt" -> "keras"; None stays None)."""
    if framework is None:
        return None
    return next((f.name for f in FORMATS.values() if framework == f.name or framework in f.aliases), framework)
