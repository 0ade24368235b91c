"""The tutorial notebooks (notebooks/*_tutorial.ipynb) executed top to bottom in a real kernel, quick profile.

Parameters are injected as papermill does it: a cell tagged `injected-parameters` right after the cell tagged
`parameters` sets `profile = "quick"` and the work directory (papermill itself is not needed). The kernel is
this interpreter (the `kernel` fixture of conftest.py). The kernel starts
in an empty folder, which must stay empty: a tutorial writes only into its work directory.

Run only these with `pytest -k tutorials`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WIDGET = "application/vnd.jupyter.widget-view+json"


def execute(name: str, tmp_path: Path, kernel: str) -> tuple[nbformat.NotebookNode, Path]:
    """Run notebooks/<name> on the quick profile; returns the executed notebook and its work directory."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit the tutorials without outputs"
    parameters = code[0]
    assert "parameters" in parameters.metadata.get("tags", []), "the first code cell holds the parameters"
    assert 'profile = "full"' in parameters.source
    work, cwd = tmp_path / "work", tmp_path / "cwd"
    cwd.mkdir()
    nb.cells.insert(nb.cells.index(parameters) + 1, new_code_cell(
        f'profile = "quick"\nworkdir = {str(work)!r}', metadata={"tags": ["injected-parameters"]}))
    NotebookClient(nb, timeout=600, kernel_name=kernel, resources={"metadata": {"path": str(cwd)}}).execute()
    assert not any(cwd.iterdir()), f"written outside the work directory: {sorted(p.name for p in cwd.iterdir())}"
    return nb, work


def cell(nb, prefix: str):
    """The one code cell whose source starts with `prefix`."""
    found = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(prefix)]
    assert len(found) == 1, f"{len(found)} cells start with {prefix!r}"
    return found[0]


def data(c) -> list[dict]:
    return [o.get("data", {}) for o in c.outputs]


def html(c) -> str:
    return "".join(d.get("text/html", "") for d in data(c))


def stdout(c) -> str:
    return "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def has_png(c) -> bool:
    return any("image/png" in d for d in data(c))


def check_deepstream(folder: Path, classes: list[str], network_type: int) -> None:
    """labels.txt and nvinfer_config.txt exist, and the config's files resolve from the config's folder."""
    config = (folder / "nvinfer_config.txt").read_text()
    properties = dict(line.split("=", 1) for line in config.splitlines() if "=" in line and not line.startswith("#"))
    assert properties["network-type"] == str(network_type)
    for key in ("onnx-file", "labelfile-path", "int8-calib-file"):
        assert (folder / properties[key]).is_file(), f"{key}={properties[key]} does not resolve from {folder}"
    labels = (folder / "labels.txt").read_text()
    assert all(name in labels for name in classes)


def survives_without_kernel(nb) -> str:
    """The executed notebook as `jupyter nbconvert --to html` renders it (no kernel, no widget state
    beyond what is saved); asserts what a reader must not see there. Returns the HTML."""
    from nbconvert import HTMLExporter

    import jupyter_tlt

    page, _ = HTMLExporter().from_notebook_node(nb)
    package = str(Path(jupyter_tlt.__file__).parent)
    for bad in ("Error displaying widget", "UserWarning", "TltWarning", package, "Traceback"):
        assert bad not in page, f"{bad!r} in the HTML of the saved notebook"
    assert not re.search(r"\s0%\|", page), "a progress bar saved at 0% (a widget's text form)"
    assert WIDGET not in json.dumps([o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                                     if "tlt-progress" in str(o)]), "progress must be HTML, not a widget"
    return page


def moderate_ap(metrics_json: Path) -> dict[str, float]:
    """Moderate AP (%) per class and the mAP, from an evaluation's metrics.json (what its table shows)."""
    metrics = json.loads(metrics_json.read_text())
    return {**{c: 100 * v["moderate"] for c, v in metrics["ap"].items()}, "mAP": 100 * metrics["mAP"]["moderate"]}


@pytest.fixture(scope="module")
def detection(tmp_path_factory, kernel):
    """The detection tutorial executed once on the quick profile: (notebook, work dir)."""
    return execute("detection_tutorial.ipynb", tmp_path_factory.mktemp("detection"), kernel)


