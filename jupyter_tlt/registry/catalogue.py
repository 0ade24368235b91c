"""The models the registry knows before any version holds weights: the seed's pretrained models.

Each entry gives the task, the backbone and the input size (C, H, W) of TAO's pretrained model of the
same name, so `tlt pull --list_models` shows them on a fresh machine. Weights come from a pushed
version (`tlt push`) or from pretraining (`tlt pretrain`), never silently from nowhere.

    >>> CATALOGUE["detectnet_v2_resnet18"]["input_size"]
    [3, 384, 1248]
"""

from __future__ import annotations

CLASSIFICATION_INPUT = [3, 224, 224]
DETECTION_INPUT = [3, 384, 1248]


def _entry(task: str, arch: str, size: list[int], what: str) -> dict:
    return {"task": task, "arch": arch, "input_size": size, "description": what}


CATALOGUE: dict[str, dict] = {
    **{f"classification_{arch}": _entry("classification", arch, CLASSIFICATION_INPUT,
                                        f"{arch} image classifier backbone")
       for arch in ("resnet18", "resnet50", "vgg16", "vgg19", "alexnet", "googlenet")},
    **{f"detectnet_v2_{arch}": _entry("detection", arch, DETECTION_INPUT,
                                      f"DetectNet_v2 object detector on a {arch} backbone")
       for arch in ("resnet10", "resnet18", "resnet50", "vgg16", "googlenet")},
}

HOW_TO_GET_WEIGHTS = ("pretrain one and push it (tlt pretrain -e SPEC -r RESULTS --model_name {name} "
                      "--version 1), or push a model you have (tlt push MODEL --model_name {name} --version 1)")
