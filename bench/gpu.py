"""GPU check (issue 19, `make gpu-check`): train, export, build TensorRT engines, evaluate and time them.

One script for a machine with an NVIDIA GPU, within 8 minutes on one data-centre GPU:

  1. install the [gpu,tensorrt] extras when TensorFlow sees no GPU or TensorRT is missing;
  2. generate synthetic target-domain scenes and convert them to TFRecords (`tlt generate`,
     `tlt dataset-convert`);
  3. train the demo's resnet18 DetectNet_v2 for a few epochs at 480x272 with `--gpus 1` (images/s
     from the epoch timestamps in status.jsonl, first epoch excluded: it holds tracing and warm-up);
  4. export FP32, FP16 and INT8 ONNX (`tlt export`, INT8 calibrated on the generated frames);
  5. evaluate each ONNX file in ONNX Runtime (`tlt evaluate -f onnx`): the reference mAP;
  6. build an FP32, an FP16 and an INT8 engine (`tlt convert`, the installed TensorRT's own path);
  7. evaluate each engine through `tlt evaluate -f tensorrt` (mAP next to the ONNX Runtime figure);
  8. time each engine at batch 1, 8 and 32 (images/s, median of rounds, host-device copies included).

Every step runs as the user would run it (the tlt commands, in subprocesses: TensorFlow and TensorRT
never share the GPU in one process). Steps that need a GPU are skipped, with the reason, when there
is none or with --cpu_only; the report says which ran and which were skipped and why. Results go to
one JSON report (default bench/results/gpu/report.json) and a table on stdout.

    python bench/gpu.py                 # the full check (a GPU machine)
    python bench/gpu.py --tiny          # seconds-sized settings: what CI runs (tests/test_gpu_check.py)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from specs import CLASSES, detection_spec  # noqa: E402

DATA_TYPES = ("fp32", "fp16", "int8")
FULL = dict(images=400, width=480, height=272, epochs=3, batches=(1, 8, 32), cal_batches=8, rounds=5, seconds=2.0)
TINY = dict(images=24, width=96, height=64, epochs=1, batches=(1, 8), cal_batches=1, rounds=2, seconds=0.2)


def tlt(*args: str, log: Path) -> float:
    """Run one tlt command like a user (output appended to ``log``); its wall time in seconds."""
    start = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"\n$ tlt {' '.join(args)}\n")
        out.flush()
        done = subprocess.run([str(Path(sys.executable).with_name("tlt")), *args], stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"tlt {' '.join(args)} exited {done.returncode}; see {log}")
    return time.perf_counter() - start


def tensorflow_gpus() -> int:
    """GPUs TensorFlow sees, asked in a child process (TensorFlow here would hold GPU memory TensorRT needs)."""
    code = "import tensorflow as tf; print(len(tf.config.list_physical_devices('GPU')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 and done.stdout.strip() else 0


def install_extras(log: Path) -> dict:
    """pip install the [gpu,tensorrt] extras of this checkout when TensorFlow sees no GPU or TensorRT or
    pycuda is missing."""
    missing = [name for name in ("tensorrt", "pycuda") if importlib.util.find_spec(name) is None]
    if tensorflow_gpus() == 0:
        missing.append("TensorFlow's CUDA libraries (tensorflow[and-cuda])")
    if not missing:
        return {"status": "ran", "detail": "already installed", "tensorflow_gpus": tensorflow_gpus()}
    with open(log, "a") as out:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{ROOT}[gpu,tensorrt]"], check=True,
                       stdout=out, stderr=subprocess.STDOUT)
    importlib.invalidate_caches()  # the packages pip just added must be importable in this process
    return {"status": "ran", "detail": f"installed [gpu,tensorrt] (was missing: {', '.join(missing)})",
            "tensorflow_gpus": tensorflow_gpus()}


def environment() -> dict:
    """The GPU and TensorRT the engine figures belong to (what is known here)."""
    found = {}
    smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True) if shutil.which("nvidia-smi") else None
    if smi is not None and smi.returncode == 0:
        found["gpu"] = smi.stdout.strip().splitlines()[0]
    try:
        import tensorrt

        found["tensorrt"] = tensorrt.__version__
    except ImportError:
        pass
    return found


def make_data(work: Path, settings: dict, log: Path) -> Path:
    """Target-domain scenes as KITTI, converted to TFRecords; returns the records' glob."""
    kitti = work / "data"
    tlt("generate", "-o", str(kitti), "--domain", "target", "-n", str(settings["images"]), "--seed", "2",
        "--overwrite", log=log)
    mapping = "".join(f'target_class_mapping {{ key: "{c}" value: "{c}" }}\n' for c in CLASSES)
    spec = work / "convert.cfg"
    spec.write_text(f'kitti_config {{ root_directory_path: "{kitti}" image_dir_name: "image_2" '
                    'label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" num_partitions: 2 '
                    f'val_split: 20 num_shards: 2 }}\nimage_directory_path: "{kitti}"\n{mapping}')
    tlt("dataset-convert", "-d", str(spec), "-o", str(work / "records" / "kitti"), "--overwrite", log=log)
    return str(work / "records" / "kitti-fold-*")


