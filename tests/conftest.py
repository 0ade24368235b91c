"""Fixtures shared by the notebook, tutorial and browser tests: a kernel and one executed walkthrough.

The kernel is this interpreter (the venv's python), through a kernelspec in a temporary JUPYTER_PATH,
so a fresh clone needs no `ipykernel install` and no user-level Jupyter state.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

KERNEL = "jupyter-tlt-test"
WALKTHROUGH = Path(__file__).parent / "notebooks" / "magics_and_widgets.ipynb"


@pytest.fixture(scope="session")
def kernel(tmp_path_factory) -> str:
    """The name of a kernelspec that runs this interpreter (JUPYTER_PATH points at it for the session)."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "jupyter-tlt tests", "language": "python"}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(jupyter))
        yield KERNEL


@pytest.fixture(scope="session")
def walkthrough(kernel, tmp_path_factory):
    """tests/notebooks/magics_and_widgets.ipynb executed once: (notebook with outputs, its work folder).

    The executed copy is saved as `walkthrough.ipynb` in the work folder, which also holds what it made
    (data/, runs/detect with a trained model, its evaluation and a pruned model).
    """
    import nbformat
    from nbclient import NotebookClient

    work = tmp_path_factory.mktemp("walkthrough")
    nb = nbformat.read(WALKTHROUGH, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit it without outputs"
    NotebookClient(nb, timeout=600, kernel_name=kernel, resources={"metadata": {"path": str(work)}}).execute()
    nbformat.write(nb, work / "walkthrough.ipynb")
    return nb, work
