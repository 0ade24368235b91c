"""Regenerate the committed ``*_pb2.py`` / ``*_pb2.pyi`` next to ``jupyter_tlt/spec/protos/*.proto``.

Run ``python -m jupyter_tlt.spec.build_protos`` (``make protos``) after editing a ``.proto``; it needs
``grpcio-tools`` (its bundled protoc). ``--check`` regenerates into a temporary folder and fails when
the committed descriptors differ from the ``.proto`` sources (a CI guard against a stale ``_pb2.py``).

Generated code refuses to load on a protobuf runtime older than the protoc that wrote it, so the
committed files are made with the oldest protoc we support (see ``GENCODE`` and pyproject.toml).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds jupyter_tlt/
PROTO_DIR = Path(__file__).resolve().parent / "protos"
# Protobuf version of the committed generated code: the runtime must be at least this.
GENCODE = (6, 31, 1)

_VERSION_CALL = re.compile(r"ValidateProtobufRuntimeVersion\(\s*_runtime_version\.Domain\.PUBLIC,\s*"
                           r"(\d+),\s*(\d+),\s*(\d+),")
_SERIALIZED = re.compile(rb"AddSerializedFile\((b'.*?')\)", re.S)


def proto_files() -> list[Path]:
    """The .proto sources, relative to PACKAGE_ROOT (so descriptors are named jupyter_tlt/spec/...)."""
    return sorted(p.relative_to(PACKAGE_ROOT) for p in PROTO_DIR.glob("*.proto"))


def generate(out_dir: Path) -> None:
    """Run protoc on every .proto, writing ``jupyter_tlt/spec/protos/*_pb2.py(i)`` under out_dir."""
    protos = [str(p) for p in proto_files()]
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{PACKAGE_ROOT}",
           f"--python_out={out_dir}", f"--pyi_out={out_dir}", *protos]
    try:
        done = subprocess.run(cmd, cwd=PACKAGE_ROOT, capture_output=True, text=True)
    except OSError as exc:  # pragma: no cover - interpreter vanished
        raise SystemExit(f"build_protos: cannot run protoc: {exc}") from exc
    if done.returncode != 0:
        hint = ""
        if "No module named grpc_tools" in done.stderr:
            hint = "; install it with: pip install 'grpcio-tools==1.74.0'"
        raise SystemExit(f"build_protos: protoc failed{hint}\n{done.stderr.strip()}")


def gencode_version(pb2: Path) -> tuple[int, int, int] | None:
    """The protobuf version a generated module checks for at import time."""
    match = _VERSION_CALL.search(pb2.read_text())
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


def _descriptor_blob(pb2: Path) -> bytes | None:
    match = _SERIALIZED.search(pb2.read_bytes())
    return match.group(1) if match else None


def check() -> int:
    """0 when the committed descriptors match the .proto sources, 1 (with a message) otherwise."""
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        for proto in proto_files():
            rel = proto.with_name(proto.stem + "_pb2.py")
            fresh, committed = Path(tmp) / rel, PACKAGE_ROOT / rel
            if not committed.exists() or _descriptor_blob(fresh) != _descriptor_blob(committed):
                stale.append(str(rel))
    if stale:
        print(f"stale generated code: {', '.join(stale)}; run python -m jupyter_tlt.spec.build_protos",
              file=sys.stderr)
        return 1
    print("generated code matches the .proto sources")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_tlt.spec.build_protos",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the committed _pb2.py with the .proto sources; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    generate(PACKAGE_ROOT)
    for proto in proto_files():
        pb2 = PACKAGE_ROOT / proto.with_name(proto.stem + "_pb2.py")
        version = gencode_version(pb2)
        shown = ".".join(map(str, version)) if version else "unknown"
        print(f"wrote {pb2.relative_to(PACKAGE_ROOT)} (needs protobuf >= {shown})")
        if version and version != GENCODE:
            print(f"warning: this protoc generates code for protobuf {shown}, not "
                  f"{'.'.join(map(str, GENCODE))}; use grpcio-tools==1.74.0 or update GENCODE and "
                  "the protobuf floor in pyproject.toml", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
