"""Drawing styles: the same face attributes drawn by different hands.

A style is a DrawingStyle record; each field picks one design of one part of the face (how eyes are
constructed and lit, how mouths, blush, bangs and accessories are drawn), the line weight, the
shading (flat, cel two-tone, soft gradients, ink hatching) and the proportions. Every style keeps
the meaning of every attribute class: the same hair and eye colours, eyes open / half-covered by
the lid / closed, longer faces with smaller, higher eyes for older ages, a neutral line, an upward
arc or an open mouth, pink cheeks, and a ribbon on the head, a hairpin on the bangs or glasses.

"classic" is the renderer's original drawing (renderer.py draws it, pixel for pixel as always);
CLASSIC describes it here only so that its parts can be mixed with the others (mixed_style).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
from PIL import Image, ImageFilter

from latentlab.generator.synthetic import renderer as R
from latentlab.generator.synthetic.attributes import FaceAttributes

Color = tuple[int, int, int]


@dataclass(frozen=True)
class DrawingStyle:
    """One way of drawing a face; widths are multiples of the classic widths, lengths in face units."""

    name: str
    line: float = 1.0  # outline width (0 = no outlines)
    ink: Color | None = None  # outline colour (None = a dark shade of each fill)
    shading: str = "flat"  # flat | cel (hard two-tone) | soft (gradients, blurred) | hatch (ink strokes)
    blur: float = 0.0  # Gaussian blur radius in output pixels (a painted look)
    paper: float = 0.0  # background lightened towards white by this fraction
    eye: str = "classic"  # classic | tall | sparkle | round | simple
    closed_eye: str = "down"  # down (a lash arc) | up (happy ^^) | lashes (arc with lash ticks)
    mouth: str = "classic"  # classic | wide | small | cat | ink
    blush: str = "oval"  # oval | hatch | glow
    nose: str = "line"  # line | dot | none | shadow
    back_hair: str = "classic"  # classic | spiky | wavy | straight
    bangs: str = "classic"  # classic | spiky | scallop | blunt | swept
    ribbon: str = "classic"  # classic (side bow) | loops (bow with tails) | top (bow on the crown)
    hairpin: str = "classic"  # classic (crossed bars) | bars (parallel) | clip (bar with a bead)
    pin_side: int = -1  # -1: hairpin on the left bangs, +1: on the right
    glasses: str = "classic"  # classic (round) | square | oval | browline
    glasses_ink: Color | None = None  # frame colour (None = the accessory colour)
    lower_lid: bool = False  # a thin lash line under each open eye (the "simple" eye always has one)
    eye_scale: float = 1.0
    eye_dx: float = 0.42  # eye centre distance from the face's midline
    eye_dy: float = 0.0  # eyes moved down by this much
    face_len: float = 1.0  # face height, times the age's face height
    head: float = 1.0  # head size on the canvas


CLASSIC = DrawingStyle("classic")

SPECS: dict[str, DrawingStyle] = {
    "classic": CLASSIC,
    # Bold black outlines, hard two-tone shading, tall eyes with hard highlights, spiky hair.
    "cel": DrawingStyle("cel", line=2.3, ink=(18, 14, 20), shading="cel", eye="tall", closed_eye="up",
                        mouth="wide", blush="hatch", nose="none", back_hair="spiky", bangs="spiky",
                        ribbon="loops", hairpin="bars", glasses="square", glasses_ink=(20, 20, 28)),
    # No outlines, gradients and a slight blur, big sparkly eyes, small mouth, wavy hair.
    "soft": DrawingStyle("soft", line=0.0, shading="soft", blur=0.7, eye="sparkle", closed_eye="lashes",
                         mouth="small", blush="glow", nose="shadow", back_hair="wavy", bangs="scallop",
                         ribbon="top", hairpin="clip", pin_side=1, glasses="oval", glasses_ink=(90, 50, 60),
                         eye_scale=1.12, eye_dy=0.03),
    # Big head, short round face, huge eyes low on the face, coloured lines, blunt-cut hair.
    "chibi": DrawingStyle("chibi", line=1.4, shading="flat", eye="round", closed_eye="up", mouth="cat",
                          blush="oval", nose="none", back_hair="straight", bangs="blunt", ribbon="loops",
                          hairpin="classic", pin_side=1, glasses="browline", glasses_ink=(150, 40, 44),
                          eye_scale=1.3, eye_dx=0.45, eye_dy=0.1, face_len=0.86, head=1.12),
    # Held out: thin ink lines on paper, hatched shadows, simple eyes, swept bangs.
    "ink": DrawingStyle("ink", line=0.6, ink=(24, 20, 28), shading="hatch", paper=0.45, eye="simple",
                        closed_eye="lashes", mouth="ink", blush="hatch", nose="dot", back_hair="classic",
                        bangs="swept", ribbon="classic", hairpin="bars", glasses="square",
                        eye_scale=0.95, eye_dy=-0.02, face_len=1.04),
}
assert tuple(SPECS) == R.STYLES


def style_spec(style) -> DrawingStyle:
    """A style name (see renderer.STYLES) or a DrawingStyle -> the DrawingStyle."""
    if isinstance(style, DrawingStyle):
        return style
    if style not in SPECS:
        raise ValueError(f"unknown drawing style {style!r}; choose one of {', '.join(SPECS)}")
    return SPECS[style]


def mixed_style(rng: np.random.Generator, names=R.TRAINING_STYLES) -> DrawingStyle:
    """A new style whose every part comes from one of the named styles (training-time variety)."""
    specs = [style_spec(n) for n in names]
    picks = {f.name: getattr(specs[int(rng.integers(len(specs)))], f.name) for f in fields(DrawingStyle)}
    if picks["line"] == 0 and picks["ink"] is not None:
        picks["ink"] = None
    return DrawingStyle(**{**picks, "name": "mixed"})


# ---------------------------------------------------------------------------------------------- helpers

_shade, _ellipse, _chaikin = R._shade, R._ellipse, R._chaikin


class _Pen:
    """Widths and outline colours of one style on one canvas."""

    def __init__(self, st: DrawingStyle, jitter: float):
        self.st, self.k = st, st.line * jitter

    def w(self, base: float) -> float:
        return base * self.k

    def edge(self, fill: Color, dark: float = 0.55) -> Color | None:
        if self.st.line <= 0:
            return None
        return self.st.ink or _shade(fill, dark)


def _mirror(right: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Right-side points from top to bottom -> right side down, then the left side back up."""
    return right + [(-x, y) for x, y in reversed(right)]


