"""Issue 22's post-processing lever: the baseline's fine-tuned model with other clustering settings.

No retraining: `bench/peer_yolo.py`'s DetectNet_v2 target-stage model re-predicts the same 100 test
frames with each post-processing variant (DBSCAN as the demo's recipe, TAO's DBSCAN defaults, NMS, and
optionally a tuned config from `tlt tune_postprocessing`), scored by the same KITTI evaluator. Prints
one table row per variant, in the layout of `peer_yolo.py`'s table.

    python bench/peer_postprocessing.py [--work bench/results/peer_yolo] [--tuned tuned_spec.txt]

`--tuned`: a spec whose `postprocessing_config` is used as one more variant (tune it on frames other
than the test frames: `tlt tune_postprocessing ... --validation_records ...`).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from peer_yolo import CLASSES, score  # noqa: E402

VARIANTS = {  # one clustering_config for every class
    "DBSCAN eps 0.3 (the demo's recipe)": "coverage_threshold: 0.1 minimum_bounding_box_height: 4 "
                                          "dbscan_eps: 0.3 dbscan_min_samples: 0.05",
    "DBSCAN eps 0.13 (TAO's default eps)": "coverage_threshold: 0.1 minimum_bounding_box_height: 4 "
                                           "dbscan_eps: 0.13 dbscan_min_samples: 0.05",
    "NMS IoU 0.5": "coverage_threshold: 0.1 minimum_bounding_box_height: 4 clustering_algorithm: NMS "
                   "nms_iou_threshold: 0.5 nms_confidence_threshold: 0.1",
    "DBSCAN eps 0.5": "coverage_threshold: 0.1 minimum_bounding_box_height: 4 dbscan_eps: 0.5 "
                      "dbscan_min_samples: 0.05",
}


def span(spec: str) -> tuple[int, int]:
    """Start and end (exclusive) of `spec`'s `postprocessing_config { ... }` block."""
    found = re.search(r"postprocessing_config\s*\{", spec)
    if not found:
        raise ValueError("no postprocessing_config block")
    depth = 0
    for end in range(found.end() - 1, len(spec)):
        depth += {"{": 1, "}": -1}.get(spec[end], 0)
        if depth == 0:
            return found.start(), end + 1
    raise ValueError("unbalanced braces in postprocessing_config")


def with_postprocessing(spec: str, block: str) -> str:
    start, end = span(spec)
    return spec[:start] + block + spec[end:]


def uniform_block(clustering: str) -> str:
    return "postprocessing_config {\n" + "".join(
        f'  target_class_config {{ key: "{c}" value {{ clustering_config {{ {clustering} }} }} }}\n'
        for c in CLASSES) + "}"


def tuned_block(path: Path) -> str:
    text = path.read_text()
    try:
        start, end = span(text)
    except ValueError as e:
        sys.exit(f"{path}: {e}; pass the spec `tlt tune_postprocessing` wrote.")
    return text[start:end]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=str(HERE / "results" / "peer_yolo"))
    ap.add_argument("--tuned", help="a spec with a tuned postprocessing_config")
    args = ap.parse_args()

    from jupyter_tlt.infer import infer
    from jupyter_tlt.runners import make_runner

    work = Path(args.work)
    model = work / "ours" / "target" / "weights" / "model.keras"
    if not model.exists():
        sys.exit(f"{model}: missing; run bench/peer_yolo.py first.")
    spec = make_runner(model, "keras").info["spec"]
    variants = {name: uniform_block(c) for name, c in VARIANTS.items()}
    if args.tuned:
        variants["tuned (tlt tune_postprocessing)"] = tuned_block(Path(args.tuned))
    roots = {"test": work / "data" / "test"}

    print("| post-processing | mAP easy | mAP moderate | mAP hard | car | cyclist | pedestrian | road_sign |")
    print("|---|---|---|---|---|---|---|---|")
    for i, (name, block) in enumerate(variants.items()):
        out = work / "postprocessing" / f"variant_{i}"
        infer("detection", model, roots["test"] / "kitti" / "image_2", out, spec=with_postprocessing(spec, block),
              overwrite=True, progress=False, all_candidates=True)
        m = score(out / "labels", roots)
        per_class = " | ".join(f"{100 * m.ap[c]['moderate']:.1f}" for c in CLASSES)
        print(f"| {name} | {100 * m.mAP['easy']:.1f} | {100 * m.mAP['moderate']:.1f} | "
              f"{100 * m.mAP['hard']:.1f} | {per_class} |", flush=True)


if __name__ == "__main__":
    main()
