"""The sidebar as a dashboard in a real JupyterLab (Playwright + Debian's chromium): a model's history
and runs side by side, over runs made by real training (train -> prune -> retrain -> export).

Screenshots land in test-artifacts/browser/ (git-ignored); docs/images/ holds copies for the README.
"""

from __future__ import annotations

import pytest

from lineage_fixtures import make_chain
from test_browser import SHOTS, lab_page, serve_lab


@pytest.fixture(scope="module")
def chain_lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboard")
    models = make_chain(root)
    with serve_lab(root, tmp_path_factory.mktemp("lab-home")) as served:
        yield served, models


@pytest.fixture(scope="module")
def sidebar(chain_lab):
    (url, token, _), _ = chain_lab
    with lab_page(url, token) as page:
        yield page, page.locator("[data-testid=jp-tlt-sidebar]")


def test_sidebar_lineage_of_a_pruned_and_exported_model_shows_every_node(sidebar):
    from playwright.sync_api import expect

    page, bar = sidebar
    retrain = bar.locator("[data-testid=jp-tlt-experiment][data-path='runs/retrain']")
    expect(retrain.locator(".jp-tlt-path")).to_have_text("…/retrain")  # the distinguishing end of the path
    assert retrain.locator("[data-testid=jp-tlt-experiment-toggle]").get_attribute("title").startswith("runs/retrain")
    retrain.locator("[data-testid=jp-tlt-experiment-toggle]").click()
    nodes = retrain.locator("[data-testid=jp-tlt-lineage-node]")
    expect(nodes).to_have_count(4)
    assert [nodes.nth(i).get_attribute("data-step") for i in range(4)] == ["export", "train", "prune", "train"]
    assert [nodes.nth(i).get_attribute("data-path") for i in range(4)] == [
        "runs/retrain/export/model.onnx", "runs/retrain/weights/model.keras",
        "runs/detect/prune/model_pruned.keras", "runs/detect/weights/model.keras"]
    expect(nodes.nth(1)).to_contain_text("retrained")
    expect(nodes.nth(2)).to_contain_text("pruned")
    expect(nodes.nth(3)).to_contain_text("M params")
    expect(nodes.nth(3)).to_contain_text("mAP (level all)")
    expect(nodes.nth(0)).to_contain_text("fp32")
    # every deployable file is listed with its kind
    kinds = {a.get_attribute("data-path"): a.get_attribute("data-kind")
             for a in retrain.locator("[data-testid=jp-tlt-artifact]").all()}
    assert kinds["runs/retrain/export/model.onnx"] == "onnx"
    bar.screenshot(path=str(SHOTS / "sidebar_lineage.png"))
    nodes.nth(2).locator("button", has_text="prune report").click()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_have_text(
        "model_pruned_prune_report.json")


def test_sidebar_compare_shows_both_curves_and_the_spec_diff(sidebar):
    from playwright.sync_api import expect

    page, bar = sidebar
    for path in ("runs/detect", "runs/retrain"):
        bar.locator(f"[data-testid=jp-tlt-experiment][data-path='{path}'] [data-testid=jp-tlt-select]").check()
    bar.locator("[data-testid=jp-tlt-compare]").click()
    view = page.locator("[data-testid=jp-tlt-compare-view]")
    expect(view).to_be_visible()
    loss = view.locator("[data-testid=jp-tlt-chart][data-curve=loss]")
    expect(loss.locator("[data-testid=jp-tlt-series]")).to_have_count(2)
    expect(loss.locator("circle")).to_have_count(2)  # one epoch each
    expect(view.locator("[data-testid=jp-tlt-compare-metrics] tbody tr")).to_have_count(2)
    diff = view.locator("[data-testid=jp-tlt-spec-diff]")
    row = diff.locator("tr[data-field='model_config.pretrained_model_file']")
    expect(row).to_contain_text("(default)")
    expect(row).to_contain_text("model_pruned.keras")
    assert view.bounding_box()["width"] > 800  # the main area, not the sidebar
    page.screenshot(path=str(SHOTS / "compare_runs.png"))


