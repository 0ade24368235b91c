"""bench/gpu.py (make gpu-check) on tiny settings: the CPU parts run, the GPU parts say why they were skipped.

On a machine with a GPU and TensorRT the same run builds, evaluates and times the three engines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_tlt.export.tensorrt_engine import cuda_gpu_reason, gpu_status

ROOT = Path(__file__).resolve().parent.parent
GPU_STEPS = ("build engines", "evaluate engines", "time engines")


@pytest.mark.timeout(900)
def test_gpu_check_runs_its_cpu_parts_and_names_what_it_skipped(tmp_path):
    report_path = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--tiny", "--work", str(tmp_path / "work"),
                           "--report", str(report_path)], capture_output=True, text=True, timeout=850)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    steps = report["steps"]
    for name in ("data", "train", "export", "evaluate onnx"):
        assert steps[name]["status"] == "ran"
    assert steps["train"]["images_per_s"] > 0
    assert set(report["mAP"]) >= {"onnxruntime fp32", "onnxruntime fp16", "onnxruntime int8"}
    assert all(0.0 <= value <= 1.0 for value in report["mAP"].values())
    reason = gpu_status(inference=True)
    if reason is None:  # a GPU machine: the engines were built, evaluated and timed
        assert all(steps[name]["status"] == "ran" for name in GPU_STEPS)
        assert set(report["speed"]) == {"tensorrt fp32", "tensorrt fp16", "tensorrt int8"}
        return
    for name in GPU_STEPS:
        assert steps[name] == {"status": "skipped", "reason": reason}
        assert f"{name:<18} skipped  {reason}" in done.stdout  # the table says it too
    if cuda_gpu_reason():
        assert steps["install extras"]["status"] == "skipped" and cuda_gpu_reason() in steps["install extras"]["reason"]
        assert steps["train"]["device"].startswith("CPU")
