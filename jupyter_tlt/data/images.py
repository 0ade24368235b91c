"""Image files of a KITTI dataset: find them, check that they decode, read their size, load as RGB.

Box coordinates in labels refer to the stored pixel grid: EXIF orientation is ignored, as TAO's
TensorFlow decoder ignores it.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

from ..errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
"""The image formats a dataset may hold (matched case-insensitively)."""

_FIX = "re-export or remove it"


def _open(source: str | os.PathLike | bytes, path: str | os.PathLike) -> Image.Image:
    """Open an image (header only), turning every failure into DataError naming `path`."""
    try:
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        raise DataError(f"{path}: image file not found; check the path.") from None
    except PermissionError as exc:
        raise DataError(f"{path}: cannot read the image ({exc.strerror}); fix its permissions.") from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"{path}: image too large to decode safely ({exc}); {_FIX}.") from None
    except Exception as exc:  # Pillow raises many types for bad files
        raise DataError(f"{path}: not a readable image ({_reason(exc)}); {_FIX}.") from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _decode(source: str | os.PathLike | bytes, path: str | os.PathLike) -> Image.Image:
    """Open and fully decode an image; truncated or corrupt data raises DataError naming `path`."""
    # Pillow reads this module flag at decode time; with it off, a truncated file raises instead of
    # being padded with grey. jupyter-tlt never turns it on.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    img = _open(source, path)
    try:
        if img.format == "PNG":
            # verify() checks every chunk's CRC and that the file ends with IEND, which load()
            # alone does not notice when only the tail is missing.
            img.verify()
            img = _open(source, path)
        img.load()
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: corrupt or truncated image ({_reason(exc)}); {_FIX}.") from None
    return img


def check_image(path: str | os.PathLike) -> tuple[int, int]:
    """Fully decode the image at `path` and return its (width, height); raises DataError when it is
    missing, unreadable, corrupt or truncated."""
    with _decode(path, path) as img:
        return img.size


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) read from the file header only (fast; does not detect truncated data)."""
    with _open(path, path) as img:
        return img.size


def size_of_bytes(data: bytes, path: str | os.PathLike, *, decode: bool = False) -> tuple[int, int]:
    """(width, height) of an image held in memory; `path` names it in errors. With `decode`, the
    data is fully decoded so corrupt or truncated images raise DataError."""
    img = _decode(data, path) if decode else _open(data, path)
    with img:
        return img.size


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"IEND\xaeB`\x82"  # the IEND chunk type and its fixed CRC


def is_complete(data: bytes) -> bool:
    """Cheap end-of-image check without decoding: a JPEG must have an end-of-image marker after its
    last scan, a PNG an IEND chunk. Catches files cut short in a copy or download (trailing bytes
    after the end are allowed). Other formats are assumed complete; check_image decodes fully."""
    if data[:3] == b"\xff\xd8\xff":
        # markers cannot occur inside byte-stuffed scan data: complete when an end-of-image marker
        # follows every start-of-scan (searched forward and back from the last EOI, not the whole file)
        eoi = data.rfind(b"\xff\xd9")
        return eoi >= 0 and data.find(b"\xff\xda", eoi) < 0 and data.find(b"\xff\xda", 0, eoi) >= 0
    if data[:8] == _PNG_SIGNATURE:
        return data.rfind(_PNG_IEND) > 8
    return True


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode the image as an H x W x 3 uint8 RGB array. Transparency is composited on black;
    grayscale (8- or 16-bit) and palette images become RGB."""
    with _decode(path, path) as img:
        return to_rgb(img)


def to_rgb(img: Image.Image) -> np.ndarray:
    """An H x W x 3 uint8 RGB array from a decoded Pillow image of any common mode."""
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        gray = np.asarray(img)
        if mode == "F":
            gray = np.clip(gray, 0, 255)
        elif mode.startswith("I;16") or gray.max(initial=0) > 255:
            gray = np.clip(gray, 0, 65535).astype(np.uint32) >> 8  # 16-bit range to 8 bits
        gray = gray.astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode == "P" and "transparency" in img.info) or (
        mode in ("L", "RGB") and "transparency" in img.info)
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.uint16)
        alpha = rgba[:, :, 3:4]
        rgb = (rgba[:, :, :3] * alpha + 127) // 255  # composite on black
        return np.ascontiguousarray(rgb.astype(np.uint8))
    if mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))


@dataclass
class ImageScan:
    """What a directory holds: one image per stem, the stems with more than one image file, and
    files whose extension is not a supported image format (by stem)."""

    images: dict[str, Path] = field(default_factory=dict)
    duplicates: dict[str, list[Path]] = field(default_factory=dict)
    unsupported: dict[str, list[Path]] = field(default_factory=dict)


def visible_entries(directory: str | os.PathLike, what: str) -> list[os.DirEntry]:
    """The entries of `directory` sorted by name, hidden ones (`.DS_Store`, `._x.jpg`) left out;
    an unreadable directory is a DataError naming it (`what`: "image" or "label")."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        raise DataError(f"{directory}: cannot list the {what} directory ({exc.strerror}); "
                        "check the path and its permissions.") from None
    return [e for e in entries if not e.name.startswith(".")]


