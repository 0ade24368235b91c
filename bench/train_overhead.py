"""Benchmark: what `tlt train` costs over a plain `model.fit` (issue 3).

Same model (resnet18 DetectNet_v2, 256x160), same tf.data pipeline with rasterized targets, same
number of steps, in one run: images/s of a bare `model.fit` against `train()` with everything it
adds (progress bars, status.jsonl, TensorBoard, a checkpoint per epoch). Epochs 2 to N-1 are timed
in both: the first traces the graph, and `train()` validates after the last.
Goal: ratio >= 0.95.

    python bench/train_overhead.py [--epochs 4]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from specs import detection_spec  # noqa: E402
from train_detect import records  # noqa: E402

from jupyter_tlt.experiments import Experiment  # noqa: E402
from jupyter_tlt.spec import load_experiment_spec  # noqa: E402
from jupyter_tlt.tasks import make_task  # noqa: E402
from jupyter_tlt.tf_import import keras  # noqa: E402
from jupyter_tlt.train import train  # noqa: E402
from jupyter_tlt.training.settings import make_optimizer  # noqa: E402

HERE = Path(__file__).resolve().parent


class EpochTimes(keras().callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends = []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--images", type=int, default=160)
    args = ap.parse_args()
    work = HERE / "results" / "train_overhead"
    recs = records(work / "data", "target", args.images, seed=13)
    text = detection_spec(recs, epochs=args.epochs, batch=16)
    spec = load_experiment_spec(text)

    task = make_task("detection", spec)
    ds, steps = task.train_data(16)
    keras().utils.set_random_seed(42)
    model = task.build()
    model.compile(optimizer=make_optimizer(spec, steps, args.epochs), **task.compile_args())
    timer = EpochTimes()
    model.fit(ds, epochs=args.epochs, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    timed = args.epochs - 2
    plain = 16 * steps * timed / (timer.ends[-2] - timer.ends[0])

    run = work / "run"
    shutil.rmtree(run, ignore_errors=True)
    train(text, run, progress=True)
    ends = [e["time"] for e in Experiment(run).events() if e["event"] == "epoch_end"]
    ours = 16 * steps * timed / (ends[-2] - ends[0])
    print(f"{steps} steps of 16 images per epoch, epochs 2..{args.epochs - 1} timed")
    print(f"plain model.fit: {plain:6.2f} images/s")
    print(f"tlt train:       {ours:6.2f} images/s   ratio {ours / plain:.3f} (goal >= 0.95)")


if __name__ == "__main__":
    main()
