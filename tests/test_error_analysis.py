"""Error analysis and confidence thresholds end to end: a tiny trained detector through the CLI
(`tlt evaluate --analysis`, `tlt infer --confidence_threshold / --all_candidates`), the magic and the
ErrorBrowser widget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jupyter_tlt.tasks.detectnet_v2 import confidence
from train_fixtures import detection_records, detection_spec

BIN = Path(sys.executable).parent


def tlt(*args):
    proc = subprocess.run([str(BIN / "tlt"), *map(str, args)], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from jupyter_tlt.train import train

    root = tmp_path_factory.mktemp("analysis")
    records = detection_records(root, n=24)
    spec = root / "spec.cfg"
    spec.write_text(detection_spec(records, epochs=2))
    result = train(str(spec), root / "run", task="detection", progress=False)
    return root, Path(result.model_path), spec


def _label_lines(folder: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in folder.glob("*.txt"))


def test_cli_evaluate_analysis_writes_thresholds_and_files(trained):
    root, model, _ = trained
    code, out, err = tlt("evaluate", "detection", "-m", model, "--analysis", "-q")
    assert code == 0, err
    assert "error analysis of 6 images" in out
    metrics = json.loads((root / "run" / "evaluate" / "metrics.json").read_text())
    entry = metrics[confidence.METRICS_KEY]
    assert entry["model_sha256"] == confidence.file_digest(model) and entry["level"] == "all"
    assert set(entry["by_class"]) == {"car", "pedestrian", "cyclist", "road_sign"}
    folder = root / "run" / "evaluate" / "analysis"
    for name in ("index.html", "analysis.json", "confusion_matrix.png", "confidence_curves.png"):
        assert (folder / name).is_file(), name
    analysis = json.loads((folder / "analysis.json").read_text())
    counts = np.array(analysis["confusion_matrix"]["counts"])
    assert counts.shape == (5, 5) and analysis["confusion_matrix"]["labels"][-1] == "background"
    per_class = analysis["per_class"]
    # every object of the four classes is a row of the matrix: found (some column) or missed (background)
    objects = sum(v["tp"] + v["missed"] for v in per_class.values())
    assert counts[:4].sum() == objects > 0
    page = (folder / "index.html").read_text()
    for by, folder_name in (("missed", "worst_missed"), ("fp", "worst_false_positives")):
        listed = analysis["worst_images"][by]
        assert len(list((folder / folder_name).glob("*.jpg"))) == len(listed)
        for path in (folder / folder_name).glob("*.jpg"):
            assert f"{folder_name}/{path.name}" in page


def test_cli_infer_applies_thresholds(trained):
    root, model, _ = trained
    images = root / "kitti" / "image_2"
    code, out, err = tlt("infer", "detection", "-m", model, "-i", images, "-r", root / "keep_all",
                         "--confidence_threshold", 0, "-q")
    assert code == 0, err
    assert "car >= 0 (--confidence_threshold)" in out
    code, out, err = tlt("infer", "detection", "-m", model, "-i", images, "-r", root / "none",
                         "--confidence_threshold", 1000, "-q")
    assert code == 0, err
    assert _label_lines(root / "none" / "labels") == 0
    code, out, err = tlt("infer", "detection", "-m", model, "-i", images, "-r", root / "candidates",
                         "--confidence_threshold", 1000, "--all_candidates", "-q")
    assert code == 0, err
    assert _label_lines(root / "candidates" / "labels") == _label_lines(root / "keep_all" / "labels") > 0
    code, out, err = tlt("infer", "detection", "-m", model, "-i", images, "-r", root / "bad",
                         "--confidence_threshold", -1)
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_infer_takes_the_thresholds_chosen_at_evaluation(trained):
    from jupyter_tlt.evaluate import evaluate
    from jupyter_tlt.infer import infer

    root, model, _ = trained
    names = evaluate("detection", model, progress=False).metrics.class_names
    stored = confidence.stored(model, root / "run" / "evaluate")
    assert set(stored) == set(names)
    result = infer("detection", model, root / "kitti" / "image_2", root / "chosen", progress=False)
    for c, v in stored.items():
        assert (f"{c} >= {v:.3g} (evaluation)" if v is not None else f"{c}: every candidate (none)") \
            in result.thresholds


def test_magic_evaluate_analysis_and_browser(trained):
    from jupyter_tlt.notebook import show
    from jupyter_tlt.widgets import ErrorBrowser

    root, model, _ = trained
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_tlt")
    shell.user_ns["model"] = str(model)
    with capture_output():
        res = shell.run_cell("r = %tlt evaluate detection -m $model --analysis -q")
    assert res.success
    analysis = shell.user_ns["r"].analysis
    assert type(analysis).__name__ == "ErrorAnalysis"
    with capture_output() as cap:
        show(shell.user_ns["r"], rich=True)
    page = "".join(o.data.get("text/html", "") for o in cap.outputs)
    assert "Error analysis" in page and "data:image/png;base64" in page
    # any threshold: the objects stay the same, only found/missed moves
    base = analysis.summary()
    loose = analysis.at(0.0).summary()
    assert ((base["tp"] + base["missed"]) == (loose["tp"] + loose["missed"])).all()
    assert (loose["tp"] >= base["tp"]).all() and (loose["fp"] >= base["fp"]).all()
    browser = ErrorBrowser(analysis)
    before = browser.table.value
    browser.per_class.value = False
    browser.slider.value = browser.slider.max
    assert not browser.slider.disabled and browser.table.value != before
    assert "slider" in browser.table.value
