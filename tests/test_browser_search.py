"""A search's trials grouped under it in the sidebar of a real JupyterLab (Playwright + Debian's
chromium): `tlt tune` of 3 one-epoch trials on tiny data, then its node, its trials and "compare".

Screenshots land in test-artifacts/browser/ and docs/images/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from test_browser import SHOTS, lab_page, serve_lab
from test_tune import spec_text
from train_fixtures import classification_folders

TRIALS = 3
DOCS = Path(__file__).resolve().parents[1] / "docs" / "images"


@pytest.fixture(scope="module")
def search_lab(tmp_path_factory):
    from jupyter_tlt.tuning.search import tune

    root = tmp_path_factory.mktemp("search")
    spec = root / "spec.txt"
    spec.write_text(spec_text(classification_folders(root / "data", n=24), epochs=1))
    tune("classification", spec, root / "runs" / "lr_search", params=["train_config.learning_rate=0.001|0.01|0.1"],
         trials=TRIALS, seed=0, pruner="none")
    with serve_lab(root, tmp_path_factory.mktemp("lab-home")) as served:
        yield served


@pytest.fixture(scope="module")
def page(search_lab):
    url, token, _ = search_lab
    with lab_page(url, token) as page:
        yield page


def test_sidebar_search_groups_the_trials_of_a_real_tune_and_compares_them(search_lab, page):
    from playwright.sync_api import expect

    _, _, root = search_lab
    summary = json.loads((root / "runs" / "lr_search" / "tune.json").read_text())
    best = summary["best"]
    bar = page.locator("[data-testid=jp-tlt-sidebar]")
    node = bar.locator("[data-testid=jp-tlt-search][data-path='runs/lr_search']")
    expect(node).to_have_attribute("data-state", "finished")
    facts = node.locator("[data-testid=jp-tlt-search-facts]")
    expect(facts).to_contain_text(f"tune · {TRIALS} trials · best accuracy {100 * best['value']:.1f}%")
    expect(facts).to_contain_text(f"trial_{best['trial']:04d}")
    # the trials are not listed flat beside the search: only under it, once it is opened
    trials = bar.locator("[data-testid=jp-tlt-experiment]")
    expect(trials).to_have_count(0)
    toggle = node.locator("[data-testid=jp-tlt-search-toggle]")
    toggle.focus()
    page.keyboard.press("Enter")  # keyboard-reachable
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(trials).to_have_count(TRIALS)
    rows = {t["experiment"].rsplit("/", 1)[1]: t for t in summary["trials"]}
    for i in range(TRIALS):
        trial = trials.nth(i)
        name = trial.get_attribute("data-path").rsplit("/", 1)[1]
        expect(trial).to_have_attribute("data-trial-state", rows[name]["state"].lower())
        expect(trial.locator(".jp-tlt-meta").first).to_contain_text(f"accuracy {100 * rows[name]['value']:.1f}%")
    bar.screenshot(path=str(SHOTS / "sidebar_search.png"))
    shutil.copyfile(SHOTS / "sidebar_search.png", DOCS / "sidebar_search.png")
    # a trial is an experiment like any other: its artifacts open
    first = trials.nth(0)
    first.locator("[data-testid=jp-tlt-experiment-toggle]").click()
    expect(first.locator("[data-testid=jp-tlt-artifact][data-kind=model]").first).to_be_visible()
    assert page.locator(".jp-Dialog").count() == 0

    node.locator("[data-testid=jp-tlt-search-compare]").click()
    view = page.locator("[data-testid=jp-tlt-compare-view]")
    expect(view).to_be_visible()
    expect(view.locator("[data-testid=jp-tlt-compare-metrics] tbody tr")).to_have_count(TRIALS)
    if len({t["train_config.learning_rate"] for t in summary["trials"]}) > 1:  # the sampler may repeat a choice
        expect(view.locator("[data-testid=jp-tlt-spec-diff] tr[data-field='train_config.learning_rate']")).to_be_visible()
    assert page.locator(".jp-Dialog").count() == 0
    page.screenshot(path=str(SHOTS / "search_compare.png"))
