"""Benchmark: transfer learning shown, not claimed (issue 3).

On the synthetic *target* domain (dusk light, lower camera, noise), in one run:
(a) a resnet18 DetectNet_v2 pretrained on the *source* domain, then fine-tuned on the target;
(b) the same network trained from scratch on the target, same epochs.
Both are evaluated on held-out target frames with the KITTI protocol; prints moderate AP per class
and mAP. Goals: (a) car moderate AP >= 80% and mAP >= 70%; (a) beats (b) by >= 10 mAP points.
The source pretraining is done once and cached (not counted).

    python bench/train_detect.py [--full]     # --full: 480x272 and more data, for a GPU machine
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from specs import detection_spec  # noqa: E402

from jupyter_tlt.data.convert import dataset_convert  # noqa: E402
from jupyter_tlt.data.synthetic import generate  # noqa: E402
from jupyter_tlt.evaluate import evaluate  # noqa: E402
from jupyter_tlt.train import train  # noqa: E402

HERE = Path(__file__).resolve().parent
PROFILES = {  # images per domain, epochs, model input
    "cpu": dict(source=800, target=400, source_epochs=12, epochs=8, width=256, height=160),
    "full": dict(source=4000, target=1000, source_epochs=40, epochs=20, width=480, height=272),
}


def records(root: Path, domain: str, n: int, seed: int) -> str:
    if not (root / "records").exists():
        generate(root / "kitti", n, domain=domain, seed=seed, overwrite=True)
        spec = (f'kitti_config {{ root_directory_path: "{root}/kitti" image_dir_name: "image_2" '
                f'label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" '
                f'num_partitions: 2 val_split: 25 num_shards: 4 }}')
        dataset_convert(spec, root / "records" / "kitti", overwrite=True)
    return f"{root}/records/kitti-fold-*"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--work", default=str(HERE / "results" / "train_detect"))
    args = ap.parse_args()
    p = PROFILES["full" if args.full else "cpu"]
    work = Path(args.work) / ("full" if args.full else "cpu")
    size = dict(width=p["width"], height=p["height"])

    source = records(work / "source", "source", p["source"], seed=11)
    target = records(work / "target", "target", p["target"], seed=12)
    pretrained = work / "source_run" / "weights" / "model.keras"
    if not pretrained.exists():
        t = time.perf_counter()
        train(detection_spec(source, epochs=p["source_epochs"], **size), work / "source_run")
        print(f"source pretraining (cached from now on): {time.perf_counter() - t:.0f}s")

    results = {}
    for name, pre in (("fine-tuned from source", str(pretrained)), ("from scratch", "")):
        run = work / ("finetune" if pre else "scratch")
        t = time.perf_counter()
        r = train(detection_spec(target, epochs=p["epochs"], pretrained=pre, **size), run)
        seconds = time.perf_counter() - t
        ev = evaluate("detection", r.model_path, progress=False)
        results[name] = ev.metrics
        print(f"\n== {name}: {p['epochs']} epochs on {p['target']} target images "
              f"({seconds:.0f}s)\n{ev.metrics.format_table()}")

    (a, b) = results["fine-tuned from source"], results["from scratch"]
    car = a.ap["car"]["moderate"] * 100
    gain = (a.mAP["moderate"] - b.mAP["moderate"]) * 100
    print(f"\nprofile {'full' if args.full else 'cpu'}: input {p['width']}x{p['height']}, resnet18")
    print(f"(a) car moderate AP {car:.1f}% (goal >= 80), moderate mAP {a.mAP['moderate'] * 100:.1f}% "
          f"(goal >= 70)")
    print(f"(b) moderate mAP {b.mAP['moderate'] * 100:.1f}%; (a) - (b) = {gain:+.1f} points (goal >= +10)")


if __name__ == "__main__":
    main()
