"""An inference run's gallery in a real JupyterLab (Playwright + Debian's chromium): a tiny detector
trained for two epochs, `tlt infer` on 65 images, then the gallery opened from the sidebar's infer/ entry.

Screenshots land in test-artifacts/browser/ and docs/images/ (the README shows the gallery).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from test_browser import SHOTS, lab_page, serve_lab
from train_fixtures import detection_records, detection_spec

IMAGES = 65  # more than one page of 60 thumbnails
DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"


@pytest.fixture(scope="module")
def infer_lab(tmp_path_factory):
    from jupyter_tlt import cli
    from jupyter_tlt.data.synthetic import generate
    from jupyter_tlt.train import train

    root = tmp_path_factory.mktemp("gallery")
    records = detection_records(root / "data", n=24)
    # two epochs on 24 images, as tests/test_error_analysis.py: the first model that proposes boxes
    model = train(detection_spec(records, epochs=2), root / "runs" / "detect", progress=False).model_path
    generate(root / "camera", IMAGES, width=192, height=128, seed=11, overwrite=True, progress=False, workers=1)
    assert cli.main(["infer", "detection", "-m", str(model), "-i", str(root / "camera" / "image_2"),
                     "-r", str(root / "runs" / "detect" / "infer"), "--all_candidates", "-q"]) == 0
    with serve_lab(root, tmp_path_factory.mktemp("lab-home")) as served:
        yield served


@pytest.fixture(scope="module")
def page(infer_lab):
    url, token, _ = infer_lab
    with lab_page(url, token) as page:
        yield page


def test_sidebar_viewer_gallery_of_an_inference_run_pages_opens_large_and_navigates(infer_lab, page):
    from playwright.sync_api import expect

    _, _, root = infer_lab
    bar = page.locator("[data-testid=jp-tlt-sidebar]")
    detect = bar.locator("[data-testid=jp-tlt-experiment][data-path='runs/detect']")
    detect.locator("[data-testid=jp-tlt-experiment-toggle]").click()
    opener = detect.locator("[data-testid=jp-tlt-gallery-open][data-path='runs/detect/infer']")
    expect(opener).to_contain_text(f"{IMAGES} images")
    opener.click()
    gallery = page.locator("#jp-main-dock-panel [data-testid=jp-tlt-gallery]")
    thumbs = gallery.locator("[data-testid=jp-tlt-gallery-thumb]")
    expect(thumbs).to_have_count(60)
    expect(gallery.locator("[data-testid=jp-tlt-gallery-range]")).to_contain_text(f"images 1–60 of {IMAGES}")
    assert gallery.bounding_box()["width"] > 800  # the main area, not the sidebar
    first = thumbs.nth(0).locator("img")
    expect(first).to_have_js_property("complete", True)
    assert first.evaluate("img => img.naturalWidth") == 192  # a real JPEG thumbnail (192x128 fits in 256)
    assert page.locator(".jp-Dialog").count() == 0
    shutil.copyfile(_shot(page, "gallery_grid.png"), DOCS / "gallery_grid.png")

    # the image with the most candidate boxes, opened large with its detections listed
    labels = sorted((root / "runs" / "detect" / "infer" / "labels").glob("*.txt"))
    busiest = max(labels[:60], key=lambda p: len(p.read_text().splitlines()))
    index = labels.index(busiest)
    lines = busiest.read_text().splitlines()
    assert lines, "tlt infer --all_candidates wrote no box at all"
    thumbs.nth(index).click()
    large = gallery.locator("[data-testid=jp-tlt-gallery-large]")
    expect(large.locator("[data-testid=jp-tlt-gallery-position]")).to_have_text(f"{index + 1} of {IMAGES}")
    rows = large.locator("[data-testid=jp-tlt-gallery-detections] tbody tr")
    expect(rows).to_have_count(min(len(lines), 200))
    best = max(lines, key=lambda line: float(line.split()[15]))
    expect(rows.nth(0).locator("td").nth(0)).to_have_text(best.split()[0])
    expect(rows.nth(0).locator("td").nth(1)).to_have_text(f"{100 * float(best.split()[15]):.1f}%")
    expect(large.locator("img.jp-tlt-gallery-image")).to_have_js_property("complete", True)
    assert page.locator(".jp-Dialog").count() == 0
    shutil.copyfile(_shot(page, "gallery_large.png"), DOCS / "gallery_large.png")

    # keyboard: arrows move, across the page boundary too; Escape goes back to the grid
    page.keyboard.press("End")
    expect(large.locator("[data-testid=jp-tlt-gallery-position]")).to_have_text(f"{IMAGES} of {IMAGES}")
    page.keyboard.press("ArrowLeft")
    expect(large.locator("[data-testid=jp-tlt-gallery-position]")).to_have_text(f"{IMAGES - 1} of {IMAGES}")
    page.keyboard.press("Escape")
    expect(thumbs).to_have_count(IMAGES - 60)  # the grid is on the last image's page
    expect(gallery.locator("[data-testid=jp-tlt-gallery-range]")).to_contain_text("page 2 of 2")
    focused = page.evaluate("document.activeElement.dataset.path")
    assert focused.endswith(labels[IMAGES - 2].stem + ".jpg")  # the focus is back on the thumbnail it opened
    page.keyboard.press("Enter")
    expect(large.locator("[data-testid=jp-tlt-gallery-position]")).to_have_text(f"{IMAGES - 1} of {IMAGES}")
    page.keyboard.press("Escape")
    gallery.locator("[data-testid=jp-tlt-gallery-previous-page]").click()
    expect(thumbs).to_have_count(60)
    assert page.locator(".jp-Dialog").count() == 0


def _shot(page, name: str) -> Path:
    path = SHOTS / name
    page.screenshot(path=str(path))
    return path
