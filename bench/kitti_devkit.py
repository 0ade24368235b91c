"""Cross-check KITTI_R40 / KITTI_R11 against the official KITTI object devkit, and time both.

The devkit's `cpp/evaluate_object.cpp` and `mail.h` (KITTI object development kit, "devkit_object.zip"
from the KITTI object benchmark page, also in public GitHub copies) carry no open-source licence, so
they are not in this repository: put them in bench/results/kitti_devkit/ (git-ignored) or pass
--devkit DIR. Building needs g++ and Boost headers: `apt-get install -y g++ libboost-dev`.

The official program reads `data/object/label_2/%06d.txt` and `results/<sha>/data/%06d.txt` for a
fixed image count, writes plots with gnuplot/pdfcrop and prints no AP. The build patches it (in a
copy, at build time): the image count comes from $KITTI_N_IMAGES, and `saveAndPlotPlots` prints the
41-slot precision curve with 17 digits instead of plotting. R40 (slots 1..40) and R11 (slots
0, 4, ..., 40) are then averaged here from the devkit's own curve.

    python bench/kitti_devkit.py [--devkit DIR] [--images 3000] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEVKIT = ROOT / "bench" / "results" / "kitti_devkit"
CLASSES = ("car", "pedestrian", "cyclist")
LEVELS = ("easy", "moderate", "hard")
MODES = {"KITTI_R40": range(1, 41), "KITTI_R11": range(0, 41, 4)}


# --- building the devkit ------------------------------------------------------------------------

def patch_source(text: str) -> str:
    """The official source with the image count from the environment and curves printed, not plotted."""
    count = re.compile(r"const int32_t N_TESTIMAGES = \d+;")
    if not count.search(text) or "void saveAndPlotPlots" not in text:
        raise SystemExit("this evaluate_object.cpp does not look like the KITTI object devkit's "
                         "(no N_TESTIMAGES constant or saveAndPlotPlots); use the official cpp/ folder")
    text = "#include <cstdlib>\n" + count.sub(
        'const int32_t N_TESTIMAGES = atoi(getenv("KITTI_N_IMAGES"));', text, count=1)
    start = text.index("void saveAndPlotPlots")
    body = text.index("{", start) + 1
    printer = ('\n  printf("PRECISION %s", file_name.c_str());\n'
               '  for (int v = 0; v < 3; v++) for (size_t i = 0; i < vals[v].size(); i++) '
               'printf(" %.17g", vals[v][i]);\n  printf("\\n");\n  return;\n')
    return text[:body] + printer + text[body:]


def devkit_available(devkit_dir: Path) -> bool:
    """Whether `devkit_dir` holds the devkit's sources."""
    return (devkit_dir / "evaluate_object.cpp").is_file() and (devkit_dir / "mail.h").is_file()


def build(devkit_dir: Path, out_dir: Path) -> Path:
    """Compile the patched devkit into out_dir; returns the binary."""
    src, mail = devkit_dir / "evaluate_object.cpp", devkit_dir / "mail.h"
    if not src.is_file() or not mail.is_file():
        raise SystemExit(f"{devkit_dir}: needs evaluate_object.cpp and mail.h of the KITTI object devkit "
                         "(cpp/ folder of devkit_object.zip); see this script's docstring")
    if shutil.which("g++") is None:
        raise SystemExit("g++ not found: apt-get install -y g++ libboost-dev")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "evaluate_object.cpp").write_text(patch_source(src.read_text()))
    shutil.copy(mail, out_dir / "mail.h")
    binary = out_dir / "evaluate_object"
    proc = subprocess.run(["g++", "-O3", "-DNDEBUG", "-w", "-o", str(binary),
                           str(out_dir / "evaluate_object.cpp")], capture_output=True, text=True)
    if proc.returncode:
        hint = " (Boost headers missing: apt-get install -y libboost-dev)" if "boost" in proc.stderr else ""
        raise SystemExit(f"building the devkit failed{hint}:\n{proc.stderr[-2000:]}")
    return binary


def run_devkit(binary: Path, work: Path, n_images: int) -> dict:
    """{(class, mode): [AP easy, moderate, hard] in percent} from the devkit on `work`'s folders."""
    proc = subprocess.run([str(binary), "bench"], cwd=work, capture_output=True, text=True,
                          env={**os.environ, "KITTI_N_IMAGES": str(n_images)})
    curves = {}
    for line in proc.stdout.splitlines():
        if line.startswith("PRECISION ") and line.split()[1].endswith("_detection"):
            parts = line.split()
            values = np.array([float(v) for v in parts[2:]]).reshape(3, -1)
            curves[parts[1][: -len("_detection")]] = values
    if not curves:
        raise RuntimeError(f"the devkit printed no curves:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return {(c, mode): [100.0 * sum(curves[c][lv][i] for i in slots) / len(slots) for lv in range(3)]
            for c in curves for mode, slots in MODES.items()}


# --- cases --------------------------------------------------------------------------------------