def test_detection_tutorial(detection):
    nb, work = detection
    classes = ["car", "cyclist", "pedestrian", "road_sign"]

    # step 1: pretrained on the source domain, pushed to the tutorial's registry, pulled back in the seed's form
    assert "Pushed detectnet_v2_resnet10 version 1" in stdout(cell(nb, "pretrained = %tlt pretrain"))
    pulled = work / "pretrained" / "detectnet_v2_resnet10" / "1" / "model.keras"
    assert pulled.read_bytes() == (work / "registry" / "detectnet_v2_resnet10" / "1" / "model.keras").read_bytes()
    assert "pretrained/detectnet_v2_resnet10/1/model.keras" in (work / "specs" / "detect_target.cfg").read_text()

    # steps 2-3: the pretrained model on the target domain, fine-tuned, evaluated: mAP tables and PR curves
    before = cell(nb, 'Path("specs/detect_target.cfg").write_text(')
    after = cell(nb, 'finetuned = "runs/target/weights/model.keras"')
    for evaluation in (before, after):
        assert "moderate" in html(evaluation) and has_png(evaluation)
    assert (work / "runs" / "source_on_target" / "evaluate" / "metrics.json").is_file()
    finetune = cell(nb, "%tlt train detection -e specs/detect_target.cfg")
    assert has_png(finetune) and "tlt-progress" in html(finetune)  # live chart, progress bars (HTML)
    assert "val mAP (all)" in html(finetune) and "%" in html(finetune)
    assert "fine-tuned on target" in html(cell(nb, "import pandas as pd"))

    # step 4: sweep, panel, a smaller pruned model, retrained
    assert "params_kept" in stdout(cell(nb, "%tlt prune -m $finetuned --sweep"))
    assert any(WIDGET in d for d in data(cell(nb, "from jupyter_tlt.widgets import PrunePanel")))
    assert "fewer parameters" in html(cell(nb, "report = panel.prune()"))
    report = json.loads((work / "runs" / "prune" / "model_pruned_prune_report.json").read_text())
    assert report["params_after"] < report["params_before"]
    finetuned = work / "runs" / "target" / "weights" / "model.keras"
    for smaller in ("runs/prune/model_pruned.keras", "runs/retrain/weights/model.keras"):
        assert (work / smaller).stat().st_size < finetuned.stat().st_size

    # step 5: FP16 and INT8 exports, DeepStream files, the engine built or the reason given
    export = work / "export"
    assert (export / "fp16" / "model.onnx").stat().st_size < (export / "model.onnx").stat().st_size
    assert (export / "model_int8_qdq.onnx").stat().st_size < (export / "model.onnx").stat().st_size
    assert (export / "cal.bin").read_text().startswith("TRT-")
    check_deepstream(export, classes, network_type=0)
    convert = cell(nb, "from jupyter_tlt.export.tensorrt_engine import gpu_status")
    assert (export / "model.int8.engine").is_file() or "No TensorRT engine here" in stdout(convert)

    # inference gallery and the before/after table
    assert len(list((work / "runs" / "infer" / "images").iterdir())) == 4
    assert "<img" in html(cell(nb, "%tlt infer detection"))
    table = html(cell(nb, "%tlt compare detection"))
    for needle in ("mAP moderate (%)", "parameters", "file size", "img/s", "fine-tuned", "pruned + retrained, INT8"):
        assert needle in table


def test_detection_tutorial_survives_without_its_kernel(detection):
    nb, _ = detection
    page = survives_without_kernel(nb)
    assert "moderate" in page and "100%" in page  # the final tables and every bar's last state


def test_detection_quick_profile_learns(detection):
    """Issue 16 item 6: the quick profile ends with a visibly learning model (docs/benchmarks.md)."""
    _, work = detection
    ap = moderate_ap(work / "runs" / "target" / "evaluate" / "metrics.json")  # the fine-tuned model's table
    assert ap["mAP"] >= 10.0 and all(ap[c] > 0 for c in ("car", "cyclist", "pedestrian", "road_sign")), ap


