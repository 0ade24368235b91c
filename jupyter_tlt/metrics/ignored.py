"""Why a class has no counted ground truth at a level: the warning text of detection evaluation.

"No ground truth" has two causes that need opposite fixes: the labels do not use the class's name
(fix the names or `target_class_mapping`), or labels exist but the level ignores every one of them
(too small in image pixels, too occluded, truncated: use larger images, or read an easier-to-meet
level such as "all"). One line per class says which, with the counts.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data.kitti import DIFFICULTIES


def ground_truth_notes(class_names: Sequence[str], levels: Sequence[str], num_images: int,
                       cls: np.ndarray, in_filter: np.ndarray, height: np.ndarray,
                       occlusion: np.ndarray, truncation: np.ndarray) -> list[str]:
    """One warning per class that has no counted ground truth at some evaluated level.

    The arrays describe every ground-truth label of an evaluated class (neighbour classes left out):
    `cls` its index in `class_names`, `in_filter` whether it passes the class's box filter, and its
    box height in pixels, occlusion and truncation.
    """
    notes = []
    for c, name in enumerate(class_names):
        mine = cls == c
        total = int(mine.sum())
        if total == 0:
            notes.append(f"no ground truth for {name!r}: no labels of this class in the {num_images} "
                         "images, so its AP counts as 0 and lowers the mAP; check that the label files use "
                         "this class name (see target_class_mapping)")
            continue
        empty = [lv for lv in levels
                 if not (mine & in_filter & _meets(lv, height, occlusion, truncation)).any()]
        if not empty:
            continue
        # the reasons are counted at the most lenient empty level (hard before moderate before easy)
        widest = max(empty, key=lambda lv: (int(_meets(lv, height, occlusion, truncation)[mine].sum()),
                                            list(DIFFICULTIES).index(lv) if lv in DIFFICULTIES else 99))
        reasons = _reasons(widest, mine, in_filter, height, occlusion, truncation)
        fix = ("the levels measure box height in image pixels, so evaluate on larger images"
               if "px" in reasons else "widen evaluation_box_config" if "box_config" in reasons
               else "these labels count only at a more lenient level")
        other = "the 'all' level" if "all" not in empty else "another level"
        notes.append(f"no ground truth for {name!r} at {_join(empty)}: all {total} labels of this class are "
                     f"ignored there (at {widest}: {reasons}), so its AP counts as 0 there; {fix}, or read "
                     f"{other}")
    return notes


def _meets(level: str, height, occlusion, truncation) -> np.ndarray:
    if level not in DIFFICULTIES:  # "all": no difficulty limits
        return np.ones(len(height), dtype=bool)
    d = DIFFICULTIES[level]
    return (height > d.min_height) & (occlusion <= d.max_occlusion) & (truncation <= d.max_truncation)


def _reasons(level: str, mine, in_filter, height, occlusion, truncation) -> str:
    parts = []
    if (mine & ~in_filter).any():
        parts.append(f"{int((mine & ~in_filter).sum())} outside evaluation_box_config")
    if level in DIFFICULTIES:
        d = DIFFICULTIES[level]
        for count, what in ((height <= d.min_height, f"not taller than {d.min_height:g} px"),
                            (occlusion > d.max_occlusion, f"occluded beyond {d.max_occlusion}"),
                            (truncation > d.max_truncation, f"truncated beyond {d.max_truncation:g}")):
            if (mine & count).any():
                parts.append(f"{int((mine & count).sum())} {what}")
    return ", ".join(parts)


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
