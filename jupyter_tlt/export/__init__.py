"""Export for deployment: ONNX (FP32, FP16, INT8 with calibration), DeepStream configs, TensorRT engines.

    from jupyter_tlt.export import export, write_tensorfile, build_engine
    export("runs/retrain/weights/model.keras", data_type="int8", cal_data_file="cal.h5", gen_ds_config=True)

Modules: ``step`` (the export step), ``onnx_graph`` (Keras -> ONNX), ``precision`` (FP16),
``calibration`` (INT8 ranges and the TensorRT cache), ``quantize`` (INT8 QDQ), ``tensorfile``
(calibration data), ``deepstream`` (nvinfer config), ``tensorrt_engine`` (engines). Importing this
package imports neither TensorFlow nor onnx; the first use of a function does.
"""

from __future__ import annotations

_EXPORTS = {
    "export": "step", "ExportResult": "step",
    "keras_to_onnx": "onnx_graph", "onnx_io_names": "onnx_graph", "compare_with_keras": "onnx_graph",
    "write_tensorfile": "tensorfile", "build_engine": "tensorrt_engine", "gpu_status": "tensorrt_engine",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
