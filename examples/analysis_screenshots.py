"""The README's screenshots of the inference gallery and the error analysis, taken in Debian's
chromium (Playwright, no browser download) from the static views the steps write.

    tlt evaluate detection -m RUN/weights/model.keras --analysis
    tlt infer detection -m RUN/weights/model.keras -i IMAGES -r RUN/infer > infer.txt
    python examples/analysis_screenshots.py RUN/evaluate/analysis RUN/infer docs/images --note infer.txt
"""

from __future__ import annotations

import argparse
import html
import shutil
import tempfile
from pathlib import Path

from jupyter_tlt.notebook.display import gallery_html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("analysis_dir", type=Path, help="evaluate/analysis/ of a run")
    parser.add_argument("infer_dir", type=Path, help="output folder of tlt infer")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--note", type=Path, help="text shown above the gallery (e.g. tlt infer's output)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install chromium)")
    shots = sorted((args.infer_dir / "images").glob("*.jpg"))[: args.images]
    summary = html.escape(args.note.read_text()) if args.note else ""
    with tempfile.TemporaryDirectory() as tmp:
        page_path = Path(tmp) / "gallery.html"
        page_path.write_text("<html><body style='font-family:sans-serif'>"
                             f"<pre>{summary}</pre>" + gallery_html(shots, title="tlt infer: what a deployment keeps",
                                                                      width=400) + "</body></html>")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_path.as_uri())
            page.screenshot(path=str(args.out_dir / "infer_gallery.png"), full_page=True)
            page.goto((args.analysis_dir / "index.html").resolve().as_uri())
            page.screenshot(path=str(args.out_dir / "error_analysis.png"), full_page=True)
            browser.close()


if __name__ == "__main__":
    main()