def _hatch(cv, x0: float, y0: float, x1: float, y1: float, n: int, color, width: float, slant: float = 0.12) -> None:
    """n short parallel strokes spread from (x0, y0) to (x1, y1)."""
    for t in np.linspace(0, 1, n):
        x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
        cv.line([(x - slant * 0.5, y + 0.06), (x + slant * 0.5, y - 0.06)], color, width)


def _face_shape(age: int, face_len: float) -> list[tuple[float, float]]:
    h, chin = R.FACE_HEIGHT[age] * face_len, R.CHIN_WIDTH[age]
    top = _ellipse(0, 0, 1.0, 0.95, math.pi, 2 * math.pi, 16)
    lower = [(1.0, 0.1), (0.96, 0.45 * h), (0.62 + chin * 0.4, 0.78 * h), (chin, 0.97 * h), (0, h),
             (-chin, 0.97 * h), (-0.62 - chin * 0.4, 0.78 * h), (-0.96, 0.45 * h), (-1.0, 0.1)]
    return _chaikin(top + lower, 2)


# ------------------------------------------------------------------------------------------------- hair

_BACK_LONG = {
    "classic": ([(1.42, 1.2), (1.30, 2.2)], 1),
    "spiky": ([(1.45, 0.3), (1.32, 0.45), (1.54, 0.9), (1.36, 1.05), (1.56, 1.55), (1.4, 1.7), (1.45, 2.3)], 0),
    "wavy": ([(1.40, 0.3), (1.52, 0.8), (1.38, 1.3), (1.54, 1.8), (1.42, 2.3)], 2),
    "straight": ([(1.34, 0.2), (1.36, 2.3)], 0),
}
_BACK_SHORT = {
    "classic": ([(1.22, 0.45), (0.9, 0.62)], 2),
    "spiky": ([(1.28, 0.15), (1.16, 0.25), (1.3, 0.5), (1.1, 0.46), (1.06, 0.72), (0.86, 0.56)], 0),
    "wavy": ([(1.3, 0.2), (1.2, 0.5), (1.04, 0.66), (0.85, 0.58)], 2),
    "straight": ([(1.24, 0.56), (0.86, 0.56)], 0),
}


