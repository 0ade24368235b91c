"""Distributed training on CPU: MirroredStrategy over 2 logical devices and a 2-worker
MultiWorkerMirroredStrategy cluster on loopback, each matching single-device training."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from train_fixtures import detection_records, detection_spec

WORKER = Path(__file__).with_name("distributed_worker.py")


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return detection_records(tmp_path_factory.mktemp("dist"), n=16)


def spec_file(tmp_path, records, batch, name):
    text = detection_spec(records, epochs=2, batch=batch).replace(
        'model_config { arch: "resnet" num_layers: 10\n}',
        'model_config { arch: "resnet" num_layers: 10 use_batch_norm: false }')
    text = text.replace("hflip_probability: 0.5", "hflip_probability: 0.0")
    # SGD, not Adam: Adam divides by the gradient's own scale, which magnifies float summation-order
    # noise on near-zero gradients into full-size steps
    text = text.replace("optimizer { adam { } }", "optimizer { sgd { momentum: 0.9 } }")
    assert "use_batch_norm: false" in text
    path = tmp_path / f"{name}.cfg"
    path.write_text(text)
    return path


def run(args, env=None):
    proc = subprocess.run([sys.executable, str(WORKER), *map(str, args)], capture_output=True,
                          text=True, timeout=900, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def losses(history):
    return np.array([h["loss"] for h in history])


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_mirrored_on_two_cpus_matches_one_device(records, tmp_path):
    single = run([spec_file(tmp_path, records, 4, "single"), tmp_path / "single", "single"])
    mirrored = run([spec_file(tmp_path, records, 2, "mirrored"), tmp_path / "mirrored", "mirrored"])
    np.testing.assert_allclose(losses(mirrored), losses(single), rtol=2e-3)


def test_two_worker_cluster_on_loopback_matches_one_device(records, tmp_path):
    single = run([spec_file(tmp_path, records, 4, "single"), tmp_path / "single", "single"])
    spec = spec_file(tmp_path, records, 2, "worker")
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                      "task": {"type": "worker", "index": index}})}
        procs.append(subprocess.Popen([sys.executable, str(WORKER), str(spec), str(tmp_path / f"w{index}"),
                                       "worker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env))
    outputs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    chief = json.loads(outputs[0][0].strip().splitlines()[-1])
    np.testing.assert_allclose(losses(chief), losses(single), rtol=2e-3)
    assert (tmp_path / "w0" / "weights" / "model.keras").exists()      # the chief writes the model
    assert not (tmp_path / "w1" / "weights" / "model.keras").exists()  # other workers write nothing
