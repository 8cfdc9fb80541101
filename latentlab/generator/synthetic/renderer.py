"""A procedural renderer of anime-style portraits with known attributes.

No anime dataset can be downloaded here, so latentlab draws its own faces: every image comes
with the exact attributes that produced it, which makes it the training data of the default
generator and the ground truth of every benchmark. Drawing happens in a face-centred frame
(unit = half the face width, y pointing down) that is rotated, scaled and shifted as a whole,
rendered at `supersample` times the output size and downsampled with a Lanczos filter.

Faces come in drawing styles (STYLES, drawn in styles.py): the same seed gives the same attributes,
pose and colours in every style. "classic" is the original drawing and the default; its pixels never
change, because generators train on it. HELD_OUT_STYLE is never trained on by any model: it stands for
"someone else's drawing" in tests and benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from latentlab.generator.synthetic.attributes import FaceAttributes, sample_attributes

Color = tuple[int, int, int]

HAIR_RGB: tuple[Color, ...] = (
    (38, 36, 48),  # black
    (112, 68, 38),  # brown
    (244, 212, 118),  # blonde
    (206, 52, 42),  # red
    (56, 98, 212),  # blue
    (246, 148, 192),  # pink
    (198, 204, 216),  # silver
    (64, 168, 86),  # green
)
EYE_RGB: tuple[Color, ...] = (
    (46, 112, 232),  # blue
    (36, 160, 76),  # green
    (122, 70, 28),  # brown
    (204, 28, 40),  # red
    (142, 58, 204),  # purple
    (222, 172, 26),  # gold
)
SKIN_RGB: tuple[Color, ...] = ((255, 232, 216), (252, 222, 198), (240, 204, 176), (214, 170, 134))
OUTLINE: Color = (52, 36, 40)

DEFAULT_STYLE = "classic"
STYLES: tuple[str, ...] = ("classic", "cel", "soft", "chibi", "ink")
HELD_OUT_STYLE = "ink"  # no model trains on it
TRAINING_STYLES: tuple[str, ...] = tuple(s for s in STYLES if s != HELD_OUT_STYLE)

# Per age (child, teen, adult): face height, chin half-width, eye height, eye size (w, h).
FACE_HEIGHT = (0.98, 1.10, 1.24)
CHIN_WIDTH = (0.46, 0.30, 0.16)
EYE_Y = (0.30, 0.18, 0.06)
EYE_SIZE = ((0.36, 0.46), (0.32, 0.37), (0.29, 0.26))
# Where both eyes (lashes included) fall on a 64 px face for every pose the stream draws, as
# (top, bottom, left, right) pixels, bottom and right exclusive: what eye state and colour change stays
# inside it on 3000 faces, with a pixel of margin (tests/generator/test_renderer.py).
EYE_REGION_64 = (20, 48, 12, 52)


def eye_box(size: int) -> tuple[int, int, int, int]:
    """The eye region on a `size` px face as (top, left, height, width) pixels, rounded outwards."""
    k = size / 64
    top, bottom, left, right = EYE_REGION_64
    t, l_ = math.floor(top * k), math.floor(left * k)
    return t, l_, math.ceil(bottom * k) - t, math.ceil(right * k) - l_


@dataclass(frozen=True)
class Nuisance:
    """Appearance that is not an attribute: pose, framing and colours."""

    rotation_deg: float
    scale: float
    offset: tuple[float, float]  # fraction of the image size
    background: Color
    skin: Color
    clothes: Color
    accessory_color: Color
    hair_jitter: float


def sample_nuisance(rng: np.random.Generator, attrs: FaceAttributes) -> Nuisance:
    hue_bg = rng.random()
    background = _hsv(hue_bg, rng.uniform(0.10, 0.40), rng.uniform(0.78, 0.98))
    acc_hue = rng.random()
    # Accessories get a saturated colour of any hue. Some land near the hair's colour (CIELAB distance 10-36:
    # a blue hairpin on blue hair), and at 64 px such an accessory is hard to see; that is most of what
    # an oracle still misreads on the trained styles (docs/oracle.md). Classic must stay pixel-identical
    # (a GAN trains on it), so the colour is not moved away from the hair's.
    return Nuisance(
        rotation_deg=float(rng.uniform(-8, 8)),
        scale=float(rng.uniform(0.92, 1.06)),
        offset=(float(rng.uniform(-0.04, 0.04)), float(rng.uniform(-0.03, 0.03))),
        background=background,
        skin=SKIN_RGB[int(rng.integers(len(SKIN_RGB)))],
        clothes=_hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.35, 0.85)),
        accessory_color=_hsv(acc_hue, 0.85, 0.95) if attrs.accessory != 3 else (40, 40, 60),
        hair_jitter=float(rng.uniform(-0.08, 0.08)),
    )


def _hsv(h: float, s: float, v: float) -> Color:
    i = int(h * 6) % 6
    f = h * 6 - math.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return (int(r * 255), int(g * 255), int(b * 255))


def _shade(c: Color, k: float) -> Color:
    """Darken (k < 1) or lighten (k > 1) a colour."""
    if k <= 1:
        return tuple(int(v * k) for v in c)  # type: ignore[return-value]
    return tuple(int(v + (255 - v) * (k - 1)) for v in c)  # type: ignore[return-value]


def _ellipse(cx: float, cy: float, rx: float, ry: float, t0: float = 0.0, t1: float = 2 * math.pi, n: int = 28):
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in np.linspace(t0, t1, n)]


def _chaikin(points, rounds: int = 2):
    """Round the corners of a closed polygon."""
    for _ in range(rounds):
        out = []
        for i, p in enumerate(points):
            q = points[(i + 1) % len(points)]
            out += [(0.75 * p[0] + 0.25 * q[0], 0.75 * p[1] + 0.25 * q[1]),
                    (0.25 * p[0] + 0.75 * q[0], 0.25 * p[1] + 0.75 * q[1])]
        points = out
    return points


class _Canvas:
    """Draws face-frame shapes onto a pixel canvas through one similarity transform."""

    def __init__(self, size: int, nuisance: Nuisance):
        self.image = Image.new("RGB", (size, size), nuisance.background)
        self.draw = ImageDraw.Draw(self.image, "RGBA")
        self.unit = size * 0.25 * nuisance.scale
        a = math.radians(nuisance.rotation_deg)
        self.cos, self.sin = math.cos(a), math.sin(a)
        self.cx = size * (0.5 + nuisance.offset[0])
        self.cy = size * (0.46 + nuisance.offset[1])

    def xy(self, pts):
        u, c, s = self.unit, self.cos, self.sin
        return [(self.cx + u * (c * x - s * y), self.cy + u * (s * x + c * y)) for x, y in pts]

    def poly(self, pts, fill, outline: Color | None = None, width: float = 0.0):
        self.draw.polygon(self.xy(pts), fill=fill)
        if outline is not None:
            pix = self.xy(pts)
            self.draw.line(pix + pix[:1], fill=outline, width=max(1, round(width * self.unit)), joint="curve")

    def line(self, pts, fill, width: float):
        self.draw.line(self.xy(pts), fill=fill, width=max(1, round(width * self.unit)), joint="curve")


def _draw_back_hair(cv: _Canvas, attrs: FaceAttributes, hair: Color, face_h: float) -> None:
    dark = _shade(hair, 0.75)
    if attrs.hair_length == 1:  # long: a mane reaching below the shoulders
        pts = _ellipse(0, -0.2, 1.32, 1.15, math.pi, 2 * math.pi, 20) + [(1.42, 1.2), (1.30, 2.2), (-1.30, 2.2), (-1.42, 1.2)]
        cv.poly(_chaikin(pts, 1), hair, dark, 0.04)
    else:  # short: a bob that stops around the jaw line
        pts = _ellipse(0, -0.15, 1.24, 1.12, math.pi, 2 * math.pi, 20) + [(1.22, 0.45), (0.9, 0.62), (-0.9, 0.62), (-1.22, 0.45)]
        cv.poly(_chaikin(pts, 2), hair, dark, 0.04)


def _face_outline(attrs: FaceAttributes) -> list[tuple[float, float]]:
    h, chin = FACE_HEIGHT[attrs.age], CHIN_WIDTH[attrs.age]
    top = _ellipse(0, 0, 1.0, 0.95, math.pi, 2 * math.pi, 16)
    lower = [(1.0, 0.1), (0.96, 0.45 * h), (0.62 + chin * 0.4, 0.78 * h), (chin, 0.97 * h), (0, h),
             (-chin, 0.97 * h), (-0.62 - chin * 0.4, 0.78 * h), (-0.96, 0.45 * h), (-1.0, 0.1)]
    return _chaikin(top + lower, 2)


def _draw_body(cv: _Canvas, nz: Nuisance, face_h: float) -> None:
    cv.poly([(-0.28, 0.6), (0.28, 0.6), (0.3, face_h + 0.5), (-0.3, face_h + 0.5)], _shade(nz.skin, 0.9))
    shoulders = _chaikin([(-1.7, 2.4), (-1.5, face_h + 0.55), (-0.35, face_h + 0.35), (0, face_h + 0.6),
                          (0.35, face_h + 0.35), (1.5, face_h + 0.55), (1.7, 2.4)], 1)
    cv.poly(shoulders, nz.clothes, _shade(nz.clothes, 0.6), 0.03)


def _draw_eye(cv: _Canvas, attrs: FaceAttributes, cx: float, cy: float, side: int, skin: Color) -> None:
    w, h = EYE_SIZE[attrs.age]
    iris = EYE_RGB[attrs.eye_color]
    lash = (30, 22, 30)
    if attrs.eye_state == 2:  # closed: a thick lash line curving down, like a smile
        arc = [(cx + w * math.cos(t), cy + 0.05 + 0.45 * h * math.sin(t)) for t in np.linspace(0.15, math.pi - 0.15, 9)]
        cv.line(arc, lash, 0.07)
        return
    cv.poly(_ellipse(cx, cy, w * 0.95, h, n=24), (255, 255, 255))
    cv.poly(_ellipse(cx, cy + 0.05 * h, w * 0.72, h * 0.92, n=24), iris)
    cv.poly(_ellipse(cx, cy + 0.22 * h, w * 0.52, h * 0.45, n=20), _shade(iris, 1.35))
    cv.poly(_ellipse(cx, cy + 0.02 * h, w * 0.32, h * 0.5, n=20), _shade(iris, 0.35))
    cv.poly(_ellipse(cx - side * 0.30 * w, cy - 0.38 * h, w * 0.24, h * 0.2, n=14), (255, 255, 255))
    if attrs.eye_state == 1:  # half: the upper lid covers the top half of the eye
        lid_y = cy - 0.05 * h
        cv.poly([(cx - w * 1.15, cy - h * 1.3), (cx + w * 1.15, cy - h * 1.3), (cx + w * 1.15, lid_y), (cx - w * 1.15, lid_y)], skin)
        cv.line([(cx - w * 1.05, lid_y + 0.02), (cx + w * 1.05, lid_y + 0.02)], lash, 0.085)
        return
    top = [(cx + w * 1.05 * math.cos(t), cy + h * 0.98 * math.sin(t)) for t in np.linspace(math.pi * 1.05, math.pi * 1.95, 10)]
    if side > 0:
        top = top + [(cx + w * 1.3, cy - 0.15 * h)]
    else:
        top = [(cx - w * 1.3, cy - 0.15 * h)] + top
    cv.line(top, lash, 0.085)


def _draw_mouth(cv: _Canvas, attrs: FaceAttributes, my: float) -> None:
    dark = (120, 40, 50)
    if attrs.mouth == 0:  # closed: a short straight line
        cv.line([(-0.1, my), (0.1, my)], dark, 0.035)
    elif attrs.mouth == 1:  # smile: an upward arc
        arc = [(0.17 * math.cos(t), my - 0.05 + 0.1 * math.sin(t)) for t in np.linspace(0.2, math.pi - 0.2, 9)]
        cv.line(arc, dark, 0.04)
    else:  # open: a filled "D" with a tongue
        shape = [(-0.15, my - 0.05), (0.15, my - 0.05)] + _ellipse(0, my - 0.05, 0.15, 0.17, 0, math.pi, 12)
        cv.poly(shape, (150, 30, 44))
        cv.poly(_ellipse(0, my + 0.06, 0.085, 0.05, n=12), (240, 120, 130))


def _draw_front_hair(cv: _Canvas, attrs: FaceAttributes, hair: Color, eye_y: float) -> None:
    dark = _shade(hair, 0.7)
    light = _shade(hair, 1.25)
    cap = _ellipse(0, -0.12, 1.12, 1.02, math.pi * 0.98, math.pi * 2.02, 22)
    tip = eye_y - 0.30
    # Bangs: a zigzag of locks hanging from the cap over the forehead, stopping above the eyes.
    xs = np.linspace(-1.06, 1.06, 8)
    bangs = [(1.1, -0.05)]
    for i in range(len(xs) - 1, 0, -1):
        mid = 0.5 * (xs[i] + xs[i - 1])
        edge = abs(mid) > 0.8
        bangs += [(xs[i], tip - 0.32 + 0.25 * abs(xs[i]) ** 2), (mid, (tip + 0.15 if edge else tip) + 0.04 * (i % 2))]
    bangs += [(xs[0], tip - 0.32 + 0.25), (-1.1, -0.05)]
    cv.poly(cap + bangs, hair, dark, 0.035)
    cv.line(_ellipse(-0.25, -0.55, 0.5, 0.22, math.pi * 1.15, math.pi * 1.6, 8), light, 0.06)  # shine
    if attrs.hair_length == 1:  # long: side locks framing the face
        for s in (-1, 1):
            lock = [(s * 0.86, -0.2), (s * 1.1, -0.1), (s * 1.1, 1.4), (s * 0.93, 1.62), (s * 0.82, 0.9)]
            cv.poly(_chaikin(lock, 1), hair, dark, 0.03)


def _draw_accessory(cv: _Canvas, attrs: FaceAttributes, nz: Nuisance, eye_y: float) -> None:
    color = nz.accessory_color
    if attrs.accessory == 1:  # ribbon: a bow on the upper right of the head
        cx, cy = 0.78, -0.95
        for s in (-1, 1):
            cv.poly([(cx, cy), (cx + s * 0.42, cy - 0.26), (cx + s * 0.46, cy + 0.24)], color, _shade(color, 0.55), 0.03)
        cv.poly(_ellipse(cx, cy, 0.1, 0.1, n=10), _shade(color, 0.8))
    elif attrs.accessory == 2:  # hairpin: two crossed bars on the left bangs
        cx, cy = -0.62, eye_y - 0.52
        cv.line([(cx - 0.2, cy - 0.1), (cx + 0.2, cy + 0.1)], color, 0.08)
        cv.line([(cx - 0.2, cy + 0.1), (cx + 0.2, cy - 0.1)], color, 0.08)
    elif attrs.accessory == 3:  # glasses: round frames and a bridge
        w, h = EYE_SIZE[attrs.age]
        for s in (-1, 1):
            pts = _ellipse(s * 0.42, eye_y + 0.02, w * 1.35, max(h, 0.3) * 1.15, n=24)
            cv.line(pts + pts[:1], color, 0.045)
        cv.line([(-0.42 + w * 1.35, eye_y - 0.02), (0.42 - w * 1.35, eye_y - 0.02)], color, 0.045)


def render_face(attrs: FaceAttributes, nuisance: Nuisance, size: int = 64, supersample: int = 2,
                style=DEFAULT_STYLE) -> np.ndarray:
    """Draw one portrait; returns uint8 RGB [size, size, 3].

    `style` is a name in STYLES or a styles.DrawingStyle; "classic" is drawn by the code below.
    """
    if not (isinstance(style, str) and style == "classic"):
        from latentlab.generator.synthetic.styles import render_styled

        return render_styled(attrs, nuisance, style, size, supersample)
    cv = _Canvas(size * supersample, nuisance)
    hair = _shade(HAIR_RGB[attrs.hair_color], 1 + nuisance.hair_jitter) if nuisance.hair_jitter > 0 else \
        _shade(HAIR_RGB[attrs.hair_color], 1 + nuisance.hair_jitter)
    face_h = FACE_HEIGHT[attrs.age]
    eye_y = EYE_Y[attrs.age]

    _draw_back_hair(cv, attrs, hair, face_h)
    _draw_body(cv, nuisance, face_h)
    cv.poly(_face_outline(attrs), nuisance.skin, _shade(nuisance.skin, 0.62), 0.03)
    if attrs.blush:
        for s in (-1, 1):
            cv.poly(_ellipse(s * 0.5, eye_y + 0.42, 0.2, 0.09, n=16), (255, 92, 120, 150))
    for s in (-1, 1):
        _draw_eye(cv, attrs, s * 0.42, eye_y, s, nuisance.skin)
    cv.line([(0.0, eye_y + 0.38), (0.03, eye_y + 0.44)], _shade(nuisance.skin, 0.6), 0.03)  # nose
    _draw_mouth(cv, attrs, eye_y + 0.36 + 0.3 * face_h)
    _draw_front_hair(cv, attrs, hair, eye_y)
    _draw_accessory(cv, attrs, nuisance, eye_y)

    image = cv.image.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def render_seed(seed: int, size: int = 64, supersample: int = 2,
                style=DEFAULT_STYLE) -> tuple[np.ndarray, FaceAttributes]:
    """The face of one seed: the same seed always gives the same image and attributes.

    The attributes, pose and colours of a seed are the same in every style.
    """
    rng = _seed_stream(seed)
    attrs = sample_attributes(rng)
    return render_face(attrs, sample_nuisance(rng, attrs), size, supersample, style), attrs


def seed_attributes(seed: int) -> FaceAttributes:
    """The attributes of a seed's face without drawing it (microseconds: the first draws of its stream)."""
    return sample_attributes(_seed_stream(seed))


def _seed_stream(seed: int) -> np.random.Generator:
    """The random stream of a seed's face: its attributes first, then its pose and colours."""
    return np.random.default_rng([seed, 0x5EED])


def render_batch(seeds, size: int = 64, supersample: int = 2,
                 style=DEFAULT_STYLE) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render many seeds; returns uint8 [N, size, size, 3] and one int64 label array per attribute.

    `style` is one style for all seeds, or a sequence with one style per seed.
    """
    seeds = list(seeds)
    per_seed = [style] * len(seeds) if isinstance(style, str) or not hasattr(style, "__len__") else list(style)
    if len(per_seed) != len(seeds):
        raise ValueError("give one style, or one style per seed")
    images, labels = [], []
    for seed, st in zip(seeds, per_seed):
        img, attrs = render_seed(int(seed), size, supersample, st)
        images.append(img)
        labels.append(attrs.as_dict())
    keys = labels[0].keys() if labels else []
    return np.stack(images), {k: np.array([d[k] for d in labels], dtype=np.int64) for k in keys}