def _back_hair(cv, st: DrawingStyle, pen: _Pen, attrs: FaceAttributes, hair: Color) -> None:
    if attrs.hair_length == 1:  # long: a mane reaching below the shoulders
        right, rounds = _BACK_LONG[st.back_hair]
        top = _ellipse(0, -0.2, 1.32, 1.15, math.pi, 2 * math.pi, 20)
    else:  # short: stops around the jaw line
        right, rounds = _BACK_SHORT[st.back_hair]
        top = _ellipse(0, -0.15, 1.24, 1.12, math.pi, 2 * math.pi, 20)
    fill = _shade(hair, 0.8) if st.shading == "cel" else hair
    cv.poly(_chaikin(top + _mirror(right), rounds) if rounds else top + _mirror(right), fill,
            pen.edge(hair, 0.6), pen.w(0.04))


def _bangs_outline(st: DrawingStyle, tip: float) -> list[tuple[float, float]]:
    """The front hair: a cap over the head plus locks over the forehead, ending above the eyes."""
    cap = _ellipse(0, -0.12, 1.12, 1.02, math.pi * 0.98, math.pi * 2.02, 22)

    def base(x):
        return tip - 0.34 + 0.25 * x * x

    if st.bangs == "spiky":
        xs = np.linspace(-1.08, 1.08, 6)
        pts = [(1.1, -0.05)]
        for i in range(len(xs) - 1, 0, -1):
            mid = 0.5 * (xs[i] + xs[i - 1])
            pts += [(xs[i], base(xs[i])), (mid + 0.04, tip + (0.28 if abs(mid) > 0.8 else 0.06))]
        return cap + pts + [(xs[0], base(xs[0])), (-1.1, -0.05)]
    if st.bangs == "scallop":
        xs = np.linspace(-1.06, 1.06, 6)
        pts = [(1.1, -0.05)]
        for i in range(len(xs) - 1, 0, -1):
            mid, half = 0.5 * (xs[i] + xs[i - 1]), 0.5 * (xs[i] - xs[i - 1])
            b = base(mid) + 0.04
            pts += _ellipse(mid, b, half, tip - b + 0.02, 0, math.pi, 9)
        return _chaikin(cap + pts + [(-1.1, -0.05)], 1)
    if st.bangs == "blunt":  # a straight-cut fringe, longer at the temples
        pts = [(1.1, -0.05), (1.08, tip + 0.22), (0.86, tip + 0.2), (0.84, tip)]
        pts += [(x, tip - (0.04 if i % 2 else 0.0)) for i, x in enumerate(np.linspace(0.7, -0.7, 9))]
        return cap + pts + [(-0.84, tip), (-0.86, tip + 0.2), (-1.08, tip + 0.22), (-1.1, -0.05)]
    if st.bangs == "swept":  # locks swept to one side, longer on the right
        xs = np.linspace(-1.06, 1.06, 7)
        pts = [(1.1, -0.05), (1.1, tip + 0.25)]
        for i in range(len(xs) - 1, 0, -1):
            mid = 0.5 * (xs[i] + xs[i - 1])
            pts += [(xs[i] - 0.05, base(xs[i]) + 0.06), (mid + 0.13, tip - 0.06 + 0.1 * mid)]
        return cap + pts + [(xs[0], base(xs[0])), (-1.1, -0.05)]
    raise ValueError(st.bangs)


def _side_locks(cv, st: DrawingStyle, pen: _Pen, hair: Color) -> None:
    for s in (-1, 1):
        if st.bangs == "spiky":
            lock = [(s * 0.86, -0.2), (s * 1.12, -0.1), (s * 1.14, 1.2), (s * 1.0, 1.75), (s * 0.86, 0.9)]
        elif st.bangs == "blunt":
            lock = [(s * 0.84, -0.2), (s * 1.1, -0.1), (s * 1.1, 1.4), (s * 0.84, 1.4)]
        else:
            lock = _chaikin([(s * 0.86, -0.2), (s * 1.1, -0.1), (s * 1.14, 0.7), (s * 1.06, 1.4),
                             (s * 0.93, 1.64), (s * 0.84, 0.9)], 2)
        cv.poly(lock, hair, pen.edge(hair, 0.6), pen.w(0.03))


