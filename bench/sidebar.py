"""Sidebar API benchmark: a real `jupyter server` on loopback, GET tlt/api/experiments over 10, 100 and
1000 experiment folders: the index's cold scan (in this process), the server's first request once it
has settled (it scans in the background at startup), then 20 concurrent clients (median and p99;
goal: 1000 experiments < 300 ms). Then the dashboard routes under the same 20 concurrent clients:
GET lineage of the longest chain (CHAIN trainings, each from the previous run's model, then a prune
and an export) and GET compare of 2 and of 10 runs (p99; same goal).

    .venv/bin/python bench/sidebar.py [--sizes 10 100 1000] [--clients 20] [--requests 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import requests

from jupyter_tlt import lineage
from jupyter_tlt.experiment_index import ExperimentIndex
from jupyter_tlt.experiments import Experiment

EPOCHS = 40
CHAIN = 5  # runs 0-4, 5-9, ... of a project: each fine-tuned from the previous one's model
SETTLE_S = 5


def write_experiments(root: Path, count: int) -> None:
    """`count` results folders as training leaves them: experiment.json, status.jsonl, weights/, tensorboard/."""
    for i in range(count):
        task, metric = ("detection", "mAP") if i % 2 else ("classification", "accuracy")
        exp = Experiment(root / f"project_{i // 100:02d}" / f"run_{i:04d}")
        exp.start(task=task, arch="resnet18", epochs=EPOCHS, batch_size=16, spec="model_config { arch: \"resnet\" }")
        last = EPOCHS if i % 10 else EPOCHS // 2
        for epoch in range(1, last + 1):
            if epoch % 5 == 0:
                exp.log("validation", epoch=epoch, **{metric: epoch / (EPOCHS + 1), "AP_car": 0.5})
            exp.log("epoch_end", epoch=epoch, loss=1.0 / epoch, lr=1e-3, **{f"val_{metric}": epoch / (EPOCHS + 1)})
        for sub in ("weights", "tensorboard/train", "tensorboard/validation"):
            (exp.root / sub).mkdir(parents=True, exist_ok=True)
        (exp.weights_dir / f"model_epoch_{last:03d}.keras").write_bytes(b"\0" * 1024)
        if i % 10:
            exp.set_status("finished", **{metric: last / (EPOCHS + 1)})
        model = exp.weights_dir / "model.keras"
        model.write_bytes(b"\0" * 1024)
        parent = root / f"project_{(i - 1) // 100:02d}" / f"run_{i - 1:04d}" / "weights" / "model.keras"
        lineage.record(model, "train", lineage.parent_ref(parent) if i % CHAIN else None,
                       {"parameters": 11_000_000, "flops": 9_000_000_000, "size": 1024, "precision": "fp32",
                        "metrics": {metric: last / (EPOCHS + 1)}})
        if i % CHAIN == CHAIN - 1:  # the end of a chain: pruned, then exported
            (exp.root / "prune").mkdir()
            (exp.root / "export").mkdir()
            pruned, onnx = exp.root / "prune" / "model_pruned.keras", exp.root / "export" / "model.onnx"
            pruned.write_bytes(b"\0" * 512)
            onnx.write_bytes(b"\0" * 512)
            lineage.record(pruned, "prune", lineage.parent_ref(model), {"parameters": 4_000_000, "size": 512})
            lineage.record(onnx, "export", lineage.parent_ref(pruned), {"precision": "fp32", "size": 512})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, work: Path) -> tuple[subprocess.Popen, str, dict]:
    port, token = free_port(), secrets.token_hex(16)
    config = work / "jupyter_server_config.json"
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_tlt": True}}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--config={config}", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--TltExtension.experiments_root={root}", f"--ServerApp.root_dir={root}"],
        stdout=subprocess.DEVNULL, stderr=open(work / "server.log", "w"), env=env)
    base, headers = f"http://127.0.0.1:{port}/tlt/api", {"Authorization": f"token {token}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"jupyter server exited with {server.returncode}:\n{(work / 'server.log').read_text()}")
        try:
            if requests.get(f"{base}/version", headers=headers, timeout=1).status_code == 200:
                return server, base, headers
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    server.terminate()
    raise SystemExit(f"jupyter server did not answer within 60 s:\n{(work / 'server.log').read_text()}")


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    async with session.get(url) as response:
        response.raise_for_status()
        body = await response.read()
    return time.perf_counter() - start, body


async def concurrent(session: aiohttp.ClientSession, url: str, clients: int, per_client: int) -> list[float]:
    """`clients` loops of `per_client` requests each, all in flight together; every request's latency."""
    times: list[float] = []

    async def client() -> None:
        for _ in range(per_client):
            times.append((await timed_get(session, url))[0])

    await asyncio.gather(*(client() for _ in range(clients)))
    return times


