"""Experiment and conversion specs in protobuf text format (TLT/TAO style).

    spec = load_experiment_spec("specs/train.cfg")      # a file, spec text, or a nested dict
    conv = load_conversion_spec(cell_text, name="<cell>")
    text = spec_to_text(spec)                            # parses back to an equal message

Every problem (unknown field, wrong type, syntax, missing or out-of-range value) raises one
SpecError naming ``file:line`` and the dotted field path, with a fix. The messages are
``ExperimentSpec`` and ``DatasetExportConfig`` from ``protos/*.proto``; unset fields keep protobuf's
"unset" state, their defaults live in ``defaults.py``; ``views.py`` derives input shape, classes, seed.
The generated protobuf modules are imported on first use, so ``import jupyter_tlt.spec`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from google.protobuf import text_format
from google.protobuf.message import Message

from ..errors import SpecError
from .views import backbone, class_mapping, image_extension, input_shape, random_seed

if TYPE_CHECKING:  # pragma: no cover
    from .protos.dataset_export_pb2 import DatasetExportConfig
    from .protos.experiment_pb2 import ExperimentSpec

__all__ = ["load_experiment_spec", "load_conversion_spec", "spec_to_text", "ExperimentSpec",
           "DatasetExportConfig", "input_shape", "class_mapping", "random_seed", "backbone",
           "image_extension"]


def load_experiment_spec(source: Any, *, name: str | None = None) -> "ExperimentSpec":
    """Parse and validate an experiment spec (train/evaluate/prune/export, option -e)."""
    from .protos.experiment_pb2 import ExperimentSpec

    return _load(source, ExperimentSpec, name, "-e")


def load_conversion_spec(source: Any, *, name: str | None = None) -> "DatasetExportConfig":
    """Parse and validate a dataset-conversion spec (dataset_convert, option -d)."""
    from .protos.dataset_export_pb2 import DatasetExportConfig

    return _load(source, DatasetExportConfig, name, "-d")


def spec_to_text(message: Message) -> str:
    """The spec in protobuf text format; loading the text gives back an equal message."""
    return text_format.MessageToString(message, as_utf8=True)


def _load(source, message_type, name, flag):
    from . import parser, source as sources, validate

    if isinstance(source, message_type):  # already parsed: validate a copy
        copy = message_type()
        copy.CopyFrom(source)
        validate.check(copy, name or "<spec>")
        return copy
    if isinstance(source, Message):
        raise SpecError(f"{name or '<spec>'}: expected a {message_type.DESCRIPTOR.name}, got a "
                        f"{source.DESCRIPTOR.name}; pass the right kind of spec to {flag}")
    kind, content, shown = sources.resolve(source, name, flag)
    if kind == "dict":
        return parser.parse_dict(content, message_type, shown)
    return parser.parse_text(content, message_type, shown)


def __getattr__(attr: str):
    if attr == "ExperimentSpec":
        from .protos.experiment_pb2 import ExperimentSpec

        return ExperimentSpec
    if attr == "DatasetExportConfig":
        from .protos.dataset_export_pb2 import DatasetExportConfig

        return DatasetExportConfig
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