def _front_hair(cv, st: DrawingStyle, pen: _Pen, attrs: FaceAttributes, hair: Color, eye_y: float,
                light: int) -> None:
    if st.bangs == "classic":  # the classic bangs, side locks and shine
        R._draw_front_hair(cv, attrs, hair, eye_y)
        return
    cv.poly(_bangs_outline(st, eye_y - 0.30), hair, pen.edge(hair, 0.6), pen.w(0.035))
    if st.shading == "cel":  # a zigzag "angel ring" of light
        ring = _ellipse(0.1 * light, -0.62, 0.62, 0.2, math.pi * 1.1, math.pi * 1.9, 9)
        zig = [(x, y + (0.07 if i % 2 else 0.0)) for i, (x, y) in enumerate(reversed(ring))]
        cv.poly(ring + [(x, y + 0.08) for x, y in zig], _shade(hair, 1.45))
    elif st.shading == "soft":
        cv.poly(_ellipse(0.15 * light, -0.62, 0.55, 0.2, n=20), (255, 255, 255, 80))
        cv.poly(_ellipse(0.15 * light, -0.62, 0.35, 0.12, n=16), (255, 255, 255, 70))
    elif st.shading == "hatch":
        for k in range(4):
            x = -light * (0.35 + 0.14 * k)
            cv.line([(x, -0.95 + 0.05 * k), (x - light * 0.1, -0.62 + 0.05 * k)], _shade(hair, 0.55), pen.w(0.03))
    else:
        cv.line(_ellipse(-0.25, -0.55, 0.5, 0.22, math.pi * 1.15, math.pi * 1.6, 8), _shade(hair, 1.25), 0.06)
    if attrs.hair_length == 1:
        _side_locks(cv, st, pen, hair)


# ------------------------------------------------------------------------------------------------- face

def _draw_face(cv, st: DrawingStyle, pen: _Pen, attrs: FaceAttributes, skin: Color, eye_y: float,
               light: int) -> None:
    shape = _face_shape(attrs.age, st.face_len)
    if st.shading in ("cel", "soft"):  # the dark side first, the lit face over it
        cv.poly(shape, _shade(skin, 0.86 if st.shading == "cel" else 0.9), pen.edge(skin, 0.6), pen.w(0.03))
        cv.poly([(x * 0.86 + light * 0.07, y * 0.96 - 0.02) for x, y in shape], skin)
        band = [(-0.95, eye_y - 0.5), (0.95, eye_y - 0.5), (0.9, eye_y - 0.24), (-0.9, eye_y - 0.24)]
        cv.poly(band, _shade(skin, 0.86) if st.shading == "cel" else _shade(skin, 0.93))  # under the bangs
    else:
        cv.poly(shape, skin, pen.edge(skin, 0.62), pen.w(0.03))
        if st.shading == "hatch":
            h = R.FACE_HEIGHT[attrs.age] * st.face_len
            _hatch(cv, -light * 0.86, 0.15, -light * 0.78, 0.62 * h, 5, _shade(skin, 0.6), pen.w(0.025))


def _blush(cv, st: DrawingStyle, pen: _Pen, eye_y: float, eye_h: float) -> None:
    for s in (-1, 1):  # on the cheeks, below the eyes
        cx, cy = s * (st.eye_dx + 0.08), eye_y + max(0.42, 1.05 * eye_h)
        if st.blush == "oval":
            cv.poly(_ellipse(cx, cy, 0.2, 0.09, n=16), (255, 92, 120, 150))
        elif st.blush == "hatch":
            cv.poly(_ellipse(cx, cy, 0.2, 0.08, n=16), (255, 120, 140, 90))
            _hatch(cv, cx - 0.13, cy, cx + 0.13, cy, 3, (236, 60, 90), max(pen.w(0.03), 0.03), slant=0.14)
        else:  # glow: a large soft patch
            cv.poly(_ellipse(cx, cy, 0.26, 0.14, n=18), (255, 110, 140, 70))
            cv.poly(_ellipse(cx, cy, 0.18, 0.09, n=16), (255, 90, 120, 110))


def _nose(cv, st: DrawingStyle, skin: Color, eye_y: float) -> None:
    y = eye_y + 0.38 + 0.5 * st.eye_dy
    if st.nose == "line":
        cv.line([(0.0, y), (0.03, y + 0.06)], _shade(skin, 0.6), 0.03)
    elif st.nose == "dot":
        cv.poly(_ellipse(0.02, y + 0.04, 0.022, 0.018, n=8), _shade(skin, 0.55))
    elif st.nose == "shadow":
        cv.poly([(0.0, y - 0.04), (0.05, y + 0.07), (-0.02, y + 0.07)], _shade(skin, 0.8))


# ------------------------------------------------------------------------------------------------- eyes

def _lash(st: DrawingStyle) -> Color:
    """Lash colour: the style's ink, else the classic lash."""
    return st.ink or (30, 22, 30)


