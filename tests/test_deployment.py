"""Deployment: DeepStream nvinfer configs, the runner interface (Keras, ONNX Runtime, TensorRT), engine builds.

TensorRT tests need a CUDA GPU, tensorrt 10 and pycuda; elsewhere they are skipped with the reason
``gpu_status`` gives, and the no-GPU error path is tested instead.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from train_fixtures import CLASSES, detection_spec

from jupyter_tlt.tasks.detectnet_v2.deepstream import min_boxes
from jupyter_tlt.tasks.detectnet_v2.postprocess import PostprocessConfig, postprocess
from jupyter_tlt.errors import DataError, SpecError, TltError
from jupyter_tlt.export import keras_to_onnx, onnx_io_names
from jupyter_tlt.export.deepstream import (DEEPSTREAM_TENSORRT, DEFAULT_DEEPSTREAM, read_nvinfer_config,
                                          write_labels, write_nvinfer_config)
from jupyter_tlt.export.tensorrt_engine import build_engine, gpu_status
from jupyter_tlt.models import save_model
from jupyter_tlt.tasks.classification.head import build_classifier
from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet
from jupyter_tlt.runners import KerasRunner, OnnxRunner, TensorRTRunner, make_runner
from jupyter_tlt.spec import load_experiment_spec, views

# The small test inputs are below the seed's 480x272 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")

NAMES = list(CLASSES[:3])                 # car, pedestrian, cyclist
DETECTION_SHAPE = (64, 96, 3)             # stride 16 -> 4 x 6 grid
CLASSIFICATION_SHAPE = (64, 64, 3)
TOLERANCE = 1e-4


def images(shape: tuple, n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, *shape)).astype(np.float32)


@pytest.fixture(scope="module")
def spec():
    """The training fixtures' spec with three classes; pedestrian gets its own clustering settings."""
    spec = load_experiment_spec(detection_spec("/unused/kitti-fold-*", classes=NAMES))
    cc = spec.postprocessing_config.target_class_config["pedestrian"].clustering_config
    cc.coverage_threshold = 0.1
    cc.minimum_bounding_box_height = 12
    cc.dbscan_min_samples = 1.5
    cc.dbscan_confidence_threshold = 0.3
    return spec


@pytest.fixture(scope="module")
def detector():
    return build_detectnet("resnet", 10, DETECTION_SHAPE, len(NAMES))


@pytest.fixture(scope="module")
def classifier():
    return build_classifier("resnet", 10, CLASSIFICATION_SHAPE, 3)


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory, detector, classifier) -> dict:
    folder = tmp_path_factory.mktemp("onnx")
    files = {}
    for name, model in (("detector", detector), ("classifier", classifier)):
        files[name] = folder / f"{name}.onnx"
        files[name].write_bytes(keras_to_onnx(model).SerializeToString())
    return files


# --- DeepStream ------------------------------------------------------------------------------------

# Expected [class-attrs-<i>] values from the spec: coverage_threshold, dbscan_eps, ceil(dbscan_min_samples)
# (unset: 0.05 -> 1), dbscan_confidence_threshold (unset: 0.1), minimum_bounding_box_height.
EXPECTED_CLASS_ATTRS = {
    "car": {"pre-cluster-threshold": 0.05, "eps": 0.3, "minBoxes": 1, "dbscan-min-score": 0.1, "detected-min-h": 2},
    "pedestrian": {"pre-cluster-threshold": 0.1, "eps": 0.3, "minBoxes": 2, "dbscan-min-score": 0.3,
                   "detected-min-h": 12},
    "cyclist": {"pre-cluster-threshold": 0.05, "eps": 0.3, "minBoxes": 1, "dbscan-min-score": 0.1, "detected-min-h": 2},
}


