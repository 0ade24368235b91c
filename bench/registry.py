"""Registry benchmark: pull a ~100 MB model from a folder and from a loopback S3 server vs a plain copy
of the same bytes (ratio, goal >= 0.8), and list a registry of 1000 models (goal < 200 ms).

    .venv/bin/python bench/registry.py [--mb 100]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import tempfile
import time
import zipfile
from pathlib import Path

from jupyter_tlt.registry import Registry
from jupyter_tlt.registry.manifest import sha256_file

NAME = "detectnet_v2_resnet50"


def fake_model(path: Path, megabytes: int) -> Path:
    """A .keras-shaped archive (config.json + incompressible weights): push checks the container, not TF."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("config.json", '{"class_name": "Functional", "config": {}}')
        zf.writestr("model.weights.h5", os.urandom(megabytes * 1_000_000))
    return path


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pull_vs_copy(registry: Registry, source: Path, work: Path, copy) -> tuple[float, float]:
    def pull():
        shutil.rmtree(work / "pulled", ignore_errors=True)
        registry.pull(NAME, "1", work / "pulled", progress=False)

    def plain():
        target = work / "copy.bin"
        target.unlink(missing_ok=True)
        copy(target)

    return best_of(3, pull), best_of(3, plain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        work = Path(tmp)
        model = fake_model(work / "model.keras", args.mb)
        size = model.stat().st_size / 1e6
        local = Registry(work / "reg")
        local.push(model, NAME, "1", progress=False)
        stored = work / "reg" / NAME / "1" / "model.keras"
        t_pull, t_copy = pull_vs_copy(local, model, work, lambda target: shutil.copyfile(stored, target))
        print(f"folder pull  {size:.0f} MB: {t_pull:.3f}s ({size / t_pull:.0f} MB/s); plain copy {t_copy:.3f}s; "
              f"ratio {t_copy / t_pull:.2f} (goal >= 0.8)")
        t_hash = best_of(3, lambda: sha256_file(stored))
        print(f"  the bound: sha256 of the file alone {t_hash:.3f}s; copy / hash = {t_copy / t_hash:.2f}")
        s3_bench(model, work, size)
        list_bench(work)


def s3_bench(model: Path, work: Path, size: float) -> None:
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    try:
        import boto3

        client = boto3.client("s3")
        client.create_bucket(Bucket="bench")
        registry = Registry("s3://bench/reg")
        registry.push(model, NAME, "1", progress=False)
        key = f"reg/{NAME}/1/model.keras"

        def plain(target: Path) -> None:  # the same bytes through the same protocol, no checks
            body = client.get_object(Bucket="bench", Key=key)["Body"]
            with open(target, "wb") as out:
                shutil.copyfileobj(body, out, 4 << 20)

        t_pull, t_copy = pull_vs_copy(registry, model, work, plain)
        print(f"s3 pull      {size:.0f} MB: {t_pull:.3f}s ({size / t_pull:.0f} MB/s); plain GET {t_copy:.3f}s; "
              f"ratio {t_copy / t_pull:.2f} (goal >= 0.8)")
        fs, path = registry.storage.fs, registry.storage.path(f"{NAME}/1/model.keras")
        t_fsspec = best_of(3, lambda: fs.get_file(path, str(work / "fsspec.bin")))
        print(f"  the bound: s3fs get_file alone (no checks) {t_fsspec:.3f}s; boto3 / s3fs = {t_copy / t_fsspec:.2f}")
    finally:
        server.stop()


def list_bench(work: Path) -> None:
    """1000 models in the index (written directly: pushing 1000 files is not what is measured)."""
    import json

    root = work / "many"
    root.mkdir()
    models = {f"model_{i:04d}": {"task": "detection", "arch": "resnet18", "input_size": [3, 384, 1248],
                                 "versions": {str(v): {"created": "2025-01-01T00:00:00+00:00", "size": 1000 + v,
                                                       "metrics": {"mAP": 0.5}, "description": ""}
                                              for v in range(1, 4)}} for i in range(1000)}
    (root / "index.json").write_text(json.dumps({"format": 1, "models": models}))
    registry = Registry(root)
    seconds = best_of(5, lambda: str(registry.models()))
    listed = len(registry.models())
    print(f"list {listed} models (incl. catalogue) and format the table: {seconds * 1000:.0f} ms (goal < 200 ms)")


if __name__ == "__main__":
    main()
