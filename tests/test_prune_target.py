"""Pruning to a target: the threshold chosen from the sweep reaches the target within one granularity step."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jupyter_tlt import cli
from jupyter_tlt.models import load_model, save_model
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet
from jupyter_tlt.prune import prune
from jupyter_tlt.pruning import Pruner
from jupyter_tlt.pruning.target import candidates, choose_threshold, fraction

pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")


def spread(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ in ("Conv2D", "Dense") and layer.name not in ("output_cov", "output_bbox",
                                                                              "predictions"):
            weights = layer.get_weights()
            weights[0] = weights[0] * rng.uniform(0.02, 1.0, size=weights[0].shape[-1])
            layer.set_weights(weights)
    return model


@pytest.mark.parametrize("kind", ["params", "flops"])
@pytest.mark.parametrize("target", [0.8, 0.5, 0.3])
def test_target_is_reached_within_one_granularity_step(kind, target):
    model = spread(build_detectnet("resnet", 18, (64, 96, 3), 3))
    pruner = Pruner(model)
    granularity = 8
    choice = choose_threshold(pruner, kind, target, min_filters=8, granularity=granularity)
    assert choice.reached and choice.achieved <= target
    assert choice.achieved == pytest.approx(fraction(pruner, kind, choice.threshold, 8, granularity))
    # the next smaller candidate threshold misses the target, and differs by at most one granularity
    # step of one group's filters (so no threshold lands closer to the target from below)
    values = candidates(pruner)
    below = values[values < choice.threshold].max()
    assert fraction(pruner, kind, below, 8, granularity) > target
    at, before = pruner.counts(choice.threshold, 8, granularity), pruner.counts(below, 8, granularity)
    changed = {g: before[g] - at[g] for g in at if before[g] != at[g]}
    assert len(changed) == 1 and 0 < next(iter(changed.values())) <= granularity, changed


def test_unreachable_target_takes_the_smallest_model_and_says_so():
    pruner = Pruner(spread(build_classifier("resnet", 10, (64, 64, 3), 3)))
    choice = choose_threshold(pruner, "params", 0.001, min_filters=16, granularity=8)
    assert not choice.reached and "closest reachable" in choice.describe()
    assert choice.achieved == pytest.approx(fraction(pruner, "params", 1.0, 16, 8))


def test_prune_to_a_target_saves_the_model_and_names_the_threshold(tmp_path, capsys):
    model = spread(build_classifier("resnet", 10, (64, 64, 3), 3))
    save_model(model, tmp_path / "m.keras")
    report = prune(tmp_path / "m.keras", tmp_path / "p.keras", target_flops=0.5, min_num_filters=8,
                   pruning_granularity=8)
    assert report.flops_ratio <= 0.5 and report.target["kind"] == "flops"
    assert report.options["threshold"] == report.target["threshold"]
    assert load_model(tmp_path / "p.keras").count_params() == report.params_after
    saved = json.loads((tmp_path / "p_prune_report.json").read_text())
    assert saved["target"]["threshold"] == report.target["threshold"]

    base = ["prune", "-m", str(tmp_path / "m.keras"), "-o", str(tmp_path / "q.keras")]
    assert cli.main(base + ["--target_params", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "chosen for --target_params 0.6: parameters kept 0." in out
    for extra, message in [(["--target_params", "0"], "--target_params: 0 is not a fraction"),
                           (["--target_flops", "1.5"], "--target_flops: 1.5 is not a fraction"),
                           (["--target_speedup", "0.5"], "--target_speedup: 0.5 is below 1")]:
        assert cli.main(base + ["--overwrite"] + extra) == 2, extra
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    with pytest.raises(SystemExit) as exc:
        cli.main(base + ["--target_params", "0.5", "--target_flops", "0.5"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_speedup_target_is_measured_in_onnx_runtime(tmp_path):
    model = spread(build_classifier("resnet", 10, (96, 96, 3), 3))
    choice = choose_threshold(Pruner(model), "speedup", 1.2, min_filters=8, granularity=8, seconds=0.3)
    assert choice.measured and all(m["speedup"] > 0 for m in choice.measured)
    assert choice.threshold in [m["threshold"] for m in choice.measured]
    assert choice.reached == (choice.achieved >= 1.2)


def test_prune_panel_target_moves_the_slider_and_prunes_to_it(tmp_path):
    from jupyter_tlt.widgets import PrunePanel

    save_model(spread(build_classifier("resnet", 10, (64, 64, 3), 3)), tmp_path / "m.keras")
    panel = PrunePanel(tmp_path / "m.keras", tmp_path / "p.keras", min_num_filters=8)
    panel.target_kind.value, panel.target_value.value = "params", 0.4
    panel.target_button.click()
    assert panel.choice is not None and panel.slider.value == panel.choice.threshold
    assert "chosen for --target_params 0.4" in panel.target_label.value
    report = panel.prune()
    assert report.params_ratio <= 0.4 and report.target["threshold"] == panel.choice.threshold
    panel.set_target("flops", 2.0)
    assert "not a fraction" in panel.target_label.value


def test_magic_prunes_to_a_target_and_tune_refuses_a_zero_budget(tmp_path):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_tlt")
    save_model(spread(build_classifier("resnet", 10, (64, 64, 3), 3)), tmp_path / "m.keras")
    with capture_output() as cap:
        shell.run_cell(f"%tlt prune -m {tmp_path / 'm.keras'} -o {tmp_path / 'p.keras'} --target_params 0.5 -nf 8")
    assert "chosen for --target_params 0.5" in cap.stdout + str(cap.outputs), cap.stderr
    assert (tmp_path / "p.keras").is_file()
    (tmp_path / "spec.txt").write_text('model_config { arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }\n'
                                       'train_config { train_dataset_path: "x" val_dataset_path: "y" }\n')
    with capture_output() as cap:
        shell.run_cell(f"%tlt tune classification -e {tmp_path / 'spec.txt'} -r {tmp_path / 's'} --trials 0 "
                       "-p train_config.learning_rate=1e-3:1e-1:log")
    assert "a budget of 0 trials runs nothing" in cap.stderr + cap.stdout
