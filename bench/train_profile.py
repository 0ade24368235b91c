"""Benchmark: where a DetectNet_v2 training step's time goes (issue 22 item 3).

The benchmark profile (bench/specs.py: resnet18, 256x160, batch 16, the demo's augmentation) measured
part by part in one run, so that the parts compare on the same (shared) machine:

* input pipeline alone: read + decode + augment (the loader), and with the rasterizer (what `fit` eats);
* the rasterizer alone, on fixed label batches;
* on fixed in-memory batches: the forward pass; forward + backward of the backbone alone; forward +
  backward of the whole model with the loss (the head and loss share is the difference); the loss
  alone (forward + its gradient with respect to the predictions); one optimizer update; and Keras'
  train step (forward + backward + optimizer) as `fit` runs it;
* the full `tlt train` step (`train()` with its callbacks, input pipeline included), per step and per
  epoch (checkpoints included).

Times are medians over repeats after a warm-up; fractions are of the `tlt train` step. On 2 cores the
input pipeline runs in threads beside the model's ops, so the parts do not add up to the step.

    python bench/train_profile.py [--records DIR/kitti-fold-*] [--epochs 4] [--repeats 12]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from specs import detection_spec  # noqa: E402

HERE = Path(__file__).resolve().parent
BATCH = 16
warnings.filterwarnings("ignore", message="DetectNet_v2 input 256x160 is below")


def median_seconds(fn, repeats: int, warmup: int = 3, per_call: int = 1) -> tuple[float, float]:
    """Median (wall, process CPU) seconds of `fn()` (which must block until its result is computed),
    divided by `per_call`. CPU seconds count every thread of this process (tf.data's included): on a
    shared machine they move much less than wall time with the other jobs' load."""
    for _ in range(warmup):
        fn()
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls) / per_call, statistics.median(cpus) / per_call


def pipeline_seconds(ds, batches: int, windows: int = 3) -> tuple[float, float]:
    """Median (wall, CPU) seconds per batch over `windows` windows of `batches` batches, after a warm-up."""
    it = iter(ds)
    for _ in range(4):
        next(it)

    def window():
        for _ in range(batches):
            next(it)

    return median_seconds(window, windows, warmup=0, per_call=batches)


def default_records() -> str:
    """The target-domain frames of bench/train_detect.py (300 frames, made once)."""
    from train_detect import records

    return records(HERE / "results" / "train_profile" / "data", "target", 300, seed=12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", default="", help="TFRecords pattern (default: made by the bench)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the `tlt train` part (>= 3)")
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--against", default="", metavar="DIR", help="also time `tlt train` with the "
                    "jupyter_tlt package under DIR (e.g. an older commit's), alternating with this one")
    ap.add_argument("--rounds", type=int, default=2, help="with --against: runs of each, alternating")
    ap.add_argument("--train_only", action="store_true", help="only the `tlt train` part, as JSON")
    args = ap.parse_args()
    records = args.records or default_records()
    if args.train_only:
        print(json.dumps(train_step(records, args.epochs)))
        return
    rows, info = breakdown(records, args.epochs, args.repeats)
    full = rows["tlt train step (median step)"]
    print(f"\nbenchmark profile: resnet18 DetectNet_v2, {info['size']}, batch {BATCH}, {info['steps']} "
          f"steps/epoch; medians after warm-up; TensorFlow threads intra-op {info['intra']} inter-op "
          f"{info['inter']} (0 = one per core)")
    print(f"{'part':<44} {'wall ms':>8} {'images/s':>9} {'CPU ms':>8} {'of tlt step':>12}")
    for part, (wall, cpu) in rows.items():
        print(f"{part:<44} {1000 * wall:8.0f} {BATCH / wall:9.1f} {1000 * cpu:8.0f} {wall / full[0]:11.0%}")
    fb, bb = rows["forward + backward: whole model + loss"], rows["forward + backward: backbone"]
    head = (fb[0] - bb[0], fb[1] - bb[1])
    print(f"{'  head + loss share (difference of the two)':<44} {1000 * head[0]:8.0f} {'':>9} "
          f"{1000 * head[1]:8.0f} {head[0] / full[0]:11.0%}")
    gflops = info["forward_flops"] / 1e9
    print(f"forward pass: {gflops:.0f} GFLOPs per batch (convolutions, multiply-adds x 2); a train step is "
          f"about 3x that: {3 * gflops / rows['keras train step (fixed batches)'][1]:.0f} GFLOP per CPU "
          f"second in the keras step, {3 * gflops / full[1]:.0f} in the tlt train step")
    if args.against:
        compare(args, records)


