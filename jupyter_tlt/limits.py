"""The ranges of the numbers users give: batch sizes, counts, input sizes and memory per batch.

Checked up front, before any file is written or TensorFlow builds anything, so that `-b 0` or
`output_image_width: 100000` is one clear sentence instead of a TensorFlow traceback (or a first
step that runs out of memory after a minute). The maxima are documented in the README.
"""

from __future__ import annotations

import os

from .errors import RangeError

MAX_BATCH_SIZE = 4096        # per step and device; TensorFlow's int32 shapes overflow far above
MAX_IMAGE_SIDE = 4096        # pixels, width or height of a model input (TAO's largest is 1920)
MAX_COUNT = 1_000_000        # images to generate, calibration batches, workers...
# Training memory per input value (float32 activations kept for the gradient, and their gradients):
# a deliberately low estimate, so that only a batch that certainly cannot fit is refused; a ResNet
# backbone keeps several times more.
TRAIN_BYTES_PER_INPUT_VALUE = 64 * 4


def require_int(value, flag: str, low: int = 1, high: int = MAX_COUNT) -> int:
    """`value` as an int within [low, high]; RangeError naming `flag` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) and not (
            isinstance(value, float) and value.is_integer()):
        raise RangeError(f"{flag} must be a whole number, got {value!r}; pass an integer such as {max(low, 1)}")
    value = int(value)
    if not low <= value <= high:
        bound = f">= {low}" if value < low else f"<= {high:,}"
        raise RangeError(f"{flag} must be {bound}, got {value:,}; pass a value from {low} to {high:,}")
    return value


def require_batch(value, flag: str = "-b/--batch_size") -> int:
    """A batch size: 1 to MAX_BATCH_SIZE."""
    return require_int(value, flag, 1, MAX_BATCH_SIZE)


def image_side_problem(value: int, multiple: int = 1) -> str | None:
    """Why `value` cannot be a model input side (None when it can)."""
    if value > MAX_IMAGE_SIDE:
        return f"must be <= {MAX_IMAGE_SIDE} pixels (the documented maximum)"
    if multiple > 1 and value % multiple:
        below, above = value - value % multiple, value - value % multiple + multiple
        return (f"must be a multiple of {multiple} (the backbone's stride); use {below or above}"
                + (f" or {above}" if below else ""))
    return None


def available_memory() -> int | None:
    """Bytes of memory available now (Linux' MemAvailable, else free pages), None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def training_batch_bytes(batch: int, height: int, width: int, channels: int) -> int:
    """Estimated peak memory of one training step."""
    return batch * height * width * channels * TRAIN_BYTES_PER_INPUT_VALUE


def check_batch_memory(batch: int, height: int, width: int, channels: int, field: str,
                       available: int | None = None) -> None:
    """RangeError naming `field` when one training batch would not fit in the available memory."""
    available = available_memory() if available is None else available
    need = training_batch_bytes(batch, height, width, channels)
    if available is None or need <= available:
        return
    fits = max(1, batch * available // need)
    raise RangeError(f"{field}: a batch of {batch} images of {width}x{height}x{channels} needs about "
                     f"{need / 2**30:.1f} GiB to train but {available / 2**30:.1f} GiB are available; lower "
                     f"the batch size (about {fits} fits) or the input size")