def test_classification_tutorial(tmp_path, kernel):
    nb, work = execute("classification_tutorial.ipynb", tmp_path, kernel)
    classes = ["background", "car", "cyclist", "pedestrian", "road_sign"]

    assert "Pushed classification_resnet18 version 1" in stdout(cell(nb, "pretrained = %tlt pretrain"))
    assert (work / "pretrained" / "classification_resnet18" / "1" / "model.keras").is_file()
    assert "top-1" in html(cell(nb, "before = %tlt evaluate classification"))

    # the confusion matrix: drawn by the evaluation, written to disk, and as a table
    evaluation = cell(nb, "after = %tlt evaluate classification")
    assert "top-1" in html(evaluation) and has_png(evaluation)
    assert (work / "runs" / "target" / "evaluate" / "confusion_matrix.png").is_file()
    confusion = html(cell(nb, "import pandas as pd"))
    assert "predicted" in confusion and all(name in confusion for name in classes)

    report = json.loads((work / "runs" / "prune" / "model_pruned_prune_report.json").read_text())
    assert report["params_after"] < report["params_before"]
    finetuned = work / "runs" / "target" / "weights" / "model.keras"
    assert (work / "runs" / "retrain" / "weights" / "model.keras").stat().st_size < finetuned.stat().st_size

    export = work / "export"
    assert (export / "cal.bin").read_text().startswith("TRT-")
    assert (export / "model_int8_qdq.onnx").stat().st_size < (export / "model.onnx").stat().st_size
    check_deepstream(export, classes, network_type=1)

    predictions = (work / "runs" / "infer" / "predictions.csv").read_text().splitlines()
    assert len(predictions) == 1 + len(list((work / "data" / "unlabelled").iterdir()))
    table = html(cell(nb, "%tlt compare classification"))
    for needle in ("top-1 accuracy (%)", "parameters", "file size", "img/s", "pruned + retrained, INT8"):
        assert needle in table
    survives_without_kernel(nb)


def test_deployment_tutorial(tmp_path, kernel):
    nb, work = execute("deployment_tutorial.ipynb", tmp_path, kernel)
    export = work / "export"

    # the exported ONNX model measured with the same mAP code as the Keras model
    for prefix in ("keras_result = %tlt evaluate", "onnx_result = %tlt evaluate"):
        assert "moderate" in html(cell(nb, prefix))
    keras_map = json.loads((work / "runs" / "detect" / "evaluate" / "metrics.json").read_text())
    onnx_map = json.loads((export / "fp32" / "evaluate" / "metrics.json").read_text())
    assert keras_map.keys() == onnx_map.keys()
    assert (export / "fp16" / "model.onnx").stat().st_size < (export / "fp32" / "model.onnx").stat().st_size

    # INT8: a tensorfile, a cache per calibration method, the check, and the deployment folder
    assert (export / "calibration.h5").is_file()
    for method in ("entropy", "percentile", "max"):
        assert (export / f"int8_{method}" / "cal.bin").read_text().startswith("TRT-")
        assert (export / f"int8_{method}" / "model_int8_qdq.onnx").is_file()
    assert "input values clipped (%)" in html(cell(nb, "from jupyter_tlt.export.calibration import read_cache"))
    deployed = export / "deepstream"
    assert any((deployed / "cal.bin").read_bytes() == (export / f"int8_{m}" / "cal.bin").read_bytes()
               for m in ("entropy", "percentile", "max"))
    check_deepstream(deployed, ["car", "cyclist", "pedestrian", "road_sign"], network_type=0)
    assert "[property]" in stdout(cell(nb, 'print(Path("export/deepstream/labels.txt")'))

    convert = cell(nb, "from jupyter_tlt.export.tensorrt_engine import gpu_status")
    assert (deployed / "model.int8.engine").is_file() or "No TensorRT engine on this machine" in stdout(convert)
    table = html(cell(nb, "%tlt compare detection"))
    for needle in ("mAP moderate (%)", "img/s", "Keras FP32", "ONNX FP32", "INT8 entropy", "INT8 percentile",
                   "INT8 max"):
        assert needle in table
    survives_without_kernel(nb)
