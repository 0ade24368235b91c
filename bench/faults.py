"""kill -9 each step at a random moment; check what a killed run leaves behind.

For every trial: start a real `tlt <step>` process, SIGKILL it after a random delay, then check that
(1) every file under a final name is complete (models load, ONNX parses, TFRecords pass their CRCs,
JSON parses), (2) a training killed while running shows `stopped` in the experiment index, and
(3) running the same step again succeeds and leaves no temporary (`.tmp-*`) behind.

    python bench/faults.py --trials 4          # prints one line per trial and the totals
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

TLT = str(Path(sys.executable).with_name("tlt"))


def run(*args, check=True):
    done = subprocess.run([TLT, *map(str, args)], capture_output=True, text=True)
    if check and done.returncode:
        raise SystemExit(f"setup failed: tlt {' '.join(map(str, args))}\n{done.stderr}")
    return done


def complete(path: Path) -> str | None:
    """Why a file under a final name is not complete (None if it is)."""
    from jupyter_tlt.data.tfrecord_io import read_records

    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
            return f"corrupt member {bad}" if bad else None
        if path.suffix == ".onnx":
            import onnx

            onnx.load(str(path))
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif "-fold-" in path.name and "-shard-" in path.name:
            sum(1 for _ in read_records(path))
    except Exception as exc:  # anything unreadable is a half-written file
        return f"{type(exc).__name__}: {exc}"
    return None


def setup(work: Path) -> dict:
    run("generate", "-o", work / "kitti", "-n", 40, "--width", 192, "--height", 128, "-j", 1, "-q")
    conv = work / "conv.cfg"
    conv.write_text(f'kitti_config {{ root_directory_path: "{work}/kitti" image_dir_name: "image_2" '
                    'label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" '
                    'num_partitions: 2 val_split: 25 num_shards: 4 }')
    run("dataset-convert", "-d", conv, "-o", work / "records" / "k", "-q")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from train_fixtures import detection_spec

    spec = work / "spec.cfg"
    spec.write_text(detection_spec(f"{work}/records/k-fold-*", epochs=3))
    run("train", "detection", "-e", spec, "-r", work / "base", "-q")
    return {"conv": conv, "spec": spec, "model": work / "base" / "weights" / "model.keras"}


def steps(work: Path, s: dict) -> dict:
    """Step name -> (argv builder given an output folder, whether it is a training)."""
    return {
        "generate": lambda out: ["generate", "-o", out / "gen", "-n", 30, "-j", 1, "-q", "--overwrite"],
        "dataset-convert": lambda out: ["dataset-convert", "-d", s["conv"], "-o", out / "rec", "-j", 1, "-q",
                                        "--overwrite"],
        "train": lambda out: ["train", "detection", "-e", s["spec"], "-r", out / "run", "-q"],
        "prune": lambda out: ["prune", "-m", s["model"], "-o", out / "p.keras", "-pth", "0.3", "--overwrite"],
        "export": lambda out: ["export", "-m", s["model"], "-o", out / "m.onnx", "--gen_ds_config", "--overwrite"],
    }


def trial(step: str, argv, out: Path, delay: float) -> dict:
    from jupyter_tlt.experiment_index import ExperimentIndex

    out.mkdir(parents=True)
    proc = subprocess.Popen([TLT, *map(str, argv(out))], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    finished = proc.poll() is not None
    proc.kill()
    proc.wait()
    finals = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".tmp-")]
    broken = [f"{p.name}: {why}" for p in finals if (why := complete(p))]
    temps_after_kill = [p for p in out.rglob(".tmp-*")]
    status = None
    if step == "train" and (out / "run" / "experiment.json").exists():
        status = ExperimentIndex(out).summaries()[0]["status"]
    again = subprocess.run([TLT, *map(str, argv(out))], capture_output=True, text=True)
    temps_after_rerun = [p.name for p in out.rglob(".tmp-*")]
    return {"step": step, "delay": round(delay, 2), "finished_before_kill": finished, "broken": broken,
            "temporaries_after_kill": len(temps_after_kill), "status_after_kill": status,
            "rerun_exit": again.returncode, "temporaries_after_rerun": temps_after_rerun}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4, help="kills per step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max_delay", type=float, default=25.0, help="latest kill, seconds after start")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="faults-"))
    try:
        s = setup(work)
        results = []
        for step, argv in steps(work, s).items():
            for i in range(args.trials):
                r = trial(step, argv, work / "trials" / f"{step}-{i}", rng.uniform(2.0, args.max_delay))
                results.append(r)
                print(json.dumps(r), flush=True)
        killed = [r for r in results if not r["finished_before_kill"]]
        clean = [r for r in killed if not r["broken"] and r["rerun_exit"] == 0 and not r["temporaries_after_rerun"]
                 and r["status_after_kill"] in (None, "stopped", "finished", "failed")]
        trains = [r for r in killed if r["step"] == "train" and r["status_after_kill"]]
        print(f"\nkills: {len(killed)} (of {len(results)} trials; the rest had finished), survived cleanly: "
              f"{len(clean)}; half-written files under a final name: {sum(len(r['broken']) for r in results)}; "
              f"temporaries left by kills: {sum(r['temporaries_after_kill'] for r in killed)}, after the rerun: "
              f"{sum(len(r['temporaries_after_rerun']) for r in results)}; killed trainings shown stopped: "
              f"{sum(r['status_after_kill'] == 'stopped' for r in trains)} of {len(trains)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