def _draw_eye(cv, st: DrawingStyle, pen: _Pen, attrs: FaceAttributes, cx: float, cy: float, side: int,
              skin: Color) -> None:
    w, h = R.EYE_SIZE[attrs.age]
    w, h = w * st.eye_scale, h * st.eye_scale
    iris = R.EYE_RGB[attrs.eye_color]
    lash = _lash(st)
    lw = max(pen.w(0.085), 0.07) if st.line > 0 else 0.085
    if attrs.eye_state == 2:  # closed
        if st.closed_eye == "up":  # happy closed eyes: an arch
            arc = [(cx + w * math.cos(t), cy + 0.1 - 0.5 * h * math.sin(t)) for t in np.linspace(0.2, math.pi - 0.2, 9)]
        else:
            arc = [(cx + w * math.cos(t), cy + 0.05 + 0.45 * h * math.sin(t)) for t in np.linspace(0.15, math.pi - 0.15, 9)]
        cv.line(arc, lash, 0.075)
        if st.closed_eye == "lashes":
            ex, ey = cx + side * w * 0.96, cy + 0.05 + 0.1 * h
            for k in range(2):
                cv.line([(ex - side * 0.1 * k, ey + 0.04 * k), (ex + side * 0.12 - side * 0.1 * k, ey + 0.1 + 0.05 * k)],
                        lash, 0.04)
        return
    if st.eye == "classic" and st.eye_scale == 1.0:
        R._draw_eye(cv, attrs, cx, cy, side, skin)
        return
    if st.eye in ("tall", "classic"):  # (a scaled classic eye is drawn as a tall one)
        cv.poly(_ellipse(cx, cy, w * 0.85, h * 1.08, n=24), (255, 255, 255))
        iris_pts = _ellipse(cx, cy + 0.04 * h, w * 0.68, h * 1.02, n=24)
        cv.poly(iris_pts, iris)
        cv.poly(_ellipse(cx, cy + 0.04 * h, w * 0.68, h * 1.02, math.pi * 1.08, math.pi * 1.92, 12), _shade(iris, 0.5))
        cv.poly(_ellipse(cx, cy + 0.1 * h, w * 0.2, h * 0.5, n=14), _shade(iris, 0.25))
        cv.poly(_ellipse(cx - side * 0.28 * w, cy - 0.4 * h, w * 0.2, w * 0.2, n=12), (255, 255, 255))
        cv.poly(_ellipse(cx + side * 0.25 * w, cy + 0.5 * h, w * 0.09, w * 0.09, n=10), (255, 255, 255))
    elif st.eye == "sparkle":
        cv.poly(_ellipse(cx, cy, w, h * 1.04, n=24), (255, 255, 255))
        cv.poly(_ellipse(cx, cy + 0.04 * h, w * 0.8, h * 0.98, n=24), _shade(iris, 0.7))
        cv.poly(_ellipse(cx, cy + 0.16 * h, w * 0.68, h * 0.78, n=24), iris)
        cv.poly(_ellipse(cx, cy + 0.4 * h, w * 0.5, h * 0.4, n=20), _shade(iris, 1.5))
        cv.poly(_ellipse(cx, cy + 0.05 * h, w * 0.26, h * 0.36, n=14), _shade(iris, 0.3))
        sx, sy, r = cx - side * 0.3 * w, cy - 0.35 * h, 0.3 * w  # a four-point star
        star = [(sx + (r if k % 2 == 0 else 0.3 * r) * math.cos(k * math.pi / 4),
                 sy + (r if k % 2 == 0 else 0.3 * r) * math.sin(k * math.pi / 4)) for k in range(8)]
        cv.poly(star, (255, 255, 255))
        cv.poly(_ellipse(cx + side * 0.3 * w, cy + 0.35 * h, w * 0.1, w * 0.1, n=10), (255, 255, 255))
        cv.poly(_ellipse(cx + side * 0.05 * w, cy + 0.55 * h, w * 0.07, w * 0.07, n=8), (255, 255, 255, 200))
    elif st.eye == "round":
        cv.poly(_ellipse(cx, cy, w, h, n=24), (255, 255, 255))
        cv.poly(_ellipse(cx, cy + 0.04 * h, w * 0.82, h * 0.94, n=24), iris)
        cv.poly(_ellipse(cx, cy + 0.08 * h, w * 0.46, h * 0.54, n=18), _shade(iris, 0.3))
        cv.poly(_ellipse(cx - side * 0.3 * w, cy - 0.3 * h, w * 0.3, w * 0.3, n=14), (255, 255, 255))
        cv.poly(_ellipse(cx + side * 0.32 * w, cy + 0.4 * h, w * 0.12, w * 0.12, n=10), (255, 255, 255))
    elif st.eye == "simple":
        cv.poly(_ellipse(cx, cy, w * 0.95, h * 0.95, n=24), (255, 255, 255))
        cv.poly(_ellipse(cx, cy + 0.06 * h, w * 0.55, h * 0.85, n=20), iris)
        cv.poly(_ellipse(cx, cy + 0.1 * h, w * 0.25, h * 0.4, n=12), _shade(iris, 0.45))
        cv.poly(_ellipse(cx - side * 0.2 * w, cy - 0.3 * h, w * 0.14, w * 0.14, n=10), (255, 255, 255))
        cv.line([(cx - w * 0.4, cy + h * 1.05), (cx + w * 0.4, cy + h * 1.05)], lash, 0.025)
    else:
        raise ValueError(st.eye)
    if attrs.eye_state == 1:  # half: the upper lid covers the top half of the eye
        lid_y = cy - 0.05 * h
        cv.poly([(cx - w * 1.15, cy - h * 1.4), (cx + w * 1.15, cy - h * 1.4), (cx + w * 1.15, lid_y),
                 (cx - w * 1.15, lid_y)], skin)
        cv.line([(cx - w * 1.05, lid_y + 0.02), (cx + w * 1.05, lid_y + 0.02)], lash, lw)
        return
    top = [(cx + w * 1.05 * math.cos(t), cy + h * 1.02 * math.sin(t)) for t in np.linspace(math.pi * 1.05, math.pi * 1.95, 10)]
    top = top + [(cx + w * 1.3, cy - 0.2 * h)] if side > 0 else [(cx - w * 1.3, cy - 0.2 * h)] + top
    cv.line(top, lash, lw if st.eye != "simple" else 0.045)
    if st.eye == "sparkle":  # flicked lashes at the outer corner
        ox = cx + side * w * 1.2
        for k in range(2):
            cv.line([(ox, cy - 0.25 * h + 0.18 * h * k), (ox + side * 0.14, cy - 0.45 * h + 0.22 * h * k)], lash, 0.035)


