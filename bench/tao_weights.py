"""Benchmark: TAO-format weights load exactly (issue 20).

A resnet18 DetectNet_v2 is trained on the synthetic *source* domain and saved as our `.keras`; the
same model is written as a Keras-2 HDF5 file in TAO's layout through tf-keras (`save_as_keras2`).
Fine-tuning on the *target* domain from each file, with the same seed and deterministic ops, must
give the same mAP (goal: within 0.1 points): the by-name mapping loses nothing.

    python bench/tao_weights.py [--source 160 --target 80 --epochs 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from specs import detection_spec  # noqa: E402
from train_detect import records  # noqa: E402

from jupyter_tlt.evaluate import evaluate  # noqa: E402
from jupyter_tlt.models import load_model  # noqa: E402
from jupyter_tlt.models.keras2_weights import save_as_keras2  # noqa: E402
from jupyter_tlt.train import train  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=int, default=160)
    ap.add_argument("--target", type=int, default=80)
    ap.add_argument("--source_epochs", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--height", type=int, default=80)
    ap.add_argument("--work", default=str(HERE / "results" / "tao_weights"))
    args = ap.parse_args()
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()  # two runs differ only by the weight file
    work = Path(args.work)
    size = dict(width=args.width, height=args.height, batch=8)
    source = records(work / "source", "source", args.source, seed=11)
    target = records(work / "target", "target", args.target, seed=12)
    ours = work / "source_run" / "weights" / "model.keras"
    if not ours.exists():
        train(detection_spec(source, epochs=args.source_epochs, **size), work / "source_run", progress=False)
    tao = save_as_keras2(load_model(ours), work / "source_tao.hdf5")

    maps, models = {}, {}
    for name, pretrained in (("our .keras", ours), ("TAO-format .hdf5 (tf-keras)", tao)):
        run = work / ("from_keras" if pretrained == ours else "from_tao")
        t = time.perf_counter()
        result = train(detection_spec(target, epochs=args.epochs, pretrained=str(pretrained), **size),
                       run, progress=False)
        ev = evaluate("detection", result.model_path, progress=False)
        maps[name], models[name] = ev.metrics.mAP["moderate"] * 100, result.model_path
        print(f"fine-tuned from {name}: moderate mAP {maps[name]:.2f}% ({time.perf_counter() - t:.0f}s); "
              f"{result.transfer}")
    a, b = maps.values()
    print(f"input {args.width}x{args.height}, resnet18, {args.source} source / {args.target} target images, "
          f"{args.epochs} fine-tuning epochs: |difference| = {abs(a - b):.2f} mAP points (goal <= 0.1)")
    print(f"largest output difference of the two fine-tuned models on target-sized inputs: "
          f"{output_difference(*models.values(), args.height, args.width):.3g}")


def output_difference(model_a, model_b, height: int, width: int) -> float:
    """Max |a - b| over both heads' outputs on random images: 0 when the two runs are the same."""
    import numpy as np

    x = np.random.default_rng(0).uniform(0, 1, (4, height, width, 3)).astype(np.float32)
    outs = [load_model(m).predict(x, verbose=0) for m in (model_a, model_b)]
    return max(float(np.max(np.abs(p - q))) for p, q in zip(*outs))


if __name__ == "__main__":
    main()