def scan_images(directory: str | os.PathLike) -> ImageScan:
    """Index the images of `directory` (not recursive) by file stem. Extensions are matched
    case-insensitively; hidden files (`.DS_Store`, `._x.jpg`) are skipped. When a stem has several
    image files, the first by name is kept and all are listed in `duplicates`."""
    scan = ImageScan()
    by_stem: dict[str, list[Path]] = {}
    for entry in visible_entries(directory, "image"):
        try:
            if not entry.is_file():
                continue
        except OSError:
            continue
        p = Path(entry.path)
        if p.suffix.lower() in IMAGE_EXTENSIONS:
            by_stem.setdefault(p.stem, []).append(p)
        else:
            scan.unsupported.setdefault(p.stem, []).append(p)
    for stem, paths in by_stem.items():
        scan.images[stem] = paths[0]
        if len(paths) > 1:
            scan.duplicates[stem] = paths
    return scan


def find_images(directory: str | os.PathLike) -> dict[str, Path]:
    """Map each file stem in `directory` to its image (.jpg, .jpeg, .png, any case). Two images with
    one stem (`0001.jpg` and `0001.png`) raise DataError, since a label could belong to either."""
    scan = scan_images(directory)
    if scan.duplicates:
        stem, paths = next(iter(scan.duplicates.items()))
        more = f" (and {len(scan.duplicates) - 1} more stems)" if len(scan.duplicates) > 1 else ""
        raise DataError(f"{paths[0]}: {len(paths)} images share the name '{stem}' "
                        f"({', '.join(p.name for p in paths)}){more}; keep one image per label file.")
    return scan.images


# JPEG start-of-frame markers (baseline, extended, progressive, lossless; Huffman or arithmetic).
_JPEG_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
_JPEG_STANDALONE = frozenset((0x01, 0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8))


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG frame header or a PNG IHDR chunk, read straight from the bytes
    (about 50 times cheaper than opening the image with Pillow). None for other formats or anything
    unusual (12-bit JPEG, a bad IHDR CRC, no frame header), which the caller leaves to Pillow."""
    if data[:8] == _PNG_SIGNATURE:
        if len(data) < 33 or data[12:16] != b"IHDR" or \
                zlib.crc32(data[12:29]) != int.from_bytes(data[29:33], "big"):
            return None
        width, height = struct.unpack_from(">II", data, 16)
        return (width, height) if width and height else None
    if data[:3] != b"\xff\xd8\xff":
        return None
    # Walk the marker segments up to the first scan, as Pillow does; the last frame header wins.
    size = None
    i, end = 2, len(data)
    while i + 4 <= end:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _JPEG_STANDALONE:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan
            break
        length = (data[i + 2] << 8) | data[i + 3]
        if length < 2:
            return None
        if marker in _JPEG_SOF:
            if i + 10 > end or data[i + 4] != 8 or data[i + 9] not in (1, 3, 4):
                return None  # not 8-bit grey, colour or CMYK
            height, width = struct.unpack_from(">HH", data, i + 5)
            size = (width, height) if width and height else None
        i += 2 + length
    return size
