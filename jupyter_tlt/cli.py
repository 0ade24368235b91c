"""The `tlt` command line: `tlt <step> [flags]`, plus the seed's hyphenated `tlt-<step>` commands.

User errors print one line and exit with code 2; no traceback.
"""

from __future__ import annotations

import sys
from typing import Sequence

from . import commands
from .errors import TltError
from .progress import step_warnings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `tlt`."""
    return _main(lambda: commands.run(sys.argv[1:] if argv is None else argv))


def _alias(step: str):
    def entry(argv: Sequence[str] | None = None) -> int:
        parser = commands.step_parser(step)
        return _main(lambda: commands.run(sys.argv[1:] if argv is None else argv, parser))

    entry.__doc__ = f"Entry point of `tlt-{step}`."
    return entry


pull_main = _alias("pull")
push_main = _alias("push")
dataset_convert_main = _alias("dataset-convert")
train_main = _alias("train")
evaluate_main = _alias("evaluate")
infer_main = _alias("infer")
prune_main = _alias("prune")
export_main = _alias("export")
converter_main = _alias("convert")


def _main(call) -> int:
    try:
        with step_warnings():  # each warning once, as `warning: ...` without Python's file:line
            result = call()
    except TltError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if result is not None:
        print(result)
    return 0 if getattr(result, "ok", True) else 2


if __name__ == "__main__":
    sys.exit(main())
