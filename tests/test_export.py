"""tlt export / calibration-tensorfile / convert on a tiny trained detector (real TensorFlow, ONNX Runtime)."""

from __future__ import annotations

import shutil

import onnx
import pytest

from jupyter_tlt import cli
from jupyter_tlt.evaluate import evaluate
from jupyter_tlt.export import export, gpu_status
from jupyter_tlt.export.calibration import read_cache
from jupyter_tlt.export.deepstream import read_nvinfer_config
from jupyter_tlt.infer import infer
from jupyter_tlt.models import load_model, save_model
from jupyter_tlt.model_info import onnx_info, read_info
from jupyter_tlt.train import train
from train_fixtures import detection_records, detection_spec

pytestmark = pytest.mark.filterwarnings("ignore:DetectNet_v2 input .* below:UserWarning")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    records = detection_records(root / "data", n=24)
    result = train(detection_spec(records, epochs=1), root / "run", progress=False)
    return root, result.model_path


def test_fp32_export_matches_keras_and_evaluates_the_same(trained, tmp_path, capsys):
    root, model_path = trained
    assert cli.main(["export", "-m", str(model_path), "-o", str(tmp_path / "model.onnx"), "--gen_ds_config"]) == 0
    out = capsys.readouterr().out
    assert "check vs Keras: output_cov/Sigmoid" in out and "FAILED" not in out
    graph = onnx.load(str(tmp_path / "model.onnx"))
    assert [i.name for i in graph.graph.input] == ["input_1"]
    assert [o.name for o in graph.graph.output] == ["output_cov/Sigmoid", "output_bbox/BiasAdd"]
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    info = onnx_info(tmp_path / "model.onnx")
    assert info["class_names"] == read_info(model_path)["class_names"] and info["task"] == "detection"
    config = read_nvinfer_config(tmp_path / "nvinfer_config.txt")["property"]
    assert config["onnx-file"] == "model.onnx" and config["network-mode"] == "0"
    assert (tmp_path / "labels.txt").read_text().split() == info["class_names"]

    keras_map = evaluate("detection", model_path, progress=False).metrics.mAP
    onnx_map = evaluate("detection", tmp_path / "model.onnx", results_dir=tmp_path, progress=False).metrics.mAP
    assert onnx_map == pytest.approx(keras_map, abs=1e-3)
    images = root / "data" / "kitti" / "image_2"
    result = infer("detection", tmp_path / "model.onnx", images, tmp_path / "infer", framework="onnx", progress=False)
    assert result.num_images == 24 and (tmp_path / "infer" / "labels").is_dir()