def _lower_lid(cv, st: DrawingStyle, attrs: FaceAttributes, cx: float, cy: float) -> None:
    """A thin lash line under an open or half-open eye, as many artists draw the lower lashes."""
    if not st.lower_lid or st.eye == "simple" or attrs.eye_state == 2:  # ("simple" eyes draw their own)
        return
    w, h = R.EYE_SIZE[attrs.age]
    w, h = w * st.eye_scale, h * st.eye_scale
    y = cy + h * (1.12 if st.eye in ("tall", "sparkle") or st.eye_scale != 1.0 else 1.06)
    cv.line([(cx - w * 0.45, y), (cx + w * 0.45, y)], _lash(st), 0.025)


# ------------------------------------------------------------------------------------------------ mouth

def _draw_mouth(cv, st: DrawingStyle, pen: _Pen, attrs: FaceAttributes, my: float) -> None:
    dark, inner, tongue = (120, 40, 50), (150, 30, 44), (240, 120, 130)
    line = st.ink if st.mouth in ("wide", "ink") and st.ink else dark
    if st.mouth == "classic":
        R._draw_mouth(cv, attrs, my)
        return
    if attrs.mouth == 0:  # closed: a neutral line
        half = {"wide": 0.14, "small": 0.06, "cat": 0.07, "ink": 0.09}[st.mouth]
        cv.line([(-half, my), (half, my + (0.01 if st.mouth == "ink" else 0.0))], line, 0.04 if st.mouth == "wide" else 0.03)
    elif attrs.mouth == 1:  # smile: lips closed, curving up
        if st.mouth == "cat":  # an "ω"
            for s in (-1, 1):
                cv.line([(s * 0.07 + 0.07 * math.cos(t), my - 0.03 + 0.07 * math.sin(t))
                         for t in np.linspace(0.1, math.pi - 0.1, 7)], dark, 0.035)
        else:
            # the small smile curves up more, so that at 64 px and under the soft style's blur it still
            # reads as a smile and not as the closed line (it was a 2-pixel dash like the line)
            r, rise = {"wide": (0.23, 0.45), "small": (0.13, 0.75), "ink": (0.16, 0.45)}[st.mouth]
            arc = [(r * math.cos(t), my - 0.04 + rise * r * math.sin(t)) for t in np.linspace(0.25, math.pi - 0.25, 9)]
            cv.line(arc, line, 0.045 if st.mouth in ("wide", "small") else 0.035)
            if st.mouth == "ink":  # dimples at the corners
                for s in (-1, 1):
                    cv.line([(s * 0.16, my - 0.04), (s * 0.19, my - 0.07)], line, 0.02)
    else:  # open: a dark opening with a tongue
        if st.mouth == "wide":
            shape = [(-0.18, my - 0.07), (0.18, my - 0.07), (0.07, my + 0.15), (-0.07, my + 0.15)]
            cv.poly(shape, inner, line, pen.w(0.02))
            cv.poly(_ellipse(0, my + 0.09, 0.07, 0.045, n=10), tongue)
        elif st.mouth == "small":
            cv.poly(_ellipse(0, my, 0.085, 0.11, n=16), inner)
            cv.poly(_ellipse(0, my + 0.06, 0.055, 0.04, n=10), tongue)
        elif st.mouth == "cat":
            cv.poly([(-0.17, my - 0.06), (0.17, my - 0.06)] + _ellipse(0, my - 0.06, 0.17, 0.2, 0, math.pi, 14),
                    inner, pen.edge(inner, 0.6), pen.w(0.02))
            cv.poly(_ellipse(0, my + 0.07, 0.1, 0.06, n=12), tongue)
            cv.poly([(0.1, my - 0.06), (0.14, my - 0.06), (0.12, my - 0.01)], (255, 255, 255))  # a fang
        else:  # ink: a rounded triangle
            shape = _chaikin([(-0.14, my - 0.05), (0.14, my - 0.05), (0.0, my + 0.16)], 1)
            cv.poly(shape, inner, line, pen.w(0.03))
            cv.poly(_ellipse(0, my + 0.07, 0.06, 0.035, n=10), tongue)


