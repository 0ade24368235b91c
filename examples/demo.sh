#!/usr/bin/env bash
# The end-to-end workflow on synthetic data, as a user runs it from a terminal (`make demo`).
# Each later step of the workflow is appended here as it lands.
set -euo pipefail
cd "$(dirname "$0")/.."
N_SOURCE=${N_SOURCE:-600}
N_TARGET=${N_TARGET:-300}

echo "== 1. Synthetic street scenes: a source domain (pretraining) and a shifted target domain"
tlt generate -o demo/data/source --domain source -n "$N_SOURCE" --seed 1 --overwrite
tlt generate -o demo/data/target --domain target -n "$N_TARGET" --seed 2 --overwrite

echo "== 2. Validate the datasets against the conversion specs' class mapping"
tlt dataset-validate demo/data/source -d examples/specs/convert_source.cfg
tlt dataset-validate demo/data/target -d examples/specs/convert_target.cfg

echo "== 3. Convert KITTI to TFRecords (TAO's shard naming and feature keys)"
tlt-dataset-convert -d examples/specs/convert_source.cfg -o demo/tfrecords/source/kitti --overwrite -v
tlt-dataset-convert -d examples/specs/convert_target.cfg -o demo/tfrecords/target/kitti --overwrite -v

echo "== 4. Pretrain a resnet18 DetectNet_v2 on the source domain"
rm -rf demo/runs  # the data above was regenerated; train afresh (an interrupted train resumes)
tlt train detection -e examples/specs/detect_source.cfg -r demo/runs/source

echo "== 5. The source model on the target domain, before adaptation"
tlt evaluate detection -e examples/specs/detect_target.cfg -m demo/runs/source/weights/model.keras \
  -r demo/runs/source_on_target

echo "== 6. Fine-tune on the target domain, then evaluate (KITTI mAP per difficulty)"
tlt-train detection -e examples/specs/detect_target.cfg -r demo/runs/target
tlt-evaluate detection -e examples/specs/detect_target.cfg -m demo/runs/target/weights/model.keras
