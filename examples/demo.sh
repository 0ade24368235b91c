#!/usr/bin/env bash
# The end-to-end workflow on synthetic data, as a user runs it from a terminal (`make demo`).
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

echo "== 4. Pretrain a resnet18 DetectNet_v2 on the source domain and push it to the demo's registry"
rm -rf demo/runs demo/registry demo/pretrained  # the data above was regenerated: train afresh
export TLT_REGISTRY="$PWD/demo/registry"  # a folder; a team would use a shared drive, s3://... or https://...
tlt pretrain detection -e examples/specs/detect_source.cfg -r demo/runs/source \
  --model_name detectnet_v2_resnet18 --version 1 --description "DetectNet_v2 resnet18, synthetic source domain"

echo "== 5. Pull it as the seed does, and measure it on the target domain before adaptation"
tlt-pull --list_models
tlt-pull --list_version --model_name detectnet_v2_resnet18
tlt-pull --model_name detectnet_v2_resnet18 --version 1 --dir demo/pretrained
tlt evaluate detection -e examples/specs/detect_target.cfg \
  -m demo/pretrained/detectnet_v2_resnet18/1/model.keras -r demo/runs/source_on_target

echo "== 6. Fine-tune from registry:detectnet_v2_resnet18@1 on the target domain, then evaluate (KITTI mAP per difficulty)"
tlt-train detection -e examples/specs/detect_target.cfg -r demo/runs/target
tlt-evaluate detection -e examples/specs/detect_target.cfg -m demo/runs/target/weights/model.keras

echo "== 7. Prune: what each threshold keeps (no model built), then remove the low-magnitude filters"
tlt prune -m demo/runs/target/weights/model.keras --sweep
tlt-prune -m demo/runs/target/weights/model.keras -o demo/runs/prune/model_pruned.keras -pth 0.9

echo "== 8. Retrain the pruned model on the target domain: it keeps its smaller widths"
tlt-train detection -e examples/specs/detect_retrain.cfg -r demo/runs/retrain

echo "== 9. Export for TensorRT and DeepStream: INT8 calibrated on target frames (cache + QDQ ONNX)"
tlt-export demo/runs/retrain/weights/model.keras -o demo/export/model.onnx --data_type int8 \
  --cal_image_dir demo/data/target/image_2 --batches 10 --batch_size 16 --gen_ds_config

echo "== 10. TensorRT engine: built where a GPU and TensorRT are (here it says why not)"
tlt-converter demo/export/model.onnx -e demo/export/model.engine -t int8 -c demo/export/cal.bin \
  || echo "(no engine here: run the same tlt-converter command on the deployment machine)"

echo "== 11. Before and after: size, accuracy on held-out target frames, CPU speed (ONNX Runtime)"
tlt compare detection -e examples/specs/detect_target.cfg -q --speed 8 \
  -m "fine-tuned=demo/runs/target/weights/model.keras" \
  -m "pruned=demo/runs/prune/model_pruned.keras" \
  -m "pruned + retrained=demo/runs/retrain/weights/model.keras" \
  -m "pruned + retrained, INT8=demo/export/model_int8_qdq.onnx"
