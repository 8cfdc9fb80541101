"""Drawing styles: classic stays pixel-identical (a GAN trains on it), the others draw the same attributes."""

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from latentlab.generator.synthetic.attributes import FaceAttributes
from latentlab.generator.synthetic.renderer import (DEFAULT_STYLE, EYE_SIZE, EYE_Y, HAIR_RGB, HELD_OUT_STYLE, STYLES,
                                                    TRAINING_STYLES, Nuisance, render_batch, render_face, render_seed)
from latentlab.generator.synthetic.styles import SPECS, DrawingStyle, mixed_style, style_spec

# Hashes of the classic drawing taken before drawing styles existed: they must never change.
CLASSIC_BATCH_0_64 = "98ee77c93afca3054995002e70be2fe88465fa19ebd4394c42348e4831f83864"
CLASSIC_SEEDS = {  # (seed, size, supersample) -> sha256 of the pixels
    (7, 64, 2): "5a7063422ead913d801116a517a589c490da963f0e4c83b1e4057b2f57045ca0",
    (4242, 128, 2): "09251f074ab4f018744780b1a652b75e442fe3fb46f26bda0ffb59320cd12f1e",
    (1_000_123, 32, 2): "9036a552d1a8637b1e6ea6efb4dfeae35c76c1cdde4d50f97148d18598aba35b",
    (500_001, 64, 3): "0fd1711b160ac28275ccf1b02959fe0bf12061480a9fba389fde89dbae375983",
}


def test_default_style_is_pixel_identical_to_the_original_renderer():
    imgs, labels = render_batch(range(64))
    h = hashlib.sha256(imgs.tobytes())
    for k in sorted(labels):
        h.update(labels[k].tobytes())
    assert h.hexdigest() == CLASSIC_BATCH_0_64
    for (seed, size, ss), digest in CLASSIC_SEEDS.items():
        for style in ((), ("classic",)):
            img, _ = render_seed(seed, size, ss, *style)
            assert hashlib.sha256(img.tobytes()).hexdigest() == digest, (seed, style)


def test_style_names_and_the_held_out_style():
    assert DEFAULT_STYLE == "classic" and tuple(SPECS) == STYLES and len(STYLES) >= 4
    assert HELD_OUT_STYLE in STYLES and HELD_OUT_STYLE not in TRAINING_STYLES
    assert set(TRAINING_STYLES) | {HELD_OUT_STYLE} == set(STYLES)
    from latentlab.cli import generator as cli_generator  # the CLI names them without importing the renderer

    assert cli_generator.STYLE_NAMES == STYLES and cli_generator.HELD_OUT_STYLE == HELD_OUT_STYLE
    with pytest.raises(ValueError, match="unknown drawing style"):
        style_spec("picasso")


def test_same_seed_same_attributes_different_drawing_in_every_style():
    drawn = {}
    for style in STYLES:
        img, attrs = render_seed(3, style=style)
        again, _ = render_seed(3, style=style)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8 and np.array_equal(img, again)
        assert attrs == render_seed(3)[1]
        drawn[style] = img.astype(int)
    for i, a in enumerate(STYLES):
        for b in STYLES[i + 1:]:
            assert np.abs(drawn[a] - drawn[b]).mean() > 4, (a, b)  # clearly different drawings


def test_render_batch_takes_one_style_per_seed():
    imgs, _ = render_batch([5, 6], style=["cel", "ink"])
    assert np.array_equal(imgs[0], render_seed(5, style="cel")[0])
    assert np.array_equal(imgs[1], render_seed(6, style="ink")[0])
    with pytest.raises(ValueError):
        render_batch([5, 6], style=["cel"])


def test_mixed_styles_take_every_part_from_the_named_styles():
    a = mixed_style(np.random.default_rng(1), TRAINING_STYLES)
    assert a == mixed_style(np.random.default_rng(1), TRAINING_STYLES)
    for field in ("eye", "mouth", "bangs", "glasses", "shading"):
        assert getattr(a, field) in {getattr(SPECS[s], field) for s in TRAINING_STYLES}
    img = render_face(FaceAttributes(1, 1, 2, 0, 1, 2, 1, 1), PLAIN, style=a)
    assert img.shape == (64, 64, 3)


# --- every style draws every attribute where it belongs -----------------------------------------------

PLAIN = Nuisance(rotation_deg=0.0, scale=1.0, offset=(0.0, 0.0), background=(200, 228, 200),
                 skin=(252, 222, 198), clothes=(90, 90, 160), accessory_color=(240, 30, 30), hair_jitter=0.0)
BASE = dict(hair_color=0, hair_length=0, eye_color=0, eye_state=0, age=1, mouth=0, blush=0, accessory=0)
SIZE = 128


def face(style: str, **kw) -> np.ndarray:
    return render_face(FaceAttributes(**{**BASE, **kw}), PLAIN, size=SIZE, style=style).astype(int)


def region(style: str, img, x0, x1, y0, y1):
    """Face-frame box -> pixels, for the PLAIN framing scaled by the style's head size."""
    unit = SIZE / 4 * style_spec(style).head

    def px(x, y):
        return int(round(SIZE * 0.46 + y * unit)), int(round(SIZE * 0.5 + x * unit))

    (r0, c0), (r1, c1) = px(x0, y0), px(x1, y1)
    return img[r0:r1, c0:c1]


