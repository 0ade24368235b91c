"""Registry steps: `pull` (the seed's three forms), `push`, and `pretrain` (train, then push the model).

    tlt pull --list_models
    tlt pull --list_version --model_name detectnet_v2_resnet18
    tlt pull --model_name detectnet_v2_resnet18 --version 1 --dir pretrained
    tlt push results/weights/model.keras --model_name detectnet_v2_resnet18 --version 2
    tlt pretrain -e specs/detect_source.cfg -r runs/source --model_name detectnet_v2_resnet18 --version 1

Every step takes `--registry URL` (default: $TLT_REGISTRY, else a folder in the user's data directory).
"""

from __future__ import annotations

import argparse

from ..errors import DataError
from ..tasks import TASKS
from . import Step
from .model import KEY_HELP

REGISTRY_HELP = "registry folder or URL (file://, s3://, https:// read-only); default $TLT_REGISTRY, else " \
                "~/.local/share/jupyter-tlt/registry"


def _registry_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", default=None, metavar="URL", help=REGISTRY_HELP)


def _pull_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-lm", "--list_models", action="store_true", help="list the registry's models")
    p.add_argument("-lv", "--list_version", "--list_versions", dest="list_version", action="store_true",
                   help="list the versions of --model_name")
    p.add_argument("-m", "--model_name", help="model to pull or list versions of")
    p.add_argument("-v", "--version", default=None, help="version to pull (default: the latest)")
    p.add_argument("-d", "--dir", default=".", help="folder to pull into (files go to DIR/MODEL/VERSION/)")
    p.add_argument("-k", "--key", default=None, help="accepted for TLT compatibility (no API key is needed)")
    p.add_argument("-o", "--org", default=None, help="accepted for TLT compatibility (ignored)")
    p.add_argument("-t", "--team", default=None, help="accepted for TLT compatibility (ignored)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _registry_arg(p)


def _pull(args):
    from ..registry import Registry

    registry = Registry(args.registry)
    if args.list_models:
        return registry.models()
    if not args.model_name:
        raise DataError("--model_name is required to pull or to list versions; see the models with "
                        "tlt pull --list_models")
    if args.list_version:
        return registry.versions(args.model_name)
    path = registry.pull(args.model_name, args.version, args.dir, progress=not args.quiet)
    return f"Pulled {args.model_name} version {path.parent.name} to {path}"


def _push_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file to push (.keras or .hdf5)")
    p.add_argument("-m", "--model_name", required=True, help="registry name, e.g. detectnet_v2_resnet18")
    p.add_argument("-v", "--version", required=True, help="version to create, e.g. 1")
    p.add_argument("--description", default="", help="one line about this version (data, purpose)")
    p.add_argument("--overwrite", action="store_true", help="replace the version if it exists")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP + " (read to describe an encrypted model)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _registry_arg(p)


def _push(args):
    from ..registry import Registry

    return Registry(args.registry).push(args.model, args.model_name, args.version, description=args.description,
                                        overwrite=args.overwrite, key=args.key, progress=not args.quiet)


def _pretrain_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", nargs="?", choices=TASKS, default=None, help="default: from the spec")
    p.add_argument("-e", "--experiment_spec_file", required=True, help="experiment spec of the pretraining")
    p.add_argument("-r", "--results_dir", required=True, help="results directory of the training")
    p.add_argument("-m", "--model_name", required=True, help="registry name to push to")
    p.add_argument("-v", "--version", required=True, help="version to create")
    p.add_argument("--description", default="", help="one line about this version")
    p.add_argument("--overwrite", action="store_true", help="replace the version if it exists")
    p.add_argument("-k", "--key", default=None, help=KEY_HELP + "; the pushed model is encrypted with it")
    p.add_argument("--gpus", type=int, default=1)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _registry_arg(p)


def _pretrain(args):
    from ..registry import Registry
    from ..registry.pretrain import pretrain

    registry = Registry(args.registry)
    registry.storage.check_writable()  # fail before hours of training, not after
    return pretrain(args.experiment_spec_file, args.results_dir, registry, args.model_name, args.version,
                    task=args.task, description=args.description, overwrite=args.overwrite, key=args.key,
                    gpus=args.gpus, progress=not args.quiet)


STEPS = [
    Step("pull", "List the registry's models and versions, or pull one (verified) into a folder.",
         _pull_args, _pull),
    Step("push", "Add a model to the registry as a new version (manifest with sha256, provenance).",
         _push_args, _push),
    Step("pretrain", "Train a model from a spec and push it to the registry as a new version.",
         _pretrain_args, _pretrain),
]