def count_records(pattern: str, fold: int | None = None, exclude_fold: int | None = None) -> int:
    """Records in TFRecord files (read from the framing: length, crc, data, crc), no TensorFlow needed."""
    total = 0
    for path in sorted(Path(pattern).parent.glob(Path(pattern).name)):
        number = int(path.name.split("-fold-")[1][:3])
        if (fold is not None and number != fold) or (exclude_fold is not None and number == exclude_fold):
            continue
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            length, = struct.unpack_from("<Q", data, offset)
            offset += 8 + 4 + length + 4
            total += 1
    return total


def train_speed(results: Path, train_images: int) -> dict:
    """Images/s between the first and last epoch ends (steady state), else over the whole run."""
    events = [json.loads(line) for line in (results / "status.jsonl").read_text().splitlines() if line.strip()]
    ends = [e["time"] for e in events if e.get("event") == "epoch_end"]
    if len(ends) >= 2:
        return {"images_per_s": round(train_images * (len(ends) - 1) / (ends[-1] - ends[0]), 1),
                "measured": f"epochs 2..{len(ends)} (first excluded: tracing and warm-up)"}
    return {"images_per_s": round(train_images * len(ends) / (ends[-1] - events[0]["time"]), 1),
            "measured": "the single epoch, warm-up included"}


def evaluate(spec: Path, model: Path, framework: str, out: Path, log: Path) -> float:
    tlt("evaluate", "detection", "-e", str(spec), "-m", str(model), "-f", framework, "-r", str(out), "-q", log=log)
    return json.loads((out / "evaluate" / "metrics.json").read_text())["mAP"]["moderate"]


def engine_speed(engine: Path, shape: tuple[int, int, int], batches, rounds: int, seconds: float) -> dict:
    """Images/s of a TensorRT engine per batch size: median over rounds of as many calls as fit in ``seconds``."""
    import numpy as np

    from jupyter_tlt.runners import make_runner

    speeds = {}
    with make_runner(engine) as runner:
        for batch in batches:
            x = np.random.default_rng(batch).uniform(0, 1, (batch, *shape)).astype(np.float32)
            runner(x)  # warm-up
            per_round = []
            for _ in range(rounds):
                calls, start = 0, time.perf_counter()
                while time.perf_counter() - start < seconds:
                    runner(x)
                    calls += 1
                per_round.append(calls * batch / (time.perf_counter() - start))
            speeds[str(batch)] = round(statistics.median(per_round), 1)
    return speeds


