"""The README's screenshots (docs/images/*.png), taken from one run of the detection tutorial.

Executes notebooks/detection_tutorial.ipynb (profile "quick" unless --profile full) into WORK, saves the
executed copy there, writes the fine-tuned model's error analysis (`tlt evaluate --analysis`) and runs
`tlt infer` with the tutorial's INT8 model on its new frames, then photographs, in Debian's chromium
driven by Playwright (no browser download; `make browser` installs chromium):

    infer_gallery.png       tlt infer's drawn frames (the boxes a deployment keeps)
    error_analysis.png      evaluate/analysis/index.html (TP / FP / missed, P-R-F1, confusion, worst images)
    notebook_map_table.png  the executed tutorial in JupyterLab at the fine-tuned model's mAP table
    notebook_reopened.png   the same notebook reopened without its kernel, at the fine-tuning cell
    lab_with_sidebar.png    JupyterLab with the TLT sidebar: the tutorial's registry and experiments

    python tools/readme_screenshots.py /tmp/shots                 # execute, then photograph
    python tools/readme_screenshots.py /tmp/shots --reuse         # photograph an executed WORK again
    python tools/readme_screenshots.py /tmp/shots --out docs/images
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "notebooks" / "detection_tutorial.ipynb"
BIN = Path(sys.executable).parent
VIEWPORT = {"width": 1440, "height": 900}
SIDEBAR_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="jupyter-tlt:sidebar"]'


def execute(work: Path, profile: str) -> Path:
    """Run the tutorial top to bottom with `profile` and `workdir` injected (as papermill does)."""
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell

    nb = nbformat.read(TUTORIAL, as_version=4)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(nb.cells.index(parameters) + 1, new_code_cell(
        f"profile = {profile!r}\nworkdir = {str(work)!r}", metadata={"tags": ["injected-parameters"]}))
    work.mkdir(parents=True, exist_ok=True)
    kernels = work / ".jupyter" / "kernels" / "jupyter-tlt-shots"   # this interpreter, whatever is on PATH
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "jupyter-tlt", "language": "python"}))
    os.environ["JUPYTER_PATH"] = str(work / ".jupyter")
    NotebookClient(nb, timeout=3600, kernel_name="jupyter-tlt-shots",
                   resources={"metadata": {"path": str(work)}}).execute()
    path = work / "detection_tutorial.ipynb"
    nbformat.write(nb, path)
    return path


def analyse(work: Path) -> tuple[Path, Path, str]:
    """The fine-tuned model's error analysis and a tlt infer run: (analysis dir, infer dir, infer's text)."""
    from jupyter_tlt.evaluate import evaluate
    from jupyter_tlt.infer import infer

    os.chdir(work)
    evaluate("detection", "runs/target/weights/model.keras", spec="specs/detect_target.cfg",
             results_dir="runs/target", progress=False, analysis=True)
    out = io.StringIO()
    with redirect_stdout(out):
        print(infer("detection", "export/model_int8_qdq.onnx", "data/new_frames/image_2", "runs/infer_shots",
                    spec="specs/detect_target.cfg", overwrite=True, progress=False))
    return work / "runs" / "target" / "evaluate" / "analysis", work / "runs" / "infer_shots", out.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_lab(root: Path, home: Path):
    """A JupyterLab on loopback over `root` with the tutorial's registry: yields (url, token)."""
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "TLT_REGISTRY": str(root / "registry"), "HOME": str(home),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws")}
    with open(home / "lab.log", "wb") as log:
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
                        raise SystemExit(f"jupyter lab exited: see {home / 'lab.log'}")
                    time.sleep(0.5)
            yield url, token
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def static_pages(browser, out: Path, analysis: Path, infer_dir: Path, note: str) -> None:
    from jupyter_tlt.notebook.display import gallery_html

    shots = sorted((infer_dir / "images").glob("*.jpg"))
    page_path = infer_dir / "gallery.html"
    page_path.write_text("<html><body style='font-family:sans-serif;margin:12px'>"
                         f"<pre>{html.escape(note)}</pre>"
                         + gallery_html(shots, title="tlt infer: the boxes a deployment keeps (INT8 model, new frames)",
                                        width=440) + "</body></html>")
    page = browser.new_page(viewport={"width": 940, "height": 600})
    page.goto(page_path.as_uri())
    page.screenshot(path=str(out / "infer_gallery.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 600})
    page.goto((analysis / "index.html").resolve().as_uri())
    height = page.evaluate("document.body.scrollHeight")
    page.screenshot(path=str(out / "error_analysis.png"), full_page=True,   # the top: tables, charts, worst images
                    clip={"x": 0, "y": 0, "width": 1100, "height": min(height, 1500)})
    page.close()
    for name in ("infer_gallery.png", "error_analysis.png"):
        shrink(out / name)


def shrink(png: Path, limit: int = 300_000) -> None:
    """Photographs make large PNGs: above `limit` bytes, reduce to a 256-colour palette (README-sized)."""
    from PIL import Image

    if png.stat().st_size > limit:
        with Image.open(png) as image:
            small = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        small.save(png, optimize=True)


def lab_pages(browser, out: Path, url: str, token: str, notebook: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(120_000)
    page.goto(f"{url}/lab/tree/{notebook}?reset&token={token}")
    nb = page.locator(".jp-NotebookPanel .jp-Notebook")
    expect(nb).to_contain_text("Moderate AP", timeout=120_000)
    page.wait_for_timeout(3_000)
    assert nb.get_by_text("Error displaying widget").count() == 0, "a widget error in the reopened notebook"

    def show_cell(source_start: str, output_text: str | None = None) -> None:
        cell = page.locator(".jp-NotebookPanel .jp-CodeCell", has_text=source_start).first
        cell.scroll_into_view_if_needed()
        target = cell.locator(".jp-OutputArea-output", has_text=output_text).first if output_text else cell
        target.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(1_000)

    show_cell("%tlt train detection -e specs/detect_target.cfg")
    page.screenshot(path=str(out / "notebook_reopened.png"))
    show_cell("after = %tlt evaluate detection", "moderate")
    page.screenshot(path=str(out / "notebook_map_table.png"))

    page.locator(SIDEBAR_TAB).click()
    sidebar = page.locator("[data-testid=jp-tlt-sidebar]")
    experiment = sidebar.locator("[data-testid=jp-tlt-experiment][data-path='runs/target']")
    expect(experiment).to_have_attribute("data-status", "finished")
    experiment.locator("[data-testid=jp-tlt-experiment-toggle]").click()
    expect(experiment.locator("[data-testid=jp-tlt-artifact][data-kind=model]").first).to_be_visible()
    show_cell("import pandas as pd", "fine-tuned on target")
    page.wait_for_timeout(1_000)
    page.screenshot(path=str(out / "lab_with_sidebar.png"))
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the tutorial's work directory (created)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--profile", default="quick", choices=["quick", "full"])
    parser.add_argument("--reuse", action="store_true", help="WORK already holds an executed tutorial")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (make browser)")
    work = args.work.resolve()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        execute(work, args.profile)
    analysis, infer_dir, note = analyse(work)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        static_pages(browser, out, analysis, infer_dir, note)
        with jupyter_lab(work, work / ".lab-home") as (url, token):
            lab_pages(browser, out, url, token, "detection_tutorial.ipynb")
        browser.close()
    for png in sorted(out.glob("*.png")):
        print(f"{png}: {png.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