# ------------------------------------------------------------------------------------------ accessories

def _draw_accessory(cv, st: DrawingStyle, pen: _Pen, attrs: FaceAttributes, nz: R.Nuisance, eye_y: float,
                    eye_dx: float) -> None:
    color = nz.accessory_color
    edge = pen.edge(color, 0.55)
    if attrs.accessory == 1:  # ribbon on the head
        if st.ribbon == "classic":
            cx, cy = 0.78, -0.95
            for s in (-1, 1):
                cv.poly([(cx, cy), (cx + s * 0.42, cy - 0.26), (cx + s * 0.46, cy + 0.24)], color,
                        edge or _shade(color, 0.55), max(pen.w(0.03), 0.02))
            cv.poly(_ellipse(cx, cy, 0.1, 0.1, n=10), _shade(color, 0.8))
            return
        cx, cy, size = (0.0, -1.08, 1.15) if st.ribbon == "top" else (0.8, -0.95, 1.0)
        for s in (-1, 1):  # tails, then loops, then the knot
            cv.poly([(cx - 0.03 * s, cy), (cx + s * 0.2 * size, cy + 0.42 * size), (cx + s * 0.09 * size, cy + 0.46 * size),
                     (cx + 0.02 * s, cy + 0.03)], _shade(color, 0.85), edge, pen.w(0.02))
        for s in (-1, 1):
            loop = _ellipse(cx + s * 0.27 * size, cy - 0.07 * size, 0.27 * size, 0.17 * size, n=18)
            cv.poly(loop, color, edge, pen.w(0.025))
            cv.poly(_ellipse(cx + s * 0.25 * size, cy - 0.07 * size, 0.1 * size, 0.06 * size, n=10), _shade(color, 0.7))
        cv.poly(_ellipse(cx, cy, 0.1 * size, 0.1 * size, n=10), _shade(color, 0.8), edge, pen.w(0.02))
    elif attrs.accessory == 2:  # hairpin on the bangs
        cx, cy = st.pin_side * 0.62, eye_y - 0.52
        if st.hairpin == "classic":
            cv.line([(cx - 0.2, cy - 0.1), (cx + 0.2, cy + 0.1)], color, 0.08)
            cv.line([(cx - 0.2, cy + 0.1), (cx + 0.2, cy - 0.1)], color, 0.08)
        elif st.hairpin == "bars":
            for d in (-0.07, 0.07):
                cv.line([(cx - 0.2, cy - 0.08 + d), (cx + 0.2, cy + 0.06 + d)], color, 0.065)
        else:  # clip: a long bar with a bead at its end
            cv.line([(cx - 0.26, cy + 0.1), (cx + 0.2, cy - 0.08)], color, 0.11)
            cv.poly(_ellipse(cx + 0.22, cy - 0.09, 0.12, 0.12, n=12), _shade(color, 1.2), edge, pen.w(0.015))
    elif attrs.accessory == 3:  # glasses over both eyes
        w, h = R.EYE_SIZE[attrs.age]
        w, h = w * st.eye_scale, max(h * st.eye_scale, 0.3)
        frame = st.glasses_ink or color
        fw = 0.045 if st.glasses != "oval" else 0.035
        for s in (-1, 1):
            ex = s * eye_dx
            if st.glasses in ("classic", "oval"):
                rx, ry = (w * 1.35, h * 1.15) if st.glasses == "classic" else (w * 1.4, h * 0.95)
                pts = _ellipse(ex, eye_y + 0.02, rx, ry, n=24)
                if st.glasses == "oval":
                    cv.poly(pts, (200, 225, 255, 60))
                cv.line(pts + pts[:1], frame, fw)
            else:
                x0, x1, y0, y1 = ex - w * 1.3, ex + w * 1.3, eye_y + 0.02 - h * 1.05, eye_y + 0.02 + h * 1.0
                if st.glasses == "square":
                    rect = _chaikin([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], 1)
                    cv.line(rect + rect[:1], frame, fw * max(1.0, pen.k * 0.8))
                else:  # browline: a heavy top bar, thin rims below
                    cv.line([(x0, y0), (x1, y0)], frame, 0.08)
                    rim = _ellipse(ex, y0, w * 1.3, h * 2.0, 0, math.pi, 14)
                    cv.line(rim, frame, 0.03)
        cv.line([(-eye_dx + w * 1.3, eye_y - 0.02), (eye_dx - w * 1.3, eye_y - 0.02)], frame, fw)


