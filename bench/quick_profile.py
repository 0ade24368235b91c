"""Benchmark: what the detection tutorial's quick profile reaches, for candidate sizes and epochs.

Runs the quick profile's first half with the `tlt` CLI in a scratch folder: generate a source and a
target domain, convert both, pretrain on the source, fine-tune on the target (L1, validated at half-time
and at the end), evaluate on the held-out target fold. Prints each step's wall and CPU seconds and the KITTI table
(moderate mAP is the issue-16 goal: >= 10 %, nonzero for every class, within the quick budget).

    python bench/quick_profile.py NAME IMAGE_W IMAGE_H INPUT_W INPUT_H N_SOURCE N_TARGET LAYERS BATCH \
        PRETRAIN_EPOCHS FINETUNE_EPOCHS PRETRAIN_LR FINETUNE_LR [--work=/tmp/quick_profile] [--max_distance=M]
    python bench/quick_profile.py base 320 192 128 80 48 32 10 8 3 2 1e-3 5e-4    # the profile until issue 16
    python bench/quick_profile.py R7 400 240 160 96 64 96 10 4 8 6 3e-3 1.5e-3 --max_distance=20   # the profile now
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

args = [a for a in sys.argv[1:] if not a.startswith("--")]
work = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--work=")), "/tmp/quick_profile")
max_distance = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--max_distance=")), None)
name, iw, ih, nw, nh, ns, nt, layers, bs, pe, fe, plr, flr = args[:13]
iw, ih, nw, nh, ns, nt, layers, bs, pe, fe = map(int, (iw, ih, nw, nh, ns, nt, layers, bs, pe, fe))
plr, flr = float(plr), float(flr)
root = Path(work) / name
root.mkdir(parents=True, exist_ok=True)
os.chdir(root)
TLT = str(Path(sys.executable).parent / "tlt")

CLASSES = ["car", "cyclist", "pedestrian", "road_sign"]


def spec(tf, epochs, pretrained="", reg="L2", weight=1e-5, max_lr=1e-3, period=None):
    mapping = "\n".join(f'  target_class_mapping {{ key: "{c}" value: "{c}" }}' for c in CLASSES)
    clustering = "\n".join(
        f'  target_class_config {{ key: "{c}" value {{ clustering_config {{ coverage_threshold: 0.1 '
        f'minimum_bounding_box_height: 4 dbscan_eps: 0.3 dbscan_min_samples: 0.05 }} }} }}' for c in CLASSES)
    pretrained = f'\n  pretrained_model_file: "{pretrained}"' if pretrained else ""
    period = period or epochs
    return f"""random_seed: 42
dataset_config {{
  data_sources {{ tfrecords_path: "{tf}" }}
{mapping}
  validation_fold: 0
}}
augmentation_config {{
  preprocessing {{ output_image_width: {nw} output_image_height: {nh} min_bbox_width: 2 min_bbox_height: 2 }}
  spatial_augmentation {{ hflip_probability: 0.5 zoom_min: 0.9 zoom_max: 1.1 translate_max_x: 8 translate_max_y: 8 }}
  color_augmentation {{ hue_rotation_max: 10 saturation_shift_max: 0.1 contrast_scale_max: 0.1 }}
}}
model_config {{ arch: "resnet" num_layers: {layers}{pretrained}
}}
postprocessing_config {{
{clustering}
}}
evaluation_config {{ validation_period_during_training: {period} first_validation_epoch: {period}
  average_precision_mode: SAMPLE }}
training_config {{ batch_size_per_gpu: {bs} num_epochs: {epochs}
  learning_rate {{ soft_start_annealing_schedule {{ min_learning_rate: {max_lr / 50:g} max_learning_rate: {max_lr:g}
    soft_start: 0.1 annealing: 0.7 }} }}
  regularizer {{ type: {reg} weight: {weight:g} }}
  optimizer {{ adam {{ }} }}
}}
"""


def conv(d):
    return f'''kitti_config {{ root_directory_path: "{d}" image_dir_name: "image_2" label_dir_name: "label_2" image_extension: ".jpg" partition_mode: "random" num_partitions: 2 val_split: 20 num_shards: 2 }}
''' + "".join(f'target_class_mapping {{ key: "{c}" value: "{c}" }}\n' for c in CLASSES)


T, CPU = {}, {}


def run(step, *argv):
    t, before = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([TLT, *argv], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    T[step] = round(time.time() - t, 1)
    CPU[step] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1)
    if r.returncode:
        print(r.stdout[-2000:], r.stderr[-3000:]); sys.exit(1)
    return r


Path("s").mkdir(exist_ok=True)
for dom, n, seed in (("source", ns, 1), ("target", nt, 2)):
    near = ["--max_distance", max_distance] if max_distance else []
    run("gen_" + dom, "generate", "-o", f"data/{dom}", "--domain", dom, "-n", str(n), "--width", str(iw), "--height", str(ih), "--seed", str(seed), "--overwrite", "-q", *near)
    Path(f"s/conv_{dom}.cfg").write_text(conv(f"data/{dom}"))
    run("conv_" + dom, "dataset-convert", "-d", f"s/conv_{dom}.cfg", "-o", f"tf/{dom}/kitti", "--overwrite", "-q")
Path("s/src.cfg").write_text(spec("tf/source/kitti-fold-*", pe, max_lr=plr, period=max(1, pe // 2)))
run("pretrain", "train", "detection", "-e", "s/src.cfg", "-r", "runs/source")
Path("s/tgt.cfg").write_text(spec("tf/target/kitti-fold-*", fe, pretrained="runs/source/weights/model.keras", reg="L1", weight=3e-5, max_lr=flr, period=max(1, fe // 2)))
run("finetune", "train", "detection", "-e", "s/tgt.cfg", "-r", "runs/target")
r = run("evaluate", "evaluate", "detection", "-e", "s/tgt.cfg", "-m", "runs/target/weights/model.keras", "-q")
print(name, args[1:], f"max_distance={max_distance}", "wall s", T, "total", round(sum(T.values()), 1))
print("CPU s", CPU, "total", round(sum(CPU.values()), 1))
print(r.stdout[-1500:], r.stderr[-1500:])
