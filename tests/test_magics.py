"""`%tlt` / `%%tlt` in a real IPython shell: every step family on tiny data, with real training."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from train_fixtures import detection_spec

CONVERT_SPEC = """kitti_config {{ root_directory_path: "{root}" image_dir_name: "image_2" label_dir_name: "label_2"
  image_extension: ".jpg" partition_mode: "random" num_partitions: 2 val_split: 25 num_shards: 1 }}
"""


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_tlt")
    return ip


def run(shell, code: str):
    """Run a cell; (result, stdout, stderr)."""
    with capture_output() as cap:
        result = shell.run_cell(code, store_history=True)
    return result, cap.stdout, cap.stderr


@pytest.fixture(scope="module")
def workflow(shell, tmp_path_factory):
    """generate -> dataset-convert (spec in the cell) -> train 1 epoch (spec in the cell), all via magics."""
    root = tmp_path_factory.mktemp("magics")
    shell.user_ns.update(root=str(root), n_images=16)
    res, out, err = run(shell, "gen = %tlt generate -o {root}/kitti -n $n_images --width 192 --height 128 -q -j 1")
    assert res.success, err
    res, out, err = run(shell, "%%tlt dataset-convert -o $root/records/kitti -q -j 1\n"
                               + CONVERT_SPEC.format(root=root / "kitti"))
    assert res.success, err
    spec = detection_spec(f"{root}/records/kitti-fold-*", epochs=1, width=96, height=64)
    res, out, err = run(shell, f"%%tlt train detection -r $root/run -q\n{spec}")
    assert res.success, err
    shell.user_ns["trained"] = res.result  # a cell magic's value is the cell's value (also `_`)
    shell.user_ns["model"] = str(root / "run" / "weights" / "model.keras")
    return root, spec


def test_data_steps_return_their_results(shell, workflow):
    root, _ = workflow
    gen = shell.user_ns["gen"]
    assert type(gen).__name__ == "GenerateResult" and gen.num_images == 16
    assert len(list((root / "records").glob("kitti-fold-*"))) == 2
    _, out, _ = run(shell, "%tlt dataset-validate $root/kitti -q --no_image_check")
    assert "car" in out


def test_train_takes_the_spec_from_the_cell(shell, workflow):
    root, _ = workflow
    trained = shell.user_ns["trained"]
    assert type(trained).__name__ == "TrainResult"
    assert trained.model_path == root / "run" / "weights" / "model.keras" and trained.model_path.is_file()
    info = json.loads((root / "run" / "experiment.json").read_text())
    assert info["status"] == "finished" and "output_image_width: 96" in info["spec"]


def test_evaluate_returns_result_and_shows_it_once(shell, workflow):
    root, _ = workflow
    res, out, err = run(shell, "r = %tlt evaluate detection -m $model -q")
    assert res.success, err
    assert out == ""  # assigned: nothing shown, as for any Python assignment
    r = shell.user_ns["r"]
    assert type(r).__name__ == "EvaluateResult" and "moderate" in r.to_frame().columns
    assert (root / "run" / "evaluate" / "metrics.json").is_file()
    res, out, err = run(shell, "r")  # the cell's value: drawn by the registered view (text outside a kernel)
    assert out.count("moderate") == 1 and "mAP" in out
    res, out, err = run(shell, "r;")
    assert out == ""


def test_rich_views(shell, workflow):
    """What a kernel shows: the mAP table as HTML, PR curves and prune curve as PNG, export summary, gallery."""
    from jupyter_tlt.notebook import show

    root, _ = workflow
    shell.user_ns["pruned"] = str(root / "prune" / "pruned.keras")
    _, _, err = run(shell, "ev = %tlt evaluate detection -m $model -q\n"
                           "pr = %tlt prune -m $model -o $pruned -pth 0.3\n"
                           "ex = %tlt export -m $model\n"
                           "inf = %tlt infer detection -m $model -i $root/kitti/image_2 -r $root/infer -q")
    assert all(k in shell.user_ns for k in ("ev", "pr", "ex", "inf")), err
    assert Path(shell.user_ns["pruned"]).is_file() and shell.user_ns["ex"].files["onnx"].is_file()

    def bundles(obj):
        with capture_output() as cap:
            show(obj, rich=True)
        return [o.data for o in cap.outputs]

    ev = bundles(shell.user_ns["ev"])
    assert any("moderate" in b.get("text/html", "") and "car" in b["text/html"] for b in ev)
    assert any("image/png" in b for b in ev)
    pr = bundles(shell.user_ns["pr"])
    assert any("fewer parameters" in b.get("text/html", "") for b in pr)
    assert any("image/png" in b for b in pr)  # parameters and FLOPs against the threshold
    ex = bundles(shell.user_ns["ex"])
    assert any(".onnx" in b.get("text/html", "") and "ok" in b["text/html"] for b in ex)
    gallery = [b["text/html"] for b in bundles(shell.user_ns["inf"]) if "data:image/jpeg" in b.get("text/html", "")]
    assert gallery and gallery[0].count("<img") == 12


def test_sweep_and_string_results_print(shell, workflow):
    res, out, err = run(shell, "x = %tlt prune -m $model --sweep")
    assert res.success, err
    assert "threshold" in out and shell.user_ns["x"] is None


def test_var_and_expression_expansion(shell, tmp_path):
    shell.user_ns.update(target=str(tmp_path / "gen"), count=3)
    res, _, err = run(shell, "g = %tlt generate -o $target -n {count + 1} --width 96 --height 64 -q -j 1")
    assert res.success, err
    assert shell.user_ns["g"].num_images == 4
    assert len(list((tmp_path / "gen" / "image_2").iterdir())) == 4


def test_load_ext_imports_no_tensorflow():
    code = ("import sys; from IPython.core.interactiveshell import InteractiveShell; "
            "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'jupyter_tlt'); "
            "ip.run_cell('%tlt train --help'); import jupyter_tlt.widgets, jupyter_tlt.notebook; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, capture_output=True)


def test_help_prints_and_does_not_fail(shell):
    res, out, err = run(shell, "%tlt --help")
    assert res.success and "dataset-convert" in out and "Traceback" not in out + err
    res, out, _ = run(shell, "%tlt train --help")
    assert res.success and "--experiment_spec_file" in out and out.startswith("usage: %tlt train")
    res, out, _ = run(shell, "%tlt")
    assert res.success and "usage: %tlt" in out


def test_user_error_is_one_line_and_the_shell_goes_on(shell, tmp_path):
    res, out, err = run(shell, f"%tlt dataset-convert -d {tmp_path}/nope.cfg -o {tmp_path}/x")
    assert not res.success
    text = (out + err).strip()
    assert text == f"error: {tmp_path}/nope.cfg: no such spec file; check the path given to -d"
    res, out, err = run(shell, "%tlt train detection -e spec.cfg")
    assert not res.success and "Traceback" not in out + err
    assert "usage: %tlt train" in out + err and "-r/--results_dir" in out + err
    res, out, _ = run(shell, "%%tlt generate -o x\nbody")
    assert not res.success and "takes no spec" in out
    res, out, _ = run(shell, "print(1 + 1)")
    assert res.success and out == "2\n"


def test_interrupt_keeps_the_checkpoint_and_rerun_resumes(shell, workflow):
    """SIGINT (what a kernel interrupt sends) during training: a short message, then the cell resumes."""
    root, spec = workflow
    spec = spec.replace("num_epochs: 1", "num_epochs: 3")
    first = root / "run4" / "weights" / "model_epoch_001.keras"
    training = threading.Event()

    def interrupt_after_first_checkpoint():
        while training.is_set() and not first.exists():
            time.sleep(0.02)
        if training.is_set():
            os.kill(os.getpid(), signal.SIGINT)

    def handler(signum, frame):
        if training.is_set():  # never let a late signal escape the cell
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        training.set()
        threading.Thread(target=interrupt_after_first_checkpoint, daemon=True).start()
        res, out, err = run(shell, f"%%tlt train detection -r $root/run4 -q\n{spec}")
        training.clear()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not res.success
    assert "Traceback" not in out + err
    assert out.startswith("interrupted: training stopped; the checkpoint of epoch") and "Re-run the cell" in out
    info = json.loads((root / "run4" / "experiment.json").read_text())
    assert info["status"] == "interrupted"
    res, out, err = run(shell, f"%%tlt train detection -r $root/run4 -q\n{spec}")
    assert res.success, err
    again = shell.user_ns["_"]
    assert again.initial_epoch >= 1 and again.epochs == 3 and again.model_path.is_file()