def breakdown(records: str, epochs: int, repeats: int):
    """{part: (wall, CPU) seconds per batch of 16} and facts about the run."""
    from jupyter_tlt.data import loader
    from jupyter_tlt.models.flops import count_flops
    from jupyter_tlt.spec import load_experiment_spec
    from jupyter_tlt.tasks import make_task
    from jupyter_tlt.tasks.detectnet_v2.rasterize import RasterizerConfig, target_fn
    from jupyter_tlt.tf_import import keras, tensorflow
    from jupyter_tlt.training.settings import make_optimizer

    tf, keras = tensorflow(), keras()
    spec = load_experiment_spec(detection_spec(records, epochs=epochs, batch=BATCH))
    task = make_task("detection", spec)
    rows = Rows()

    # -- input pipeline -------------------------------------------------------------------------
    plain = loader.detection_dataset_from_spec(spec, training=True, repeat=True, batch_size=BATCH,
                                               class_names=task.class_names)
    rows["input: read + decode + augment"] = pipeline_seconds(plain, 8)
    train_ds, steps = task.train_data(BATCH)
    rows["input: ... + rasterize (what fit reads)"] = pipeline_seconds(train_ds, 8)
    config = RasterizerConfig.from_spec(spec, task.class_names)
    rows["input: ... + rasterize, serial map (until now)"] = pipeline_seconds(plain.map(target_fn(config)), 8)
    label_batches = [labels for _, labels in plain.take(4)]
    rasterize = tf.function(target_fn(config), autograph=False)
    images0 = tf.zeros([BATCH, task.height, task.width, 3])
    rows["rasterize alone"] = median_seconds(
        lambda: [_block(rasterize(images0, labels)) for labels in label_batches], repeats,
        per_call=len(label_batches))

    # -- fixed in-memory batches -----------------------------------------------------------------
    batches = list(train_ds.take(4))
    x, y = batches[0]
    keras.utils.set_random_seed(42)
    model = task.build()
    model.compile(optimizer=make_optimizer(spec, steps, epochs), **task.compile_args())
    losses = task.compile_args()["loss"]
    names = list(model.output_names)

    forward = tf.function(lambda images: model(images, training=True), autograph=False)
    rows["forward"] = median_seconds(lambda: _block(forward(x)), repeats)

    backbone = keras.Model(model.inputs, model.get_layer(names[0]).input)
    cotangent = tf.random.stateless_normal(tuple(backbone.output.shape[1:]), seed=[1, 2])

    @tf.function(autograph=False)
    def backbone_grads(images):
        with tf.GradientTape() as tape:
            scalar = tf.reduce_sum(backbone(images, training=True) * cotangent)
        return tape.gradient(scalar, backbone.trainable_variables)

    rows["forward + backward: backbone"] = median_seconds(lambda: _block(backbone_grads(x)), repeats)
    # diagnostic: the same backbone without batch norm (Keras 3 normalises with separate ops, unfused)
    no_bn = task.build_from_spec(load_experiment_spec(
        detection_spec(records, epochs=epochs, batch=BATCH).replace(
            "num_layers: 18", "num_layers: 18 use_batch_norm: false")), len(task.class_names))
    no_bn_backbone = keras.Model(no_bn.inputs, no_bn.get_layer(names[0]).input)

    @tf.function(autograph=False)
    def no_bn_grads(images):
        with tf.GradientTape() as tape:
            scalar = tf.reduce_sum(no_bn_backbone(images, training=True) * cotangent)
        return tape.gradient(scalar, no_bn_backbone.trainable_variables)

    rows["  same, without batch norm (diagnostic)"] = median_seconds(lambda: _block(no_bn_grads(x)), repeats)

    @tf.function(autograph=False)
    def model_grads(images, targets):
        with tf.GradientTape() as tape:
            preds = model(images, training=True)
            loss = model.compute_loss(x=images, y=targets, y_pred=preds, training=True)  # a list, as in fit
        return loss, tape.gradient(loss, model.trainable_variables)

    rows["forward + backward: whole model + loss"] = median_seconds(lambda: _block(model_grads(x, y)),
                                                                    repeats)
    preds = [tf.identity(p) for p in model(x, training=False)]

    @tf.function(autograph=False)
    def loss_grads(p_cov, p_bbox, targets):
        with tf.GradientTape() as tape:
            tape.watch([p_cov, p_bbox])
            loss = (tf.reduce_mean(losses[names[0]](targets[names[0]], p_cov))
                    + tf.reduce_mean(losses[names[1]](targets[names[1]], p_bbox)))
        return loss, tape.gradient(loss, [p_cov, p_bbox])

    rows["loss alone (+ its gradient)"] = median_seconds(lambda: _block(loss_grads(*preds, y)), repeats)
    _, grads = model_grads(x, y)
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    apply = tf.function(lambda g: optimizer.apply(g, model.trainable_variables), autograph=False)
    rows["optimizer update alone"] = median_seconds(
        lambda: (apply(grads), _block(model.trainable_variables[0])), repeats)
    fixed = tf.data.Dataset.from_tensor_slices(batches_to_stack(batches, tf)).repeat()
    rows["keras train step (fixed batches)"] = fit_step_seconds(keras, model, fixed, repeats)
    # the same step compiled by XLA (Keras leaves jit_compile off on CPU-only machines), same weights
    xla = task.build()
    xla.set_weights(model.get_weights())
    xla.compile(optimizer=make_optimizer(spec, steps, epochs), jit_compile=True, **task.compile_args())
    rows["  same, jit_compile=True (XLA)"] = fit_step_seconds(keras, xla, fixed, repeats)

    # -- the full `tlt train` step ----------------------------------------------------------------
    result = train_step(records, epochs)
    rows["tlt train step (median step)"] = tuple(result["step"])
    rows["tlt train epoch / steps (checkpoint incl.)"] = tuple(result["epoch_per_step"])
    info = {"size": f"{task.width}x{task.height}", "steps": steps,
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
            "forward_flops": count_flops(model) * BATCH}
    return rows, info


