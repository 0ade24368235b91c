"""Every workflow step's flags, defined once: the `tlt` CLI and the `%tlt` magic both parse with these.

A step is a name, an argparse definition and a `run(args)` that calls the core and returns its result
object (printed by the CLI, displayed by the magic). Importing this package never imports TensorFlow.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .. import __version__
from ..errors import disk_full


@dataclass(frozen=True)
class Step:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Any]
    aliases: tuple[str, ...] = ()


def _steps() -> list[Step]:
    from . import data, deploy, model, registry, tuning

    return [*registry.STEPS, *data.STEPS, *model.STEPS, *deploy.STEPS, *tuning._steps()]


STEPS: dict[str, Step] = {}


def steps() -> dict[str, Step]:
    """All steps by name (aliases included), loaded on first use."""
    if not STEPS:
        for step in _steps():
            for name in (step.name, *step.aliases):
                STEPS[name] = step
    return STEPS


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors carry the same exit code as every user error (2)."""


def build_parser(prog: str = "tlt") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="jupyter-tlt: transfer learning for intelligent video "
                     "analytics. Each step also runs in a notebook as `%tlt <step> ...`.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="step", metavar="STEP", required=True)
    seen = set()
    for step in steps().values():
        if step.name in seen:
            continue
        seen.add(step.name)
        p = sub.add_parser(step.name, aliases=list(step.aliases), help=step.help,
                           description=step.help)
        step.add_arguments(p)
        p.set_defaults(_step=step)
    return parser


def step_parser(name: str) -> argparse.ArgumentParser:
    """A stand-alone parser for one step, for the seed's hyphenated commands (`tlt-dataset-convert`)."""
    step = steps()[name]
    parser = _Parser(prog=f"tlt-{step.name}", description=step.help)
    step.add_arguments(parser)
    parser.set_defaults(_step=step)
    return parser


def run(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> Any:
    """Parse `argv` and run the step; returns the step's result object. Raises TltError on bad input."""
    args = (parser or build_parser()).parse_args(list(argv))
    try:
        return args._step.run(args)
    except OSError as exc:
        error = disk_full(exc)
        if error is None:
            raise
        raise error from None
