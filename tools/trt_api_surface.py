"""Write the Python API surface of TensorRT 10 and 11 (tests/data/tensorrt_<major>_names.txt), no GPU needed.

    python tools/trt_api_surface.py            # downloads the newest 10.x and 11.x bindings wheels
    python tools/trt_api_surface.py --wheel 11=path/to/tensorrt_cu12_bindings-11....whl

tests/test_trt_api_surface.py checks every ``trt.<name>`` our TensorRT code uses on the TensorRT 10
path against the 10 list and on the 11 path against the 11 list. The names come from the compiled
module ``tensorrt_bindings/tensorrt.so`` of the ``tensorrt-cu12-bindings`` wheel (``pip download
--no-deps``), read without loading it (loading needs libnvinfer, the CUDA libraries and a driver):

- pybind11 registers each class, enum value, method and property under a C string literal whose
  address the module's code loads (``lea <addr>(%rip)``) before the registering call. ``objdump -d``
  lists those loads; the string at each address is read from the ELF file. Reading the addresses,
  not ``strings``, matters: the linker stores "INT8" as the tail of "UINT8", which ``strings`` never
  shows on its own.
- The wheel's ``__init__.py`` adds Python-level helpers (``nptype``, ``volume``), read by AST.

Each list is the set of identifiers registered, one a line: class and enum names (``BuilderFlag``),
enum values (``FP16``), methods and properties (``set_flag``, ``int8_calibrator``). Names are not
qualified by their class: the compiler reorders the inlined registration code, so the code order
does not tell reliably which class a value belongs to. The lists over-approximate (pybind11 argument
names such as ``py::arg("flag")`` appear too) but never drop a registered name: a name missing from
a list is missing from that TensorRT. Needs binutils' ``objdump`` (Debian: apt-get install binutils) and pip.
"""

from __future__ import annotations

import argparse
import ast
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
REQUIREMENTS = {10: "tensorrt-cu12-bindings>=10,<11", 11: "tensorrt-cu12-bindings>=11,<12"}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
LEA = re.compile(r"lea\s+-?0x[0-9a-f]+\(%rip\),%\w+\s+#\s+([0-9a-f]+)")


def download(requirement: str, folder: Path) -> Path:
    """The newest wheel matching ``requirement`` for this Python, fetched by pip into ``folder``."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), requirement],
                   check=True)
    return next(folder.glob("tensorrt_cu12_bindings-*.whl"))


def sections(elf: bytes) -> list[tuple[int, int, int]]:
    """(address, file offset, size) of each section of a 64-bit little-endian ELF file."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise SystemExit("tensorrt.so is not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", elf, 0x3A)
    found = []
    for i in range(shnum):
        _, _, _, addr, offset, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        if addr and size:
            found.append((addr, offset, size))
    return found


def referenced_strings(so_path: Path) -> list[str]:
    """The C strings the module's code loads by address, in code order (identifiers only)."""
    elf = so_path.read_bytes()
    table = sections(elf)

    def string_at(address: int) -> str | None:
        for start, offset, size in table:
            if start <= address < start + size:
                position = offset + address - start
                end = elf.find(b"\0", position, position + 200)
                return elf[position:end].decode("ascii", "replace") if end > position else None
        return None

    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(so_path)], check=True,
                             capture_output=True, text=True).stdout
    names = []
    for match in LEA.finditer(listing):
        text = string_at(int(match.group(1), 16))
        if text and IDENTIFIER.match(text):
            names.append(text)
    return names


def python_level_names(init_source: str) -> set[str]:
    """Functions, classes and assignments at the top of the wheel's ``__init__.py``."""
    names = set()
    for node in ast.parse(init_source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_")}


def wheel_surface(wheel: Path) -> tuple[str, set[str]]:
    """(version, names) of one bindings wheel."""
    version = wheel.name.split("-")[1]
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        so = Path(archive.extract("tensorrt_bindings/tensorrt.so", tmp))
        init = archive.read("tensorrt_bindings/__init__.py").decode()
        return version, set(referenced_strings(so)) | python_level_names(init)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", action="append", default=[], metavar="MAJOR=PATH",
                        help="use this wheel for a major version instead of downloading it")
    parser.add_argument("-o", "--output_dir", type=Path, default=DATA)
    args = parser.parse_args(argv)
    given = {int(major): Path(path) for major, path in (w.split("=", 1) for w in args.wheel)}
    with tempfile.TemporaryDirectory() as tmp:
        for major, requirement in REQUIREMENTS.items():
            wheel = given.get(major) or download(requirement, Path(tmp) / str(major))
            version, names = wheel_surface(wheel)
            out = args.output_dir / f"tensorrt_{major}_names.txt"
            out.write_text(f"# tensorrt-cu12-bindings {version}: written by tools/trt_api_surface.py\n"
                           + "".join(f"{n}\n" for n in sorted(names)))
            print(f"{out}: {len(names)} names from TensorRT {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
