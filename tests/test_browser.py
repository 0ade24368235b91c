"""The TLT sidebar in a real JupyterLab, driven by Playwright in Debian's chromium (no browser download).

The lab serves the executed walkthrough (conftest.py): its training is the experiment the sidebar
lists, and its model, pushed to a folder registry, is the registry model. Screenshots land in
test-artifacts/browser/ (git-ignored); docs/images/ holds copies of them for the README.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "browser"
BIN = Path(sys.executable).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MODEL = "detectnet_v2_resnet18"
SIDEBAR_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="jupyter-tlt:sidebar"]'


def _lines(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # without terminal colours


def test_extensions_are_installed_and_enabled():
    labextensions = _lines([str(BIN / "jupyter"), "labextension", "list"])
    assert re.search(r"jupyter-tlt v\S+ enabled\s+OK", labextensions), labextensions
    server = _lines([str(BIN / "jupyter"), "server", "extension", "list"])
    assert re.search(r"jupyter_tlt enabled", server) and re.search(r"jupyter_tlt \S+ OK", server), server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(walkthrough, tmp_path_factory):
    """A `jupyter lab` on loopback over the walkthrough's folder: (base URL, token, root folder)."""
    from jupyter_tlt.registry import Registry

    _, root = walkthrough
    Registry(root / "registry").push(root / "runs" / "detect" / "weights" / "model.keras", MODEL, "1",
                                     description="the walkthrough's detector", progress=False)
    with serve_lab(root, tmp_path_factory.mktemp("lab-home"), {"TLT_REGISTRY": str(root / "registry")}) as served:
        yield served


@contextlib.contextmanager
def serve_lab(root: Path, home: Path, env: dict | None = None):
    """Run `jupyter lab` over `root` on loopback until the block ends; yields (base URL, token, root).

    The lab loads the lab extension built in this checkout (jupyter_tlt/labextension, `npm run build`)
    when there is one, through a labextensions folder of its own that comes first on JUPYTER_PATH, so a
    worktree's build is what its tests see, whatever the shared venv links to.
    """
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')  # no news prompt
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, **(env or {}), "HOME": str(home),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws")}
    built = ROOT / "jupyter_tlt" / "labextension"
    if (built / "package.json").is_file():
        (home / "jupyter" / "labextensions").mkdir(parents=True)
        (home / "jupyter" / "labextensions" / "jupyter-tlt").symlink_to(built, target_is_directory=True)
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(home / "jupyter"), env.get("JUPYTER_PATH")]))
    log = open(home / "lab.log", "wb")
    proc = subprocess.Popen([str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/tlt/api/version?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not answer within 2 minutes")
        assert proc.poll() is None, (home / "lab.log").read_text(errors="replace")
        yield url, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: the tests are done, end it
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def lab_page(url: str | None = None, token: str | None = None):
    """A Chromium page of 1440x900; given a lab's `url` and `token`, JupyterLab there with the TLT sidebar open."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(60_000)
        if url:
            page.goto(f"{url}/lab?reset&token={token}")
            page.locator(SIDEBAR_TAB).click()
        yield page
        browser.close()


@pytest.fixture(scope="module")
def page(lab):
    with lab_page() as page:
        yield page


def test_sidebar_lists_the_model_and_the_experiment_and_acts_on_them(lab, page):
    from playwright.sync_api import expect

    url, token, root = lab
    page.goto(f"{url}/lab/tree/walkthrough.ipynb?reset&token={token}")
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
    expect(notebook).to_contain_text("moderate", timeout=120_000)  # the mAP table of the saved outputs
    page.locator(".jp-OutputArea-output", has_text="moderate").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "notebook_map_table.png"))

    page.locator(SIDEBAR_TAB).click()
    sidebar = page.locator("[data-testid=jp-tlt-sidebar]")
    model = sidebar.locator(f"[data-testid=jp-tlt-model][data-model={MODEL}]")
    expect(model).to_be_visible()
    expect(model).to_contain_text("resnet18")
    experiment = sidebar.locator("[data-testid=jp-tlt-experiment][data-path='runs/detect']")
    expect(experiment).to_have_attribute("data-status", "finished")
    expect(experiment).to_contain_text("detection")

    page.locator(".jp-NotebookPanel .jp-Cell").first.click()  # the active cell: the pull cell goes below it
    model.locator("[data-testid=jp-tlt-version][data-version='1'] [data-testid=jp-tlt-insert-pull]").click()
    pull_line = f"%tlt pull --model_name {MODEL} --version 1 --dir pretrained"
    second_cell = page.locator(".jp-NotebookPanel .jp-Cell").nth(1)
    expect(second_cell).to_contain_text(pull_line)

    experiment.locator("[data-testid=jp-tlt-experiment-toggle]").click()
    artifact = experiment.locator("[data-testid=jp-tlt-artifact][data-path='runs/detect/experiment.json']")
    expect(experiment.locator("[data-testid=jp-tlt-artifact][data-kind=model]")).to_be_visible()
    sidebar.screenshot(path=str(SHOTS / "sidebar.png"))
    artifact.click()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_have_text("experiment.json")
    expect(page.locator("#jp-main-dock-panel .jp-MainAreaWidget:visible")).to_contain_text("finished")
    page.screenshot(path=str(SHOTS / "lab_with_sidebar.png"))

    model.locator("[data-testid=jp-tlt-version][data-version='1'] [data-testid=jp-tlt-pull]").click()
    status = model.locator("[data-testid=jp-tlt-pull-status]")
    expect(status).to_have_attribute("data-state", "finished", timeout=120_000)
    assert (root / "pretrained" / MODEL / "1" / "model.keras").is_file()


def test_an_executed_notebook_reopened_without_its_kernel_shows_its_outputs(lab, page):
    """The walkthrough was executed by a kernel that has since shut down: every progress bar shows its
    last state (HTML, not a widget that needs the kernel), and no output says "Error displaying widget"."""
    from playwright.sync_api import expect

    url, token, _ = lab
    page.goto(f"{url}/lab/tree/walkthrough.ipynb?reset&token={token}")
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
    expect(notebook).to_contain_text("moderate", timeout=120_000)
    bars = notebook.locator(".tlt-progress")
    expect(bars.first).to_be_attached()
    assert bars.count() >= 2 and "100%" in " ".join(bars.all_inner_texts())
    notebook.locator(".jp-OutputArea-output", has=page.locator(".tlt-progress")).first.scroll_into_view_if_needed()
    page.wait_for_timeout(2_000)  # the widget manager has had its chance to fail by now
    assert notebook.get_by_text("Error displaying widget").count() == 0
    assert not re.search(r"\s0%\|", notebook.inner_text()), "a progress bar saved at 0% (a widget's text form)"
    page.screenshot(path=str(SHOTS / "notebook_reopened.png"))
