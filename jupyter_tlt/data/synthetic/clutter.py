"""Unlabelled street furniture drawn in depth order with the labelled objects.

These are the distractors that make the classes non-trivial: poles and bollards look like legs or
sign poles, traffic lights and bins look like sign plates on poles, car-coloured boxes (skips,
trailers, kiosks) look like car bodies, and trees and lamp posts occlude objects behind them.
Each builder returns an Item without a label; its `occluders` are the rectangles (or ellipses) it
hides of farther objects.
"""

from __future__ import annotations

import numpy as np

from .domain import Domain
from .geometry import (HEX_FACES, Camera, Item, Sketch, hexahedron, jitter, shade, to_camera,
                       visible_faces)
from .objects import CAR_COLORS, TOPS, _face_shade, _light, _pick, _weighted

GREENS = ((52, 96, 40), (70, 120, 50), (38, 80, 44), (96, 130, 60), (60, 90, 30), (120, 110, 50))
METALS = ((120, 122, 128), (70, 72, 76), (40, 42, 46), (160, 162, 166), (48, 78, 52))


def _base(cam: Camera, x: float, z: float) -> tuple[float, float, float]:
    """Image column and row of the ground point (x, z) and the pixels-per-metre scale there."""
    u, v = cam.ground(x, z)[0]
    return float(u), float(v), cam.f / z


def _rect(cx: float, bottom: float, half_w: float, height: float) -> tuple[float, float, float, float]:
    return (cx - half_w, bottom - height, cx + half_w, bottom)


def _post(sk: Sketch, u: float, v: float, s: float, width: float, height: float, fill) -> tuple:
    box = _rect(u, v, max(0.5, width * s / 2), height * s)
    sk.poly(np.array([[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]]), fill)
    return box


