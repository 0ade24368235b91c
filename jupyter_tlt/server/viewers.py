"""What the lab's document viewers show, as JSON: evaluation metrics, training events, model summaries.

Nothing here runs code from a file: a Keras model's architecture is read as JSON and checked by the
loader's own guard (`models.serialization.architecture`), its parameters counted from the HDF5
weights' array shapes; an ONNX model is read as a protobuf without its external data. TensorFlow is
never imported in the server for a viewer.

    >>> view(Path("runs/detect/evaluate/metrics.json"))["kind"]
    'metrics'
    >>> view(Path("runs/detect/weights/model.keras"))["parameters"]
    11203284
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..experiment_index import history
from ..lineage import describe, lineage

MAX_BYTES = 64 << 20        # metrics.json, status.jsonl, reports: read whole up to this size
MAX_LAYERS = 2000           # rows of a layer table
_LAYER_FIELDS = ("filters", "units", "kernel_size", "strides", "activation", "padding", "use_bias")


class NotViewable(DataError):
    """A file no viewer reads (the lab then opens it as it would without jupyter-tlt)."""


def view(path: Path) -> dict:
    """The viewer's JSON for the file at `path`, picked by its name."""
    name = path.name.lower()
    if not path.is_file():
        raise DataError(f"{path.name}: not a file; pick a file from the experiment's artifacts")
    if name.endswith("_prune_report.json"):
        return {"kind": "prune_report", **_json(path)}
    if name == "metrics.json":
        return {"kind": "metrics", **_json(path)}
    if name == "status.jsonl":
        return {"kind": "events", "history": history(path), "events": _event_counts(path)}
    if name.endswith(".keras") or name.endswith((".h5", ".hdf5")):
        return {"kind": "keras", **keras_summary(path), "lineage": _lineage(path)}
    if name.endswith(".onnx"):
        return {"kind": "onnx", **onnx_summary(path), "lineage": _lineage(path)}
    raise NotViewable(f"{path.name}: no viewer for this kind of file")


def _json(path: Path) -> dict:
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path.name}: {path.stat().st_size} bytes, more than the viewer reads "
                        f"({MAX_BYTES >> 20} MiB); open it in a notebook")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path.name}: not valid JSON ({exc}); was it written completely?") from None
    if not isinstance(data, dict):
        raise DataError(f"{path.name}: holds {type(data).__name__}, not the object a viewer reads")
    return data


def _event_counts(path: Path) -> dict:
    counts: Counter[str] = Counter()
    with open(path, "rb") as f:
        for line in f:
            try:
                event = json.loads(line).get("event")
            except (ValueError, AttributeError):
                continue
            if isinstance(event, str):
                counts[event] += 1
    return dict(counts)


def _lineage(path: Path) -> list[dict]:
    try:
        return [{"step": n["step"], "name": n.get("reference") or Path(n["path"] or "?").name,
                 "summary": describe(n)} for n in lineage(path)]
    except (OSError, ValueError):
        return []


def keras_summary(path: Path) -> dict:
    """Inputs, outputs, parameters, precision and the layer table of a .keras/.h5 model, as data."""
    from ..model_info import read_info
    from ..models.serialization import architecture

    config = architecture(path)  # refuses a model holding code before anything else is read
    layers = _layers(config)
    counts, dtypes = _weight_shapes(path)
    inputs = [{"name": layer["name"], "shape": layer["config"].get("batch_shape")
               or layer["config"].get("batch_input_shape")} for layer in layers if layer["class_name"] == "InputLayer"]
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    outputs = [o[0] for o in inner.get("output_layers", []) if isinstance(o, list) and o]
    table = [{"name": layer["name"], "class": layer["class_name"],
              **{k: layer["config"][k] for k in _LAYER_FIELDS if k in layer["config"]}}
             for layer in layers[:MAX_LAYERS]]
    try:
        info = read_info(path)
    except DataError:
        info = {}
    return {"inputs": inputs, "outputs": outputs, "parameters": counts, "layers": len(layers), "table": table,
            "precision": sorted(dtypes), "size": path.stat().st_size,
            "info": {k: info[k] for k in ("task", "class_names", "input_shape", "pruned") if k in info}}


def _layers(config: dict) -> list[dict]:
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    out = []
    for layer in inner.get("layers", []) if isinstance(inner.get("layers"), list) else []:
        if isinstance(layer, dict):
            out.append({"name": str(layer.get("name") or (layer.get("config") or {}).get("name")),
                        "class_name": str(layer.get("class_name")),
                        "config": layer.get("config") if isinstance(layer.get("config"), dict) else {}})
    return out


def _weight_shapes(path: Path) -> tuple[int, set[str]]:
    """(number of weights, their dtypes) from the HDF5 weights' shapes; arrays are never read."""
    import h5py

    def count(h5: Any) -> tuple[int, set[str]]:
        total, dtypes = 0, set()

        def visit(_name: str, obj: Any) -> None:
            nonlocal total
            if isinstance(obj, h5py.Dataset):
                total += math.prod(obj.shape)
                dtypes.add(str(obj.dtype))

        h5.visititems(visit)
        return total, dtypes

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if "model.weights.h5" not in archive.namelist():
                return 0, set()
            with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
                return count(h5)
    with h5py.File(path, "r") as h5:
        return count(h5["model_weights"] if "model_weights" in h5 else h5)


def onnx_summary(path: Path) -> dict:
    """Inputs, outputs, parameters, precision, operators and metadata of an ONNX model (protobuf only)."""
    import onnx

    from ..export.step import METADATA_KEY

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError, OSError...
        raise DataError(f"{path.name}: not an ONNX model ({type(exc).__name__}); pass a file written by tlt export") from None

    def shape(value: Any) -> list:
        dims = value.type.tensor_type.shape.dim
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in dims]

    def dtype(value: Any) -> str:
        return onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name

    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    ops = Counter(node.op_type for node in graph.node)
    dtypes = Counter(onnx.helper.tensor_dtype_to_np_dtype(i.data_type).name for i in graph.initializer)
    precision = "int8 (Q/DQ)" if ops.get("QuantizeLinear") else ("fp16" if dtypes.get("float16") else "fp32")
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        stored = json.loads(meta.get(METADATA_KEY, "{}"))
    except ValueError:
        stored = {}
    info = {k: stored[k] for k in ("task", "class_names", "exported_from", "data_type")
            if isinstance(stored, dict) and k in stored}
    return {"inputs": [{"name": v.name, "shape": shape(v), "dtype": dtype(v)} for v in graph.input
                       if v.name not in initializers],
            "outputs": [{"name": v.name, "shape": shape(v), "dtype": dtype(v)} for v in graph.output],
            "parameters": int(sum(math.prod(i.dims) for i in graph.initializer)), "precision": precision,
            "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=None),
            "operators": dict(ops.most_common()), "nodes": len(graph.node), "size": path.stat().st_size,
            "producer": model.producer_name, "info": info}