def test_sidebar_viewer_opens_models_and_event_logs_without_an_error_dialog(sidebar):
    from playwright.sync_api import expect

    page, bar = sidebar
    retrain = bar.locator("[data-testid=jp-tlt-experiment][data-path='runs/retrain']")
    if not retrain.locator("[data-testid=jp-tlt-artifacts]").is_visible():
        retrain.locator("[data-testid=jp-tlt-experiment-toggle]").click()
    for path, kind, says in (("runs/retrain/weights/model.keras", "keras", "Conv2D"),
                             ("runs/retrain/export/model.onnx", "onnx", "Conv"),
                             ("runs/retrain/status.jsonl", "events", "Training curves")):
        retrain.locator(f"[data-testid=jp-tlt-artifact][data-path='{path}']").click()
        viewer = page.locator(f"#jp-main-dock-panel [data-testid=jp-tlt-viewer][data-kind={kind}]:visible")
        expect(viewer).to_contain_text(says, timeout=60_000)  # the server's first onnx import is slow
        assert page.locator(".jp-Dialog").count() == 0  # no "is not UTF-8 encoded" error
        if kind == "keras":
            expect(viewer).to_contain_text("parameters")
            expect(viewer.locator("[data-testid=jp-tlt-viewer-lineage] li")).to_have_count(3)  # train, prune, retrain
            page.screenshot(path=str(SHOTS / "viewer_keras.png"))
    events = next(a for a in retrain.locator("[data-testid=jp-tlt-artifact][data-kind=log]").all()
                  if "tfevents" in (a.get_attribute("data-path") or ""))
    events.click()
    expect(page.locator("#jp-main-dock-panel [data-testid=jp-tlt-viewer]:visible")).to_contain_text("TensorBoard",
                                                                                                    timeout=60_000)
    assert page.locator(".jp-Dialog").count() == 0


def _train_in_background(root, results: str, log_name: str):
    import os
    import subprocess
    import sys

    from train_fixtures import detection_spec

    spec = root / "stop_spec.txt"
    spec.write_text(detection_spec(f"{root}/data/records/kitti-fold-*", epochs=3))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SHOTS.parents[1]), os.environ.get("PYTHONPATH")]))}
    log = open(root / log_name, "wb")
    return subprocess.Popen([sys.executable, "-m", "jupyter_tlt.cli", "train", "detection", "-e", str(spec), "-r",
                             str(root / results), "-q"], stdout=log, stderr=subprocess.STDOUT, env=env)


def test_sidebar_stop_turns_a_running_training_into_a_stopped_one_that_resumes(chain_lab, sidebar):
    from playwright.sync_api import expect

    from jupyter_tlt.experiments import Experiment

    (_, _, root), _ = chain_lab
    page, bar = sidebar
    first = _train_in_background(root, "runs/stoppable", "stop_first.log")
    try:
        row = bar.locator("[data-testid=jp-tlt-experiment][data-path='runs/stoppable']")
        expect(row).to_have_attribute("data-status", "running", timeout=180_000)
        row.locator("[data-testid=jp-tlt-stop]").click()
        expect(row).to_have_attribute("data-status", "interrupted", timeout=300_000)
        assert first.wait(timeout=120) == 0
    finally:
        first.kill() if first.poll() is None else None
    exp = Experiment(root / "runs" / "stoppable")
    stopped_at = exp.info()["epoch"]
    assert exp.info()["stopped_by"] == "request" and 1 <= stopped_at < 3 and exp.latest_checkpoint()[0] == stopped_at
    expect(page.locator(".jp-Notification-Toast, .Toastify__toast").filter(has_text="runs/stoppable")).not_to_have_count(0)
    bar.screenshot(path=str(SHOTS / "sidebar_stopped.png"))
    second = _train_in_background(root, "runs/stoppable", "stop_second.log")
    try:
        expect(row).to_have_attribute("data-status", "finished", timeout=300_000)
        assert second.wait(timeout=120) == 0
    finally:
        second.kill() if second.poll() is None else None
    assert exp.info()["initial_epoch"] == stopped_at  # resumed from the checkpoint the stop left


def test_sidebar_opens_tensorboard_in_a_tab_behind_jupyter_auth(chain_lab, sidebar):
    from playwright.sync_api import expect

    page, bar = sidebar
    detect = bar.locator("[data-testid=jp-tlt-experiment][data-path='runs/detect']")
    if not detect.locator("[data-testid=jp-tlt-artifacts]").is_visible():
        detect.locator("[data-testid=jp-tlt-experiment-toggle]").click()
    detect.locator("[data-testid=jp-tlt-tensorboard]").click()
    frame = page.frame_locator("#jp-main-dock-panel .jp-IFrame:visible iframe")
    expect(frame.locator("body")).to_contain_text("TensorBoard", timeout=120_000)
    assert page.locator(".jp-Dialog").count() == 0
    page.screenshot(path=str(SHOTS / "tensorboard_tab.png"))