def tree(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A trunk and a crown of a few overlapping ellipses."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    trunk_h = float(rng.uniform(1.8, 3.2))
    crown_r = float(rng.uniform(1.2, 2.6))
    sk.shadow_ellipse(u + 0.8 * s * dom.sun_side, v, crown_r * s, max(1.0, crown_r * s * cam.mount / z),
                      0.7 * dom.shadow_strength)
    trunk = _post(sk, u, v, s, float(rng.uniform(0.22, 0.4)), trunk_h + crown_r * 0.5,
                  dom.tint(jitter(rng, (92, 70, 50), 12)))
    green = _pick(rng, GREENS)
    cy = v - (trunk_h + crown_r * 0.8) * s
    occluders = [trunk]
    for _ in range(int(rng.integers(2, 5))):
        r = crown_r * float(rng.uniform(0.55, 0.9)) * s
        ry = r * float(rng.uniform(0.8, 1.1))
        ox, oy = rng.uniform(-0.6, 0.6) * crown_r * s, rng.uniform(-0.5, 0.4) * crown_r * s
        leaf = dom.tint(jitter(rng, shade(green, float(rng.uniform(0.8, 1.2))), 10))
        sk.ellipse(u + ox, cy + oy, r, ry, leaf)
        occluders.append((u + ox - r, cy + oy - ry, u + ox + r, cy + oy + ry, "ellipse"))
    return Item(depth=z, sketch=sk, occluders=occluders)


def lamp_post(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A tall pole with an arm over the road and a lamp head."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    col = dom.tint(_pick(rng, METALS))
    height = float(rng.uniform(6.0, 9.0))
    pole = _post(sk, u, v, s, 0.16, height, col)
    reach = float(rng.uniform(1.2, 2.2)) * (-1.0 if x > 0 else 1.0)
    arm_end = cam.project(np.array([[x + reach, cam.mount - height + 0.1, z]]))[0]
    top = cam.project(np.array([[x, cam.mount - height + 0.1, z]]))[0]
    sk.line(np.array([top, arm_end]), col, max(1.0, 0.1 * s))
    sk.ellipse(arm_end[0], arm_end[1] + 0.08 * s, 0.35 * s, 0.12 * s, dom.tint((215, 215, 200)))
    return Item(depth=z, sketch=sk, occluders=[pole])


def traffic_light(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A pole with a dark signal head and one lit lamp: a sign-like distractor."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    height = float(rng.uniform(2.6, 3.6))
    pole = _post(sk, u, v, s, 0.14, height, dom.tint((60, 62, 66)))
    head = _rect(u, v - height * s + 0.2 * s, 0.2 * s, 1.0 * s)
    sk.poly(np.array([[head[0], head[1]], [head[2], head[1]], [head[2], head[3]], [head[0], head[3]]]),
            dom.tint((28, 30, 32)))
    lit = int(rng.integers(3))
    for i, c in enumerate(((220, 40, 30), (240, 180, 20), (40, 200, 90))):
        cy = head[1] + (0.2 + 0.3 * i) * s
        sk.ellipse(u, cy, 0.11 * s, 0.11 * s, dom.tint(c if i == lit else shade(c, 0.3)))
    return Item(depth=z, sketch=sk, occluders=[pole, head])


def bollard(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A short post, sometimes with a reflective band: leg-like at a distance."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    height = float(rng.uniform(0.7, 1.2))
    col = dom.tint(_pick(rng, ((40, 40, 44), (200, 180, 40), (140, 142, 146), (200, 60, 40))))
    box = _post(sk, u, v, s, float(rng.uniform(0.12, 0.22)), height, col)
    if rng.random() < 0.6:
        y = v - height * s * 0.8
        sk.poly(np.array([[box[0], y], [box[2], y], [box[2], y + 0.08 * s], [box[0], y + 0.08 * s]]),
                dom.tint((230, 230, 230)))
    return Item(depth=z, sketch=sk, occluders=[box])


def plain_pole(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A bare pole (a sign pole without its plate)."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    box = _post(sk, u, v, s, float(rng.uniform(0.06, 0.12)), float(rng.uniform(2.2, 3.6)),
                dom.tint((150, 152, 158)))
    return Item(depth=z, sketch=sk, occluders=[box])


def bin_or_hydrant(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A litter bin, a hydrant or a post box: small coloured street furniture."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    kind = int(rng.integers(3))
    if kind == 0:
        col = dom.tint(_pick(rng, ((40, 80, 50), (70, 70, 74), (30, 60, 130))))
        box = _post(sk, u, v, s, 0.55, 0.95, col)
        _post(sk, u, v - 0.95 * s, s, 0.62, 0.08, shade(col, 0.7))
    elif kind == 1:
        col = dom.tint(_pick(rng, ((190, 30, 30), (220, 190, 30))))
        box = _post(sk, u, v, s, 0.25, 0.6, col)
        sk.ellipse(u, v - 0.6 * s, 0.13 * s, 0.1 * s, col)
        _post(sk, u, v - 0.35 * s, s, 0.42, 0.08, shade(col, 0.8))
    else:
        col = dom.tint(_pick(rng, ((200, 30, 30), (230, 190, 20), (30, 60, 140))))
        box = _post(sk, u, v, s, 0.5, 1.3, col)
        sk.ellipse(u, v - 1.3 * s, 0.25 * s, 0.12 * s, col)
    return Item(depth=z, sketch=sk, occluders=[box])


def bench(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A bench seen roughly from the front."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    col = dom.tint(_pick(rng, ((110, 80, 50), (60, 90, 60), (90, 90, 95))))
    hw = float(rng.uniform(0.7, 1.0))
    _post(sk, u - 0.8 * hw * s, v, s, 0.06, 0.45, dom.tint((50, 50, 55)))
    _post(sk, u + 0.8 * hw * s, v, s, 0.06, 0.45, dom.tint((50, 50, 55)))
    seat = _post(sk, u, v - 0.42 * s, s, 2 * hw, 0.06, col)
    back = _post(sk, u, v - 0.55 * s, s, 2 * hw, 0.35, shade(col, 0.9))
    return Item(depth=z, sketch=sk, occluders=[seat, back])


def box_vehicle(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float,
                ry: float) -> Item:
    """A car-coloured cuboid (skip, kiosk, trailer, crate stack): a car-like distractor."""
    sk = Sketch()
    l, w, h = float(rng.uniform(1.2, 3.5)), float(rng.uniform(1.0, 2.0)), float(rng.uniform(0.8, 2.2))
    col = dom.tint(jitter(rng, _weighted(rng, CAR_COLORS if rng.random() < 0.6 else
                                         [(c, 1.0) for c in TOPS]), 12))
    verts = hexahedron(-l / 2, l / 2, 0.0, h, -w / 2, w / 2)[None]
    cam_v = to_camera(verts[0], x, z, ry, cam.mount)[None]
    visible, normals = visible_faces(cam_v)
    p2 = cam.project(cam_v[0])
    light = _light(dom)
    for f in np.flatnonzero(visible[0]):
        sk.poly(p2[HEX_FACES[f]], shade(col, _face_shade(normals[0, f], light)))
    if rng.random() < 0.5 and sk.box:   # a stripe or logo
        x1, y1, x2, y2 = sk.box
        ym = y1 + (y2 - y1) * float(rng.uniform(0.3, 0.6))
        sk.poly(np.array([[x1 + 2, ym], [x2 - 2, ym], [x2 - 2, ym + (y2 - y1) * 0.08],
                          [x1 + 2, ym + (y2 - y1) * 0.08]]), dom.tint(_pick(rng, TOPS)), bound=False)
    return Item(depth=z, sketch=sk, occluders=[sk.box] if sk.box else [])


def bush(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float) -> Item:
    """A low bush or hedge segment."""
    u, v, s = _base(cam, x, z)
    sk = Sketch()
    green = _pick(rng, GREENS)
    r = float(rng.uniform(0.4, 0.9))
    for _ in range(int(rng.integers(2, 4))):
        ox = float(rng.uniform(-1.0, 1.0)) * r * s
        sk.ellipse(u + ox, v - r * s * 0.8, r * s, r * s * 0.8,
                   dom.tint(jitter(rng, shade(green, float(rng.uniform(0.8, 1.1))), 10)))
    return Item(depth=z, sketch=sk, occluders=[
        (p[1][0], p[1][1], p[1][2], p[1][3], "ellipse") for p in sk.prims])


SIDEWALK_CLUTTER = (  # builder, weight
    (bollard, 3.0), (plain_pole, 2.0), (bin_or_hydrant, 2.5), (bench, 1.0), (bush, 1.5),
    (traffic_light, 0.8),
)