def test_fp16_is_half_the_size_and_close(trained, tmp_path):
    _, model_path = trained
    full = export(model_path, tmp_path / "fp32.onnx")
    half = export(model_path, tmp_path / "fp16.onnx", data_type="fp16")
    assert half.ok and full.ok
    assert (tmp_path / "fp16.onnx").stat().st_size <= 0.55 * (tmp_path / "fp32.onnx").stat().st_size
    inputs = onnx.load(str(tmp_path / "fp16.onnx")).graph.input
    assert inputs[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # float32 interface for DeepStream


def test_int8_from_images_and_from_a_tensorfile(trained, tmp_path, capsys):
    root, model_path = trained
    images = root / "data" / "kitti" / "image_2"
    result = export(model_path, tmp_path / "m.onnx", data_type="int8", cal_image_dir=images, batches=3,
                    batch_size=8, gen_ds_config=True)
    header, scales = read_cache(tmp_path / "cal.bin")
    assert header.startswith("TRT-") and header.endswith("-EntropyCalibration2")
    assert "input_1" in scales and all(s > 0 for s in scales.values())
    assert result.files["int8 qdq onnx"].stat().st_size < 0.4 * result.files["onnx"].stat().st_size
    config = read_nvinfer_config(tmp_path / "nvinfer_config.txt")["property"]
    assert config["network-mode"] == "1" and config["int8-calib-file"] == "cal.bin"
    # the Q/DQ graph for TensorRT (what TensorRT 11 builds int8 from): signed int8 zero points only
    trt_qdq = onnx.load(str(result.files["tensorrt int8 qdq onnx"]))
    assert result.files["tensorrt int8 qdq onnx"].name == "m_int8_trt_qdq.onnx"
    zero_points = {n.input[2] for n in trt_qdq.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")}
    assert {i.data_type for i in trt_qdq.graph.initializer if i.name in zero_points} == {onnx.TensorProto.INT8}
    ev = evaluate("detection", result.files["int8 qdq onnx"], results_dir=tmp_path, progress=False)
    assert 0.0 <= ev.metrics.mAP["moderate"] <= 1.0

    spec = tmp_path / "spec.cfg"
    spec.write_text(detection_spec(str(root / "data" / "records" / "kitti-fold-*"), epochs=1))
    assert cli.main(["calibration-tensorfile", "-e", str(spec), "-o", str(tmp_path / "cal.h5"), "-m", "2",
                     "-b", "4"]) == 0
    assert "8 calibration images" in capsys.readouterr().out
    assert cli.main(["export", "-m", str(model_path), "-o", str(tmp_path / "t" / "m.onnx"), "--data_type", "int8",
                     "--cal_data_file", str(tmp_path / "cal.h5"), "--batches", "2", "--batch_size", "4"]) == 0
    # an existing cache is reused without calibration data
    shutil.copy(tmp_path / "cal.bin", tmp_path / "reuse.bin")
    again = export(model_path, tmp_path / "r" / "m.onnx", data_type="int8", cal_cache_file=tmp_path / "reuse.bin")
    assert "int8 qdq onnx" in again.files


def test_bad_export_inputs_exit_2_with_a_message(trained, tmp_path, capsys):
    root, model_path = trained
    images = root / "data" / "kitti" / "image_2"
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("hello")
    secret = tmp_path / "secret.keras"
    save_model(load_model(model_path), secret, info=read_info(model_path), key="k1")
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        (["-m", str(model_path), "--data_type", "int8", "-o", str(tmp_path / "a.onnx")], "needs calibration data"),
        (["-m", str(model_path), "--data_type", "int8", "--cal_image_dir", str(images), "--batches", "10",
          "--batch_size", "16", "-o", str(tmp_path / "b.onnx")], "--allow_fewer"),
        (["-m", str(model_path), "--data_type", "int8", "--cal_image_dir", str(tmp_path), "-o",
          str(tmp_path / "c.onnx")], "no .jpg/.jpeg/.png images"),
        (["-m", str(model_path), "--target_opset", "9", "-o", str(tmp_path / "d.onnx")], "not supported"),
        (["-m", str(not_a_model), "-o", str(tmp_path / "e.onnx")], "not a Keras model"),
        (["-m", str(secret), "-k", "k2", "-o", str(tmp_path / "f.onnx")], "wrong key"),
        (["-m", str(model_path), "-o", str(blocker / "g.onnx")], str(blocker)),
        (["-m", str(model_path), "-o", str(tmp_path / "h.uff")], "UFF"),
        (["-m", str(model_path), "--outputs", "output_cov/Sigmoid", "-o", str(tmp_path / "i.onnx")], "--outputs"),
    ]
    for args, message in cases:
        assert cli.main(["export", *args]) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (args, err)
    assert cli.export_main([str(model_path), "-f", "uff", "--parser", "uff", "-o", str(tmp_path / "x.uff"),
                            "-k", "key"]) == 2
    assert "ONNX" in capsys.readouterr().err
    assert cli.main(["export", "-m", str(secret), "-k", "k1", "-o", str(tmp_path / "ok.onnx")]) == 0
    assert cli.main(["export", "-m", str(model_path), "--data_type", "int8", "--cal_image_dir", str(images),
                     "--batches", "10", "--batch_size", "16", "--allow_fewer", "-o", str(tmp_path / "few.onnx")]) == 0


def test_convert_without_a_gpu_says_why(trained, tmp_path, capsys):
    reason = gpu_status()
    if reason is None:
        pytest.skip("a GPU with TensorRT is present: tests/test_deployment.py builds real engines")
    _, model_path = trained
    export(model_path, tmp_path / "m.onnx")
    assert cli.converter_main([str(tmp_path / "m.onnx"), "-e", str(tmp_path / "m.engine"), "-t", "fp16"]) == 2
    assert reason in capsys.readouterr().err
    assert not (tmp_path / "m.engine").exists()


def test_compare_mixes_keras_and_exported_models_with_speed(trained, tmp_path, capsys):
    root, model_path = trained
    export(model_path, tmp_path / "m.onnx", data_type="int8", cal_image_dir=root / "data" / "kitti" / "image_2",
           batches=2, batch_size=8)
    assert cli.main(["compare", "detection", "-q", "--speed", "1", "-m", f"keras={model_path}",
                     "-m", f"onnx={tmp_path / 'm.onnx'}", "-m", f"int8={tmp_path / 'm_int8_qdq.onnx'}"]) == 0
    out = capsys.readouterr().out
    assert "img/s (ORT CPU, batch 1)" in out and "int8" in out
    assert "nan" not in out.lower() and (" kB" in out or " MB" in out)  # ONNX GFLOPs: "-"; sizes with units
    from jupyter_tlt.compare import compare

    frame = compare("detection", {"keras": model_path, "onnx": tmp_path / "m.onnx"}, progress=False).to_frame()
    assert frame.loc["onnx", "mAP moderate (%)"] == pytest.approx(frame.loc["keras", "mAP moderate (%)"], abs=0.1)
    assert frame.loc["onnx", "parameters"] == pytest.approx(frame.loc["keras", "parameters"], rel=0.01)