@pytest.mark.parametrize("data_type, network_mode", [("fp32", "0"), ("fp16", "2"), ("int8", "1")])
def test_detector_config_matches_model_and_spec(tmp_path, spec, detector, data_type, network_mode):
    out = tmp_path / "export"
    labels = write_labels(out / "labels.txt", NAMES)
    channels, height, width = views.input_shape(spec)
    assert (height, width, channels) == tuple(detector.input_shape[1:])
    path = write_nvinfer_config(
        out / "nvinfer_config.txt", task="detection", onnx_file=out / "model.onnx", class_names=NAMES,
        input_shape=(channels, height, width), data_type=data_type,
        int8_calib_file=out / "cal.bin" if data_type == "int8" else None, engine_file=out / "model.engine",
        max_batch_size=4, postprocess=PostprocessConfig.from_spec(spec, NAMES))

    assert labels.read_text().splitlines() == NAMES
    config = read_nvinfer_config(path)
    prop = config["property"]
    assert prop["infer-dims"] == "3;64;96"
    assert prop["network-type"] == "0"
    assert prop["num-detected-classes"] == str(len(NAMES))
    assert prop["output-blob-names"].split(";") == onnx_io_names(detector)[1]
    assert prop["network-mode"] == network_mode
    assert float(prop["net-scale-factor"]) == pytest.approx(1 / 255, rel=1e-12)
    assert prop["offsets"] == "0;0;0"
    assert prop["model-color-format"] == "0"
    assert prop["batch-size"] == "4"
    assert prop["gie-unique-id"] == "1"
    assert prop["cluster-mode"] == "1"
    # paths relative to the config's folder
    assert (prop["onnx-file"], prop["labelfile-path"], prop["model-engine-file"]) == (
        "model.onnx", "labels.txt", "model.engine")
    assert prop.get("int8-calib-file") == ("cal.bin" if data_type == "int8" else None)
    assert "classifier-threshold" not in prop

    for i, name in enumerate(NAMES):
        attrs = config[f"class-attrs-{i}"]
        expected = EXPECTED_CLASS_ATTRS[name]
        assert set(attrs) == set(expected)
        for key, value in expected.items():
            parse = int if isinstance(value, int) else float
            assert parse(attrs[key]) == pytest.approx(value), (name, key)
    # only what every class shares is in [class-attrs-all]
    assert config["class-attrs-all"] == {"eps": "0.3"}


def test_classifier_config_and_labels(tmp_path, classifier):
    names = ["bicycle", "bus", "car"]
    labels = write_labels(tmp_path / "labels.txt", names, task="classification")
    path = write_nvinfer_config(tmp_path / "nvinfer_config.txt", task="classification", onnx_file="model.onnx",
                                class_names=names, input_shape=(3, 64, 64), data_type="fp16")
    # nvinfer reads a classifier's labels as one ';'-separated line per output layer
    assert labels.read_text() == "bicycle;bus;car\n"
    config = read_nvinfer_config(path)
    prop = config["property"]
    assert list(config) == ["property"]
    assert prop["network-type"] == "1"
    assert prop["output-blob-names"] == "predictions/Softmax" == onnx_io_names(classifier)[1][0]
    assert prop["infer-dims"] == "3;64;64"
    assert prop["num-detected-classes"] == "3"
    assert prop["network-mode"] == "2"
    assert float(prop["classifier-threshold"]) == 0.5
    assert "cluster-mode" not in prop and "int8-calib-file" not in prop and "model-engine-file" not in prop


def test_config_paths_and_errors(tmp_path, spec, monkeypatch):
    common = dict(task="detection", class_names=NAMES, input_shape=(3, 64, 96))
    path = write_nvinfer_config(tmp_path / "ds" / "config.txt", onnx_file=tmp_path / "models" / "m.onnx",
                                labels_file=tmp_path / "ds" / "sub" / "labels.txt", **common)
    prop = read_nvinfer_config(path)["property"]
    assert prop["onnx-file"] == "../models/m.onnx"
    assert prop["labelfile-path"] == "sub/labels.txt"
    monkeypatch.chdir(tmp_path)  # paths given from the current directory, as `tlt export -o demo/export/...`
    path = write_nvinfer_config("demo/export/config.txt", onnx_file="demo/export/m.onnx", **common)
    prop = read_nvinfer_config(path)["property"]
    assert (prop["onnx-file"], prop["labelfile-path"]) == ("m.onnx", "labels.txt")
    assert read_nvinfer_config(path)["class-attrs-0"]["eps"] == "0.13"  # no postprocess: the spec defaults

    with pytest.raises(TltError, match="calibration cache"):
        write_nvinfer_config(tmp_path / "c.txt", onnx_file="m.onnx", data_type="int8", **common)
    with pytest.raises(TltError, match="fp64"):
        write_nvinfer_config(tmp_path / "c.txt", onnx_file="m.onnx", data_type="fp64", **common)
    config = PostprocessConfig.from_spec(spec, NAMES)
    mixed = replace(config, classes=(replace(config.classes[0], algorithm="nms"), *config.classes[1:]))
    with pytest.raises(SpecError, match="one algorithm"):
        write_nvinfer_config(tmp_path / "c.txt", onnx_file="m.onnx", postprocess=mixed, **common)
    with pytest.warns(UserWarning, match="scale 20"):
        write_nvinfer_config(tmp_path / "c.txt", onnx_file="m.onnx", postprocess=replace(config, scale=20.0),
                             **common)
    assert "# WARNING: the model's bbox objective uses scale 20" in (tmp_path / "c.txt").read_text()
    nms = write_nvinfer_config(tmp_path / "nms.txt", onnx_file="m.onnx", postprocess=config.with_all(algorithm="nms"),
                               **common)
    nms_config = read_nvinfer_config(nms)
    assert nms_config["property"]["cluster-mode"] == "2"
    assert nms_config["class-attrs-1"] == {"pre-cluster-threshold": "0.1", "nms-iou-threshold": "0.5",
                                           "detected-min-h": "12"}
    with pytest.raises(DataError, match="';'"):
        write_labels(tmp_path / "l.txt", ["a;b"])
    assert [min_boxes(m) for m in (0.0, 0.05, 1.0, 1.5, 2.0000001, 3.2)] == [1, 1, 1, 2, 2, 4]


