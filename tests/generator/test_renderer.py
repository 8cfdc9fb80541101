"""The renderer is the ground truth of every benchmark: deterministic, and its labels match its drawing."""

import numpy as np
import pytest

from latentlab.generator.synthetic.attributes import ATTRIBUTES, FaceAttributes, marginal_probabilities, sample_attributes
from latentlab.generator.synthetic.renderer import EYE_Y, HAIR_RGB, Nuisance, render_face, render_seed

PLAIN = Nuisance(rotation_deg=0.0, scale=1.0, offset=(0.0, 0.0), background=(255, 255, 255),
                 skin=(252, 222, 198), clothes=(90, 90, 160), accessory_color=(240, 30, 30), hair_jitter=0.0)
BASE = dict(hair_color=0, hair_length=0, eye_color=0, eye_state=0, age=1, mouth=0, blush=0, accessory=0)
SIZE = 128  # large enough to locate parts precisely


def face(**kw) -> np.ndarray:
    return render_face(FaceAttributes(**{**BASE, **kw}), PLAIN, size=SIZE).astype(int)


def px(x: float, y: float) -> tuple[int, int]:
    """Face-frame coordinates -> (row, col) for the PLAIN framing (unit = size/4, centre (0.5, 0.46))."""
    return int(round(SIZE * 0.46 + y * SIZE / 4)), int(round(SIZE * 0.5 + x * SIZE / 4))


def region(img, x0, x1, y0, y1):
    (r0, c0), (r1, c1) = px(x0, y0), px(x1, y1)
    return img[r0:r1, c0:c1]


def test_same_seed_same_face_and_labels():
    a, la = render_seed(7)
    b, lb = render_seed(7)
    c, _ = render_seed(8)
    assert np.array_equal(a, b) and la == lb
    assert not np.array_equal(a, c)
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8


@pytest.mark.parametrize("hair", range(len(ATTRIBUTES["hair_color"])))
def test_hair_colour_is_drawn_on_top_of_the_head(hair):
    img = face(hair_color=hair)
    r, c = px(0.45, -0.75)
    assert np.abs(img[r, c] - np.array(HAIR_RGB[hair])).max() <= 12


def test_eye_state_controls_visible_sclera():
    def white(img):
        eye = region(img, -0.7, -0.1, EYE_Y[1] - 0.45, EYE_Y[1] + 0.45)
        return int((eye.min(axis=-1) > 235).sum())

    open_, half, closed = (white(face(eye_state=s)) for s in range(3))
    assert open_ > half > closed
    assert closed == 0


def test_mouth_open_shows_a_dark_red_mouth():
    def dark_red(img):
        m = region(img, -0.3, 0.3, EYE_Y[1] + 0.55, EYE_Y[1] + 0.95)
        return int(((m[..., 0] > 110) & (m[..., 1] < 70)).sum())

    open_, closed, smile = dark_red(face(mouth=2)), dark_red(face(mouth=0)), dark_red(face(mouth=1))
    assert open_ > 20 and open_ > 3 * max(closed, smile)


def test_accessories_appear_where_drawn():
    def red(img, *box):
        reg = region(img, *box)
        return int(((reg[..., 0] > 200) & (reg[..., 1] < 80) & (reg[..., 2] < 80)).sum())

    ribbon_box = (0.3, 1.3, -1.3, -0.6)
    assert red(face(accessory=1), *ribbon_box) > 50 and red(face(accessory=0), *ribbon_box) == 0
    pin_box = (-0.9, -0.3, EYE_Y[1] - 0.75, EYE_Y[1] - 0.3)
    assert red(face(accessory=2), *pin_box) > 10 and red(face(accessory=0), *pin_box) == 0
    eye_band = (-0.95, 0.95, EYE_Y[1] - 0.5, EYE_Y[1] + 0.5)
    assert red(face(accessory=3), *eye_band) > 60 and red(face(accessory=0), *eye_band) == 0


def test_blush_adds_pink_on_the_cheeks():
    def pink(img):
        cheek = region(img, 0.3, 0.7, EYE_Y[1] + 0.3, EYE_Y[1] + 0.55)
        return int(((cheek[..., 0] > 240) & (cheek[..., 1] < 190)).sum())

    assert pink(face(blush=1)) > 10 and pink(face(blush=0)) == 0


def test_age_changes_face_length():
    def chin_row(img):
        col = img[:, SIZE // 2]
        skin = np.where((np.abs(col - np.array(PLAIN.skin)).max(axis=-1) < 8))[0]
        return skin.max()

    assert chin_row(face(age=0)) < chin_row(face(age=1)) < chin_row(face(age=2))


def test_sampled_frequencies_match_documented_probabilities():
    rng = np.random.default_rng(0)
    draws = [sample_attributes(rng).as_dict() for _ in range(20_000)]
    ref = marginal_probabilities()
    for name, classes in ATTRIBUTES.items():
        freq = np.bincount([d[name] for d in draws], minlength=len(classes)) / len(draws)
        assert 0.5 * np.abs(freq - ref[name]).sum() < 0.02, name
    long_by_age = [np.mean([d["hair_length"] for d in draws if d["age"] == a]) for a in range(3)]
    assert long_by_age[0] + 0.2 < long_by_age[2]  # the documented age/hair-length correlation
    assert abs(np.mean([d["eye_state"] == 1 for d in draws]) - 0.10) < 0.01  # "half" is rare


def test_eye_state_and_colour_change_only_the_eye_region():
    """The eye critic of training sees only eye_box; every pixel the eyes change must lie inside it."""
    import dataclasses

    from latentlab.generator.synthetic.renderer import _seed_stream, eye_box, sample_nuisance

    top, left, h, w = eye_box(64)
    outside = np.ones((64, 64), bool)
    outside[top:top + h, left:left + w] = False
    changed = np.zeros((64, 64), bool)
    for seed in range(1_000_000, 1_000_300):
        rng = _seed_stream(seed)
        attrs = sample_attributes(rng)
        nz = sample_nuisance(rng, attrs)
        attrs = dataclasses.replace(attrs, accessory=0)  # glasses are drawn over the eyes and reach the ears
        base = render_face(dataclasses.replace(attrs, eye_state=0, eye_color=0), nz).astype(int)
        for other in (dict(eye_state=2), dict(eye_state=1, eye_color=3), dict(eye_color=4)):
            img = render_face(dataclasses.replace(attrs, **other), nz).astype(int)
            changed |= np.abs(img - base).max(axis=2) > 8
    assert changed[~outside].sum() > 200  # the eyes did change...
    assert not (changed & outside).any()  # ...and only inside the box
    assert eye_box(16) == (5, 3, 7, 10)  # scaled to other resolutions, rounded outwards