def run(work: Path, settings: dict, cpu_only: bool) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    log = work / "commands.log"
    log.write_text("")
    from jupyter_tlt.export.tensorrt_engine import cuda_gpu_reason, gpu_status

    report = {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
              "steps": {}, "mAP": {}, "speed": {}}
    steps = report["steps"]

    def skipped(name: str, reason: str) -> None:
        steps[name] = {"status": "skipped", "reason": reason}

    no_gpu = "--cpu_only given" if cpu_only else cuda_gpu_reason() or ""
    if no_gpu:
        skipped("install extras", f"no GPU to use them: {no_gpu}")
    else:
        steps["install extras"] = install_extras(log)
    no_tensorrt = no_gpu or gpu_status(inference=True) or ""
    report["environment"] = environment()
    seconds = time.perf_counter()
    records = make_data(work, settings, log)
    steps["data"] = {"status": "ran", "seconds": round(time.perf_counter() - seconds, 1),
                     "images": settings["images"]}

    spec = work / "detect.cfg"
    spec.write_text(detection_spec(records, epochs=settings["epochs"], width=settings["width"],
                                   height=settings["height"], batch=16))
    train_dir = work / "train"
    train_seconds = tlt("train", "detection", "-e", str(spec), "-r", str(train_dir), "--gpus", "1", "-q", log=log)
    gpus = steps.get("install extras", {}).get("tensorflow_gpus", 0)
    device = "GPU" if gpus else f"CPU ({no_gpu or 'TensorFlow sees no GPU'})"
    steps["train"] = {"status": "ran", "device": device, "seconds": round(train_seconds, 1),
                      **train_speed(train_dir, count_records(records, exclude_fold=0))}

    model = train_dir / "weights" / "model.keras"
    onnx = {}
    for data_type in DATA_TYPES:
        out = work / "export" / data_type / "model.onnx"
        extra = (["--cal_image_dir", str(work / "data" / "image_2"), "--batches", str(settings["cal_batches"]),
                  "--batch_size", "8", "--allow_fewer"] if data_type == "int8" else [])
        tlt("export", "-m", str(model), "-o", str(out), "--data_type", data_type, *extra, log=log)
        onnx[data_type] = out.with_name("model_int8_qdq.onnx") if data_type == "int8" else out
    steps["export"] = {"status": "ran", "files": {k: str(v) for k, v in onnx.items()}}
    for data_type, path in onnx.items():
        report["mAP"][f"onnxruntime {data_type}"] = evaluate(spec, path, "onnx", work / "eval" / f"onnx_{data_type}", log)
    steps["evaluate onnx"] = {"status": "ran"}

    if no_tensorrt:
        for name in ("build engines", "evaluate engines", "time engines"):
            skipped(name, no_tensorrt)
        return report
    shape = (settings["height"], settings["width"], 3)
    max_batch = str(max(settings["batches"]))
    for data_type in DATA_TYPES:
        source = work / "export" / data_type / "model.onnx"
        engine = work / "engines" / f"model.{data_type}.engine"
        tlt("convert", str(source), "-e", str(engine), "-t", data_type, "-m", max_batch,
            *(["-c", str(source.with_name("cal.bin"))] if data_type == "int8" else []), log=log)
        report["mAP"][f"tensorrt {data_type}"] = evaluate(spec, engine, "tensorrt", work / "eval" / f"trt_{data_type}",
                                                          log)
        report["speed"][f"tensorrt {data_type}"] = engine_speed(engine, shape, settings["batches"],
                                                                settings["rounds"], settings["seconds"])
    for name in ("build engines", "evaluate engines", "time engines"):
        steps[name] = {"status": "ran"}
    return report


def table(report: dict) -> str:
    lines = ["step               status   detail"]
    for name, step in report["steps"].items():
        detail = step.get("reason") or ", ".join(f"{k} {v}" for k, v in step.items() if k not in ("status", "files"))
        lines.append(f"{name:<18} {step['status']:<8} {detail}")
    batches = report["settings"]["batches"]
    lines += ["", f"{'model':<18} {'mAP (moderate)':>14}" + "".join(f" {f'img/s b{b}':>10}" for b in batches)]
    for name, value in report["mAP"].items():
        speed = report["speed"].get(name, {})
        lines.append(f"{name:<18} {value:>14.4f}" + "".join(f" {speed.get(str(b), '-'):>10}" for b in batches))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "gpu", help="working folder")
    ap.add_argument("--report", type=Path, default=None, help="JSON report (default <work>/report.json)")
    ap.add_argument("--cpu_only", action="store_true", help="skip the GPU steps even where a GPU is")
    ap.add_argument("--tiny", action="store_true", help="seconds-sized settings (CI)")
    args = ap.parse_args(argv)
    settings = dict(TINY if args.tiny else FULL)
    if args.cpu_only:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the tlt commands inherit it: training runs on the CPU too
    start = time.perf_counter()
    report = run(args.work, settings, args.cpu_only)
    report["seconds"] = round(time.perf_counter() - start, 1)
    report["python"] = sys.version.split()[0]
    path = args.report or args.work / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\n{report['seconds']:.0f} s; report: {path}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
