"""The `%tlt` / `%%tlt` magics: every step of the `tlt` CLI, with the same flags, inside the kernel.

    %load_ext jupyter_tlt
    %tlt generate -o data/kitti -n 50 --width 320 --height 192
    %%tlt dataset-convert -o data/tfrecords/kitti       <- the cell body is the conversion spec (-d)
    kitti_config { root_directory_path: "data/kitti" ... }
    %%tlt train detection -r runs/detect                <- the cell body is the experiment spec (-e)
    random_seed: 42 ...
    r = %tlt evaluate detection -m $model               <- $var and {expr} expand as in any line magic
    %tlt prune --help

Flags come from `jupyter_tlt.commands` (one definition for the CLI and the magic); the step runs in
this process and its result object is returned.

Display convention: the magic returns the result and shows nothing itself, as a Python expression
would; `%load_ext` registers the rich views of `jupyter_tlt.notebook.display` with IPython, so the
result is drawn once when it is the cell's value (`%tlt evaluate ...`), not at all when assigned or
when the line ends with `;` (`r = %tlt evaluate ...` then `r` shows it), and the same way wherever
it is displayed later. Progress bars and the training chart are live output and always show.

A user error (TltError) or an interrupt raises an exception that IPython prints as one line (no
traceback): the kernel stays usable, and "Run All" stops at the failed cell. An interrupted training
keeps its last checkpoint; re-running the cell resumes from it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from . import commands
from .errors import TltError
from .notebook import display


class StepFailed(Exception):
    """A step stopped on a user error or an interrupt; IPython shows the message, not a traceback."""

    prefix = "error: "

    def _render_traceback_(self) -> list[str]:
        return [self.prefix + line if i == 0 else line for i, line in enumerate(str(self).splitlines())]


class StepInterrupted(StepFailed):
    prefix = "interrupted: "


class UsageFailed(StepFailed):
    """argparse rejected the flags; its message already holds the usage line."""

    prefix = ""


@magics_class
class TltMagics(Magics):
    """`%tlt <step> [flags]` runs a step; `%%tlt <step> [flags]` takes the step's spec from the cell."""

    @line_cell_magic
    def tlt(self, line: str, cell: str | None = None) -> Any:
        """Run a jupyter-tlt step: `%tlt <step> [flags]`, as `tlt <step> [flags]` on a command line.

        In `%%tlt train ...`, `%%tlt dataset-convert ...` (any step with a spec option) the cell body
        is the spec. `%tlt --help` lists the steps; `%tlt <step> --help` gives a step's flags.
        """
        argv = shlex.split(line, posix=os.name != "nt")
        if cell is not None and cell.strip():
            argv = with_cell_spec(argv, cell)
        parser = commands.build_parser(prog="%tlt")
        if not argv:
            parser.print_help()
            return None
        args = _parse(parser, argv)
        if args is None:  # --help or --version: argparse printed it
            return None
        results_dir = getattr(args, "results_dir", None)
        live = contextlib.nullcontext()
        if results_dir and display.is_rich():
            from .notebook.live_chart import follow

            live = follow(results_dir)  # charts the epochs this run logs, if it logs any
        try:
            with live:
                result = commands.run(argv, parser)
        except TltError as exc:
            raise StepFailed(str(exc)) from None
        except KeyboardInterrupt:
            raise StepInterrupted(interrupt_message(args)) from None
        if isinstance(result, str):  # e.g. `prune --sweep`, `convert`: a report to read, not a value
            print(result)
            return None
        return result


def with_cell_spec(argv: list[str], body: str) -> list[str]:
    """`argv` plus the cell body as the value of the step's spec option (e.g. -e or -d)."""
    step = commands.steps().get(argv[0]) if argv else None
    if step is None:
        raise StepFailed(f"%%tlt needs a step name first (one of {', '.join(_step_names())}); "
                         "e.g. %%tlt train detection -r runs/detect")
    probe = argparse.ArgumentParser(add_help=False)
    step.add_arguments(probe)
    # the spec option is found by its dest, so a new step with a spec (e.g. pretrain -e) works as is
    options = [a for a in probe._actions if a.option_strings and a.dest.endswith(("_spec", "_spec_file"))]
    if not options:
        raise StepFailed(f"%%tlt {step.name} takes no spec, so the cell body has no use; "
                         f"run it as a line magic: %tlt {' '.join(argv)}")
    flags = options[0].option_strings
    given = [a for a in argv if a.split("=", 1)[0] in flags]
    if given:
        raise StepFailed(f"%%tlt {step.name}: the cell body is the spec, so drop {given[0]} from the "
                         f"first line (or use the line magic %tlt with {flags[0]} SPEC_FILE)")
    long_flag = max(flags, key=len)
    return [*argv, f"{long_flag}={body}"]  # `--flag=value`: a body starting with "-" stays a value


def interrupt_message(args: argparse.Namespace) -> str:
    """What an interrupted step left behind and how to continue."""
    results_dir = getattr(args, "results_dir", None)
    step = getattr(args, "step", "step")
    if step == "train" and results_dir:
        from .experiments import Experiment

        latest = Experiment(results_dir).latest_checkpoint()
        if latest:
            return (f"training stopped; the checkpoint of epoch {latest[0]} is {latest[1]}. "
                    "Re-run the cell to resume from it.")
        return "training stopped before its first checkpoint; re-run the cell to start again."
    return f"{step} stopped; re-run the cell to run it again."


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | None:
    """Parsed flags; None after --help; UsageFailed (usage and message, no traceback) on bad flags."""
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            return parser.parse_args(argv)
    except SystemExit as exc:
        if not exc.code:
            return None
        raise UsageFailed(errors.getvalue().strip() or f"bad arguments: {' '.join(argv)}") from None


def _step_names() -> list[str]:
    return sorted({step.name for step in commands.steps().values()})


def load_ipython_extension(ipython) -> None:
    """`%load_ext jupyter_tlt`: register the magics, the rich result views, progress bars that a
    saved notebook keeps (HTML updated in place) and warnings shown as one-line notes."""
    from . import progress
    from .notebook import notes
    from .notebook.progress_html import notebook_bar

    ipython.register_magics(TltMagics)
    display.register(ipython)
    progress.use_bars(notebook_bar)
    notes.register(ipython)
