"""ONNX export for deployment: Keras models of the zoo as NCHW ONNX graphs for TensorRT and DeepStream.

``keras_to_onnx`` converts, ``onnx_io_names`` gives the input and output names DeepStream configs
need, ``compare_with_keras`` checks the graph against Keras in ONNX Runtime. Importing this package
imports neither TensorFlow nor onnx; the first use of a function does.
"""

from __future__ import annotations

__all__ = ["keras_to_onnx", "onnx_io_names", "compare_with_keras"]


def __getattr__(name: str):
    if name in __all__:
        from . import onnx_graph

        return getattr(onnx_graph, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