def _line(name, box, trunc=0.0, occl=0, score=None):
    x1, y1, x2, y2 = box
    text = f"{name} {trunc:.2f} {occl} -10 {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} -1 -1 -1 -1000 -1000 -1000 -10"
    return text if score is None else f"{text} {score:.4f}"


def make_cases(folder: Path, n_images: int, seed: int) -> None:
    """Random and adversarial KITTI labels and results in the devkit's layout under `folder`.

    Adversarial: shared scores (ties), detections whose IoU with a box is exactly 0.5 or 0.7,
    DontCare regions over detections, boxes 24-26 / 39-41 px high (the height limits), Van and
    Person_sitting neighbours, small boxes of other classes, images without ground truth or results.
    Coordinates are multiples of 0.25 written with two decimals, so both sides read the same doubles."""
    rng = np.random.default_rng(seed)
    labels, results = folder / "data" / "object" / "label_2", folder / "results" / "bench" / "data"
    labels.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    names = ["Car", "Car", "Pedestrian", "Cyclist", "Van", "Person_sitting", "Truck", "DontCare"]
    q = lambda v: np.round(np.asarray(v) * 4) / 4  # noqa: E731
    for i in range(n_images):
        gt_lines, det_lines = [], []
        kind = i % 10
        n_gt = 0 if kind == 0 else int(rng.integers(1, 9))
        for _ in range(n_gt):
            name = names[int(rng.integers(len(names)))]
            h = float(rng.choice([rng.uniform(10, 150), 24.75, 25.0, 25.25, 39.75, 40.0, 40.25]))
            w = h * rng.uniform(0.4, 2.0)
            x1, y1 = rng.uniform(0, 1100), rng.uniform(0, 300)
            box = q([x1, y1, x1 + w, y1 + h])
            if box[3] <= box[1] or box[2] <= box[0]:
                continue
            trunc = float(rng.choice([0.0, 0.0, 0.0, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6]))
            occl = int(rng.choice([0, 0, 0, 1, 1, 2, 3]))
            gt_lines.append(_line(name, box, -1 if name == "DontCare" else trunc,
                                  -1 if name == "DontCare" else occl))
            if name == "DontCare":
                if rng.random() < 0.7:  # a detection inside the region
                    inner = q([box[0] + 1, box[1] + 1, box[2] - 1, box[3] - 1])
                    if inner[2] > inner[0] and inner[3] > inner[1]:
                        det_lines.append(_line(CLASSES[int(rng.integers(3))], inner,
                                               score=float(rng.choice([0.5, rng.random()]))))
                continue
            if kind == 1 or rng.random() < 0.2:
                continue  # a miss
            for _ in range(int(rng.integers(1, 3))):  # detections of this box (duplicates too)
                det_name = name if name in ("Car", "Pedestrian", "Cyclist") else \
                    ("Car" if name in ("Van", "Truck") else "Pedestrian")
                if rng.random() < 0.1:
                    det_name = CLASSES[int(rng.integers(3))]
                style = rng.random()
                if style < 0.15:  # IoU exactly 0.5 (same height, width shifted by 1/3 of w)
                    bw = box[2] - box[0]
                    d = [box[0] + bw / 3, box[1], box[2] + bw / 3, box[3]]
                    d = q(d) if abs(bw * 4 - round(bw * 4)) < 1e-9 and round(bw * 4) % 3 == 0 else d
                elif style < 0.25:  # IoU exactly 0.7 when the width splits evenly
                    bw = box[2] - box[0]
                    shift = bw * 3 / 17
                    d = [box[0] + shift, box[1], box[2] + shift, box[3]]
                else:
                    jitter = rng.normal(0, 0.08 * (box[3] - box[1]), 4)
                    d = q(box + jitter)
                d = np.asarray(d, dtype=np.float64)
                if d[2] <= d[0] or d[3] <= d[1]:
                    continue
                # mostly scores that follow the box quality (a detector worth its name), some ties
                good = float(np.clip(0.95 - 2 * np.abs(d - box).mean() / (box[3] - box[1])
                                     + rng.normal(0, 0.05), 0.01, 1.0))
                score = float(rng.choice([0.9, 0.5, 0.25, good, good, good, good]))
                det_lines.append(_line(det_name, d, score=score))
        if kind != 2:
            for _ in range(int(rng.integers(0, 4))):  # false positives, some tiny
                h = float(rng.choice([rng.uniform(5, 120), 24.5, 25.0, 39.5, 40.0]))
                x1, y1 = rng.uniform(0, 1100), rng.uniform(0, 300)
                box = q([x1, y1, x1 + h * rng.uniform(0.4, 2), y1 + h])
                if box[3] > box[1] and box[2] > box[0]:
                    det_lines.append(_line(CLASSES[int(rng.integers(3))], box,
                                           score=float(rng.choice([0.5, 0.6 * rng.random()]))))
        else:
            det_lines = []
        if kind == 4:  # IoU exactly at the thresholds: 0.7 for a car, 0.5 for a pedestrian
            x, y = float(rng.integers(0, 900)), float(rng.integers(0, 200))
            gt_lines.append(_line("Car", (x, y, x + 170, y + 100)))
            det_lines.append(_line("Car", (x + 30, y, x + 200, y + 100), score=0.5))
            gt_lines.append(_line("Pedestrian", (x, y + 110, x + 30, y + 170)))
            det_lines.append(_line("Pedestrian", (x + 10, y + 110, x + 40, y + 170), score=0.5))
        rng.shuffle(det_lines)
        (labels / f"{i:06d}.txt").write_text("".join(f"{x}\n" for x in gt_lines))
        if kind != 3 or det_lines:
            (results / f"{i:06d}.txt").write_text("".join(f"{x}\n" for x in det_lines))
        else:
            (results / f"{i:06d}.txt").write_text("")


