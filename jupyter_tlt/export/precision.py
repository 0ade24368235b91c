"""FP16 ONNX: weights and arithmetic in half precision, inputs and outputs kept float32 for DeepStream.

    half = to_fp16(keras_to_onnx(model))     # about half the file size; same tensor names at the edges

Every float32 initializer becomes float16; a Cast after the graph input and one before each graph
output keep the interface float32, so DeepStream's preprocessing and parsers see no difference.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_HALF_SUFFIX = "/fp16"


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """A float16 copy of the float32 ``model`` (the argument is not changed)."""
    half = onnx.ModelProto()
    half.CopyFrom(model)
    graph = half.graph
    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            values = numpy_helper.to_array(init)
            if np.abs(values).max(initial=0.0) > np.finfo(np.float16).max:
                raise ValueError(f"initializer {init.name} holds values beyond float16's range")
            graph.initializer[i].CopyFrom(numpy_helper.from_array(values.astype(np.float16), init.name))
    renames = {}
    for value in graph.input:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            renames[value.name] = value.name + _HALF_SUFFIX
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
    casts = [helper.make_node("Cast", [name], [half_name], to=TensorProto.FLOAT16, name=half_name)
             for name, half_name in renames.items()]
    for value in graph.output:
        if value.type.tensor_type.elem_type != TensorProto.FLOAT:
            continue
        half_name = value.name + _HALF_SUFFIX
        for node in graph.node:
            node.output[:] = [half_name if name == value.name else name for name in node.output]
            node.input[:] = [half_name if name == value.name else name for name in node.input]
        casts.append(helper.make_node("Cast", [half_name], [value.name], to=TensorProto.FLOAT, name=value.name + "/cast"))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts[:len(renames)] + nodes + casts[len(renames):])
    for value in graph.value_info:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16
    onnx.checker.check_model(half)
    return half
