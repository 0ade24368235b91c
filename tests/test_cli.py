"""The `tlt` command line, run as users run it: real console scripts in subprocesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


from kitti_factory import conversion_spec, label_line, make_kitti

BIN = Path(sys.executable).parent


def tlt(*args, script="tlt", cwd=None):
    proc = subprocess.run([str(BIN / script), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def assert_user_error(code, out, err, *needles):
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert err.startswith("error: ")
    for needle in needles:
        assert needle in err, err


def test_help_is_fast_and_imports_no_tensorflow():
    code = ("import sys; from jupyter_tlt import commands, cli; "
            "[commands.step_parser(s).format_help() for s in commands.steps()]; "
            "commands.build_parser().format_help(); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    code, out, _ = tlt("--help")
    assert code == 0 and "dataset-convert" in out and "generate" in out
    code, out, _ = tlt("--help", script="tlt-dataset-convert")
    assert code == 0 and "--dataset_export_spec" in out and "--validation_fold" in out


def test_generate_validate_convert(tmp_path):
    code, out, err = tlt("generate", "-o", tmp_path / "src", "-n", 6, "--width", 320, "--height", 192,
                         "-q", "-j", 1)
    assert code == 0, err
    spec = tmp_path / "convert.cfg"
    spec.write_text(conversion_spec(tmp_path / "src", mapping={
        c: c for c in ("car", "pedestrian", "cyclist", "road_sign")}))
    code, out, err = tlt("dataset-validate", tmp_path / "src", "-d", spec, "-q")
    assert code == 0, err
    assert "car" in out
    code, out, err = tlt("-d", spec, "-o", tmp_path / "rec" / "kitti", "-q", script="tlt-dataset-convert")
    assert code == 0, err
    assert len(list((tmp_path / "rec").glob("kitti-fold-*"))) == 4
    code, out, err = tlt("dataset-convert", "-d", spec, "-o", tmp_path / "rec" / "kitti", "-q")
    assert_user_error(code, out, err, "already exists", "--overwrite")


def test_missing_and_malformed_spec(tmp_path):
    code, out, err = tlt("dataset-convert", "-d", tmp_path / "nope.cfg", "-o", tmp_path / "x")
    assert_user_error(code, out, err, "nope.cfg")
    bad = tmp_path / "bad.cfg"
    bad.write_text('kitti_config {\n  root_directory_pth: "x"\n}\n')
    code, out, err = tlt("dataset-convert", "-d", bad, "-o", tmp_path / "x")
    assert_user_error(code, out, err, "bad.cfg:2", "root_directory_path")


def test_bad_label_exits_2_naming_file_and_line(tmp_path):
    root = make_kitti(tmp_path / "k", {"a": [label_line("car", 1, 1, 20, 20)], "b": ["car 0 0 1 2 3"]})
    spec = tmp_path / "c.cfg"
    spec.write_text(conversion_spec(root))
    code, out, err = tlt("dataset-convert", "-d", spec, "-o", tmp_path / "rec" / "k", "-q")
    assert_user_error(code, out, err, "b.txt:1")
    assert not (tmp_path / "rec").exists() or not list((tmp_path / "rec").iterdir())
    code, out, err = tlt("dataset-validate", root, "-q")
    assert code == 2 and "b.txt:1" in out + err


def test_usage_errors_exit_2():
    code, _, err = tlt("dataset-convert")
    assert code == 2 and "required" in err
    code, _, err = tlt("no-such-step")
    assert code == 2