async def measure(base: str, headers: dict, clients: int, per_client: int) -> dict:
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        url = f"{base}/experiments"
        cold, body = await timed_get(session, url)
        rows = json.loads(body)["experiments"]
        single = [(await timed_get(session, url))[0] for _ in range(20)]
        detail = min([(await timed_get(session, f"{base}/experiments/{rows[0]['path']}"))[0] for _ in range(5)])
        await concurrent(session, url, clients, 2)  # warm-up: connections, the server's thread pool
        times = await concurrent(session, url, clients, per_client)
        paths = sorted(row["path"] for row in rows)
        end = next(p for p in reversed(paths) if p.endswith(f"{CHAIN - 1}") or len(paths) < CHAIN)
        lineage_url = f"{base}/lineage/{end}"
        nodes = len(json.loads((await timed_get(session, lineage_url))[1])["nodes"])
        lineage_times = await concurrent(session, lineage_url, clients, per_client)
        compared = {}
        for n in (2, 10):
            query = "&".join(f"path={p}" for p in paths[:n])
            compare_times = await concurrent(session, f"{base}/compare?{query}", clients, per_client)
            compared[n] = p99(compare_times)
    return {"cold": cold, "listed": len(rows), "kb": len(body) / 1000, "single": statistics.median(single),
            "detail": detail, "median": statistics.median(times), "p99": p99(times), "requests": len(times),
            "nodes": nodes, "lineage_p99": p99(lineage_times), "compare2_p99": compared[2],
            "compare10_p99": compared[10]}


def p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, int(round(0.99 * (len(values) - 1))))]


def bench(count: int, clients: int, per_client: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sidebar-") as tmp:
        work = Path(tmp)
        root = work / "root"
        write_experiments(root, count)
        start = time.perf_counter()
        ExperimentIndex(root).summaries()
        scan = time.perf_counter() - start
        server, base, headers = start_server(root, work)
        time.sleep(SETTLE_S)  # other extensions finish starting up
        try:
            result = asyncio.run(measure(base, headers, clients, per_client))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a loaded machine: the figures are taken, end it
                server.kill()
                server.wait()
    assert result["listed"] == count, f"listed {result['listed']} of {count} experiments"
    return {"count": count, "scan": scan, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="requests per client")
    args = parser.parse_args()
    print(f"GET tlt/api/experiments on a real jupyter server (loopback, token), {os.cpu_count()} CPUs, aiohttp client; "
          f"warm: {args.clients} concurrent clients x {args.requests} requests")
    print(f"{'experiments':>11}  {'cold scan':>9}  {'first request':>13}  {'warm 1 client':>13}  {'warm median':>11}  {'warm p99':>8}  "
          f"{'answer':>8}  {'detail':>7}  {'lineage p99':>16}  {'compare 2 p99':>13}  {'compare 10 p99':>14}")
    for count in args.sizes:
        r = bench(count, args.clients, args.requests)
        print(f"{r['count']:>11}  {r['scan'] * 1000:>6.1f} ms  {r['cold'] * 1000:>10.1f} ms  {r['single'] * 1000:>10.1f} ms  "
              f"{r['median'] * 1000:>8.1f} ms  {r['p99'] * 1000:>5.1f} ms  {r['kb']:>5.0f} KB  "
              f"{r['detail'] * 1000:>4.1f} ms  {r['lineage_p99'] * 1000:>7.1f} ms ({r['nodes']} nodes)  "
              f"{r['compare2_p99'] * 1000:>10.1f} ms  {r['compare10_p99'] * 1000:>11.1f} ms", flush=True)
    print("goal: 1000 experiments answer in < 300 ms (p99 with 20 concurrent clients), lineage and compare too")


if __name__ == "__main__":
    main()
