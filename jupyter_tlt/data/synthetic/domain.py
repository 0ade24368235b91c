"""Imaging domains of the synthetic scene generator: light, colour, camera geometry and sensor.

A domain is everything that changes between two deployments of the same detector: the time of day
(exposure, white balance, tone curve, shadows), the camera (mounting height, tilt, lens) and the sensor
(noise, optical blur, vignetting). Scene content (which objects, how many, their looks) is the same
in every domain, so a model pretrained on "source" and fine-tuned on "target" is a real transfer.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ...errors import SpecError

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Domain:
    """Parameters of one imaging domain; every field has a physical meaning stated beside it."""

    name: str
    # Tone: out = 255 * contrast-stretch(((in/255) * brightness * white_balance[c]) ** gamma).
    brightness: float = 1.0            # exposure gain applied to the rendered radiance
    gamma: float = 1.0                 # > 1 darkens mid-tones (dusk), < 1 lifts them
    contrast: float = 1.0              # slope of the tone curve around mid-grey (128)
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-channel R, G, B gains
    saturation: float = 1.0            # 0 = grey scene palette, 1 = nominal colours
    # Camera (pinhole, no roll; the tilt is modelled as the horizon's row).
    horizon: float = 0.42              # horizon row as a fraction of the image height
    camera_height: float = 1.65        # metres above the ground (KITTI: 1.65)
    focal: float = 0.60                # focal length as a fraction of the image width
    # Sensor and optics.
    noise_sigma: float = 2.0           # additive Gaussian noise, 8-bit grey levels
    blur_sigma: float = 0.7            # optical blur (Gaussian sigma in pixels, 0 = sharp)
    vignette: float = 0.10             # darkening at the image corners (0 = none, 1 = black)
    # Light and scene palette.
    shadow_strength: float = 0.45      # opacity of cast shadows (strong sun vs overcast/dusk)
    sun_side: float = 1.0              # +1 sun from the right, -1 from the left (shadow direction)
    sky_top: RGB = (96, 148, 218)
    sky_bottom: RGB = (196, 216, 236)
    road_color: RGB = (98, 98, 104)
    ground_color: RGB = (132, 128, 118)

    def __post_init__(self) -> None:
        for field in ("white_balance", "sky_top", "sky_bottom", "road_color", "ground_color"):
            value = getattr(self, field)
            if isinstance(value, list):          # JSON round trips give lists; keep it hashable
                object.__setattr__(self, field, tuple(value))
        checks = {
            "brightness": (0.05, 4.0), "gamma": (0.2, 5.0), "contrast": (0.1, 4.0),
            "saturation": (0.0, 2.0), "horizon": (0.05, 0.8), "camera_height": (0.3, 20.0),
            "focal": (0.2, 3.0), "noise_sigma": (0.0, 64.0), "blur_sigma": (0.0, 5.0),
            "vignette": (0.0, 1.0), "shadow_strength": (0.0, 1.0), "sun_side": (-1.0, 1.0),
        }
        for field, (lo, hi) in checks.items():
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not lo <= value <= hi:
                raise SpecError(f"Domain '{self.name}': {field}={value!r} is out of range; "
                                f"use a number in [{lo}, {hi}].")
        try:
            wb_ok = len(self.white_balance) == 3 and all(0.1 <= float(g) <= 4.0 for g in self.white_balance)
        except (TypeError, ValueError):
            wb_ok = False
        if not wb_ok:
            raise SpecError(f"Domain '{self.name}': white_balance={self.white_balance!r} must be three "
                            "R, G, B gains in [0.1, 4.0].")
        for field in ("sky_top", "sky_bottom", "road_color", "ground_color"):
            value = getattr(self, field)
            try:
                ok = len(value) == 3 and all(isinstance(c, (int, np.integer)) and 0 <= c <= 255
                                             for c in value)
            except TypeError:
                ok = False
            if not ok:
                raise SpecError(f"Domain '{self.name}': {field}={value!r} must be an (R, G, B) "
                                "colour with components in [0, 255].")

    def to_dict(self) -> dict:
        """Plain-JSON form of the domain (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes) -> "Domain":
        """A copy of this domain with some fields changed (e.g. a stronger noise for a test)."""
        return dataclasses.replace(self, **changes)

    def tint(self, color: RGB) -> RGB:
        """Apply the domain's palette saturation to a nominal scene colour."""
        if self.saturation == 1.0:
            return color
        r, g, b = color
        grey = 0.299 * r + 0.587 * g + 0.114 * b
        s = self.saturation
        return tuple(max(0, min(255, int(round(grey + s * (c - grey))))) for c in (r, g, b))


SOURCE = Domain(name="source")
"""Midday, neutral white balance, a car-roof camera at KITTI's height, a clean sensor."""

TARGET = Domain(
    name="target",
    brightness=0.72, gamma=1.12, contrast=0.85, white_balance=(1.20, 0.97, 0.74), saturation=0.75,
    horizon=0.37, camera_height=1.15, focal=0.72,
    noise_sigma=7.0, blur_sigma=1.1, vignette=0.35,
    shadow_strength=0.18, sun_side=-1.0,
    sky_top=(58, 62, 112), sky_bottom=(236, 150, 104),
    road_color=(84, 80, 84), ground_color=(112, 104, 96),
)
"""Dusk: dim warm light, soft shadows, a low dash camera with a longer lens, a noisy, softer sensor."""

DOMAINS: dict[str, Domain] = {"source": SOURCE, "target": TARGET}


def resolve_domain(domain: "str | Domain") -> Domain:
    """Return the Domain named by `domain` (or `domain` itself); unknown names raise SpecError."""
    if isinstance(domain, Domain):
        return domain
    if isinstance(domain, str) and domain in DOMAINS:
        return DOMAINS[domain]
    raise SpecError(f"domain={domain!r} is unknown; use one of {', '.join(map(repr, DOMAINS))} "
                    "or a jupyter_tlt.data.synthetic.Domain instance.")
