"""Benchmark: FP32, FP16 and INT8 exports of the pruned detector, side by side (issue 5).

The model is the pruned and retrained 4-class resnet18 DetectNet_v2 of bench/prune.py (benchmark
profile, 256x160). In one run: export FP32, FP16 and INT8 (entropy calibration on 10 x 16 frames of
the target domain; also percentile and max calibration of the same INT8 graph), then for each ONNX file its size, moderate mAP on the held-out target
frames (through `tlt evaluate -f onnx`: the same data, post-processing and metric code as Keras) and
ONNX Runtime CPU throughput at batch 1 and 8, timed in alternating rounds. The Keras model's mAP is
the reference.

    python bench/export.py [--model PATH]
Goals: INT8 >= 1.8x FP32 throughput with a mAP drop <= 1 point; FP16 file <= 0.55x FP32.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_speed import session, timed  # noqa: E402

from jupyter_tlt.evaluate import evaluate  # noqa: E402
from jupyter_tlt.export import export  # noqa: E402

HERE = Path(__file__).resolve().parent
WORK = HERE / "results" / "train_detect" / "cpu"


def latest_pruned_model() -> Path:
    runs = sorted((WORK / "prune_detection").glob("retrain_*/weights/model.keras"), key=lambda p: p.stat().st_mtime)
    if not runs:
        raise SystemExit("run bench/prune.py first: it trains the pruned detector this benchmark exports")
    return runs[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="Keras model (default: the latest bench/prune.py retrain)")
    args = ap.parse_args()
    model = Path(args.model) if args.model else latest_pruned_model()
    out = WORK / "export"
    calibration = WORK / "target" / "kitti" / "image_2"
    files = {}
    for data_type in ("fp32", "fp16", "int8"):
        r = export(model, out / data_type / "model.onnx", data_type=data_type, cal_image_dir=calibration
                   if data_type == "int8" else None, batches=10, batch_size=16, gen_ds_config=True)
        print(r)
        files[data_type] = r.files["int8 qdq onnx" if data_type == "int8" else "onnx"]
    # the same INT8 graph with ranges from the other calibration methods (same speed, other scales)
    variants = {}
    for method in ("percentile", "max"):
        r = export(model, out / f"int8_{method}" / "model.onnx", data_type="int8", cal_image_dir=calibration,
                   batches=10, batch_size=16, calibration_method=method)
        variants[f"int8 ({method})"] = r.files["int8 qdq onnx"]
    accuracy = {"keras": evaluate("detection", model, results_dir=out / "keras", progress=False).metrics.mAP["moderate"]}
    for name, path in {**files, **variants}.items():
        accuracy[name] = evaluate("detection", path, results_dir=out / name.replace(" ", "_"),
                                  progress=False).metrics.mAP["moderate"]
    sessions = {name: session(path) for name, path in files.items()}
    speed = {batch: timed(sessions, batch) for batch in (1, 8)}
    sizes = {name: path.stat().st_size / 2**20 for name, path in files.items()}
    summary = {"model": str(model), "sizes_mb": sizes, "moderate_map": accuracy, "images_per_s": speed}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))

    print(f"\n{model}\n| precision | file MB | moderate mAP | img/s batch 1 | img/s batch 8 |")
    print(f"| Keras | | {accuracy['keras'] * 100:.2f} | | |")
    for name in files:
        label = "int8 (entropy)" if name == "int8" else name
        print(f"| {label} | {sizes[name]:.2f} | {accuracy[name] * 100:.2f} | {speed[1][name]:.1f} | {speed[8][name]:.1f} |")
    for name in variants:
        print(f"| {name} | {sizes['int8']:.2f} | {accuracy[name] * 100:.2f} | as int8 | as int8 |")
    for batch in (1, 8):
        print(f"INT8 / FP32 throughput at batch {batch}: {speed[batch]['int8'] / speed[batch]['fp32']:.2f}x (goal >= 1.8)")
    for name in ("int8", *variants):
        print(f"{name} mAP change vs FP32: {(accuracy[name] - accuracy['fp32']) * 100:+.2f} points (goal >= -1.0)")
    print(f"FP16 file / FP32 file: {sizes['fp16'] / sizes['fp32']:.3f} (goal <= 0.55)")


if __name__ == "__main__":
    main()