def train_step(records: str, epochs: int) -> dict:
    """`train()` on the profile for `epochs` epochs: median (wall, CPU) seconds of a step after the
    first epoch, and of an epoch (checkpoint included) per step, epochs 2 to N-1."""
    from jupyter_tlt.tf_import import keras
    from jupyter_tlt.train import train

    work = Path(tempfile.mkdtemp(prefix="train_profile-"))
    timer = StepTimes(keras())
    result = train(detection_spec(records, epochs=epochs, batch=BATCH), work / "run", progress=False,
                   callbacks=[timer])
    shutil.rmtree(work, ignore_errors=True)
    steps = timer.steps_per_epoch
    return {"step": timer.median_step(skip_epochs=1),
            "epoch_per_step": [v / steps for v in timer.epoch_seconds(first=1, last=epochs - 2)],
            "loss": [h["loss"] for h in result.history]}


def compare(args, records: str) -> None:
    """`tlt train` of this tree and of `args.against`, alternating, each in a fresh process."""
    import os
    import subprocess

    trees = {"before (--against)": args.against, "this tree": str(HERE.parent)}
    found: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": tree}
            done = subprocess.run([sys.executable, __file__, "--train_only", "--records", records,
                                   "--epochs", str(args.epochs)], env=env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{name}: {done.stderr[-2000:]}")
            found[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\n`tlt train` step, {args.rounds} alternating runs each (images/s from the median step; "
          "wall, then from CPU seconds):")
    for name, runs in found.items():
        walls = [BATCH / r["step"][0] for r in runs]
        cpus = [BATCH / r["step"][1] for r in runs]
        print(f"  {name:<20} wall {' '.join(f'{v:5.2f}' for v in walls)} images/s; "
              f"per CPU second {' '.join(f'{v:5.2f}' for v in cpus)}; "
              f"losses {[round(v, 4) for v in runs[0]['loss']]}")


class Rows(dict):
    def __setitem__(self, part, seconds):
        super().__setitem__(part, seconds)
        print(f"  measured {part}: {1000 * seconds[0]:.0f} ms wall, {1000 * seconds[1]:.0f} ms CPU per batch",
              flush=True)


def batches_to_stack(batches, tf):
    """Fixed batches as one dataset element per batch."""
    images = tf.stack([b[0] for b in batches])
    targets = {k: tf.stack([b[1][k] for b in batches]) for k in batches[0][1]}
    return images, targets


def fit_step_seconds(keras, model, dataset, steps: int) -> tuple[float, float]:
    """Median (wall, CPU) step of `model.fit` over fixed batches (its first epoch traces the graph)."""
    timer = StepTimes(keras)
    model.fit(dataset, epochs=2, steps_per_epoch=steps, callbacks=[timer], verbose=0)
    return timer.median_step(skip_epochs=1)


def _block(result):
    """Wait for a (nested) result: a host copy of each value forces the whole computation."""
    from jupyter_tlt.tf_import import tensorflow

    for value in tensorflow().nest.flatten(result):
        value.numpy()
    return result


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def StepTimes(keras):  # noqa: N802 - a class made once Keras is imported
    class _StepTimes(keras.callbacks.Callback):
        """(wall, CPU) seconds of each step and at each epoch's end (after the callbacks before it)."""

        def __init__(self):
            super().__init__()
            self.steps: list[tuple[int, float, float]] = []
            self.epoch_ends: list[tuple[float, float]] = []
            self.steps_per_epoch = 0
            self._epoch, self._last = 0, _now()

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch, self._last = epoch, _now()

        def on_train_batch_end(self, batch, logs=None):
            now = _now()
            self.steps.append((self._epoch, now[0] - self._last[0], now[1] - self._last[1]))
            self._last = now
            self.steps_per_epoch = max(self.steps_per_epoch, batch + 1)

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_ends.append(_now())

        def median_step(self, skip_epochs: int) -> tuple[float, float]:
            kept = [s for s in self.steps if s[0] >= skip_epochs]
            return statistics.median(s[1] for s in kept), statistics.median(s[2] for s in kept)

        def epoch_seconds(self, first: int, last: int) -> tuple[float, float]:
            """Mean (wall, CPU) seconds of epochs first..last (0-based), end to end."""
            n = last - first + 1
            return tuple((self.epoch_ends[last][i] - self.epoch_ends[first - 1][i]) / n for i in (0, 1))

    return _StepTimes()


if __name__ == "__main__":
    main()
