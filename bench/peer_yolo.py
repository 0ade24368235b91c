"""Benchmark: our DetectNet_v2 against the detector users would pick instead, Ultralytics YOLO (issue 22).

Same synthetic frames, same epochs, no pretrained weights for either (offline), one evaluator:
1. source domain (600 frames) then target domain (300 frames), 256-px input, both detectors:
   DetectNet_v2 resnet18 with the demo's recipe; YOLOv8n with Ultralytics' defaults;
2. both write KITTI result files for 100 fresh target frames (every candidate, for AP), and
   `tlt evaluate --predictions` scores both folders with the KITTI protocol.
Prints the table (easy / moderate / hard mAP, car moderate at IoU 0.7, training images/s) and the
per-class moderate ratios. `--same_wall_time`: YOLO also trains for our training's wall time.

Ultralytics and its CPU torch live in a virtual environment of their own, made on first use
(bench/results/peer_venv); they are never a dependency of the package.

    python bench/peer_yolo.py [--source_epochs 10] [--target_epochs 8] [--same_wall_time]

Lever mode (issue 22 item 2): fine-tune only the target stage, from a finished run's source-stage
model, with the baseline spec plus one lever's spec change, and score the same 100 test frames.
`baseline` is the same fine-tuning with no change. Rows accumulate in WORK/levers.json, so levers can
be measured one call at a time; a lever already there is not trained again.

    python bench/peer_yolo.py --levers baseline,autoweighting,giou \
        --data bench/results/peer_yolo/data --work bench/results/peer_yolo_levers
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / "results" / "peer_venv"
PEER_PACKAGES = (["torch==2.14.1", "torchvision==0.29.1"], ["ultralytics"])  # the CPU machine's torch wheels
FRAMES = {"source": (600, 1), "target": (300, 2), "test": (100, 3)}  # images, seed
CLASSES = ("car", "cyclist", "pedestrian", "road_sign")
# Lever name -> spec text added to the baseline spec (blocks the baseline spec leaves unset).
LEVERS = {
    "baseline": "",
    # TAO's cost auto-weighting with the targets of TAO's example specs (bbox 10x cov)
    "autoweighting": "cost_function_config { enable_autoweighting: true\n" + "".join(
        f'  target_classes {{ name: "{c}" objectives {{ name: "cov" initial_weight: 1 weight_target: 1 }} '
        f'objectives {{ name: "bbox" initial_weight: 10 weight_target: 10 }} }}\n' for c in CLASSES) + "}\n",
    # the same rule with equal targets: our coverage loss is on another scale than TAO's
    "autoweighting_equal": "cost_function_config { enable_autoweighting: true\n" + "".join(
        f'  target_classes {{ name: "{c}" objectives {{ name: "cov" initial_weight: 1 weight_target: 1 }} '
        f'objectives {{ name: "bbox" initial_weight: 1 weight_target: 1 }} }}\n' for c in CLASSES) + "}\n",
    "giou": "cost_function_config { bbox_iou_weight: 2 }\n",
    # a coverage region half the box's width and height: only cells near the centre regress the box
    "cov_radius_0.5": "bbox_rasterizer_config {\n" + "".join(
        f'  target_class_config {{ key: "{c}" value {{ cov_radius_x: 0.5 cov_radius_y: 0.5 }} }}\n'
        for c in CLASSES) + "}\n",
}


# ---- the peer's side: runs inside the peer venv (no jupyter_tlt there) ------------------------------

def peer_main(argv: list[str]) -> None:
    """`peer_yolo.py --peer JOB.json`: train YOLOv8n through the stages, write KITTI result files."""
    job = json.loads(Path(argv[0]).read_text())
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from ultralytics import YOLO, settings

    settings.update({"sync": False})
    weights, timings = "yolov8n.yaml", []  # a .yaml builds the network with random weights
    for stage in job["stages"]:
        model = YOLO(weights)
        start = time.perf_counter()
        model.train(data=stage["data"], epochs=stage["epochs"], time=stage.get("hours"), imgsz=job["imgsz"],
                    batch=16, device="cpu", workers=2, seed=0, deterministic=False, plots=False, val=False,
                    amp=False, project=job["work"], name=stage["name"], exist_ok=True, verbose=False)
        seconds = time.perf_counter() - start
        epochs = getattr(model.trainer, "epoch", stage["epochs"] - 1) + 1
        timings.append({"stage": stage["name"], "seconds": seconds, "epochs": epochs,
                        "images_per_s": stage["images"] * epochs / seconds})
        weights = str(Path(job["work"]) / stage["name"] / "weights" / "last.pt")

    out = Path(job["results"])
    out.mkdir(parents=True, exist_ok=True)
    model = YOLO(weights)
    for r in model.predict(source=job["test_images"], imgsz=job["imgsz"], conf=0.001, max_det=300,
                           device="cpu", stream=True, verbose=False):
        lines = [f"{r.names[int(c)]} 0.00 0 -10 {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} -1 -1 -1 -1000 -1000 "
                 f"-1000 -10 {s:.6f}"
                 for (x1, y1, x2, y2), c, s in zip(r.boxes.xyxy.tolist(), r.boxes.cls.tolist(),
                                                     r.boxes.conf.tolist())]
        (out / (Path(r.path).stem + ".txt")).write_text("".join(line + "\n" for line in lines))
    Path(job["timings"]).write_text(json.dumps(timings, indent=1))


# ---- our side ----------------------------------------------------------------------------------------

def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not (python.exists() and subprocess.run([python, "-c", "import ultralytics"],
                                               capture_output=True).returncode == 0):
        print(f"making the peer's virtual environment in {PEER_VENV} (torch CPU + ultralytics) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", PEER_VENV], check=True)
        for packages in PEER_PACKAGES:
            subprocess.run([python, "-m", "pip", "install", "-q", *packages], check=True)
    return python


def make_data(work: Path) -> dict[str, Path]:
    from jupyter_tlt.data.convert import dataset_convert
    from jupyter_tlt.data.export_labels import dataset_export
    from jupyter_tlt.data.synthetic import generate

    roots = {}
    for name, (n, seed) in FRAMES.items():
        root = roots[name] = work / "data" / name
        if (root / "done").exists():
            continue
        domain = "source" if name == "source" else "target"
        generate(root / "kitti", n, domain=domain, seed=seed, overwrite=True, progress=False)
        spec = (f'kitti_config {{ root_directory_path: "{root}/kitti" image_dir_name: "image_2" '
                f'label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" '
                f'num_partitions: 2 val_split: 0 num_shards: 4 }}')
        dataset_convert(spec, root / "records" / "kitti", overwrite=True, progress=False)
        dataset_export(root / "kitti", root / "yolo", "yolo", classes=list(CLASSES), overwrite=True,
                       progress=False)
        (root / "yolo" / "data.yaml").write_text(  # train and "val" on the stage's own frames: val=False
            f"path: {root / 'yolo'}\ntrain: images\nval: images\nnames:\n"
            + "".join(f"  {i}: {c}\n" for i, c in enumerate(CLASSES)))
        (root / "done").touch()
    return roots


def our_spec(records: str, test_records: str, epochs: int, pretrained: str = "") -> str:
    sys.path.insert(0, str(HERE))
    from specs import detection_spec

    spec = detection_spec(records, epochs=epochs, pretrained=pretrained)
    return spec.replace("validation_fold: 0",
                        f'validation_data_source {{ tfrecords_path: "{test_records}" }}')


def run_ours(work: Path, roots: dict[str, Path], epochs: dict[str, int]) -> dict:
    from jupyter_tlt.infer import infer
    from jupyter_tlt.train import train

    test = f"{roots['test']}/records/kitti-fold-*"
    pretrained, timings = "", []
    for stage in ("source", "target"):
        run = work / "ours" / stage
        start = time.perf_counter()
        result = train(our_spec(f"{roots[stage]}/records/kitti-fold-*", test, epochs[stage], pretrained), run)
        seconds = time.perf_counter() - start
        timings.append({"stage": stage, "seconds": seconds, "epochs": epochs[stage],
                        "images_per_s": FRAMES[stage][0] * epochs[stage] / seconds})
        pretrained = str(result.model_path)
    results = work / "ours" / "kitti_results"
    infer("detection", pretrained, roots["test"] / "kitti" / "image_2", results, overwrite=True,
          progress=False, all_candidates=True)
    return {"results": results / "labels", "timings": timings}


def run_peer(work: Path, roots: dict[str, Path], epochs: dict[str, int], name: str,
             seconds: dict[str, float] | None = None) -> dict:
    job = {"work": str(work / name / "runs"), "results": str(work / name / "kitti_results"),
           "timings": str(work / name / "timings.json"), "imgsz": 256,
           "test_images": str(roots["test"] / "kitti" / "image_2"),
           "stages": [{"name": stage, "data": str(roots[stage] / "yolo" / "data.yaml"),
                       "epochs": epochs[stage] if seconds is None else 1000,
                       "hours": None if seconds is None else seconds[stage] / 3600,
                       "images": FRAMES[stage][0]} for stage in ("source", "target")]}
    path = work / name / "job.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(job, indent=1))
    subprocess.run([peer_python(), __file__, "--peer", path], check=True)
    return {"results": Path(job["results"]), "timings": json.loads(Path(job["timings"]).read_text())}


def score(results: Path, roots: dict[str, Path]):
    from jupyter_tlt.evaluate import evaluate_predictions

    kitti = roots["test"] / "kitti"
    return evaluate_predictions(results, kitti / "label_2", classes=list(CLASSES),
                                image_dir=kitti / "image_2").metrics


def lever_spec(roots: dict[str, Path], epochs: int, source_model: Path, lever: str) -> str:
    test = f"{roots['test']}/records/kitti-fold-*"
    return our_spec(f"{roots['target']}/records/kitti-fold-*", test, epochs, str(source_model)) + LEVERS[lever]


def figures(metrics) -> dict:
    """mAP per difficulty and moderate AP per class, in percent."""
    return {"mAP": {d: 100 * metrics.mAP[d] for d in ("easy", "moderate", "hard")},
            "moderate": {c: 100 * metrics.ap[c]["moderate"] for c in CLASSES}}


def lever_row(name: str, row: dict) -> str:
    cells = [f"{row['mAP'][d]:.1f}" for d in ("easy", "moderate", "hard")]
    cells += [f"{row['moderate'][c]:.1f}" for c in CLASSES]
    speed = f"{row['images_per_s']:.1f}" if "images_per_s" in row else ""
    return f"| {name} | {' | '.join(cells)} | {speed} |"


def run_levers(args) -> None:
    """Fine-tune the target stage once per lever from the source-stage model; print the table."""
    from jupyter_tlt.infer import infer
    from jupyter_tlt.train import train

    data, work = Path(args.data), Path(args.work)
    roots = {name: data / name for name in FRAMES}
    missing = [str(r) for r in roots.values() if not (r / "done").exists()]
    if missing:
        sys.exit(f"--data {data}: no finished data in {', '.join(missing)}; run the full bench first")
    source = Path(args.source_model or data.parent / "ours" / "source" / "weights" / "model.keras")
    if not source.exists():
        sys.exit(f"--source_model {source}: not found; it is the full bench's source-stage model")
    names = [n.strip() for n in args.levers.split(",") if n.strip()]
    unknown = [n for n in names if n not in LEVERS]
    if unknown:
        sys.exit(f"--levers: unknown {', '.join(unknown)}; choose from {', '.join(LEVERS)}")
    table = work / "levers.json"
    rows = json.loads(table.read_text()) if table.exists() else {}
    for name in (n for n in names if n not in rows):
        run = work / "levers" / name
        start = time.perf_counter()
        result = train(lever_spec(roots, args.target_epochs, source, name), run, progress=False)
        seconds = time.perf_counter() - start
        results = run / "kitti_results"
        infer("detection", str(result.model_path), roots["test"] / "kitti" / "image_2", results,
              overwrite=True, progress=False, all_candidates=True)
        row = {"spec": LEVERS[name].strip(), **figures(score(results / "labels", roots)),
               "images_per_s": FRAMES["target"][0] * args.target_epochs / seconds}
        work.mkdir(parents=True, exist_ok=True)
        rows = {**(json.loads(table.read_text()) if table.exists() else {}), name: row}  # another call's rows
        table.write_text(json.dumps(rows, indent=1))
        print(f"{name}: done in {seconds / 60:.1f} min", flush=True)
    print(f"\ntarget stage only: {args.target_epochs} epochs from {source}, {FRAMES['test'][0]} fresh target "
          "frames, KITTI protocol, moderate AP per class\n")
    print("| lever | mAP easy | mAP moderate | mAP hard | car (IoU 0.7) | cyclist | pedestrian | road_sign "
          "| train img/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    full = data.parent / "ours" / "kitti_results" / "labels"
    if full.exists():  # the full bench's own target stage (its epochs, its source model)
        print(lever_row("(full bench's target stage)", figures(score(full, roots))))
    for name in sorted(rows, key=lambda n: list(LEVERS).index(n) if n in LEVERS else len(LEVERS)):
        print(lever_row(name, rows[name]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source_epochs", type=int, default=10)
    ap.add_argument("--target_epochs", type=int, default=8)
    ap.add_argument("--same_wall_time", action="store_true", help="also: YOLO for our training's wall time")
    ap.add_argument("--work", default=None,
                    help="default: bench/results/peer_yolo (peer_yolo_levers with --levers)")
    ap.add_argument("--levers", default="", help=f"lever mode: comma-separated, from {', '.join(LEVERS)}")
    ap.add_argument("--data", default=str(HERE / "results" / "peer_yolo" / "data"),
                    help="lever mode: the full bench's data folder (read only)")
    ap.add_argument("--source_model", default="",
                    help="lever mode: default DATA/../ours/source/weights/model.keras")
    args = ap.parse_args()
    if args.levers:
        args.work = args.work or str(HERE / "results" / "peer_yolo_levers")
        run_levers(args)
        return
    work = Path(args.work or HERE / "results" / "peer_yolo")
    epochs = {"source": args.source_epochs, "target": args.target_epochs}

    roots = make_data(work)
    runs = {"jupyter-tlt DetectNet_v2 resnet18": run_ours(work, roots, epochs),
            "Ultralytics YOLOv8n, same epochs": run_peer(work, roots, epochs, "yolo")}
    if args.same_wall_time:
        ours = {t["stage"]: t["seconds"] for t in runs["jupyter-tlt DetectNet_v2 resnet18"]["timings"]}
        runs["Ultralytics YOLOv8n, same wall time"] = run_peer(work, roots, epochs, "yolo_walltime", ours)

    rows, per_class = [], {}
    for name, run in runs.items():
        m = score(run["results"], roots)
        per_class[name] = {c: 100 * m.ap[c]["moderate"] for c in CLASSES}
        ips = [f"{t['images_per_s']:.1f}" for t in run["timings"]]
        rows.append(f"| {name} | {100 * m.mAP['easy']:.1f} | {100 * m.mAP['moderate']:.1f} | "
                    f"{100 * m.mAP['hard']:.1f} | {per_class[name]['car']:.1f} | {' / '.join(ips)} |")
    print(f"\n{FRAMES['test'][0]} fresh target frames, KITTI protocol (`tlt evaluate --predictions`); "
          f"epochs {epochs['source']} source + {epochs['target']} target, 256-px input\n")
    print("| model | mAP easy | mAP moderate | mAP hard | car moderate (IoU 0.7) | train img/s (source / target) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    ours, peer = (per_class[n] for n in list(runs)[:2])
    print("\nmoderate AP per class, ours / YOLOv8n (same epochs):")
    for c in CLASSES:
        ratio = f"{ours[c] / peer[c]:.2f}x" if peer[c] else "n/a (peer 0)"
        print(f"  {c:<11} {ours[c]:5.1f} / {peer[c]:5.1f}  = {ratio}")
    (work / "summary.json").write_text(json.dumps({"per_class_moderate": per_class, "rows": rows}, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--peer"]:
        peer_main(sys.argv[2:])
    else:
        main()
