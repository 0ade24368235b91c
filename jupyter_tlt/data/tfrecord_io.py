"""TFRecord files without TensorFlow: the record framing (length, masked CRC32C, data, masked CRC32C).

`dataset-convert` writes its shards with `RecordWriter`, so converting data neither imports
TensorFlow (seconds of start-up) nor holds the GIL in TF's writer. The files are byte-for-byte what
`tf.io.TFRecordWriter` writes (no compression); `read_records` reads them back and checks every CRC.

Each record is: uint64 length (little-endian), uint32 masked CRC32C of those 8 bytes, the data,
uint32 masked CRC32C of the data; mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 mod 2**32.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Iterator, Sequence

import google_crc32c

from ..errors import DataError

_MASK_DELTA = 0xA282EAD8
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
_BUFFER = 1 << 20  # whole records go to the file in few large writes


def _mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC32C of `data` (masking keeps a CRC of CRCs from being trivial)."""
    return _mask(google_crc32c.value(data))


def frame_record(data: bytes) -> bytes:
    """One record's bytes as they appear in a TFRecord file: header, `data`, footer."""
    length = _LENGTH.pack(len(data))
    return b"".join((length, _CRC.pack(masked_crc32c(length)), data, _CRC.pack(masked_crc32c(data))))


class RecordWriter:
    """Writes records to a new TFRecord file at `path` (truncating any file there).

    Example:
        >>> with RecordWriter("out.tfrecord") as w:
        ...     w.write(example_bytes)
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._file = open(self.path, "wb", buffering=_BUFFER)
        self.count = 0

    def write(self, data: bytes) -> None:
        """Append one record."""
        length = _LENGTH.pack(len(data))
        f = self._file
        f.write(length)
        f.write(_CRC.pack(masked_crc32c(length)))
        f.write(data)
        f.write(_CRC.pack(masked_crc32c(data)))
        self.count += 1

    def write_parts(self, parts: Sequence[bytes]) -> None:
        """Append one record whose data is the concatenation of `parts`, without joining them
        (an image of hundreds of kilobytes is copied once, into the file's buffer)."""
        length = _LENGTH.pack(sum(map(len, parts)))
        crc = 0
        for part in parts:
            crc = google_crc32c.extend(crc, part)
        f = self._file
        f.write(length)
        f.write(_CRC.pack(masked_crc32c(length)))
        for part in parts:
            f.write(part)
        f.write(_CRC.pack(_mask(crc)))
        self.count += 1

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_records(path: str | os.PathLike) -> Iterator[bytes]:
    """Yield the data of every record in the TFRecord file at `path`, checking both CRCs of each;
    a corrupt or truncated file raises DataError naming the file and the record's byte offset."""
    path = Path(path)
    with open(path, "rb") as f:
        offset = 0
        while True:
            header = f.read(12)
            if not header:
                return
            if len(header) < 12:
                raise DataError(f"{path}: truncated TFRecord file (record header at byte {offset} "
                                "is cut short); convert the dataset again.")
            length_bytes, (length_crc,) = header[:8], _CRC.unpack(header[8:])
            if masked_crc32c(length_bytes) != length_crc:
                raise DataError(f"{path}: corrupt TFRecord file (length CRC mismatch at byte "
                                f"{offset}); convert the dataset again.")
            (length,) = _LENGTH.unpack(length_bytes)
            data = f.read(length)
            footer = f.read(4)
            if len(data) < length or len(footer) < 4:
                raise DataError(f"{path}: truncated TFRecord file (record at byte {offset} is cut "
                                "short); convert the dataset again.")
            if masked_crc32c(data) != _CRC.unpack(footer)[0]:
                raise DataError(f"{path}: corrupt TFRecord file (data CRC mismatch in the record at "
                                f"byte {offset}); convert the dataset again.")
            offset += 16 + length
            yield data
