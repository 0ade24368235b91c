"""Issue 14, item 1 (the cell): the sidebar's "Insert pull cell" text, run in a real kernel, runs nothing else.

The cell text comes from the real TypeScript helper (`labextension/src/format.ts` and `quote.ts`,
compiled with the project's tsc and run with node). Each cell runs in a real IPython kernel with the
`%tlt` magic against a real folder registry whose index a hostile colleague edited. A name that tries
to break out (a new line, `$(...)`, `{expression}`, quotes, flags) must reach the magic as one word
and be refused by the registry's name rule; nothing it tries to create may exist afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from test_registry import NAME, tiny_model  # noqa: F401  (fixture: a tiny Keras model)

ROOT = Path(__file__).resolve().parents[1]
TSC = ROOT / "node_modules" / ".bin" / "tsc"


@pytest.fixture(scope="module")
def helper(tmp_path_factory) -> Path:
    """The lab extension's format.ts and quote.ts compiled to CommonJS for node."""
    if shutil.which("node") is None or not TSC.exists():
        pytest.skip("needs node and the lab extension's node_modules (npm install, or make install)")
    out = tmp_path_factory.mktemp("ts")
    done = subprocess.run([str(TSC), "--outDir", str(out), "--module", "commonjs", "--target", "ES2018",
                           "--strict", "--skipLibCheck", str(ROOT / "labextension" / "src" / "format.ts")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def generated(helper: Path, calls: list[dict]) -> list[dict]:
    """Run the TS helpers with node: each call {"fn": "pull"|"quote", "args": [...]} -> {"text"} or {"error"}."""
    script = """
const format = require(process.argv[1] + '/format.js');
const quote = require(process.argv[1] + '/quote.js');
const calls = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(calls.map(c => {
  try {
    return {text: c.fn === 'pull' ? format.pullCellSource(...c.args) : quote.quoteForIPython(...c.args)};
  } catch (e) {
    return {error: e.constructor.name + ': ' + e.message};
  }
})));
"""
    done = subprocess.run(["node", "-e", script, str(helper)], input=json.dumps(calls), capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def hostile_names(marker: Path) -> list[str]:
    """Names that would create `marker` (or a file next to it) if any part of them ran."""
    return [
        f"m --version 1 --dir d\n!touch {marker} #",
        f"m --version 1 --dir d #\u2028!touch {marker}",
        f"$(touch {marker})",
        f"{{__import__('pathlib').Path('{marker}').touch()}}",
        f"{{__import__(\"os\").system(\"touch {marker}\")}}",
        f"a'; import os; os.system('touch {marker}'); '",
        "$HOME",
        '"double" \\back\\slash\\',
        f"--dir={marker.parent / 'escaped'}",
        "caf\u00e9 \u6a21\u578b \U0001f680",
    ]


def run_cells(kernel: str, cells: list[str], cwd: Path, env: dict) -> list[dict]:
    """Execute `cells` in a fresh kernel (errors allowed); the executed cells, outputs included."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, timeout=300, kernel_name=kernel, allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        client.execute()
    return nb.cells


def text_of(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        if output.get("output_type") == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def test_generated_pull_cells_run_nothing_but_the_pull(helper, kernel, tmp_path, tiny_model):  # noqa: F811
    from jupyter_tlt.registry import Registry

    registry = Registry(tmp_path / "registry")
    registry.push(tiny_model, NAME, "1", progress=False)
    marker = tmp_path / "PWNED"
    names = hostile_names(marker)
    index_path = tmp_path / "registry" / "index.json"
    index = json.loads(index_path.read_text())
    for name in names:  # what a colleague with write access to the shared folder could add
        index["models"][name] = {"task": "classification", "versions": {"1": {"size": 1}}}
    index_path.write_text(json.dumps(index))

    results = generated(helper, [{"fn": "pull", "args": [name, "1"]} for name in [NAME, *names]])
    refused_in_ts = [name for name, r in zip([NAME, *names], results) if "error" in r]
    assert refused_in_ts == names[:2], results  # the two with a line break cannot be one line
    assert all(r["error"].startswith("UnquotableValue") for r in results[1:3])
    cells = [r["text"] for r in results if "text" in r]
    assert all("\n" not in c for c in cells)

    work = tmp_path / "work"
    work.mkdir()
    setup = "%load_ext jupyter_tlt\nimport os\nHOME = id = 'EXPANDED'"
    executed = run_cells(kernel, [setup, *cells], work, {"TLT_REGISTRY": str(registry.url)})

    assert not marker.exists() and not (marker.parent / "escaped").exists()
    assert not list(tmp_path.rglob("PWNED*")) and not list(work.rglob("*EXPANDED*"))
    pulled, *hostile = executed[1:]
    assert (work / "pretrained" / NAME / "1" / "model.keras").is_file(), text_of(pulled)
    for cell in hostile:  # refused by the name rule, or (a name that looks like a flag) by argparse
        said = text_of(cell)
        assert "is refused" in said or "expected one argument" in said, (cell.source, said)
    assert sorted(p.name for p in (work / "pretrained").iterdir()) == [NAME]


def test_quoted_words_reach_a_shell_command_intact(helper, kernel, tmp_path):
    """The same quoting holds in `!` lines: the shell receives each value as one argument, unexpanded."""
    marker = tmp_path / "PWNED"
    values = [n for n in hostile_names(marker) if "\n" not in n and "\u2028" not in n]
    quoted = [r["text"] for r in generated(helper, [{"fn": "quote", "args": [v]} for v in values])]
    cells = [f"!printf '%s' {word} > out{i}.txt" for i, word in enumerate(quoted)]
    run_cells(kernel, ["HOME = id = 'EXPANDED'", *cells], tmp_path, {})
    assert [(tmp_path / f"out{i}.txt").read_text() for i in range(len(values))] == values
    assert not marker.exists()
