"""Progress bars and warnings as people see them: the CLI's one-line `warning: ...`, and in a real kernel
HTML bars and styled notes that the saved notebook keeps (no widgets, no file paths)."""

from __future__ import annotations

import json
import warnings

from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_tlt.progress import TltWarning, step_warnings, warn, warning_line


def test_step_warnings_shows_each_line_once_without_its_source(capsys):
    with step_warnings():
        for _ in range(3):
            warn("all 31 labels of 'road_sign'\n   are ignored")
        warnings.warn("a library's own warning", UserWarning)
    err = capsys.readouterr().err
    assert err.splitlines() == ["warning: all 31 labels of 'road_sign' are ignored",
                                "warning: a library's own warning"]
    assert "progress.py" not in err and "UserWarning" not in err
    with step_warnings() as shown:  # the next step shows it again, once
        warn("all 31 labels of 'road_sign' are ignored")
    assert shown == ["all 31 labels of 'road_sign' are ignored"]
    assert warning_line("a\n b  c") == "a b c" and issubclass(TltWarning, UserWarning)


def test_notebook_bars_and_notes_are_html_that_the_saved_notebook_keeps(kernel, tmp_path):
    nb = new_notebook(cells=[new_code_cell("%load_ext jupyter_tlt"), new_code_cell(
        "from jupyter_tlt.progress import bar, warn\n"
        "for i in bar(range(4), desc='epochs', unit='epoch'):\n"
        "    warn('no ground truth for \\'road_sign\\' at moderate')\n"
        "inner = bar(total=3, desc='epoch 1', leave=False)\n"
        "inner.update(3); inner.close()\n"
        "stopped = bar(total=5, desc='interrupted')\n"
        "stopped.update(2); stopped.close()")])
    NotebookClient(nb, timeout=120, kernel_name=kernel, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    saved = json.dumps(outputs)
    assert "application/vnd.jupyter.widget-view+json" not in saved and "UserWarning" not in saved
    assert all(o.output_type == "display_data" for o in outputs), [o.output_type for o in outputs]
    bars = [o.data["text/html"] for o in outputs if "tlt-progress" in o.data.get("text/html", "")]
    assert len(bars) == 2  # the inner bar (leave=False) left no bar behind
    assert "4/4" in bars[0] and "100%" in bars[0] and "#3c9a4a" in bars[0]  # finished: green, full
    assert "2/5" in bars[1] and "(stopped)" in bars[1]
    notes = [o.data for o in outputs if "tlt-warning" in o.data.get("text/html", "")]
    assert len(notes) == 1 and notes[0]["text/plain"] == "warning: no ground truth for 'road_sign' at moderate"