def test_int8_config_follows_the_tensorrt_of_the_deepstream_release(tmp_path, monkeypatch):
    common = dict(task="detection", class_names=NAMES, input_shape=(3, 64, 96), data_type="int8")
    cached = write_nvinfer_config(tmp_path / "cache.txt", onnx_file=tmp_path / "m.onnx", int8_calib_file=tmp_path / "cal.bin",
                                  deepstream_version="7.1", **common)
    prop = read_nvinfer_config(cached)["property"]
    assert (prop["network-mode"], prop["int8-calib-file"], prop["onnx-file"]) == ("1", "cal.bin", "m.onnx")
    assert "# For DeepStream 7.1 (TensorRT 10.3.0.26); INT8 scales from int8-calib-file" in cached.read_text()
    # a Q/DQ graph carries its scales: INT8 mode without a cache, on any release
    qdq = write_nvinfer_config(tmp_path / "qdq.txt", onnx_file="m_int8_trt_qdq.onnx", onnx_has_qdq=True, **common)
    prop = read_nvinfer_config(qdq)["property"]
    assert prop["network-mode"] == "1" and "int8-calib-file" not in prop
    assert f"For DeepStream {DEFAULT_DEEPSTREAM} (TensorRT {DEEPSTREAM_TENSORRT[DEFAULT_DEEPSTREAM]})" in qdq.read_text()
    with pytest.raises(TltError, match="'5.1' is not one of the releases"):
        write_nvinfer_config(tmp_path / "c.txt", onnx_file="m.onnx", deepstream_version="5.1", **common)
    # a release on TensorRT 11 (none is out yet) cannot calibrate: the cache is refused with the way out
    monkeypatch.setitem(DEEPSTREAM_TENSORRT, "99.0", "11.4.0")
    with pytest.raises(TltError, match="TensorRT 11.4.0, which has no INT8 calibration.*_int8_trt_qdq.onnx"):
        write_nvinfer_config(tmp_path / "c.txt", onnx_file="m.onnx", int8_calib_file="cal.bin",
                             deepstream_version="99.0", **common)


# --- runners ---------------------------------------------------------------------------------------

def assert_same(expected, got, tolerance: float) -> None:
    """Same Keras layout (tuple or array), shapes and float32 numpy arrays; values within tolerance."""
    assert type(got) is type(expected)
    pairs = zip(expected, got) if isinstance(expected, tuple) else [(expected, got)]
    if isinstance(expected, tuple):
        assert len(got) == len(expected)
    for e, g in pairs:
        assert isinstance(g, np.ndarray) and g.dtype == np.float32
        assert g.shape == e.shape
        scale = max(1.0, float(np.abs(e).max()))
        assert float(np.abs(e - g).max()) <= tolerance * scale


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_runner_matches_keras(detector, classifier, onnx_files, batch):
    import tensorflow as tf

    det = images(DETECTION_SHAPE, batch, seed=batch)
    keras_det, onnx_det = KerasRunner(detector), OnnxRunner(onnx_files["detector"], ["CPUExecutionProvider"])
    expected = keras_det(det)
    assert isinstance(expected, tuple)
    assert [o.shape for o in expected] == [(batch, 4, 6, 3), (batch, 4, 6, 12)]
    assert_same(expected, onnx_det(det), TOLERANCE)
    assert_same(expected, onnx_det(tf.constant(det), training=False), TOLERANCE)  # a tf tensor, like predict's
    assert len(postprocess(*onnx_det(det), PostprocessConfig.default(NAMES))) == batch

    cls = images(CLASSIFICATION_SHAPE, batch, seed=10 + batch)
    expected = KerasRunner(classifier)(cls)
    assert isinstance(expected, np.ndarray) and expected.shape == (batch, 3)
    onnx_cls = OnnxRunner(onnx_files["classifier"].read_bytes())
    assert_same(expected, onnx_cls(cls), TOLERANCE)
    np.testing.assert_allclose(onnx_cls(cls).sum(axis=1), 1.0, atol=1e-5)

    assert (keras_det.name, onnx_det.name) == ("keras", "onnx")
    assert keras_det.input_shape == onnx_det.input_shape == DETECTION_SHAPE
    assert onnx_cls.input_shape == CLASSIFICATION_SHAPE