def run_ours(folder: Path) -> tuple[dict, float]:
    """{(class, mode): [AP easy, moderate, hard] in percent} from jupyter_tlt, and the seconds taken
    (reading the folders included) for both modes."""
    from jupyter_tlt.metrics import evaluate_detection
    from jupyter_tlt.metrics.kitti_devkit import devkit_ap
    from jupyter_tlt.metrics.kitti_results import load_result_dirs

    out, start = {}, time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        truth, dets, _ = load_result_dirs(folder / "data" / "object" / "label_2",
                                          folder / "results" / "bench" / "data")
        m = evaluate_detection(truth, dets, CLASSES, mode="KITTI_R40")
        for c in CLASSES:  # R11 from the same 41-slot curves, as the devkit gives both from one run
            for mode in MODES:
                out[(c, mode)] = [100.0 * devkit_ap(m.curves[c][lv].precision, mode) for lv in LEVELS]
    return out, time.perf_counter() - start


def compare(binary: Path, n_images: int, seed: int, repeats: int = 3) -> dict:
    """Run both on one generated case set; returns the largest difference and the timings."""
    with tempfile.TemporaryDirectory(prefix="kitti_devkit_") as tmp:
        work = Path(tmp)
        make_cases(work, n_images, seed)
        devkit_times, ours_times, devkit_cpu, ours_cpu = [], [], [], []
        for _ in range(repeats):
            start, cpu = time.perf_counter(), _children_cpu()
            theirs = run_devkit(binary, work, n_images)
            devkit_times.append(time.perf_counter() - start)
            devkit_cpu.append(_children_cpu() - cpu)
            cpu = time.process_time()
            ours, seconds = run_ours(work)
            ours_times.append(seconds)
            ours_cpu.append(time.process_time() - cpu)
    diffs = {key: max(abs(a - b) for a, b in zip(theirs[key], ours[key])) for key in theirs}
    return {"max_diff": max(diffs.values()), "diffs": diffs, "theirs": theirs, "ours": ours,
            "devkit_s": min(devkit_times), "ours_s": min(ours_times),
            "devkit_cpu": min(devkit_cpu), "ours_cpu": min(ours_cpu)}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devkit", type=Path, default=DEFAULT_DEVKIT,
                        help="folder with evaluate_object.cpp and mail.h of the KITTI object devkit")
    parser.add_argument("--images", type=int, default=3000, help="images per case set")
    parser.add_argument("--seeds", type=int, default=3, help="case sets (different random seeds)")
    args = parser.parse_args(argv)
    if not devkit_available(args.devkit):
        print(f"skipped: {args.devkit} does not hold the KITTI devkit's evaluate_object.cpp and mail.h "
              "(not redistributable; copy the cpp/ folder of devkit_object.zip there, see the docstring)")
        return 0
    binary = build(args.devkit, DEFAULT_DEVKIT.parent / "kitti_devkit_build")
    worst = 0.0
    for seed in range(args.seeds):
        r = compare(binary, args.images, seed)
        worst = max(worst, r["max_diff"])
        print(f"seed {seed}: {args.images} images, 3 classes x 3 levels x R40/R11, largest |ours - devkit| "
              f"{r['max_diff']:.2e} points; wall: devkit {r['devkit_s']:.3f} s, ours {r['ours_s']:.3f} s "
              f"(reading included), ours is {r['devkit_s'] / r['ours_s']:.2f}x as fast; CPU: devkit "
              f"{r['devkit_cpu']:.3f} s, ours {r['ours_cpu']:.3f} s ({r['devkit_cpu'] / r['ours_cpu']:.2f}x)")
        if seed == 0:
            for (c, mode), aps in sorted(r["theirs"].items()):
                mine = r["ours"][(c, mode)]
                print(f"  {mode} {c:10s} devkit " + " ".join(f"{v:7.4f}" for v in aps)
                      + "  ours " + " ".join(f"{v:7.4f}" for v in mine))
    print(f"largest difference over all seeds: {worst:.2e} points (goal 1e-4)")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
