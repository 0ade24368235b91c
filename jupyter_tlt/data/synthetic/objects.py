"""The four labelled object classes, each built as a display list from a small 3-D model.

Cars are three hexahedra (lower body, cabin, wheel blocks) projected exactly, with windows, lights and
wheels on their visible faces, so their look follows the viewing angle (front, rear, side, three-quarter).
Pedestrians and cyclists are articulated stick models (limbs as thick strokes, torso and head as
polygons and ellipses) posed in 3-D and projected. Road signs are a pole and a plate of one of several
shapes with a symbol; the labelled box of a road sign is its plate (the pole is drawn, not boxed).
The 2-D box of every object is the extent of what is actually drawn, not the projected 3-D box.
"""

from __future__ import annotations

import math

import numpy as np

from .domain import Domain
from .geometry import (FACE_FRONT, FACE_REAR, FACE_SIDE_NEG, FACE_SIDE_POS, FACE_TOP, HEX_FACES,
                       Camera, Item, Label, Sketch, bilerp, hexahedron, jitter, shade, to_camera,
                       visible_faces, wrap_angle)

CLASSES = ("car", "pedestrian", "cyclist", "road_sign")

# Car body styles: weight, (h range), (w range), (l range), cabin inset front / rear (fraction of l),
# windscreen / rear-window rake (fraction of l), belt line (fraction of h), hood drop (m),
# wheel radius (m), ground clearance (m).
CAR_STYLES = {
    "sedan": (0.38, (1.38, 1.52), (1.70, 1.86), (4.20, 4.90), 0.30, 0.21, 0.16, 0.10, 0.56, 0.09, 0.31, 0.18),
    "hatch": (0.24, (1.42, 1.58), (1.64, 1.80), (3.55, 4.20), 0.29, 0.04, 0.16, 0.06, 0.57, 0.08, 0.30, 0.17),
    "suv": (0.26, (1.62, 1.86), (1.80, 1.98), (4.30, 4.90), 0.23, 0.04, 0.12, 0.03, 0.58, 0.06, 0.36, 0.25),
    "van": (0.12, (1.90, 2.30), (1.85, 2.02), (4.80, 5.60), 0.11, 0.01, 0.08, 0.01, 0.50, 0.03, 0.34, 0.22),
}
CAR_COLORS = (  # colour, weight
    ((232, 232, 228), 3.0), ((188, 190, 195), 3.0), ((118, 120, 126), 2.0), ((28, 29, 33), 3.0),
    ((36, 52, 108), 1.5), ((150, 24, 28), 1.5), ((202, 44, 36), 1.0), ((34, 82, 58), 0.7),
    ((198, 184, 150), 0.7), ((226, 182, 38), 0.5), ((70, 122, 182), 1.0), ((96, 62, 40), 0.4),
)
SKIN = ((236, 196, 170), (214, 164, 128), (178, 122, 84), (122, 82, 56), (86, 58, 40))
HAIR = ((30, 24, 20), (70, 46, 28), (130, 92, 52), (200, 170, 110), (150, 150, 150), (110, 40, 20))
TOPS = ((200, 30, 40), (30, 60, 150), (240, 240, 235), (25, 25, 28), (230, 200, 40), (40, 120, 60),
        (120, 120, 125), (240, 120, 30), (120, 50, 130), (90, 150, 210), (150, 110, 70), (235, 150, 170))
BOTTOMS = ((40, 60, 100), (30, 30, 34), (110, 110, 115), (180, 160, 120), (70, 50, 40), (60, 80, 60))
SHOES = ((25, 25, 25), (230, 230, 230), (90, 60, 40), (60, 60, 70))
BIKE_COLORS = ((200, 30, 30), (30, 30, 30), (230, 230, 230), (30, 90, 170), (60, 140, 60),
               (220, 200, 40), (130, 130, 135), (240, 110, 20))
HELMETS = ((230, 230, 230), (200, 30, 30), (30, 30, 30), (30, 90, 170), (240, 200, 0), (60, 160, 60))

GLASS = (38, 48, 60)
_COS12 = np.cos(np.linspace(0, 2 * math.pi, 13)[:-1])
_SIN12 = np.sin(np.linspace(0, 2 * math.pi, 13)[:-1])
TYRE = (24, 24, 26)
TRIM = (34, 34, 37)


def _light(dom: Domain) -> np.ndarray:
    v = np.array([0.55 * dom.sun_side, -1.0, -0.35])
    return v / np.linalg.norm(v)


