"""The static street: road and lanes, sidewalks, markings, building facades, skyline and clouds.

Everything here lies behind every object (facades stand beyond the sidewalks, the road is on the
ground), so it is drawn first, before the depth-sorted items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .domain import Domain
from .geometry import Camera, Sketch, jitter, shade

FACADES = ((150, 70, 55), (190, 170, 140), (130, 130, 135), (215, 210, 200), (110, 85, 70),
           (150, 160, 170), (200, 180, 120), (90, 95, 105), (170, 120, 90))
POSTER_COLORS = ((196, 28, 32), (235, 235, 232), (24, 78, 170), (244, 196, 20), (20, 110, 60), (30, 30, 30))
FAR_Z = 400.0


@dataclass
class Street:
    """Lateral layout of the street in camera x (metres); the camera drives in one of the lanes."""

    lane_width: float
    lanes: int
    left: float             # x of the road's left edge
    right: float            # x of the road's right edge
    walk_left: float        # sidewalk widths
    walk_right: float
    buildings_left: bool
    buildings_right: bool
    centre_style: int       # 0 dashed white, 1 double yellow, 2 none

    @property
    def sidewalk_left(self) -> tuple[float, float]:
        return (self.left - self.walk_left, self.left)

    @property
    def sidewalk_right(self) -> tuple[float, float]:
        return (self.right, self.right + self.walk_right)

    def lane_centres(self) -> list[float]:
        return [self.left + (i + 0.5) * self.lane_width for i in range(self.lanes)]


def sample_street(rng: np.random.Generator) -> Street:
    """A random street: 2-4 lanes, sidewalks of 2-5 m, buildings or a park on either side."""
    lanes = int(rng.integers(2, 5))
    lane_w = float(rng.uniform(3.1, 3.7))
    own = int(rng.integers(lanes // 2, lanes))        # the camera keeps to the right half
    left = -(own + 0.5) * lane_w + float(rng.normal(0, 0.3))
    return Street(lane_w, lanes, left, left + lanes * lane_w, float(rng.uniform(2.0, 5.0)),
                  float(rng.uniform(2.0, 5.0)), bool(rng.random() < 0.75), bool(rng.random() < 0.75),
                  int(rng.choice(3, p=[0.5, 0.35, 0.15])))


def _ground_quad(cam: Camera, x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
    return cam.ground([x0, x1, x1, x0], [z0, z0, z1, z1])


def _ground_quads(sk: Sketch, cam: Camera, x0, x1, z0, z1, fill) -> None:
    """Many ground rectangles [x0, x1] x [z0, z1] (arrays) projected at once, one colour."""
    x0, x1, z0, z1 = (np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (x0, x1, z0, z1))
    n = len(x0)
    if n == 0:
        return
    xs = np.stack([x0, x1, x1, x0], axis=1)
    zs = np.stack([z0, z0, z1, z1], axis=1)
    flat = cam.ground(xs, zs).reshape(n, 8).tolist()
    sk.prims.extend(("P", q, fill) for q in flat)


def _near_z(cam: Camera) -> float:
    """Depth of the ground at the bottom image row, a little nearer to be safe."""
    return 0.7 * cam.f * cam.mount / max(1.0, cam.height - cam.cy)


def draw_background(rng: np.random.Generator, cam: Camera, dom: Domain, street: Street) -> Sketch:
    """Display list of the street behind all objects (the sky gradient is rasterised by render.py)."""
    sk = Sketch()
    W, H, hz = cam.width, cam.height, cam.cy
    z0 = _near_z(cam)

    for _ in range(int(rng.integers(0, 5))):     # clouds
        cx, cy = rng.uniform(0, W), rng.uniform(0, hz * 0.7)
        rx = rng.uniform(0.05, 0.2) * W
        sk.shadow_ellipse(cx, cy, rx, rx * rng.uniform(0.15, 0.35), float(rng.uniform(0.15, 0.4)),
                          (245, 245, 250))

    haze = tuple(int(0.55 * a + 0.45 * b) for a, b in zip(dom.sky_bottom, (120, 125, 135)))
    x = -rng.uniform(0, 0.05) * W
    while x < W:                                  # distant skyline
        bw = rng.uniform(0.03, 0.12) * W
        bh = rng.uniform(0.0, 0.14) * H
        if bh > 2:
            sk.poly(np.array([[x, hz - bh], [x + bw, hz - bh], [x + bw, hz + 1], [x, hz + 1]]),
                    dom.tint(jitter(rng, haze, 8)), bound=False)
        x += bw

    ground = dom.tint(dom.ground_color)
    sk.poly(np.array([[-1, hz], [W + 1, hz], [W + 1, H + 1], [-1, H + 1]]), ground, bound=False)
    grass = dom.tint(jitter(rng, (84, 116, 60), 10))
    if not street.buildings_left:
        sk.poly(_ground_quad(cam, street.left - street.walk_left - 200, street.left - street.walk_left,
                             z0, FAR_Z), grass, bound=False)
    if not street.buildings_right:
        sk.poly(_ground_quad(cam, street.right + street.walk_right, street.right + street.walk_right + 200,
                             z0, FAR_Z), grass, bound=False)

    road = dom.tint(jitter(rng, dom.road_color, 6))
    walk = dom.tint(jitter(rng, shade(dom.road_color, 1.45), 8))
    curb = dom.tint(shade(dom.road_color, 1.8))
    sk.poly(_ground_quad(cam, *street.sidewalk_left, z0, FAR_Z), walk, bound=False)
    sk.poly(_ground_quad(cam, *street.sidewalk_right, z0, FAR_Z), walk, bound=False)
    sk.poly(_ground_quad(cam, street.left, street.right, z0, FAR_Z), road, bound=False)
    for edge in (street.left, street.right):
        sk.poly(_ground_quad(cam, edge - 0.08, edge + 0.08, z0, FAR_Z), curb, bound=False)

    n = int(rng.integers(2, 8))                   # patches and stains on the asphalt
    px = rng.uniform(street.left, street.right, n)
    pz = np.exp(rng.uniform(np.log(4.0), np.log(60.0), n))
    pw, pl = rng.uniform(0.5, 2.0, n), rng.uniform(0.6, 3.0, n)
    quads = cam.ground(np.stack([px - pw / 2, px + pw / 2, px + pw / 2, px - pw / 2], axis=1),
                       np.stack([pz, pz, pz + pl, pz + pl], axis=1)).reshape(n, 8).tolist()
    shades = rng.uniform(0.85, 1.12, n).tolist()
    sk.prims.extend(("P", q, shade(road, k)) for q, k in zip(quads, shades))

    white = dom.tint((225, 225, 220))
    yellow = dom.tint((220, 180, 40))
    phase = rng.uniform(0, 9.0)
    dash_x, dash_z = [], []
    for i in range(1, street.lanes):
        xm = street.left + i * street.lane_width
        centre = i == street.lanes // 2
        if centre and street.centre_style == 1:
            _ground_quads(sk, cam, [xm - 0.18, xm + 0.06], [xm - 0.06, xm + 0.18], [z0, z0],
                          [FAR_Z, FAR_Z], yellow)
            continue
        if centre and street.centre_style == 2:
            continue
        starts = np.arange(z0 + phase - 9.0, 90.0, 9.0)
        dash_x += [xm] * len(starts)
        dash_z += starts.tolist()
    if dash_x:
        dx, dz = np.array(dash_x), np.array(dash_z)
        _ground_quads(sk, cam, dx - 0.07, dx + 0.07, np.maximum(dz, z0), dz + 3.0, white)
    edges = np.array([street.left + 0.25, street.right - 0.25])
    _ground_quads(sk, cam, edges - 0.07, edges + 0.07, [z0, z0], [FAR_Z, FAR_Z], white)
    if rng.random() < 0.3:                        # zebra crossing
        zc = float(rng.uniform(7.0, 30.0))
        xs = np.arange(street.left + 0.5, street.right - 0.5, 1.0)
        _ground_quads(sk, cam, xs, xs + 0.5, np.full(len(xs), zc), np.full(len(xs), zc + 3.0), white)
        if rng.random() < 0.5:
            sk.poly(_ground_quad(cam, street.left, street.right, zc - 1.5, zc - 1.1), white, bound=False)

    for side in (-1, 1):
        if (side < 0 and street.buildings_left) or (side > 0 and street.buildings_right):
            _facades(rng, cam, dom, sk, street, side, z0)
    return sk


def _facades(rng: np.random.Generator, cam: Camera, dom: Domain, sk: Sketch, street: Street,
             side: int, z0: float) -> None:
    """A row of buildings along one side of the street, with windows and posters (vectorised)."""
    edge = street.left - street.walk_left if side < 0 else street.right + street.walk_right
    light = 0.8 + 0.25 * (side * dom.sun_side > 0) - 0.1 * (side * dom.sun_side < 0)
    n = 28
    width = rng.uniform(6.0, 22.0, n)
    alley = rng.random(n) < 0.2
    alley_w = rng.uniform(2.0, 6.0, n)
    gap = np.where(rng.random(n) < 0.7, 0.0, rng.uniform(1.0, 4.0, n))
    xb = edge + side * rng.uniform(0.0, 2.5, n)
    height = rng.uniform(5.0, 26.0, n)
    color_i = rng.integers(len(FACADES), size=n)
    color_j = rng.integers(-10, 11, size=(n, 3))
    floor_h = rng.uniform(2.9, 3.6, n)
    col_w = rng.uniform(2.2, 4.0, n)
    reflective = rng.random(n) >= 0.7
    glass_j = rng.integers(-10, 11, size=(n, 3))
    ribbon = rng.random(n) < 0.3
    poster = rng.random(n) < 0.5
    poster_u = rng.random(n)
    poster_size = rng.uniform(0.6, 1.4, n)
    poster_y = rng.uniform(1.2, 2.8, n)
    poster_sides = rng.choice([3, 4, 12], size=n)
    poster_cols = rng.integers(len(POSTER_COLORS), size=(n, 2))

    za = []
    zz = z0 * 0.5
    for k in range(n):
        if zz >= 160.0:
            break
        if alley[k]:
            zz += alley_w[k]
            za.append(None)
            continue
        za.append(zz)
        zz += width[k] + gap[k]
    keep = [k for k, z in enumerate(za) if z is not None]
    if not keep:
        return
    kk = np.array(keep)
    a = np.array([za[k] for k in keep])
    b = a + width[kk]
    top = cam.mount - height[kk]
    x = xb[kk]
    quads = np.empty((len(kk), 4, 3))
    quads[:, :, 0] = x[:, None]
    quads[:, 0, 1] = quads[:, 3, 1] = cam.mount
    quads[:, 1, 1] = quads[:, 2, 1] = top
    quads[:, 0, 2] = quads[:, 1, 2] = a
    quads[:, 2, 2] = quads[:, 3, 2] = b
    flat = cam.project(quads.reshape(-1, 3)).reshape(len(kk), 8).tolist()

    windows, window_cols, posters, poster_fill = [], [], [], []
    budget = 160                                   # window quads per side, to bound the cost
    for j, k in enumerate(keep):
        base = FACADES[color_i[k]]
        col = tuple(int(min(255, max(0, c * light + d))) for c, d in zip(base, color_j[k]))
        sk.prims.append(("P", flat[j], dom.tint(col)))
        ys = np.arange(1.0 + floor_h[k], height[k] - 1.0, floor_h[k])
        if budget <= 0 or not len(ys):
            continue
        g = (150, 170, 190) if reflective[k] else (60, 74, 92)
        glass = dom.tint(tuple(int(min(255, max(0, c + d))) for c, d in zip(g, glass_j[k])))
        zs = np.arange(a[j] + 0.8, b[j] - 1.4, col_w[k])
        if ribbon[k] or len(ys) * len(zs) > budget or not len(zs):
            yy, z_lo, z_hi, win_h = ys, np.full(len(ys), a[j] + 0.5), np.full(len(ys), b[j] - 0.5), 1.3
        else:
            yy, zq = np.meshgrid(ys, zs, indexing="ij")
            yy, z_lo = yy.ravel(), zq.ravel()
            z_hi, win_h = z_lo + 1.2, 1.5
        m = len(yy)
        pts = np.empty((m, 4, 3))
        pts[..., 0] = x[j]
        pts[:, 0, 1] = pts[:, 3, 1] = cam.mount - yy
        pts[:, 1, 1] = pts[:, 2, 1] = cam.mount - yy - win_h
        pts[:, 0, 2] = pts[:, 1, 2] = z_lo
        pts[:, 2, 2] = pts[:, 3, 2] = z_hi
        windows.append(pts)
        window_cols += [glass] * m
        budget -= m
        if poster[k] and a[j] > 2.0:               # a poster or shop sign: a sign-like distractor
            pz = a[j] + 0.5 + poster_u[k] * max(0.1, width[k] - 2.5)
            size, py, ns = poster_size[k], poster_y[k], int(poster_sides[k])
            t = np.linspace(0, 2 * np.pi, ns + 1)[:-1] + (np.pi / 2 if ns == 3 else np.pi / 4)
            for frac, ci in ((0.5, poster_cols[k, 0]), (0.3, poster_cols[k, 1])):
                posters.append(np.stack([np.full(ns, x[j] - side * 0.02),
                                         cam.mount - py - frac * size * np.sin(t),
                                         pz + frac * size * np.cos(t)], axis=1))
                poster_fill.append(dom.tint(POSTER_COLORS[ci]))
    if windows:
        allw = np.concatenate(windows)
        wflat = cam.project(allw.reshape(-1, 3)).reshape(len(allw), 8).tolist()
        sk.prims.extend(("P", q, c) for q, c in zip(wflat, window_cols))
    for pts, fill in zip(posters, poster_fill):
        sk.prims.append(("P", cam.project(pts).ravel().tolist(), fill))


def _choice(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]
