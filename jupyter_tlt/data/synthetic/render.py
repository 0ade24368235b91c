"""Rasterise a scene and pass it through the domain's camera: tone, white balance, blur, vignette, noise.

Drawing is Pillow ImageDraw on one RGB image (translucent primitives through an RGBA-blending draw
on the same image); the sensor stage is a per-channel lookup table and integer numpy passes over
the whole frame, so a 960x544 frame costs a few milliseconds beyond its primitives.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageDraw

from .domain import Domain

JPEG_QUALITY = 92
PNG_COMPRESS_LEVEL = 1
NOISE_BANK_SEED = 0x5EED
NOISE_OFFSETS = 1 << 20
"""Each image adds a window of a per-process bank of Gaussian noise starting at a random offset in
[0, NOISE_OFFSETS); the bank is the same in every process, so images do not depend on `workers`."""


def draw_primitives(draw: ImageDraw.ImageDraw, blend: ImageDraw.ImageDraw, prims: list) -> None:
    """Execute a display list (see geometry.Sketch) on an image."""
    for p in prims:
        kind = p[0]
        if kind == "P":
            draw.polygon(p[1], fill=p[2])
        elif kind == "L":
            draw.line(p[1], fill=p[2], width=p[3], joint="curve" if p[3] > 2 else None)
        elif kind == "E":
            if p[3] is None:
                draw.ellipse(p[1], fill=p[2])
            else:
                draw.ellipse(p[1], fill=p[2], outline=p[3], width=p[4])
        elif kind == "S":
            blend.polygon(p[1], fill=p[2])
        elif kind == "SE":
            blend.ellipse(p[1], fill=p[2])
        else:  # pragma: no cover - a programming error, not a user error
            raise ValueError(f"unknown primitive {kind!r}")


def sky(width: int, height: int, horizon: float, dom: Domain) -> Image.Image:
    """A vertical gradient from the domain's zenith colour to its horizon colour."""
    t = np.clip(np.arange(height, dtype=np.float32) / max(horizon, 1.0), 0.0, 1.0)[:, None]
    top = np.array(dom.tint(dom.sky_top), np.float32)
    bottom = np.array(dom.tint(dom.sky_bottom), np.float32)
    col = (top + (bottom - top) * t ** 0.8).astype(np.uint8)[:, None, :]   # (H, 1, 3)
    return Image.fromarray(np.ascontiguousarray(col)).resize((width, height), Image.Resampling.NEAREST)


def rasterize(width: int, height: int, horizon: float, dom: Domain, layers: list[list]) -> Image.Image:
    """Sky gradient plus the display lists in `layers`, in order (painter's algorithm)."""
    img = sky(width, height, horizon, dom)
    draw = ImageDraw.Draw(img)
    blend = ImageDraw.Draw(img, "RGBA")
    for prims in layers:
        draw_primitives(draw, blend, prims)
    return img


@functools.lru_cache(maxsize=16)
def tone_lut(dom: Domain) -> list[int]:
    """Per-channel 8-bit lookup table: exposure and white balance, gamma, then contrast."""
    x = np.arange(256, dtype=np.float64) / 255.0
    out = []
    for gain in dom.white_balance:
        y = np.clip(x * dom.brightness * float(gain), 0.0, 1.0) ** dom.gamma
        y = 0.5 + dom.contrast * (y - 0.5)
        out.append(np.clip(np.round(y * 255.0), 0, 255).astype(np.int64))
    return np.concatenate(out).tolist()


@functools.lru_cache(maxsize=8)
def _vignette(width: int, height: int, strength: float) -> np.ndarray:
    """(H, W, 1) uint16 gain in 1/256 units: 1 at the centre, 1 - strength at the corners."""
    yy = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / ((height - 1) / 2 or 1)
    xx = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / ((width - 1) / 2 or 1)
    r2 = (xx[None, :] ** 2 + yy[:, None] ** 2) / 2.0
    return np.round(256.0 * (1.0 - strength * r2 ** 1.2)).astype(np.uint16)[..., None]


@functools.lru_cache(maxsize=8)
def _noise_bank(length: int, sigma: float) -> np.ndarray:
    """Gaussian noise (int16, standard deviation `sigma` grey levels), identical in every process."""
    gen = np.random.default_rng(NOISE_BANK_SEED)
    bank = gen.standard_normal(length + NOISE_OFFSETS, dtype=np.float32) * np.float32(sigma)
    return np.round(bank).astype(np.int16)


def blur_passes(sigma: float) -> int:
    """Number of [1, 2, 1] binomial passes whose combined Gaussian sigma is closest to `sigma`."""
    return 0 if sigma <= 0 else max(1, int(round(2.0 * sigma * sigma)))


def _binomial_blur(a: np.ndarray, passes: int) -> np.ndarray:
    """Separable [1, 2, 1]/4 blur, `passes` times, in uint16 (edges replicate)."""
    x = a.astype(np.uint16)
    for _ in range(passes):
        y = x << 1
        y[:, 1:] += x[:, :-1]
        y[:, 0] += x[:, 0]
        y[:, :-1] += x[:, 1:]
        y[:, -1] += x[:, -1]
        z = y << 1
        z[1:] += y[:-1]
        z[0] += y[0]
        z[:-1] += y[1:]
        z[-1] += y[-1]
        z += 8
        z >>= 4
        x = z
    return x


def apply_sensor(img: Image.Image, dom: Domain, rng: np.random.Generator) -> np.ndarray:
    """The domain's camera response: tone curve, optical blur, vignetting and sensor noise.

    Returns an (H, W, 3) uint8 array. Consumes exactly one draw from `rng` (the noise offset).
    """
    offset = int(rng.integers(NOISE_OFFSETS))
    arr = np.asarray(img.point(tone_lut(dom)))
    passes = blur_passes(dom.blur_sigma)
    x = _binomial_blur(arr, passes) if passes else arr
    if dom.vignette > 0:
        if x is arr:
            x = x.astype(np.uint16)
        x *= _vignette(img.width, img.height, float(dom.vignette))
        x >>= 8
    x = x.astype(np.int16)
    if dom.noise_sigma > 0:
        n = x.size
        x += _noise_bank(n, float(dom.noise_sigma))[offset:offset + n].reshape(x.shape)
    np.clip(x, 0, 255, out=x)
    return x.astype(np.uint8)


def encode(arr: np.ndarray | Image.Image, image_format: str) -> bytes:
    """JPEG (quality JPEG_QUALITY) or PNG bytes of an RGB image."""
    img = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    buf = io.BytesIO()
    if image_format == "png":
        img.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        img.save(buf, "JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()