def _face_shade(normal: np.ndarray, light: np.ndarray) -> float:
    return 0.62 + 0.45 * max(0.0, float(normal @ light))


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _weighted(rng: np.random.Generator, pairs):
    w = np.array([p[1] for p in pairs], dtype=np.float64)
    return pairs[int(rng.choice(len(pairs), p=w / w.sum()))][0]


def _ground_shadow(sk: Sketch, cam: Camera, dom: Domain, local: np.ndarray, x: float, z: float,
                   ry: float, alpha: float, offset: float = 0.0) -> None:
    pts = to_camera(local, x, z, ry, cam.mount)
    pts[:, 0] += offset
    sk.shadow(cam.project(pts), alpha)


# --------------------------------------------------------------------------------------------- car

def car(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float, ry: float) -> Item:
    """A car of a random style and colour standing on the ground at (x, z), heading yaw ry."""
    names = list(CAR_STYLES)
    weights = np.array([CAR_STYLES[n][0] for n in names])
    style = CAR_STYLES[names[int(rng.choice(len(names), p=weights / weights.sum()))]]
    _, hr, wr, lr, fin, rin, rkf, rkr, belt, hood, rad, clear = style
    h, w, l = (float(rng.uniform(*r)) for r in (hr, wr, lr))
    b = belt * h
    color = dom.tint(jitter(rng, _weighted(rng, CAR_COLORS), 10))
    glass = dom.tint(jitter(rng, GLASS, 8))
    light = _light(dom)
    s = cam.f / z

    wheel_x = (l / 2 - 0.19 * l, -l / 2 + 0.2 * l)
    wheel_z = w / 2 - 0.14
    hexes = [hexahedron(wx - 0.85 * rad, wx + 0.85 * rad, 0.0, 2 * rad, wz - 0.11, wz + 0.11)
             for wx in wheel_x for wz in (-wheel_z, wheel_z)]
    hexes.append(hexahedron(-l / 2, l / 2, clear, b, -w / 2, w / 2,
                            tz0=-w / 2 + 0.05, tz1=w / 2 - 0.05, ty_front=b - hood))
    cx0, cx1 = -l / 2 + rin * l, l / 2 - fin * l
    hexes.append(hexahedron(cx0, cx1, b - 0.03, h, -w / 2 + 0.07, w / 2 - 0.07,
                            tx0=cx0 + rkr * l, tx1=cx1 - rkf * l, tz0=-w / 2 + 0.18, tz1=w / 2 - 0.18))
    local = np.stack(hexes)
    cam_v = to_camera(local.reshape(-1, 3), x, z, ry, cam.mount).reshape(-1, 8, 3)
    visible, normals = visible_faces(cam_v)
    p2 = cam.project(cam_v.reshape(-1, 3)).reshape(-1, 8, 2)

    sk = Sketch()
    foot = np.array([[-l / 2 - 0.2, 0, -w / 2 - 0.15], [l / 2 + 0.2, 0, -w / 2 - 0.15],
                     [l / 2 + 0.2, 0, w / 2 + 0.15], [-l / 2 - 0.2, 0, w / 2 + 0.15]])
    _ground_shadow(sk, cam, dom, foot, x, z, ry, 0.85 * dom.shadow_strength, 0.45 * dom.sun_side)
    _ground_shadow(sk, cam, dom, foot * [0.97, 1, 0.9], x, z, ry, 0.35)

    tyre = dom.tint(TYRE)
    # Each wheel block shows the face turned most towards the camera (the rest is hidden by the
    # body or too small to matter): dark patches under the bumpers, tyre treads from the side.
    view = -cam_v[:4].mean(axis=1)
    facing = np.einsum("kfi,ki->kf", normals[:4], view)
    for k in range(4):
        f = int(np.argmax(facing[k]))
        sk.poly(p2[k][HEX_FACES[f]], shade(tyre, _face_shade(normals[k, f], light)))
    body_k, cab_k = 4, 5
    for f in np.flatnonzero(visible[body_k]):
        sk.poly(p2[body_k][HEX_FACES[f]], shade(color, _face_shade(normals[body_k, f], light)))

    trim = dom.tint(TRIM)
    for f in np.flatnonzero(visible[body_k]):
        quad = p2[body_k][HEX_FACES[f]]
        if f in (FACE_SIDE_NEG, FACE_SIDE_POS):
            sk.poly(bilerp(quad, 0.0, 1.0, 0.0, 0.14), trim)
            door = bilerp(quad, 0.5, 0.5, 0.12, 0.95)[[0, 3]]
            sk.line(door, shade(color, 0.55), max(1.0, 0.025 * s), bound=False)
            side = -1.0 if f == FACE_SIDE_NEG else 1.0
            rings = np.empty((4, 12, 3))
            for j, (wx, frac) in enumerate(((wheel_x[0], 1.0), (wheel_x[0], 0.55),
                                            (wheel_x[1], 1.0), (wheel_x[1], 0.55))):
                rings[j, :, 0] = wx + frac * rad * _COS12
                rings[j, :, 1] = rad + frac * rad * _SIN12
            rings[..., 2] = side * (w / 2 + 0.01)
            p_rings = cam.project(to_camera(rings.reshape(-1, 3), x, z, ry, cam.mount)).reshape(4, 12, 2)
            hub = dom.tint((150, 150, 155))
            for j in range(4):
                sk.poly(p_rings[j], tyre if j % 2 == 0 else hub)
        elif f == FACE_REAR:
            sk.poly(bilerp(quad, 0.0, 1.0, 0.0, 0.2), trim)
            red = dom.tint((190, 20, 24))
            sk.poly(bilerp(quad, 0.03, 0.22, 0.58, 0.85), red)
            sk.poly(bilerp(quad, 0.78, 0.97, 0.58, 0.85), red)
            sk.poly(bilerp(quad, 0.37, 0.63, 0.28, 0.48), dom.tint((225, 225, 215)))
        elif f == FACE_FRONT:
            sk.poly(bilerp(quad, 0.0, 1.0, 0.0, 0.22), trim)
            lamp = dom.tint((235, 235, 215))
            sk.poly(bilerp(quad, 0.04, 0.24, 0.55, 0.82), lamp)
            sk.poly(bilerp(quad, 0.76, 0.96, 0.55, 0.82), lamp)
            sk.poly(bilerp(quad, 0.30, 0.70, 0.30, 0.70), trim)

    for f in np.flatnonzero(visible[cab_k]):
        quad = p2[cab_k][HEX_FACES[f]]
        sk.poly(quad, shade(color, _face_shade(normals[cab_k, f], light)))
        if f == FACE_TOP:
            continue
        if f in (FACE_SIDE_NEG, FACE_SIDE_POS):
            sk.poly(bilerp(quad, 0.07, 0.93, 0.1, 0.86), glass)
            pillar = bilerp(quad, 0.52, 0.52, 0.05, 0.9)[[0, 3]]
            sk.line(pillar, shade(color, 0.7), max(1.0, 0.07 * s), bound=False)
        elif f == FACE_FRONT:
            sk.poly(bilerp(quad, 0.05, 0.95, 0.06, 0.92), shade(glass, 1.15))
        elif f == FACE_REAR:
            sk.poly(bilerp(quad, 0.08, 0.92, 0.12, 0.88), glass)

    ry = wrap_angle(ry)
    item = Item(depth=z, sketch=sk, label=Label("car", h, w, l, x, cam.mount, z, ry))
    if sk.box:
        item.occluders.append(sk.box)
    return item


