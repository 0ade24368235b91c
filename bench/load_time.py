"""Benchmark: how fast the notebook front end loads (issue: magics and widgets).

Times, in fresh interpreters, `import jupyter_tlt` and `%load_ext jupyter_tlt` in an IPython
InteractiveShell (median of 5 runs each), next to a bare interpreter start for reference, and
checks that neither imports TensorFlow. Goal: under 1 s, and no TensorFlow.

    python bench/load_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

# (setup, measured code): each run prints {"seconds": time of the measured code, "tensorflow": imported?};
# the whole process (interpreter start and setup included) is timed from outside.
SHELL = "from IPython.core.interactiveshell import InteractiveShell; ip = InteractiveShell.instance()"
SNIPPETS = {
    "python -c pass": ("", "pass"),
    "import jupyter_tlt": ("", "import jupyter_tlt"),
    "%load_ext jupyter_tlt (in a fresh InteractiveShell)": (SHELL, "ip.run_line_magic('load_ext', 'jupyter_tlt')"),
    "import jupyter_tlt.widgets": ("", "import jupyter_tlt.widgets"),
}
TEMPLATE = """import json, sys, time
{setup}
t = time.perf_counter()
{code}
print(json.dumps({{"seconds": time.perf_counter() - t, "tensorflow": "tensorflow" in sys.modules}}))
"""


def measure(setup: str, code: str, runs: int) -> tuple[float, float, bool]:
    """(median seconds of the snippet, median wall seconds of the whole process, tensorflow imported)."""
    inner, outer, tf = [], [], False
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", TEMPLATE.format(setup=setup, code=code)], capture_output=True, text=True, check=True)
        outer.append(time.perf_counter() - start)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        inner.append(result["seconds"])
        tf = tf or result["tensorflow"]
    return statistics.median(inner), statistics.median(outer), tf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"{'what':<54} {'in-process s':>12} {'process s':>10}  tensorflow imported")
    worst = 0.0
    for name, (setup, code) in SNIPPETS.items():
        inner, outer, tf = measure(setup, code, args.runs)
        if name != "python -c pass":
            worst = max(worst, inner)
        print(f"{name:<54} {inner:>12.3f} {outer:>10.3f}  {'YES' if tf else 'no'}")
    print(f"slowest load {worst:.3f} s (goal < 1 s); median of {args.runs} runs each")


if __name__ == "__main__":
    main()