def test_make_runner_dispatch_and_errors(tmp_path, detector, onnx_files):
    det = images(DETECTION_SHAPE, 2)
    keras_path = save_model(detector, tmp_path / "det.keras")
    runner = make_runner(keras_path)
    assert isinstance(runner, KerasRunner)
    assert_same(KerasRunner(detector)(det), runner(det), 1e-6)
    for framework in (None, "onnx"):
        runner = make_runner(onnx_files["detector"], framework)
        assert isinstance(runner, OnnxRunner) and runner.input_shape == DETECTION_SHAPE

    with pytest.raises(DataError, match="images of shape"):
        runner(images((64, 64, 3), 1))
    with pytest.raises(DataError, match="suffix '.pb'"):
        make_runner(tmp_path / "model.pb")
    with pytest.raises(DataError, match=".onnx files are onnx models, not keras ones"):
        make_runner(onnx_files["detector"], "keras")
    with pytest.raises(DataError, match="unknown framework 'caffe'"):
        make_runner(onnx_files["detector"], "caffe")
    with pytest.raises(DataError, match="not found"):
        make_runner(tmp_path / "missing.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"not a protobuf")
    with pytest.raises(DataError, match="cannot load"):
        make_runner(tmp_path / "broken.onnx")


# --- TensorRT --------------------------------------------------------------------------------------

def test_engine_arguments_are_checked_first(tmp_path, onnx_files):
    onnx_path = onnx_files["detector"]
    with pytest.raises(TltError, match="'fp64' is not one of"):
        build_engine(onnx_path, tmp_path / "m.engine", data_type="fp64")
    (tmp_path / "cal.bin").write_text("input_1: 3c010a14\n")
    with pytest.raises(DataError, match="not a TensorRT entropy calibration cache"):
        build_engine(onnx_path, tmp_path / "m.engine", data_type="int8", calibration_cache=tmp_path / "cal.bin")
    with pytest.raises(TltError, match="min .4. <= opt .2."):
        build_engine(onnx_path, tmp_path / "m.engine", min_batch=4, opt_batch=2)
    with pytest.raises(DataError, match="ONNX model not found"):
        build_engine(tmp_path / "missing.onnx", tmp_path / "m.engine")


def test_without_gpu_tensorrt_raises_the_reason(tmp_path, onnx_files):
    reason = gpu_status()
    if reason is None:
        pytest.skip("a CUDA GPU and TensorRT are present: the no-GPU path does not apply")
    with pytest.raises(TltError) as raised:
        build_engine(onnx_files["detector"], tmp_path / "m.engine", data_type="fp16")
    assert str(raised.value) == reason and raised.value.exit_code == 2
    assert not (tmp_path / "m.engine").exists()
    (tmp_path / "m.engine").write_bytes(b"engine")
    with pytest.raises(TltError) as raised:
        make_runner(tmp_path / "m.engine")
    assert str(raised.value) == gpu_status(inference=True)


def require_tensorrt() -> None:
    reason = gpu_status(inference=True)
    if reason:
        pytest.skip(reason)


@pytest.mark.parametrize("data_type, tolerance", [("fp32", 1e-3), ("fp16", 3e-2)])
def test_tensorrt_engine_matches_keras(tmp_path, detector, onnx_files, data_type, tolerance):
    require_tensorrt()
    engine = build_engine(onnx_files["detector"], tmp_path / f"det.{data_type}.engine", data_type=data_type,
                          opt_batch=2, max_batch=4, workspace_mb=512)
    assert engine.stat().st_size > 0
    det = images(DETECTION_SHAPE, 6, seed=7)
    keras_runner = KerasRunner(detector)
    with make_runner(engine) as runner:
        assert isinstance(runner, TensorRTRunner)
        assert (runner.name, runner.input_shape, runner.max_batch) == ("tensorrt", DETECTION_SHAPE, 4)
        for batch in (1, 3, 6):  # 6 runs as chunks of 4 and 2
            assert_same(keras_runner(det[:batch]), runner(det[:batch]), tolerance)


def test_tensorrt_classifier_matches_keras(tmp_path, classifier, onnx_files):
    require_tensorrt()
    engine = build_engine(onnx_files["classifier"], tmp_path / "cls.plan", max_batch=3, workspace_mb=512)
    cls = images(CLASSIFICATION_SHAPE, 3, seed=3)
    with TensorRTRunner(engine) as runner:
        assert_same(KerasRunner(classifier)(cls), runner(cls), 1e-3)
