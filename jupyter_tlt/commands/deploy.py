"""Deployment steps: `export`, `calibration-tensorfile`, `convert` (TensorRT engines)."""

from __future__ import annotations

import argparse

from ..errors import DataError, OutputError
from ..export.deepstream import DEEPSTREAM_TENSORRT, DEFAULT_DEEPSTREAM
from ..export.formats import DATA_TYPES
from ..tasks import TASKS
from . import Step
from .model import KEY_HELP


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input_file", nargs="?", help="model to export (the seed's positional form of -m)")
    p.add_argument("-m", "--model", help="model to export (.keras, .hdf5)")
    p.add_argument("-o", "--output_file", help="the .onnx to write (default <results>/export/<model>.onnx)")
    p.add_argument("--data_type", choices=DATA_TYPES, default="fp32",
                   help="fp32; fp16 (half the size); int8 (FP32 graph + TensorRT calibration cache + INT8 QDQ ONNX)")
    p.add_argument("-f", "--format", choices=["onnx", "uff"], default="onnx", help="onnx (UFF left TensorRT 10)")
    p.add_argument("--parser", default=None, help="accepted for TLT compatibility (ONNX is parsed by TensorRT)")
    p.add_argument("--outputs", default=None, help="expected output names, comma-separated (checked)")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP)
    p.add_argument("--cal_image_dir", help="INT8: folder of calibration images")
    p.add_argument("--cal_data_file", help="INT8: HDF5 calibration data from tlt calibration-tensorfile")
    p.add_argument("--cal_cache_file", help="INT8: calibration cache to write (default cal.bin beside the "
                   "ONNX), or to reuse when no calibration data is given")
    p.add_argument("--batches", type=int, default=10, help="INT8: calibration batches (default 10)")
    p.add_argument("--batch_size", type=int, default=16, help="INT8: calibration batch size (default 16)")
    p.add_argument("--calibration_method", choices=["entropy", "percentile", "max"], default="entropy",
                   help="INT8: entropy (TensorRT's EntropyCalibration2), percentile (99.99) or max")
    p.add_argument("--allow_fewer", action="store_true", help="INT8: calibrate on fewer images than "
                   "batches x batch_size")
    p.add_argument("--max_batch_size", type=int, default=16, help="engine and DeepStream batch size (default 16)")
    p.add_argument("--static_batch_size", type=int, default=-1, help="fixed batch in the ONNX (-1: dynamic)")
    p.add_argument("--target_opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("--max_workspace_size", type=int, default=1024, help="TensorRT workspace in MB")
    p.add_argument("--gen_ds_config", action="store_true", help="write labels.txt and a DeepStream nvinfer config")
    p.add_argument("--engine_file", help="also build a TensorRT engine (needs a GPU and TensorRT)")
    p.add_argument("--deepstream_version", choices=list(DEEPSTREAM_TENSORRT), default=DEFAULT_DEEPSTREAM,
                   help="DeepStream release the config is for; its TensorRT decides the INT8 form "
                   f"(default {DEFAULT_DEEPSTREAM})")
    p.add_argument("--overwrite", action="store_true", help="replace existing exported files")
    p.add_argument("-v", "--verbose", action="store_true")


def _export(args):
    from ..export.step import export

    model = args.model or args.input_file
    if not model:
        raise DataError("no model to export: pass -m MODEL (or the model file as the first argument)")
    if args.format == "uff":  # a .uff output name is refused by export itself
        raise OutputError("UFF is not written: TensorRT 10 removed the UFF parser. Export to ONNX "
                          "(-o model.onnx): tlt convert, trtexec and DeepStream's onnx-file read it")
    return export(model, args.output_file, data_type=args.data_type, key=args.key,
                  cal_image_dir=args.cal_image_dir, cal_data_file=args.cal_data_file,
                  cal_cache_file=args.cal_cache_file, batches=args.batches, batch_size=args.batch_size,
                  max_batch_size=args.max_batch_size, static_batch_size=args.static_batch_size,
                  target_opset=args.target_opset, gen_ds_config=args.gen_ds_config, engine_file=args.engine_file,
                  calibration_method=args.calibration_method, allow_fewer=args.allow_fewer,
                  workspace_mb=args.max_workspace_size, overwrite=args.overwrite,
                  expected_outputs=[name.strip() for name in (args.outputs or "").split(",") if name.strip()],
                  deepstream_version=args.deepstream_version)


def _tensorfile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-e", "--experiment_spec_file", required=True, help="experiment spec of the model")
    p.add_argument("-o", "--output_path", required=True, help="HDF5 file to write")
    p.add_argument("-m", "--max_batches", type=int, default=10, help="batches to write (default 10)")
    p.add_argument("-b", "--batch_size", type=int, default=None, help="default: the spec's batch size")
    p.add_argument("--task", choices=TASKS, default=None, help="default: from the spec")
    p.add_argument("--use_validation_set", action="store_true", help="take the validation images")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def _tensorfile(args):
    from ..export.tensorfile import write_tensorfile

    return write_tensorfile(args.experiment_spec_file, args.output_path, task=args.task,
                            max_batches=args.max_batches, batch_size=args.batch_size,
                            use_validation_set=args.use_validation_set, overwrite=args.overwrite)


def _convert_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input_file", help="exported .onnx model")
    p.add_argument("-e", "--engine_file", required=True, help="TensorRT engine to write")
    p.add_argument("-t", "--data_type", choices=DATA_TYPES, default="fp32")
    p.add_argument("-c", "--cal_cache_file", help="INT8 calibration cache (from tlt export --data_type int8): "
                   "TensorRT 10 calibrates from it; TensorRT 11 writes its scales into Q/DQ nodes "
                   "(default there: cal.bin beside the model)")
    p.add_argument("-m", "--max_batch_size", type=int, default=16)
    p.add_argument("--min_batch_size", type=int, default=1)
    p.add_argument("--opt_batch_size", type=int, default=None, help="default: the max batch size")
    p.add_argument("-w", "--max_workspace_size", type=int, default=1024, help="workspace in MB")
    p.add_argument("-k", "--key", default=None, help="accepted for TLT compatibility (ONNX files are not encrypted)")
    p.add_argument("-d", "--input_dims", default=None, help="accepted for TLT compatibility (read from the ONNX)")
    p.add_argument("-o", "--outputs", default=None, help="accepted for TLT compatibility (read from the ONNX)")
    p.add_argument("-v", "--verbose", action="store_true")


def _convert(args):
    from ..export.step import build_engine_with_info

    notes: list[str] = []  # which graph the installed TensorRT built from (10 and 11 differ)
    path = build_engine_with_info(args.input_file, args.engine_file, data_type=args.data_type,
                                  calibration_cache=args.cal_cache_file, min_batch=args.min_batch_size,
                                  opt_batch=args.opt_batch_size, max_batch=args.max_batch_size,
                                  workspace_mb=args.max_workspace_size, verbose=args.verbose, notes=notes)
    return "\n".join([f"Wrote TensorRT engine {path} ({args.data_type}, batch {args.min_batch_size}-"
                      f"{args.max_batch_size})", *notes])


STEPS = [
    Step("export", "Export a model to ONNX (fp32, fp16, or int8 with calibration) for TensorRT and DeepStream.",
         _export_args, _export),
    Step("calibration-tensorfile", "Write INT8 calibration batches from a spec's dataset to HDF5.",
         _tensorfile_args, _tensorfile, aliases=("calibration_tensorfile",)),
    Step("convert", "Build a TensorRT engine from an exported ONNX model (needs a GPU and TensorRT).",
         _convert_args, _convert, aliases=("converter",)),
]