# ------------------------------------------------------------------------------------- people

def _torso(sk: Sketch, bottom: np.ndarray, top: np.ndarray, w_bottom: float, w_top: float, fill) -> None:
    """A quadrilateral torso around the projected spine bottom -> top, half-widths in pixels."""
    d = top - bottom
    n = math.hypot(d[0], d[1])
    perp = np.array([1.0, 0.0]) if n < 1.0 else np.array([-d[1], d[0]]) / n
    if perp[0] < 0:
        perp = -perp
    pts = np.array([bottom - perp * w_bottom, bottom + perp * w_bottom,
                    top + perp * w_top, top - perp * w_top])
    sk.poly(pts, fill)


def _extent(a: float, b: float, ry: float) -> float:
    """Camera-x half-extent of a horizontal ellipse with half-axes b (along x') and a (along z')."""
    return math.hypot(b * math.cos(ry), a * math.sin(ry))


def pedestrian(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float, ry: float) -> Item:
    """A walking or standing person with varied build, clothing, hair and accessories."""
    child = rng.random() < 0.1
    H = float(rng.uniform(1.05, 1.4) if child else rng.uniform(1.55, 1.95))
    amp = float(rng.uniform(0.0, 0.1) if rng.random() < 0.3 else rng.uniform(0.25, 0.5))
    phase = float(rng.uniform(0, 2 * math.pi))
    skin = dom.tint(jitter(rng, _pick(rng, SKIN), 8))
    hair = dom.tint(jitter(rng, _pick(rng, HAIR), 8))
    top = dom.tint(jitter(rng, _pick(rng, TOPS), 18))
    bottom = dom.tint(jitter(rng, _pick(rng, BOTTOMS), 14))
    shoes = dom.tint(_pick(rng, SHOES))
    s = cam.f / z

    hip_y, thigh, shin = 0.52 * H, 0.245 * H, 0.25 * H
    pts = {}
    for name, sgn in (("l", -1.0), ("r", 1.0)):
        th = amp * math.sin(phase) * sgn
        knee = np.array([thigh * math.sin(th), hip_y - thigh * math.cos(th)])
        ths = th - 0.9 * max(0.0, -th)
        foot = knee + shin * np.array([math.sin(ths), -math.cos(ths)])
        pts["hip" + name] = (0.0, hip_y, sgn * 0.05 * H)
        pts["knee" + name] = (knee[0], knee[1], sgn * 0.05 * H)
        pts["foot" + name] = (foot[0], foot[1], sgn * 0.05 * H)
        ps = -0.8 * amp * math.sin(phase) * sgn
        sh = np.array([0.0, 0.81 * H])
        elbow = sh + 0.17 * H * np.array([math.sin(ps), -math.cos(ps)])
        hand = elbow + 0.16 * H * np.array([math.sin(ps + 0.25), -math.cos(ps + 0.25)])
        pts["sh" + name] = (0.0, sh[1], sgn * 0.135 * H)
        pts["elbow" + name] = (elbow[0], elbow[1], sgn * 0.15 * H)
        pts["hand" + name] = (hand[0], hand[1], sgn * 0.145 * H)
    pts["pelvis"] = (0.0, hip_y, 0.0)
    pts["chest"] = (0.0, 0.80 * H, 0.0)
    pts["neck"] = (0.0, 0.86 * H, 0.0)
    pts["head"] = (0.01 * H, 0.932 * H, 0.0)
    pts["front"] = (0.1 * H, 0.7 * H, 0.0)
    pts["back"] = (-0.1 * H, 0.7 * H, 0.0)
    pts["bag"] = (-0.09 * H, 0.68 * H, 0.0)
    names = list(pts)
    local = np.array([pts[n] for n in names])
    lift = 0.015 * H - min(pts["footl"][1], pts["footr"][1])
    local[:, 1] += lift
    cam_pts = to_camera(local, x, z, ry, cam.mount)
    p2 = dict(zip(names, cam.project(cam_pts)))
    depth = dict(zip(names, cam_pts[:, 2]))

    sk = Sketch()
    sk.shadow_ellipse(*cam.ground(x + 0.3 * dom.sun_side, z)[0], 0.35 * H * s,
                      max(1.0, 0.35 * H * s * cam.mount / z), 0.8 * dom.shadow_strength)
    near_leg = "l" if depth["hipl"] < depth["hipr"] else "r"
    far_leg = "r" if near_leg == "l" else "l"
    facing_away = depth["back"] < depth["front"]
    leg_w = max(1.0, 0.075 * H * s)
    arm_w = max(1.0, 0.05 * H * s)
    short_sleeves = rng.random() < 0.35
    dress = (not child) and rng.random() < 0.15
    backpack = rng.random() < 0.25
    coat = rng.random() < 0.2

    def leg(side: str) -> None:
        sk.line(np.array([p2["hip" + side], p2["knee" + side], p2["foot" + side]]), bottom, leg_w)
        fx, fy = p2["foot" + side]
        rx = max(1.0, (0.05 * abs(math.cos(ry)) + 0.03) * H * s)
        sk.ellipse(fx + 0.02 * H * s * math.cos(ry), fy, rx, max(1.0, 0.02 * H * s), shoes)

    def arm(side: str) -> None:
        upper = np.array([p2["sh" + side], p2["elbow" + side]])
        lower = np.array([p2["elbow" + side], p2["hand" + side]])
        sk.line(upper, top, arm_w)
        sk.line(lower, skin if short_sleeves else top, arm_w * 0.9)
        hx, hy = p2["hand" + side]
        sk.ellipse(hx, hy, arm_w * 0.6, arm_w * 0.7, skin)

    def bag() -> None:
        bx, by = p2["bag"]
        sk.ellipse(bx, by, 0.09 * H * s, 0.12 * H * s, dom.tint((60, 60, 70)))

    leg(far_leg)
    leg(near_leg)
    if dress:
        hip_w = _extent(0.11 * H, 0.08 * H, ry) * s
        knee_mid = (p2["kneel"] + p2["kneer"]) / 2
        _torso(sk, knee_mid, p2["pelvis"], hip_w * 1.5, hip_w, top if coat else bottom)
    sh_first = "l" if depth["shl"] > depth["shr"] else "r"
    arm(sh_first)
    if backpack and not facing_away:
        bag()
    torso_bottom = (p2["kneel"] + p2["kneer"]) / 2 * 0.35 + p2["pelvis"] * 0.65 if coat else p2["pelvis"]
    _torso(sk, torso_bottom, p2["chest"], _extent(0.10 * H, 0.075 * H, ry) * s,
           _extent(0.12 * H, 0.065 * H, ry) * s, top)
    sk.line(np.array([p2["chest"], p2["neck"]]), skin, max(1.0, 0.05 * H * s))
    if backpack and facing_away:
        bag()
    hx, hy = p2["head"]
    hr = 0.062 * H * s
    sk.ellipse(hx, hy, hr, hr * 1.15, skin)
    if facing_away:
        sk.ellipse(hx, hy - 0.1 * hr, hr * 1.05, hr * 1.1, hair)
    else:
        back_dir = p2["back"][0] - p2["front"][0]
        # Hair sits towards the back of the head: offset along the image direction of the back.
        off = math.copysign(0.35 * hr * min(1.0, abs(back_dir) / (0.2 * H * s + 1e-9)), back_dir)
        sk.ellipse(hx + off, hy - 0.45 * hr, hr * 0.95, hr * 0.7, hair)
    arm("r" if sh_first == "l" else "l")

    ry = wrap_angle(ry)
    w = float(rng.uniform(0.5, 0.72)) * H / 1.75
    l_ = float(0.45 + 0.5 * amp + rng.uniform(0.0, 0.2)) * H / 1.75
    item = Item(depth=z, sketch=sk, label=Label("pedestrian", H, w, l_, x, cam.mount, z, ry))
    if sk.box:
        item.occluders.append(sk.box)
    return item