def eye_box(style: str, age: int = 1) -> tuple[float, float, float, float]:
    st = style_spec(style)
    w, h = EYE_SIZE[age][0] * st.eye_scale, EYE_SIZE[age][1] * st.eye_scale
    x, y = -st.eye_dx, EYE_Y[age] + st.eye_dy
    return x - w, x + w, y - h * 1.1, y + h * 1.1


@pytest.mark.parametrize("style", STYLES)
def test_eye_state_controls_the_visible_eye(style):
    def white(img):
        return int((region(style, img, *eye_box(style)).min(axis=-1) > 235).sum())

    def iris(img):
        return int((np.abs(region(style, img, *eye_box(style)) - np.array((46, 112, 232))).max(-1) < 60).sum())

    open_, half, closed = (face(style, eye_state=s) for s in range(3))
    assert white(open_) > white(half) > white(closed) == 0
    assert iris(open_) > iris(half) > 5 * max(iris(closed), 1) - 5


@pytest.mark.parametrize("style", STYLES)
def test_hair_colour_is_drawn_on_the_head(style):
    for hair in (0, 2, 4, 5):
        img = face(style, hair_color=hair)
        top = region(style, img, -0.3, -0.1, -1.02, -0.95).reshape(-1, 3)
        assert np.abs(np.median(top, 0) - np.array(HAIR_RGB[hair])).max() <= 20, (style, hair)


@pytest.mark.parametrize("style", STYLES)
def test_open_mouth_shows_a_dark_red_opening(style):
    def dark_red(img):
        y = EYE_Y[1] + style_spec(style).eye_dy
        m = region(style, img, -0.3, 0.3, y + 0.5, y + 0.95)
        return int(((m[..., 0] > 100) & (m[..., 1] < 70) & (m[..., 2] < 90)).sum())

    open_, closed, smile = (dark_red(face(style, mouth=m)) for m in (2, 0, 1))
    assert open_ > 10 and open_ > 2 * max(closed, smile), (open_, closed, smile)


@pytest.mark.parametrize("style", STYLES)
def test_blush_and_accessories_change_the_drawing_where_they_belong(style):
    plain = face(style)
    cheeks = (-0.9, 0.9, EYE_Y[1] + 0.2, EYE_Y[1] + 0.9)
    assert np.abs(region(style, face(style, blush=1), *cheeks) - region(style, plain, *cheeks)).sum() > 1000
    red = np.array(PLAIN.accessory_color)
    for acc in (1, 2):  # ribbon and hairpin wear the accessory colour on the upper head
        img = region(style, face(style, accessory=acc), -1.3, 1.3, -1.4, EYE_Y[1])
        assert int((np.abs(img - red).max(-1) < 40).sum()) > 15, (style, acc)
    band = (-1.0, 1.0, EYE_Y[1] - 0.6, EYE_Y[1] + 0.7)
    diff = np.abs(region(style, face(style, accessory=3), *band) - region(style, plain, *band)).max(-1)
    assert int((diff > 60).sum()) > 80  # glasses frames across the eyes


def test_a_style_can_be_given_as_a_record():
    custom = replace(SPECS["cel"], name="mine", line=0.0)
    assert isinstance(custom, DrawingStyle)
    a = render_face(FaceAttributes(**BASE), PLAIN, style=custom)
    b = render_face(FaceAttributes(**BASE), PLAIN, style="cel")
    assert not np.array_equal(a, b)


def test_lower_lids_draw_a_line_just_below_open_eyes_only():
    attrs = FaceAttributes(1, 1, 2, 0, 1, 2, 0, 0)
    for name in TRAINING_STYLES:
        spec = replace(SPECS[name], name="probe")  # (the classic spec drawn by the styled renderer, too)
        plain = render_face(attrs, PLAIN, style=spec).astype(int)
        lids = render_face(attrs, PLAIN, style=replace(spec, lower_lid=True)).astype(int)
        rows = np.nonzero(np.abs(lids - plain).sum(-1).sum(1))[0]
        assert rows.size, name
        eye_row = 64 * 0.46 + 16 * SPECS[name].head * (EYE_Y[attrs.age] + SPECS[name].eye_dy)  # face units -> px
        assert rows.min() > eye_row - 2, name  # below the eye's centre, not above it
    closed = replace(attrs, eye_state=2)
    for name in TRAINING_STYLES:
        spec = replace(SPECS[name], name="probe")
        assert np.array_equal(render_face(closed, PLAIN, style=spec),
                              render_face(closed, PLAIN, style=replace(spec, lower_lid=True)))


def test_training_styles_add_lower_lids_to_a_share_without_changing_the_other_picks():
    from latentlab.generator.synthetic.oracle import training_styles

    seeds = range(400)
    with_lids, without = training_styles(seeds), training_styles(seeds, lower_lid=0.0)
    lidded = [s for s in with_lids if isinstance(s, DrawingStyle) and s.lower_lid]
    assert 0.3 < len(lidded) / len(seeds) < 0.7
    for a, b in zip(with_lids, without):
        assert replace(style_spec(a), lower_lid=False) == style_spec(b)