# --------------------------------------------------------------------------------------------- the face

def _draw_body(cv, pen: _Pen, nz: R.Nuisance, face_h: float, shading: str, light: int) -> None:
    cv.poly([(-0.28, 0.6), (0.28, 0.6), (0.3, face_h + 0.5), (-0.3, face_h + 0.5)], _shade(nz.skin, 0.9),
            pen.edge(nz.skin, 0.6), pen.w(0.02))
    shoulders = _chaikin([(-1.7, 2.4), (-1.5, face_h + 0.55), (-0.35, face_h + 0.35), (0, face_h + 0.6),
                          (0.35, face_h + 0.35), (1.5, face_h + 0.55), (1.7, 2.4)], 1)
    cv.poly(shoulders, nz.clothes, pen.edge(nz.clothes, 0.6), pen.w(0.03))
    if shading == "cel":
        cv.poly([(-light * 1.7, 2.4), (-light * 1.5, face_h + 0.6), (-light * 0.9, face_h + 0.55),
                 (-light * 0.7, 2.4)], _shade(nz.clothes, 0.75))


def render_styled(attrs: FaceAttributes, nz: R.Nuisance, style, size: int = 64, supersample: int = 2) -> np.ndarray:
    """Draw one portrait in a drawing style; returns uint8 RGB [size, size, 3]."""
    st = style_spec(style)
    if st.name == "classic" and st == CLASSIC:
        return R.render_face(attrs, nz, size, supersample)
    frame = replace(nz, scale=nz.scale * st.head,
                    background=_shade(nz.background, 1 + st.paper) if st.paper else nz.background)
    cv = R._Canvas(size * supersample, frame)
    pen = _Pen(st, 1 + nz.hair_jitter)  # line weight varies a little from face to face
    light = 1 if nz.rotation_deg >= 0 else -1  # the side the light comes from
    hair = _shade(R.HAIR_RGB[attrs.hair_color], 1 + nz.hair_jitter)
    face_h = R.FACE_HEIGHT[attrs.age] * st.face_len
    eye_y = R.EYE_Y[attrs.age] + st.eye_dy

    _back_hair(cv, st, pen, attrs, hair)
    _draw_body(cv, pen, nz, face_h, st.shading, light)
    _draw_face(cv, st, pen, attrs, nz.skin, eye_y, light)
    if attrs.blush:
        _blush(cv, st, pen, eye_y, R.EYE_SIZE[attrs.age][1] * st.eye_scale)
    for s in (-1, 1):
        _draw_eye(cv, st, pen, attrs, s * st.eye_dx, eye_y, s, nz.skin)
        _lower_lid(cv, st, attrs, s * st.eye_dx, eye_y)
    _nose(cv, st, nz.skin, R.EYE_Y[attrs.age])
    _draw_mouth(cv, st, pen, attrs, R.EYE_Y[attrs.age] + 0.36 + 0.3 * face_h + 0.5 * st.eye_dy)
    _front_hair(cv, st, pen, attrs, hair, eye_y, light)
    _draw_accessory(cv, st, pen, attrs, nz, eye_y, st.eye_dx)

    image = cv.image
    if st.blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(st.blur * supersample))
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)