def _knee(hip: np.ndarray, foot: np.ndarray, thigh: float, shin: float) -> np.ndarray:
    """2-link inverse kinematics in the (x', y') plane; the knee bends forward (+x')."""
    d = foot - hip
    dist = max(1e-6, min(float(np.hypot(*d)), 0.999 * (thigh + shin)))
    a = (thigh ** 2 - shin ** 2 + dist ** 2) / (2 * dist)
    hgt = math.sqrt(max(0.0, thigh ** 2 - a ** 2))
    u = d / max(1e-6, float(np.hypot(*d)))
    perp = np.array([-u[1], u[0]])
    if perp[0] < 0:
        perp = -perp
    return hip + u * a + perp * hgt


def cyclist(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float, ry: float) -> Item:
    """A person riding a two-wheeled bicycle: wheels, frame, handlebar and a pedalling rider."""
    k = float(rng.uniform(0.93, 1.08))
    r = float(rng.uniform(0.32, 0.36))
    frame_col = dom.tint(jitter(rng, _pick(rng, BIKE_COLORS), 10))
    top = dom.tint(jitter(rng, _pick(rng, TOPS), 18))
    bottom = dom.tint(jitter(rng, _pick(rng, BOTTOMS), 14))
    skin = dom.tint(_pick(rng, SKIN))
    helmet = dom.tint(_pick(rng, HELMETS)) if rng.random() < 0.6 else dom.tint(_pick(rng, HAIR))
    phase = float(rng.uniform(0, 2 * math.pi))
    s = cam.f / z

    bb = np.array([0.0, r - 0.06])
    hip = np.array([-0.2, 1.0 * k])
    pts = {
        "rear": (-0.52, r, 0.0), "front": (0.53, r, 0.0), "bb": (bb[0], bb[1], 0.0),
        "seat": (-0.2, 0.93 * k, 0.0), "headtube": (0.42, 0.9 * k, 0.0),
        "barl": (0.46, 1.0 * k, -0.22), "barr": (0.46, 1.0 * k, 0.22),
        "pelvis": (hip[0], hip[1], 0.0), "chest": (0.16, 1.43 * k, 0.0),
        "head": (0.27, 1.62 * k, 0.0), "shl": (0.16, 1.42 * k, -0.18), "shr": (0.16, 1.42 * k, 0.18),
        "back": (-0.3, 1.3 * k, 0.0), "fwd": (0.5, 1.3 * k, 0.0),
    }
    for name, sgn, ph in (("l", -1.0, phase), ("r", 1.0, phase + math.pi)):
        foot = bb + 0.17 * np.array([math.cos(ph), math.sin(ph)])
        knee = _knee(hip, foot, 0.46 * k, 0.46 * k)
        pts["hip" + name] = (hip[0], hip[1], sgn * 0.1)
        pts["knee" + name] = (knee[0], knee[1], sgn * 0.12)
        pts["foot" + name] = (foot[0], foot[1], sgn * 0.12)
        pts["elbow" + name] = (0.33, 1.2 * k, sgn * 0.25)
    names = list(pts)
    cam_pts = to_camera(np.array([pts[n] for n in names]), x, z, ry, cam.mount)
    p2 = dict(zip(names, cam.project(cam_pts)))
    depth = dict(zip(names, cam_pts[:, 2]))

    sk = Sketch()
    foot = np.array([[-0.9, 0, -0.35], [0.9, 0, -0.35], [0.9, 0, 0.35], [-0.9, 0, 0.35]])
    _ground_shadow(sk, cam, dom, foot, x, z, ry, 0.75 * dom.shadow_strength, 0.4 * dom.sun_side)
    near = "l" if depth["hipl"] < depth["hipr"] else "r"
    far = "r" if near == "l" else "l"
    leg_w = max(1.0, 0.13 * s)
    tyre_w = max(1.0, 0.05 * s)

    def leg(side: str) -> None:
        sk.line(np.array([p2["hip" + side], p2["knee" + side], p2["foot" + side]]), bottom, leg_w)

    leg(far)
    for hub in ("rear", "front"):
        hx, hy = p2[hub]
        rx = max(r * abs(math.cos(ry)), 0.03) * s
        if rx <= tyre_w * 1.2:
            sk.ellipse(hx, hy, max(rx, tyre_w / 2), r * s, dom.tint(TYRE))
        else:
            sk.ellipse(hx, hy, rx, r * s, None, dom.tint(TYRE), tyre_w)
            sk.ellipse(hx, hy, max(1.0, 0.04 * s), max(1.0, 0.04 * s), dom.tint((140, 140, 145)))
    fw = max(1.0, 0.04 * s)
    frame = np.array([p2["rear"], p2["bb"], p2["seat"], p2["rear"]])
    sk.line(frame, frame_col, fw)
    sk.line(np.array([p2["seat"], p2["headtube"], p2["bb"]]), frame_col, fw)
    sk.line(np.array([p2["headtube"], p2["front"]]), frame_col, fw)
    sk.line(np.array([p2["barl"], p2["headtube"], p2["barr"]]), dom.tint((40, 40, 40)), fw)
    leg(near)
    _torso(sk, p2["pelvis"], p2["chest"], _extent(0.16, 0.11, ry) * s * k,
           _extent(0.19, 0.1, ry) * s * k, top)
    hx, hy = p2["head"]
    hr = 0.11 * s * k
    sk.ellipse(hx, hy, hr, hr * 1.1, skin)
    sk.ellipse(hx, hy - 0.3 * hr, hr * 1.12, hr * 0.85, helmet)
    arm_w = max(1.0, 0.085 * s)
    for side in (far, near):
        sk.line(np.array([p2["sh" + side], p2["elbow" + side], p2["bar" + side]]), top, arm_w)

    ry = wrap_angle(ry)
    h = 1.62 * k + 0.12 * k
    item = Item(depth=z, sketch=sk, label=Label("cyclist", h, float(rng.uniform(0.55, 0.7)),
                                                float(rng.uniform(1.65, 1.85)), x, cam.mount, z, ry))
    if sk.box:
        item.occluders.append(sk.box)
    return item


# ---------------------------------------------------------------------------------- road signs

SIGN_KINDS = (("circle", 0.34), ("triangle", 0.22), ("rect", 0.22), ("octagon", 0.08),
              ("diamond", 0.07), ("yield", 0.07))
SEVEN_SEG = {  # segments: a (top), b (upper right), c (lower right), d (bottom), e, f, g (middle)
    "0": "abcdef", "3": "abcdg", "5": "acdfg", "6": "acdefg", "7": "abc", "8": "abcdefg", "2": "abdeg",
}
SEG_LINES = {"a": ((-1, 1), (1, 1)), "b": ((1, 1), (1, 0)), "c": ((1, 0), (1, -1)),
             "d": ((-1, -1), (1, -1)), "e": ((-1, -1), (-1, 0)), "f": ((-1, 0), (-1, 1)),
             "g": ((-1, 0), (1, 0))}


def _polygon_uv(n: int, radius: float, rot: float = 0.0) -> np.ndarray:
    t = rot + np.linspace(0, 2 * math.pi, n + 1)[:-1]
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)


def road_sign(rng: np.random.Generator, cam: Camera, dom: Domain, x: float, z: float, ry: float) -> Item:
    """A pole with a plate (circle, triangle, rectangle, octagon, diamond) carrying a symbol.

    The labelled 3-D box is the plate: location y is the plate's bottom edge, h and w its size.
    """
    kinds = [k for k, _ in SIGN_KINDS]
    kind = kinds[int(rng.choice(len(kinds), p=np.array([p for _, p in SIGN_KINDS])))]
    size = float(rng.uniform(0.6, 0.95))
    pole_h = float(rng.uniform(1.9, 2.6))
    s = cam.f / z
    white, red, black = dom.tint((235, 235, 232)), dom.tint((196, 28, 32)), dom.tint((20, 20, 22))
    blue, yellow = dom.tint((24, 78, 170)), dom.tint((244, 196, 20))

    shapes: list[tuple[np.ndarray, tuple]] = []   # (uv polygon in metres, colour); first = outline
    lines: list[tuple[np.ndarray, tuple, float]] = []
    R = size / 2
    if kind == "circle":
        variant = int(rng.integers(4))
        outline = _polygon_uv(20, R)
        if variant == 0:       # speed limit
            shapes += [(outline, red), (_polygon_uv(20, 0.76 * R), white)]
            digits = _pick(rng, ("30", "50", "60", "70", "80", "20"))
            for i, ch in enumerate(digits):
                cx = (-0.27 + 0.54 * i) * R
                for seg in SEVEN_SEG.get(ch, "abcdefg"):
                    (a0, b0), (a1, b1) = SEG_LINES[seg]
                    lines.append((np.array([[cx + a0 * 0.17 * R, b0 * 0.36 * R],
                                            [cx + a1 * 0.17 * R, b1 * 0.36 * R]]), black, 0.09 * R))
        elif variant == 1:     # no entry
            shapes += [(outline, red), (np.array([[-0.65, -0.16], [0.65, -0.16], [0.65, 0.16],
                                                  [-0.65, 0.16]]) * R, white)]
        elif variant == 2:     # mandatory direction
            arrow = np.array([[-0.14, -0.6], [0.14, -0.6], [0.14, 0.1], [0.38, 0.1], [0.0, 0.6],
                              [-0.38, 0.1], [-0.14, 0.1]]) * R
            if rng.random() < 0.5:   # pointing sideways (u and v swapped)
                arrow = arrow[:, ::-1]
            shapes += [(outline, blue), (arrow, white)]
        else:                  # no parking
            shapes += [(outline, red), (_polygon_uv(20, 0.78 * R), blue)]
            lines.append((np.array([[-0.55, 0.55], [0.55, -0.55]]) * R, red, 0.16 * R))
    elif kind in ("triangle", "yield"):
        up = 1.0 if kind == "triangle" else -1.0
        tri = _polygon_uv(3, 0.62 * size, math.pi / 2 * up)
        tri[:, 1] -= up * 0.12 * size
        inner = tri * 0.66
        shapes += [(tri, red), (inner, white)]
        if kind == "triangle":
            if rng.random() < 0.5:
                lines.append((np.array([[0.0, 0.17], [0.0, -0.07]]) * size, black, 0.07 * size))
                shapes.append((_polygon_uv(8, 0.04 * size) + [0.0, -0.17 * size], black))
            else:
                lines.append((np.array([[-0.18, -0.16], [-0.06, 0.05], [0.06, -0.1], [0.18, 0.1]])
                              * size, black, 0.05 * size))
    elif kind == "rect":
        wide = rng.random() < 0.35
        hw, hh = (size * rng.uniform(0.8, 1.1), size * 0.45) if wide else (R, R * rng.uniform(1.0, 1.25))
        rect = np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]])
        if wide:
            shapes.append((rect, dom.tint((20, 110, 60))))
            for j in range(int(rng.integers(2, 4))):
                yy = hh * (0.5 - 0.45 * j)
                end = rng.uniform(0.1, 0.8) * hw
                lines.append((np.array([[-0.8 * hw, yy], [end, yy]]), white, 0.16 * hh))
        else:
            shapes.append((rect, blue))
            if rng.random() < 0.5:   # "P"
                lines.append((np.array([[-0.3 * hw, -0.65 * hh], [-0.3 * hw, 0.65 * hh]]), white, 0.28 * hw))
                shapes.append((_polygon_uv(14, 0.34 * hw) * [1, 0.9] + [0.05 * hw, 0.3 * hh], white))
                shapes.append((_polygon_uv(14, 0.14 * hw) + [0.05 * hw, 0.3 * hh], blue))
            else:                    # pedestrian crossing
                shapes.append((np.array([[-0.7, -0.7], [0.7, -0.7], [0.0, 0.6]]) * [hw, hh], white))
                lines.append((np.array([[0.0, 0.2], [-0.15, -0.35]]) * [hw, hh], black, 0.12 * hw))
    elif kind == "octagon":
        outline = _polygon_uv(8, R, math.pi / 8)
        shapes += [(outline, red), (outline * 0.9, white), (outline * 0.84, red)]
        for j in range(4):
            cx = (-0.45 + 0.3 * j) * R
            lines.append((np.array([[cx - 0.08 * R, 0.0], [cx + 0.08 * R, 0.0]]), white, 0.35 * R))
    else:  # diamond
        outline = _polygon_uv(4, 0.62 * size, 0.0)
        shapes += [(outline, white), (outline * 0.72, yellow)]

    all_uv = np.concatenate([p for p, _ in shapes])
    half_h = float(max(-all_uv[:, 1].min(), all_uv[:, 1].max()))
    half_w = float(max(-all_uv[:, 0].min(), all_uv[:, 0].max()))
    centre_y = pole_h + half_h

    def to_image(uv: np.ndarray, depth_off: float = 0.0) -> np.ndarray:
        local = np.stack([np.full(len(uv), depth_off), centre_y + uv[:, 1], uv[:, 0]], axis=1)
        return cam.project(to_camera(local, x, z, ry, cam.mount))

    sk = Sketch()
    sk.shadow_ellipse(*cam.ground(x + 0.25 * dom.sun_side, z)[0], 0.2 * s,
                      max(1.0, 0.2 * s * cam.mount / z), 0.6 * dom.shadow_strength)
    pole = np.array([[-0.04, 0.0, 0.0], [-0.04, centre_y, 0.0]])
    pole2 = cam.project(to_camera(pole, x, z, ry, cam.mount))
    pole_col = dom.tint((150, 152, 158))
    pole_w = max(1.0, 0.07 * s)
    cam_front = to_camera(np.array([[0.5, centre_y, 0.0], [-0.5, centre_y, 0.0]]), x, z, ry, cam.mount)
    back_visible = cam_front[0, 2] > cam_front[1, 2]
    if not back_visible:
        sk.line(pole2, pole_col, pole_w, bound=False)
        for uv, col in shapes:
            sk.poly(to_image(uv), col)
        for uv, col, width in lines:
            sk.line(to_image(uv), col, max(1.0, width * s), bound=False)
    else:
        outline = to_image(shapes[0][0])
        sk.poly(outline, dom.tint((128, 130, 134)))
        sk.line(pole2, pole_col, pole_w, bound=False)
    ry = wrap_angle(ry)
    item = Item(depth=z, sketch=sk,
                label=Label("road_sign", 2 * half_h, 2 * half_w, 0.05, x, cam.mount - pole_h, z, ry))
    if sk.box:
        item.occluders.append(sk.box)
    lo = pole2.min(axis=0)
    hi = pole2.max(axis=0)
    item.occluders.append((lo[0] - pole_w / 2, lo[1], hi[0] + pole_w / 2, hi[1]))
    return item


BUILDERS = {"car": car, "pedestrian": pedestrian, "cyclist": cyclist, "road_sign": road_sign}
