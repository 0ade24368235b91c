"""The bad-input corpus (tests/bad_inputs/*.toml) through the real CLI: every case exits 2 with one
`error:` line naming the file or field, no traceback, and leaves its folder exactly as it was.

A case is a TOML table: `args` (the command line after `tlt`, with placeholders), optional `base`
("train", "conv", "classify") + `replace` ([[old, new], ...]) + `append` to derive `{case}/spec.cfg`
from a good spec, optional `files` ({relative path: text}) and `kitti` ({frame: label text}, with a
real image per frame) written into the case folder, and `expect` (words the error line must hold).
Placeholders: {case} (the case folder), {out} ({case}/out, exists), {spec}, {kitti} (a good shared
dataset), {conv} (its good conversion spec), {records}, {det} and {cls} (tiny models), {images}.

Most cases run in this process through `jupyter_tlt.cli.main` (one TensorFlow import for all); a
sample runs through the `tlt` console script to check the process's exit status and stderr too.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from jupyter_tlt import cli
from kitti_factory import conversion_spec, label_line, make_kitti, write_image
from train_fixtures import detection_spec

CORPUS = Path(__file__).parent / "bad_inputs"
CLASSES = ["car", "pedestrian"]
SUBPROCESS_EVERY = 40  # every 40th case also runs as a real `tlt` process


def load_cases() -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(CORPUS.glob("*.toml")):
        for name, case in tomllib.loads(path.read_text(encoding="utf-8")).items():
            cases.append((f"{path.stem}/{name}", case))
    return cases


CASES = load_cases()


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> dict[str, str]:
    """A good dataset, records, specs, images and two tiny models, made once for all cases."""
    from jupyter_tlt.data.convert import dataset_convert
    from jupyter_tlt.models import save_model
    from jupyter_tlt.tasks.classification.head import build_classifier
    from jupyter_tlt.tasks.detectnet_v2.head import build_detectnet

    root = tmp_path_factory.mktemp("shared")
    frames = {f"{i:04d}": [label_line("car", 5 + i, 5, 40 + i, 30), label_line("pedestrian", 50, 10, 70, 50)]
              for i in range(8)}
    kitti = make_kitti(root / "kitti", frames)
    conv = root / "conv.cfg"
    conv.write_text(conversion_spec(kitti))
    dataset_convert(str(conv), root / "records" / "kitti", progress=False, workers=1)
    records = f"{root}/records/kitti-fold-*"
    train_text = detection_spec(records, epochs=1, classes=CLASSES)
    (root / "train.cfg").write_text(train_text)
    det = build_detectnet("resnet", 10, (64, 96, 3), len(CLASSES))
    save_model(det, root / "det.keras", info={"task": "detection", "class_names": CLASSES,
                                              "input_shape": [64, 96, 3], "spec": train_text})
    cls = build_classifier("resnet", 10, (32, 32, 3), 2)
    save_model(cls, root / "cls.keras", info={"task": "classification", "class_names": ["a", "b"],
                                              "input_shape": [32, 32, 3]})
    for i in range(3):
        write_image(root / "images" / f"im{i}.jpg", seed=i)
    classify = ('model_config { arch: "resnet" n_layers: 10 input_image_size: "3,32,32" }\n'
                f'train_config {{ train_dataset_path: "{root}/images" val_dataset_path: "{root}/images" '
                'batch_size_per_gpu: 4 n_epochs: 1 learning_rate: 0.01 }\n')
    (root / "classify.cfg").write_text(classify)
    return {"kitti": str(kitti), "conv": str(conv), "records": records, "det": str(root / "det.keras"),
            "cls": str(root / "cls.keras"), "images": str(root / "images"), "root": str(root),
            "base:train": train_text, "base:conv": conv.read_text(), "base:classify": classify}


def prepare(case: dict, folder: Path, shared: dict[str, str]) -> list[str]:
    """Write the case's files into `folder` and return its argv."""
    names = {k: v for k, v in shared.items() if ":" not in k}
    names.update(case=str(folder), out=str(folder / "out"), spec=str(folder / "spec.cfg"))
    (folder / "out").mkdir(parents=True)

    def fill(text: str) -> str:
        for key, value in names.items():
            text = text.replace("{" + key + "}", value)
        return text

    if "base" in case:
        text = shared["base:" + case["base"]]
        for old, new in case.get("replace", []):
            assert fill(old) in text, f"replace target {old!r} is not in the {case['base']} spec"
            text = text.replace(fill(old), fill(new))
        (folder / "spec.cfg").write_text(text + fill(case.get("append", "")))
    for i, (frame, labels) in enumerate(case.get("kitti", {}).items()):
        write_image(folder / "kitti" / "image_2" / f"{frame}.jpg", seed=i)
        (folder / "kitti" / "label_2").mkdir(parents=True, exist_ok=True)
        (folder / "kitti" / "label_2" / f"{frame}.txt").write_bytes(fill(labels).encode("utf-8"))
    for relative, text in case.get("files", {}).items():
        path = folder / fill(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fill(text))
    return [fill(arg) for arg in shlex.split(case["args"])]


def tree_hash(folder: Path) -> str:
    """Names, sizes and contents of everything under `folder` (directories included)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_in_process(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.err


def run_as_process(argv: list[str]) -> tuple[int, str]:
    tlt = Path(sys.executable).with_name("tlt")
    done = subprocess.run([str(tlt), *argv], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return done.returncode, done.stderr


@pytest.mark.parametrize("index", range(len(CASES)), ids=[name for name, _ in CASES])
def test_bad_input(index, shared, tmp_path, capsys):
    name, case = CASES[index]
    argv = prepare(case, tmp_path / "case", shared)
    before = tree_hash(tmp_path / "case")
    runner = run_as_process if index % SUBPROCESS_EVERY == 0 else (lambda a: run_in_process(a, capsys))
    code, err = runner(argv)
    assert code == 2, f"{name}: exit {code}, stderr:\n{err}"
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith(("error:", "tlt", "usage:")) and "error:" in line]
    assert len(lines) == 1, f"{name}: expected one error line, got:\n{err}"
    for word in case["expect"]:
        assert word.lower() in lines[0].lower(), f"{name}: {word!r} missing from: {lines[0]}"
    assert tree_hash(tmp_path / "case") == before, f"{name}: the case folder changed"


def test_the_corpus_is_large_and_names_are_unique():
    assert len(CASES) >= 150
    assert len({name for name, _ in CASES}) == len(CASES)
