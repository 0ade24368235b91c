"""Our TensorRT code uses only names that exist in the TensorRT version each path is for, checked without a GPU.

tests/data/tensorrt_{10,11}_names.txt are the names the real Python bindings of TensorRT 10.x and
11.x register (tools/trt_api_surface.py reads them from the tensorrt-cu12-bindings wheels). This test
walks jupyter_tlt/export/tensorrt_engine.py and jupyter_tlt/runners.py by AST: code in functions
named ``_tensorrt10_*`` is the TensorRT 10 path, ``_tensorrt11_*`` the TensorRT 11 path, everything
else runs on both. Every ``trt.<name>`` chain (``trt.BuilderFlag.FP16``) and every attribute used
on a TensorRT object (``config.int8_calibrator``, ``context.execute_async_v3``) must be in the list
of each version its code runs on.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SOURCES = [ROOT / "jupyter_tlt" / "export" / "tensorrt_engine.py", ROOT / "jupyter_tlt" / "runners.py"]
# Variables (or ``self._<name>``) that hold TensorRT objects in our code.
TRT_OBJECTS = {"builder", "network", "config", "parser", "profile", "engine", "context", "runtime", "logger",
               "tensor"}
VERSIONS = (10, 11)


def names(major: int) -> set[str]:
    lines = (DATA / f"tensorrt_{major}_names.txt").read_text().splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def path_of(function_name: str, inherited: tuple[int, ...]) -> tuple[int, ...]:
    for major in VERSIONS:
        if function_name.startswith(f"_tensorrt{major}_"):
            return (major,)
    return inherited


def trt_chain(node: ast.Attribute) -> list[str] | None:
    """['BuilderFlag', 'FP16'] for ``trt.BuilderFlag.FP16``; None for other attributes."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not (isinstance(node, ast.Name) and node.id == "trt"):
        return None
    parts.reverse()
    return parts[:parts.index("__version__") + 1] if "__version__" in parts else parts  # then str methods


def trt_object_attribute(node: ast.Attribute) -> str | None:
    """``execute_async_v3`` for ``context.execute_async_v3`` or ``self._context.execute_async_v3``."""
    owner = node.value
    if isinstance(owner, ast.Name) and owner.id in TRT_OBJECTS:
        return node.attr
    if (isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self"
            and owner.attr.lstrip("_") in TRT_OBJECTS):
        return node.attr
    return None


def uses(source: Path) -> list[tuple[tuple[int, ...], str, int]]:
    """(versions, dotted name, line) of every TensorRT name used in ``source``."""
    found = []

    def visit(node: ast.AST, versions: tuple[int, ...]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            versions = path_of(node.name, versions)
        if isinstance(node, ast.Attribute):
            chain = trt_chain(node)
            if chain is not None:
                found.append((versions, ".".join(chain), node.lineno))
                return  # the chain's inner attributes are part of it
            attribute = trt_object_attribute(node)
            if attribute is not None:
                found.append((versions, attribute, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child, versions)

    visit(ast.parse(source.read_text()), VERSIONS)
    return found


def missing(major: int, used: list[tuple[tuple[int, ...], str, int]], source: Path) -> list[str]:
    known = names(major)
    return [f"{source.name}:{line}: {name}" for versions, name, line in used
            if major in versions and not all(part in known for part in name.split("."))]


@pytest.mark.parametrize("major", VERSIONS)
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_every_tensorrt_name_exists_in_its_version(source, major):
    assert missing(major, uses(source), source) == []


def test_the_paths_use_what_their_version_needs():
    used = {name: versions for versions, name, _ in uses(SOURCES[0])}
    assert used["BuilderFlag.INT8"] == used["BuilderFlag.FP16"] == used["IInt8EntropyCalibrator2"] == (10,)
    assert used["int8_calibrator"] == (10,)
    assert used["NetworkDefinitionCreationFlag.STRONGLY_TYPED"] == (11,)
    runner = {name for _, name, _ in uses(SOURCES[1])}
    assert {"set_input_shape", "set_tensor_address", "execute_async_v3", "get_tensor_name", "num_io_tensors",
            "get_tensor_mode"} <= runner


def test_the_check_catches_the_apis_tensorrt_11_removed():
    """The TensorRT 10 path read against the TensorRT 11 list fails on exactly what 11 removed."""
    source = SOURCES[0]
    as_if_shared = [((10, 11), name, line) for versions, name, line in uses(source) if 10 in versions]
    reported = {entry.split(": ", 1)[1] for entry in missing(11, as_if_shared, source)}
    assert {"BuilderFlag.FP16", "int8_calibrator", "IInt8EntropyCalibrator2", "set_calibration_profile"} <= reported
    # names the lists agree on (a removed enum value such as INT8 survives as DataType.INT8)
    for name in ("FP16", "int8_calibrator", "IInt8EntropyCalibrator2", "platform_has_fast_fp16"):
        assert name in names(10) and name not in names(11)
    for name in ("execute_async_v3", "set_tensor_address", "STRONGLY_TYPED", "OnnxParser", "nptype"):
        assert name in names(10) and name in names(11)
