"""REST robustness probe (issue 14): hostile and malformed requests against a real `jupyter server`, then load.

1. A corpus of malformed and hostile requests (long ids, deep JSON, huge bodies, hostile names and
   versions, traversal, odd bytes, wrong types, no token): every answer must be 4xx (400, 403, 404,
   405), none 5xx, no answer repeating a long input, and no long server log line.
2. A load of 20 concurrent clients for 30 s mixing the sidebar's real requests with malformed ones:
   requests, errors (5xx, unexpected codes, dropped connections), median and p99 latency.

The registry is a folder holding a tiny real model, plus index entries a hostile colleague added.

    .venv/bin/python bench/rest_probe.py [--clients 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebar import p99, start_server, write_experiments  # noqa: E402  (the sidebar bench's server and data)

MODEL = "classification_resnet10"
HOSTILE = ["m --version 1 --dir d\n!touch PWNED #", "$(id)", "{__import__('os').system('id')}", "a'b\"c",
           "back\\slash", "caf\u00e9", "..", "-rf", "x" * 129, "name\n", " ", "\u2028", "a/b"]
ECHO_WINDOW = 100  # an answer holding this many characters of an input in a row echoes it
MAX_LOG_LINE = 2000


def make_registry(folder: Path) -> str:
    """A folder registry with a tiny real model as version 1, and hostile entries planted in its index."""
    from jupyter_tlt.models import save_model
    from jupyter_tlt.tasks.classification.head import build_classifier
    from jupyter_tlt.registry import Registry

    model = save_model(build_classifier("resnet", 10, (32, 32, 3), 2), folder / "model.keras",
                       info={"task": "classification", "class_names": ["a", "b"], "input_shape": [3, 32, 32]})
    registry = Registry(folder / "registry")
    registry.push(model, MODEL, "1", progress=False)
    index_path = folder / "registry" / "index.json"
    index = json.loads(index_path.read_text())
    for name in HOSTILE:
        index["models"][name] = {"versions": {"1": {"size": 1}}}
    index["models"][MODEL]["versions"]["1\n!touch PWNED"] = {"size": 1}
    index_path.write_text(json.dumps(index))
    return str(folder / "registry")


def corpus() -> list[tuple[str, str, bytes | None, dict]]:
    """(method, path below tlt/api/, body, extra headers): every one malformed or hostile."""
    probes: list[tuple[str, str, bytes | None, dict]] = []
    paths = ["q" * 5000, "runs/" + "q" * 300, "../outside", "runs/../../etc", "%2e%2e/%2e%2e/etc", "//etc/passwd",
             "runs/detect%00x", "runs/%0a%0d", quote("caf\u00e9/\u6a21\u578b"), "nothing/here", "." * 300,
             "a/" * 600, quote("\u2028"), "%ff%fe", "runs\\..\\..\\etc", "~root", "project_00/run_0001/../../..",
             "q" * 60_000]
    probes += [("GET", f"experiments/{p}", None, {}) for p in paths]
    probes += [("GET", f"registry/models/{quote(n, safe='')}/versions", None, {}) for n in HOSTILE]
    probes += [("GET", f"registry/models/{n}/versions", None, {}) for n in ("n" * 5000, "nope", "%00", "%0a")]
    probes += [("GET", f"jobs/{j}", None, {}) for j in ("j" * 5000, "0123abcd", "%0a", quote("$(id)"), "..")]

    def pull(body) -> tuple[str, str, bytes, dict]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return ("POST", "registry/pull", raw, {})

    bodies: list = [b"", b"{not json", b"[1, 2]", b'"name"', b"42", b"null", b"\xff\xfe\x00",
                    b"[" * 100_000 + b"]" * 100_000, b"[" * 30_000 + b"]" * 30_000,
                    b'{"name": ' + b"{" * 5000 + b"}" * 5000 + b"}", b'{"name": 1e999999}', b"{" * 10,
                    b'{"name": "\\ud800"}', json.dumps({"name": "n" * 30_000_000}).encode(),
                    json.dumps({"name": MODEL, "dest": "d" * 100_000}).encode(), b" " * 70_000]
    bodies += [{"name": n} for n in HOSTILE]
    bodies += [{"name": MODEL, "version": v} for v in ["1\n!touch PWNED", "x" * 5000, True, 1.5, [1], {"a": 1},
                                                        "7", "$(id)", "..", ""]]
    bodies += [{"name": v} for v in [1, True, None, [MODEL], {"a": MODEL}, "", "nope", "detectnet_v2_vgg16"]]
    bodies += [{"name": MODEL, "dest": d} for d in ["d" * 5000, "../outside", "/tmp/x", "a\x00b", 7, [], "",
                                                   "x" * 300 + "/y", "..\\..\\x"]]
    probes += [pull(b) for b in bodies]
    probes += [("GET", "version", None, {"Authorization": ""}),
               ("GET", "experiments", None, {"Authorization": "token x"}),
               ("POST", "registry/pull", json.dumps({"name": MODEL}).encode(), {"Authorization": ""}),
               ("POST", "experiments", b"{}", {}), ("DELETE", "registry/models", None, {}),
               ("PUT", "registry/pull", b"{}", {})]
    return probes


async def send(session: aiohttp.ClientSession, base: str, probe) -> tuple[int, bytes]:
    """(status, answer); status 0 when the server closed the connection without an answer."""
    method, path, body, headers = probe
    try:
        async with session.request(method, f"{base}/{path}", data=body, headers=headers or None) as response:
            return response.status, await response.read()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 0, b""


def echoed(probe, answer: bytes) -> bool:
    """Whether the answer repeats a long input (its path or body) for `ECHO_WINDOW` characters or more."""
    _, path, body, _ = probe
    for given in (path.encode(), body or b""):
        middle = len(given) // 2
        if len(given) > ECHO_WINDOW and given[middle:middle + ECHO_WINDOW] in answer:
            return True
    return False


async def probe_all(base: str, headers: dict, probes) -> list[tuple[int, bytes]]:
    async with aiohttp.ClientSession(headers=headers, skip_auto_headers=["Content-Type"]) as session:
        return [await send(session, base, p) for p in probes]


LOAD = [("GET", "experiments", None, {}, 200), ("GET", "registry/models", None, {}, 200),
        ("GET", f"registry/models/{MODEL}/versions", None, {}, 200), ("GET", "version", None, {}, 200),
        ("GET", "experiments/project_00/run_0001", None, {}, 200),
        ("GET", "experiments/" + "q" * 5000, None, {}, 400),
        ("POST", "registry/pull", b"[" * 30_000 + b"]" * 30_000, {}, 400),
        ("POST", "registry/pull", json.dumps({"name": "$(id)"}).encode(), {}, 400),
        ("GET", "registry/models/nope/versions", None, {}, 404)]


async def load(base: str, headers: dict, clients: int, seconds: float) -> dict:
    times: list[float] = []
    outcomes: collections.Counter = collections.Counter()
    errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        async def client(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.monotonic() < deadline:
                *probe, expected = LOAD[i % len(LOAD)]
                start = time.perf_counter()
                status, _ = await send(session, base, probe)
                times.append(time.perf_counter() - start)
                outcomes[status] += 1
                errors += status != expected
                i += 1

        await asyncio.gather(*(client(k) for k in range(clients)))
    return {"requests": len(times), "errors": errors, "median": statistics.median(times), "p99": p99(times),
            "outcomes": dict(sorted(outcomes.items())), "rate": len(times) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-rest-probe-") as tmp:
        work = Path(tmp)
        root = work / "root"
        write_experiments(root, 20)
        os.environ["TLT_REGISTRY"] = make_registry(work)  # the server's default registry
        server, base, headers = start_server(root, work)
        try:
            probes = corpus()
            answers = asyncio.run(probe_all(base, headers, probes))
            result = asyncio.run(load(base, headers, args.clients, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=30)
        log_lines = (work / "server.log").read_text(errors="replace").splitlines()
        pwned = list(root.rglob("PWNED*")) + list(work.rglob("PWNED*"))
    statuses = collections.Counter(status for status, _ in answers)
    bad = [(p[0], p[1][:60], s) for p, (s, _) in zip(probes, answers) if not 400 <= s < 500 and s != 0]
    print(f"probe corpus: {len(probes)} malformed or hostile requests; "
          f"answers by status: {dict(sorted(statuses.items()))} "
          f"(0 = connection closed by the server before the handler)")
    print(f"  5xx: {sum(s >= 500 for s in statuses.elements())}; other than 4xx: {bad or 'none'}")
    echoes = [p[1][:40] for p, (_, answer) in zip(probes, answers) if echoed(p, answer)]
    print(f"  answers echoing a long input: {len(echoes)} {echoes or ''}; "
          f"longest server log line: {max(map(len, log_lines), default=0)} characters (limit {MAX_LOG_LINE}); "
          f"files named PWNED: {len(pwned)}")
    print(f"load: {args.clients} concurrent clients for {args.seconds:.0f} s, {len(LOAD)} request kinds "
          f"(5 valid, 4 malformed) in rotation, {os.cpu_count()} CPUs")
    print(f"  {result['requests']} requests ({result['rate']:.0f}/s), errors {result['errors']}, "
          f"median {result['median'] * 1000:.1f} ms, p99 {result['p99'] * 1000:.1f} ms; statuses {result['outcomes']}")
    failed = bool(bad) or echoes or pwned or result["errors"] \
        or max(map(len, log_lines), default=0) > MAX_LOG_LINE
    print("result:", "FAILED" if failed else "all refused cleanly (4xx), no 5xx, nothing echoed whole, no load errors")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
