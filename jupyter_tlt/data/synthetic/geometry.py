"""Camera model, object-to-camera transforms and the display list that render.py executes.

Coordinates follow KITTI's camera frame: x to the right, y down, z forward, metres; the ground is the
plane y = camera height. Objects are modelled in a local frame (x' forward along the heading, y' up,
z' across) placed at a ground point with a yaw `ry` (KITTI rotation_y):
camera x = x + cos(ry) x' + sin(ry) z',  camera z = z - sin(ry) x' + cos(ry) z'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

NEAR_Z = 0.3
"""Points nearer than this (metres) are pushed to it before the perspective divide."""

# A hexahedron's vertices: bottom (y' = lo) then top (y' = hi), each ordered
# (x-, z-), (x+, z-), (x+, z+), (x-, z+). Each face lists its corners as p00, p10, p11, p01 so that
# face-local (u, v) coordinates run along the bottom edge (u) and upwards (v).
HEX_FACES = np.array([
    [0, 3, 2, 1],  # bottom
    [4, 5, 6, 7],  # top
    [0, 1, 5, 4],  # side z-
    [1, 2, 6, 5],  # end x+ (front of a vehicle)
    [2, 3, 7, 6],  # side z+
    [3, 0, 4, 7],  # end x- (rear of a vehicle)
])
FACE_BOTTOM, FACE_TOP, FACE_SIDE_NEG, FACE_FRONT, FACE_SIDE_POS, FACE_REAR = range(6)


@dataclass(frozen=True)
class Camera:
    """Pinhole camera with no roll; the tilt is folded into the principal row `cy` (the horizon)."""

    width: int
    height: int
    f: float          # focal length, pixels
    cx: float         # principal column
    cy: float         # horizon row
    mount: float      # height above the ground, metres

    def project(self, pts: np.ndarray) -> np.ndarray:
        """Project (N, 3) camera-frame points to (N, 2) pixel coordinates."""
        k = self.f / np.maximum(pts[:, 2], NEAR_Z)
        out = np.empty((len(pts), 2))
        np.multiply(pts[:, 0], k, out=out[:, 0])
        np.multiply(pts[:, 1], k, out=out[:, 1])
        out[:, 0] += self.cx
        out[:, 1] += self.cy
        return out

    def ground_row(self, z: float) -> float:
        """Image row of the ground at depth z."""
        return self.cy + self.f * self.mount / max(z, NEAR_Z)

    def ground(self, x, z) -> np.ndarray:
        """Project ground points given their x and z (arrays of equal shape) to (N, 2) pixels."""
        x = np.asarray(x, dtype=np.float64).ravel()
        k = self.f / np.maximum(np.asarray(z, dtype=np.float64).ravel(), NEAR_Z)
        out = np.empty((len(x), 2))
        out[:, 0] = self.cx + x * k
        out[:, 1] = self.cy + self.mount * k
        return out

    def column_x(self, u: float, z: float) -> float:
        """Lateral position x at depth z that projects to image column u."""
        return (u - self.cx) * z / self.f


def to_camera(local: np.ndarray, x: float, z: float, ry: float, mount: float,
              base: float = 0.0) -> np.ndarray:
    """Place (N, 3) local points (x' forward, y' up, z' across) at ground point (x, z) with yaw ry.

    `base` lifts the local origin above the ground (metres), e.g. a sign plate on its pole.
    """
    c, s = math.cos(ry), math.sin(ry)
    out = np.empty_like(local, dtype=np.float64)
    out[:, 0] = x + c * local[:, 0] + s * local[:, 2]
    out[:, 1] = mount - base - local[:, 1]
    out[:, 2] = z - s * local[:, 0] + c * local[:, 2]
    return out


def hexahedron(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float,
               tx0: float | None = None, tx1: float | None = None,
               tz0: float | None = None, tz1: float | None = None,
               ty_front: float | None = None) -> np.ndarray:
    """(8, 3) local vertices of a box whose top face may be narrower (a cabin) or sloped (a hood)."""
    tx0 = x0 if tx0 is None else tx0
    tx1 = x1 if tx1 is None else tx1
    tz0 = z0 if tz0 is None else tz0
    tz1 = z1 if tz1 is None else tz1
    yf = y1 if ty_front is None else ty_front
    return np.array([
        [x0, y0, z0], [x1, y0, z0], [x1, y0, z1], [x0, y0, z1],
        [tx0, y1, tz0], [tx1, yf, tz0], [tx1, yf, tz1], [tx0, y1, tz1],
    ], dtype=np.float64)


def visible_faces(cam_verts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Back-face culling of K hexahedra given as (K, 8, 3) camera-frame vertices.

    Returns (visible (K, 6) bool, unit outward normals (K, 6, 3)).
    """
    faces = cam_verts[:, HEX_FACES]                       # (K, 6, 4, 3)
    # The cross product of the diagonals is normal to a planar quad even if one edge is degenerate.
    a = faces[:, :, 2] - faces[:, :, 0]
    b = faces[:, :, 3] - faces[:, :, 1]
    normal = np.empty_like(a)
    normal[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    normal[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    normal[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    centre = faces.mean(axis=2)
    body = cam_verts.mean(axis=1, keepdims=True)
    flip = np.einsum("kfi,kfi->kf", normal, centre - body) < 0
    normal = np.where(flip[..., None], -normal, normal)
    normal /= np.maximum(np.linalg.norm(normal, axis=2, keepdims=True), 1e-12)
    visible = np.einsum("kfi,kfi->kf", normal, -centre) > 1e-9
    return visible, normal


def bilerp(quad: np.ndarray, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
    """(4, 2) sub-quad of a projected face quad (corners p00, p10, p11, p01) in face (u, v) units."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = quad.tolist()
    out = []
    for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1)):
        w0, w1, w2, w3 = (1 - u) * (1 - v), u * (1 - v), u * v, (1 - u) * v
        out.append((w0 * ax + w1 * bx + w2 * cx + w3 * dx, w0 * ay + w1 * by + w2 * cy + w3 * dy))
    return np.array(out)


def shade(color, k: float) -> tuple[int, int, int]:
    """Scale an RGB colour by k, clipped to 8 bits."""
    return (min(255, max(0, int(color[0] * k))), min(255, max(0, int(color[1] * k))),
            min(255, max(0, int(color[2] * k))))


def jitter(rng: np.random.Generator, color, amount: int = 12) -> tuple[int, int, int]:
    """A colour with a little random variation per channel."""
    d = rng.integers(-amount, amount + 1, size=3).tolist()
    return (min(255, max(0, color[0] + d[0])), min(255, max(0, color[1] + d[1])),
            min(255, max(0, color[2] + d[2])))


@dataclass
class Sketch:
    """A display list of 2-D primitives plus the bounding box of the opaque ones.

    Primitives are tuples executed by render.draw_primitives:
      ("P", flat_xy, fill)                    polygon
      ("E", (x0, y0, x1, y1), fill, outline, width)  ellipse (fill or outline may be None)
      ("L", flat_xy, fill, width)             polyline
      ("S", flat_xy, (r, g, b, a))            translucent polygon (a shadow, haze)
      ("SE", (x0, y0, x1, y1), (r, g, b, a))  translucent ellipse
    Translucent primitives never count towards the box.
    """

    prims: list = field(default_factory=list)
    x1: float = math.inf
    y1: float = math.inf
    x2: float = -math.inf
    y2: float = -math.inf

    def _grow(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.x1 = min(self.x1, x0)
        self.y1 = min(self.y1, y0)
        self.x2 = max(self.x2, x1)
        self.y2 = max(self.y2, y1)

    def poly(self, pts: np.ndarray, fill, bound: bool = True) -> None:
        flat = pts.ravel().tolist()
        if bound:
            xs, ys = flat[0::2], flat[1::2]
            self._grow(min(xs), min(ys), max(xs), max(ys))
        self.prims.append(("P", flat, fill))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill=None, outline=None,
                width: float = 1.0, bound: bool = True) -> None:
        rx, ry = max(rx, 0.5), max(ry, 0.5)
        box = (cx - rx, cy - ry, cx + rx, cy + ry)
        if bound:
            self._grow(*box)
        self.prims.append(("E", box, fill, outline, max(1, int(round(width)))))

    def line(self, pts: np.ndarray, fill, width: float, bound: bool = True) -> None:
        flat = pts.ravel().tolist()
        if bound:
            h = width / 2
            xs, ys = flat[0::2], flat[1::2]
            self._grow(min(xs) - h, min(ys) - h, max(xs) + h, max(ys) + h)
        self.prims.append(("L", flat, fill, max(1, int(round(width)))))

    def shadow(self, pts: np.ndarray, alpha: float, color=(0, 0, 0)) -> None:
        """A translucent polygon (black by default: a cast shadow); not part of the box."""
        if alpha > 0:
            self.prims.append(("S", pts.ravel().tolist(), (*color, int(255 * min(alpha, 1.0)))))

    def shadow_ellipse(self, cx: float, cy: float, rx: float, ry: float, alpha: float,
                       color=(0, 0, 0)) -> None:
        """A translucent ellipse (black by default); not part of the box."""
        if alpha > 0:
            rx, ry = max(rx, 0.5), max(ry, 0.5)
            self.prims.append(("SE", (cx - rx, cy - ry, cx + rx, cy + ry),
                               (*color, int(255 * min(alpha, 1.0)))))

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        if self.x1 > self.x2:
            return None
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass
class Label:
    """The 3-D part of a KITTI label: class, dimensions (h, w, l), bottom-centre location, yaw."""

    cls: str
    h: float
    w: float
    l: float
    x: float
    y: float
    z: float
    ry: float

    @property
    def alpha(self) -> float:
        """KITTI observation angle: rotation_y minus the ray's azimuth, wrapped to [-pi, pi)."""
        return wrap_angle(self.ry - math.atan2(self.x, self.z))


@dataclass
class Item:
    """Something drawn in painter's order: a labelled object or a piece of clutter."""

    depth: float
    sketch: Sketch
    label: Label | None = None
    # What it hides of farther things: (x1, y1, x2, y2) rectangles, or (x1, y1, x2, y2, "ellipse")
    # for the ellipse inscribed in that box.
    occluders: list = field(default_factory=list)

    @property
    def box(self):
        return self.sketch.box


def wrap_angle(a: float) -> float:
    """Wrap an angle to [-pi, pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi
