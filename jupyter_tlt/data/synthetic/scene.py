"""Scene layout: camera, street, object and clutter placement, and truthful KITTI labels.

Objects stand on the ground plane and are sized by the pinhole camera, so farther objects are
smaller and nearer the horizon. Labels are computed from what is drawn:
  truncation = fraction of the object's full (unclipped) 2-D box lying outside the image;
  occlusion  = fraction of its visible box covered by the boxes of nearer things (painter's order),
               mapped to KITTI's occluded 0 / 1 / 2 by OCCLUSION_LEVELS.
Objects beyond MAX_TRUNCATION or MAX_OCCLUSION, or lower than MIN_BOX_HEIGHT_PX once clipped, are
still drawn but not labelled (as KITTI leaves tiny and hidden objects out of its labels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import clutter
from .background import Street, draw_background, sample_street
from .domain import Domain
from .geometry import Camera, Item, Label, Sketch, wrap_angle
from .objects import BUILDERS, CLASSES

MIN_BOX_HEIGHT_PX = 6.0
"""Objects whose clipped box is lower than this (pixels) are drawn but not labelled."""
MIN_BOX_WIDTH_PX = 2.0
"""Objects whose clipped box is narrower than this (pixels) are drawn but not labelled."""
MAX_TRUNCATION = 0.8
"""Objects with more than this fraction of their box outside the image are not labelled."""
MAX_OCCLUSION = 0.8
"""Objects with more than this fraction of their visible box hidden are not labelled."""
OCCLUSION_LEVELS = (0.10, 0.50)
"""Occluded fraction below 0.10 -> KITTI occluded 0 (fully visible), below 0.50 -> 1 (partly),
up to MAX_OCCLUSION -> 2 (largely occluded)."""
EMPTY_FRACTION = 0.05
"""Fraction of detection images drawn with no labelled object at all (empty label file)."""
OBJECTS_PER_IMAGE = (3, 15)
"""Labelled objects placed per non-empty image: uniform in [low, high] (some end up unlabelled)."""
CLASS_MIX = {"car": 0.42, "pedestrian": 0.26, "cyclist": 0.14, "road_sign": 0.18}
"""Probability of each class for a placed object."""
DEPTH_RANGE = {"car": (4.5, 75.0), "pedestrian": (3.5, 55.0), "cyclist": (4.0, 60.0),
               "road_sign": (4.0, 50.0)}
"""Distance (metres) of placed objects, drawn log-uniformly so that every size octave is covered."""
FOOTPRINT = {"car": 2.3, "pedestrian": 0.4, "cyclist": 0.9, "road_sign": 0.35}
"""Radius (metres) kept free around an object on the ground, so that objects do not interpenetrate."""


@dataclass
class ObjectLabel:
    """One KITTI label line: a drawn object's clipped box, truncation, occlusion and 3-D label."""

    label: Label
    box: tuple[float, float, float, float]
    truncation: float
    occlusion: float

    @property
    def cls(self) -> str:
        return self.label.cls

    @property
    def occluded(self) -> int:
        lo, mid = OCCLUSION_LEVELS
        return 0 if self.occlusion < lo else 1 if self.occlusion < mid else 2

    def kitti_line(self) -> str:
        """The 15 KITTI fields: type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y."""
        lb = self.label
        x1, y1, x2, y2 = self.box
        vals = (self.truncation, self.occluded, lb.alpha, x1, y1, x2, y2, lb.h, lb.w, lb.l,
                lb.x, lb.y, lb.z, lb.ry)
        fields = [f"{v:d}" if isinstance(v, int) else f"{v:.2f}" for v in vals]
        return " ".join([lb.cls] + fields).replace("-0.00", "0.00")


@dataclass
class Scene:
    """A laid-out frame: camera, street, background display list, items far to near, labels."""

    camera: Camera
    street: Street
    background: Sketch
    items: list[Item]
    labels: list[ObjectLabel] = field(default_factory=list)

    def layers(self) -> list[list]:
        return [self.background.prims] + [it.sketch.prims for it in self.items]


def make_camera(rng: np.random.Generator, width: int, height: int, dom: Domain) -> Camera:
    """The domain's camera with small per-frame jitter of focal length, pan, tilt and mount height."""
    return Camera(width=width, height=height,
                  f=dom.focal * width * float(rng.uniform(0.96, 1.04)),
                  cx=width / 2 + float(rng.normal(0.0, 0.01 * width)),
                  cy=dom.horizon * height + float(rng.normal(0.0, 0.02 * height)),
                  mount=dom.camera_height * float(rng.uniform(0.95, 1.05)))


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _crossing(rng: np.random.Generator, spread: float) -> float:
    """Yaw of something crossing the street: heading right (0) or left (pi), give or take `spread`."""
    return (0.0 if rng.random() < 0.5 else math.pi) + float(rng.normal(0, spread))


def depth_range(cls: str, max_distance: float | None = None) -> tuple[float, float]:
    """The class's DEPTH_RANGE, its far end capped at `max_distance` metres (None: no cap)."""
    lo, hi = DEPTH_RANGE[cls]
    return (lo, hi) if max_distance is None else (lo, max(lo, min(hi, float(max_distance))))


def _pose(rng: np.random.Generator, cls: str, street: Street,
          max_distance: float | None = None) -> tuple[float, float, float]:
    """A (x, z, ry) on the street plausible for the class (lanes, parking, sidewalks, crossings)."""
    L, R = street.left, street.right
    z = _log_uniform(rng, *depth_range(cls, max_distance))
    if cls == "car":
        mode = rng.choice(4, p=[0.5, 0.2, 0.2, 0.1])
        if mode == 0:                                   # driving in a lane
            lc = street.lane_centres()[int(rng.integers(street.lanes))]
            oncoming = lc < (L + R) / 2
            x = lc + float(rng.normal(0, 0.25))
            return x, z, (1 if oncoming else -1) * math.pi / 2 + float(rng.normal(0, 0.06))
        if mode == 1:                                   # parked at the kerb
            right = rng.random() < 0.6
            x = R - 1.1 if right else L + 1.1
            return x, z, (-1 if rng.random() < 0.8 else 1) * math.pi / 2 + float(rng.normal(0, 0.05))
        if mode == 2:                                   # crossing at a junction: side views
            z = float(rng.uniform(8.0, 45.0 if max_distance is None else max(8.0, min(45.0, max_distance))))
            x = float(rng.uniform(L - 6, R + 6))
            return x, z, _crossing(rng, 0.12)
        return float(rng.uniform(L, R)), z, float(rng.uniform(-math.pi, math.pi))
    if cls == "pedestrian":
        if rng.random() < 0.8:
            lo, hi = street.sidewalk_right if rng.random() < 0.55 else street.sidewalk_left
            x = float(rng.uniform(lo + 0.3, max(lo + 0.35, hi - 0.3)))
            ry = (float(rng.uniform(-math.pi, math.pi)) if rng.random() < 0.25
                  else (1 if rng.random() < 0.5 else -1) * math.pi / 2 + float(rng.normal(0, 0.2)))
            return x, z, ry
        return float(rng.uniform(L, R)), z, _crossing(rng, 0.2)
    if cls == "cyclist":
        u = rng.random()
        if u < 0.6:
            right = rng.random() < 0.65
            x = R - float(rng.uniform(0.5, 1.3)) if right else L + float(rng.uniform(0.5, 1.3))
            return x, z, (-1 if right else 1) * math.pi / 2 + float(rng.normal(0, 0.08))
        if u < 0.85:
            return float(rng.uniform(L - 3, R + 3)), z, _crossing(rng, 0.12)
        return float(rng.uniform(L, R)), z, float(rng.uniform(-math.pi, math.pi))
    # road_sign: at the kerb; signs on the left half may show their backs
    right = rng.random() < 0.6
    x = R + float(rng.uniform(0.3, 1.0)) if right else L - float(rng.uniform(0.3, 1.0))
    alpha = math.pi / 2 + float(rng.normal(0, 0.25))
    if not right and rng.random() < 0.35:
        alpha -= math.pi
    return x, z, wrap_angle(alpha + math.atan2(x, z))


def _free(spots: list, x: float, z: float, r: float) -> bool:
    return all((x - sx) ** 2 + (z - sz) ** 2 >= (r + sr) ** 2 for sx, sz, sr in spots)


def _in_view(cam: Camera, x: float, z: float, margin: float = 0.2) -> bool:
    u = cam.cx + cam.f * x / z
    return -margin * cam.width < u < (1 + margin) * cam.width


def _place_objects(rng, cam, dom, street, count, spots, max_distance=None) -> list[Item]:
    classes = list(CLASS_MIX)
    probs = np.array([CLASS_MIX[c] for c in classes])
    items = []
    for _ in range(count):
        cls = classes[int(rng.choice(len(classes), p=probs))]
        for _try in range(10):
            x, z, ry = _pose(rng, cls, street, max_distance)
            if _in_view(cam, x, z) and _free(spots, x, z, FOOTPRINT[cls]):
                spots.append((x, z, FOOTPRINT[cls]))
                items.append(BUILDERS[cls](rng, cam, dom, x, z, ry))
                break
    return items


def _place_clutter(rng, cam, dom, street, spots, extra: int = 0) -> list[Item]:
    items = []

    def try_add(make, x, z, r):
        if _in_view(cam, x, z, 0.3) and _free(spots, x, z, r):
            spots.append((x, z, r))
            items.append(make(x, z))

    for side, (lo, hi) in ((1, street.sidewalk_right), (-1, street.sidewalk_left)):
        park = not (street.buildings_right if side > 0 else street.buildings_left)
        outer = hi if side > 0 else lo
        for _ in range(int(rng.integers(3, 9) if park else rng.integers(0, 5))):
            x = outer + side * float(rng.uniform(-0.6, 4.0 if park else 0.3))
            try_add(lambda x, z: clutter.tree(rng, cam, dom, x, z), x, _log_uniform(rng, 4.0, 90.0), 0.6)
        if rng.random() < 0.6:
            kerb = (lo + 0.4) if side > 0 else (hi - 0.4)
            zz = float(rng.uniform(3.0, 25.0))
            spacing = float(rng.uniform(18.0, 32.0))
            while zz < 110.0:
                try_add(lambda x, z: clutter.lamp_post(rng, cam, dom, x, z), kerb, zz, 0.3)
                zz += spacing
    builders = [b for b, _ in clutter.SIDEWALK_CLUTTER]
    weights = np.array([w for _, w in clutter.SIDEWALK_CLUTTER])
    for _ in range(int(rng.integers(2, 9)) + extra):
        make = builders[int(rng.choice(len(builders), p=weights / weights.sum()))]
        lo, hi = street.sidewalk_right if rng.random() < 0.55 else street.sidewalk_left
        x = float(rng.uniform(lo + 0.2, max(lo + 0.25, hi - 0.2)))
        try_add(lambda x, z, make=make: make(rng, cam, dom, x, z), x, _log_uniform(rng, 3.5, 60.0), 0.5)
    for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.4 else 0):
        right = rng.random() < 0.6
        x = (street.right - 1.0) if right else (street.left + 1.0)
        if rng.random() < 0.4:
            x += (1 if right else -1) * float(rng.uniform(1.5, 3.0))
        ry = (math.pi / 2 if rng.random() < 0.7 else float(rng.uniform(-math.pi, math.pi)))
        try_add(lambda x, z, ry=ry: clutter.box_vehicle(rng, cam, dom, x, z, ry), x,
                _log_uniform(rng, 5.0, 60.0), 1.8)
    return items


def compute_labels(items: list[Item], width: int, height: int) -> list[ObjectLabel]:
    """Truncation and box-occlusion of every labelled item, nearest first; filters by the thresholds."""
    occ = np.zeros((height, width), dtype=bool)
    out = []
    for item in sorted(items, key=lambda it: it.depth):
        box = item.box
        if item.label is not None and box is not None:
            x1, y1, x2, y2 = box
            full = (x2 - x1) * (y2 - y1)
            cx1, cy1 = max(x1, 0.0), max(y1, 0.0)
            cx2, cy2 = min(x2, float(width)), min(y2, float(height))
            vis = max(0.0, cx2 - cx1) * max(0.0, cy2 - cy1)
            if vis > 0 and full > 0:
                trunc = min(1.0, max(0.0, 1.0 - vis / full))
                rows = slice(int(math.floor(cy1)), int(math.ceil(cy2)))
                region = occ[rows, int(math.floor(cx1)):int(math.ceil(cx2))]
                occl = float(region.mean()) if region.size else 0.0
                wx1, wy1 = min(cx1, width - 1.0), min(cy1, height - 1.0)
                wx2, wy2 = min(cx2, width - 1.0), min(cy2, height - 1.0)
                if (trunc <= MAX_TRUNCATION and occl <= MAX_OCCLUSION
                        and wy2 - wy1 >= MIN_BOX_HEIGHT_PX and wx2 - wx1 >= MIN_BOX_WIDTH_PX):
                    out.append(ObjectLabel(item.label, (wx1, wy1, wx2, wy2), trunc, occl))
        for r in item.occluders:
            _mark(occ, r)
    return out


def _mark(occ: np.ndarray, r: tuple) -> None:
    """Mark an occluder in the occupancy mask: a rectangle, or the ellipse inscribed in it."""
    height, width = occ.shape
    ox1, oy1 = max(0, int(round(r[0]))), max(0, int(round(r[1])))
    ox2, oy2 = min(width, max(ox1 + 1, int(round(r[2])))), min(height, max(oy1 + 1, int(round(r[3]))))
    if ox2 <= ox1 or oy2 <= oy1:
        return
    if len(r) > 4 and r[4] == "ellipse":
        cx, cy = (r[0] + r[2]) / 2, (r[1] + r[3]) / 2
        rx, ry = max((r[2] - r[0]) / 2, 0.5), max((r[3] - r[1]) / 2, 0.5)
        xs = ((np.arange(ox1, ox2) + 0.5 - cx) / rx) ** 2
        ys = ((np.arange(oy1, oy2) + 0.5 - cy) / ry) ** 2
        occ[oy1:oy2, ox1:ox2] |= (ys[:, None] + xs[None, :]) <= 1.0
    else:
        occ[oy1:oy2, ox1:ox2] = True


def build_scene(rng: np.random.Generator, width: int, height: int, dom: Domain, *,
                empty: bool | None = None, count: int | None = None, extra_clutter: int = 0,
                max_distance: float | None = None) -> Scene:
    """Lay out one frame: camera, street, objects (none if empty), clutter and labels.

    `max_distance` (metres) caps how far away labelled objects are placed (clutter is unchanged),
    e.g. build_scene(rng, 400, 240, TARGET, max_distance=20.0) for near, larger objects.
    """
    cam = make_camera(rng, width, height, dom)
    street = sample_street(rng)
    background = draw_background(rng, cam, dom, street)
    if empty is None:
        empty = rng.random() < EMPTY_FRACTION
    if count is None:
        count = int(rng.integers(OBJECTS_PER_IMAGE[0], OBJECTS_PER_IMAGE[1] + 1))
    spots: list = []
    items = [] if empty else _place_objects(rng, cam, dom, street, count, spots, max_distance)
    items += _place_clutter(rng, cam, dom, street, spots, extra_clutter)
    items.sort(key=lambda it: -it.depth)
    return Scene(cam, street, background, items, compute_labels(items, width, height))


# ------------------------------------------------------------------------------ classification

CROP_CLASSES = CLASSES + ("background",)
CANVAS_ASPECT = 0.75
"""Classification crops are cut from scenes of max(256, 4 * crop_size) x that width * CANVAS_ASPECT."""


def canvas_size(crop_size: int) -> tuple[int, int]:
    w = max(256, 4 * crop_size)
    return w, int(round(w * CANVAS_ASPECT))


def _overlap(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def crop_scene(rng: np.random.Generator, cls: str, crop_size: int, dom: Domain
               ) -> tuple[Scene, tuple[float, float, float, float]]:
    """A small scene with one prominent `cls` object (or only clutter for "background") and the
    square window (x0, y0, x1, y1) to cut out of it; the window is later resized to crop_size."""
    W, H = canvas_size(crop_size)
    side = crop_size * float(rng.uniform(0.85, 1.35))
    if cls == "background":
        scene = build_scene(rng, W, H, dom, empty=True, extra_clutter=4)
        boxes = [it.box for it in scene.items if it.box is not None
                 and 0 <= (it.box[0] + it.box[2]) / 2 < W and 0 <= (it.box[1] + it.box[3]) / 2 < H]
        if boxes and rng.random() < 0.7:
            b = boxes[int(rng.integers(len(boxes)))]
            cx = (b[0] + b[2]) / 2 + float(rng.uniform(-0.25, 0.25)) * side
            cy = (b[1] + b[3]) / 2 + float(rng.uniform(-0.25, 0.25)) * side
        else:
            cx = float(rng.uniform(0, W))
            cy = float(rng.uniform(scene.camera.cy - 0.2 * H, H))
        return scene, _clamp_window(cx, cy, side, W, H)

    cam = make_camera(rng, W, H, dom)
    street = sample_street(rng)
    background = draw_background(rng, cam, dom, street)
    ratio = float(rng.uniform(0.55, 0.85))
    target = side * ratio                    # the hero's larger box side, pixels
    u = W / 2 + float(rng.uniform(-0.2, 0.2)) * W
    _, _, ry = _pose(rng, cls, street)
    seed = int(rng.integers(2 ** 63))
    # Find the distance that gives the hero the target size while it stays inside the canvas
    # (a sign plate high on its pole may not fit when near: then it is as large as fits).
    z, z_lo, hero, best = 10.0, 0.0, None, None
    for _ in range(12):
        hero = BUILDERS[cls](np.random.default_rng(seed), cam, dom, cam.column_x(u, z), z, ry)
        x1, y1, x2, y2 = hero.box
        size = max(x2 - x1, y2 - y1)
        if y1 >= 0 and y2 <= H:
            best = hero
            if abs(size - target) < 0.04 * target:
                break
            z_new = z * size / target
            if z_new <= z_lo:
                z_new = 0.5 * (z + z_lo)
        else:
            z_lo = max(z_lo, z)
            z_new = z * 1.3
        z = min(max(z_new, 1.0), 300.0)
    hero = best or hero
    hb = hero.box
    side = min(side, max(hb[2] - hb[0], hb[3] - hb[1]) / ratio)
    spots = [(hero.label.x, hero.label.z, FOOTPRINT[cls])]
    others = _place_objects(rng, cam, dom, street, int(rng.integers(1, 8)), spots)
    others += _place_clutter(rng, cam, dom, street, spots)
    cx = (hb[0] + hb[2]) / 2 + float(rng.uniform(-0.1, 0.1)) * side
    cy = (hb[1] + hb[3]) / 2 + float(rng.uniform(-0.1, 0.1)) * side
    window = _clamp_window(cx, cy, side, W, H)
    win_area = (window[2] - window[0]) * (window[3] - window[1])
    kept = []
    hero_area = max(1.0, (hb[2] - hb[0]) * (hb[3] - hb[1]))
    for it in others:
        b = it.box
        if b is None:
            continue
        if it.label is not None and (_overlap(b, hb) > 0 or _overlap(b, window) > 0.2 * win_area):
            continue                      # no second labelled object competing in the crop
        if it.depth < hero.depth and _overlap(b, hb) > 0.3 * hero_area:
            continue                      # keep the hero mostly visible
        kept.append(it)
    items = sorted(kept + [hero], key=lambda it: -it.depth)
    return Scene(cam, street, background, items), window


def _clamp_window(cx: float, cy: float, side: float, W: int, H: int) -> tuple[float, float, float, float]:
    side = min(side, W, H)
    x0 = min(max(cx - side / 2, 0.0), W - side)
    y0 = min(max(cy - side / 2, 0.0), H - side)
    return (x0, y0, x0 + side, y0 + side)
