"""Slider ends per face: each face stops where the reader first reads the target class."""

import numpy as np

from directions.edit import edit
from directions.animate import sweep_latents
from directions.edit import offset
from directions.fit import DirectionFitter
from directions.reach import (MAX_SHARE, MAX_UNITS, edit_onto_classes, first_sure, onto_class_shares, onto_class_units,
                              sweep_reach, toward_sign)


def test_first_sure_is_the_first_confident_point_or_the_last():
    proba = np.array([[0.1, 0.1, 0.2], [0.8, 0.2, 0.3], [0.9, 0.75, 0.4]])  # [steps, faces]
    assert first_sure(proba, 0.7).tolist() == [1, 2, 2]


class PlantedReader:
    """Reads class 'yes' of attribute 'a' when a code's first coordinate passes a face's own threshold
    (the planted 'picture' is the code itself)."""

    classes = {"a": ["no", "yes"]}

    def __init__(self, thresholds):
        self.thresholds = np.asarray(thresholds)

    def predict_proba(self, codes, attribute):
        k = len(codes) // len(self.thresholds)
        t = np.tile(self.thresholds, k)
        p = 0.5 * (1 + np.tanh(25 * (codes[:, 0] - t)))  # a logistic of slope 50, without overflow
        return {attribute: np.stack([1 - p, p], 1)}


def test_each_face_stops_as_soon_as_the_reader_reads_the_class(sweep_setup):
    _, w, dset = sweep_setup
    gain = edit(w, dset, {"a": "yes"})[:, 0] - w[:, 0]
    faces = w[np.argsort(-gain)[:3]].copy()  # faces far from the class, on their way along coordinate 0
    full = edit(faces, dset, {"a": "yes"})  # the usual end: the class mean
    thresholds = faces[:, 0] + np.array([0.25, 0.75, 10.0]) * (full[:, 0] - faces[:, 0])  # 3rd never read
    reader = PlantedReader(thresholds)
    shares = onto_class_shares(faces, dset, "a", "yes", lambda c: c, reader)
    assert 0.2 <= shares[0] <= 0.4 and 0.7 <= shares[1] <= 0.9 and shares[2] == MAX_SHARE
    kinds = ("categorical",)  # binary attributes then move onto the class position, as `edit` does
    assert np.allclose(edit_onto_classes(faces, dset, {"a": "yes"}, lambda c: c, reader, kinds=kinds), full)
    assert np.allclose(edit_onto_classes(faces, dset, {"a": "yes"}, lambda c: c, None), full)  # no reader: as before


def test_binary_faces_go_along_the_vector_until_the_reader_reads_the_class(sweep_setup):
    _, w, dset = sweep_setup
    step = offset(dset.entries["a"], 0, 1.0)[0]  # coordinate 0 per unit
    assert step > 0  # "yes" lies on the positive side of the planted direction
    order = np.argsort(w[:, 0])
    faces = w[[order[0], order[1], order[2], order[-1], order[-2]]].copy()  # three "no" faces, two "yes"
    thresholds = faces[:, 0] + step * np.array([1.2, 3.7, 1e6, -2.2, 1.0])
    # each reader reads "yes" past a face's own threshold on coordinate 0
    units = onto_class_units(faces[:3], dset, "a", "yes", lambda c: c, PlantedReader(thresholds[:3]))
    assert units.tolist() == [1.5, 4.0, MAX_UNITS]  # the first half unit read as "yes"; never read: the whole way
    units = onto_class_units(faces[3:], dset, "a", "no", lambda c: c, PlantedReader(thresholds[3:]))
    assert units[0] == -2.5  # from "yes" to "no": the other way
    assert units[1] == 0.0  # already read as "no" (below its threshold): stays
    moved = edit_onto_classes(faces[:2], dset, {"a": "yes"}, lambda c: c, PlantedReader(thresholds[:2]))  # default
    expected = np.concatenate([edit(faces[:1], dset, {"a": 1.5}), edit(faces[1:2], dset, {"a": 4.0})])
    assert np.allclose(moved, expected, atol=1e-5)


def test_the_way_starts_from_the_classes_the_reader_sees(sweep_setup):
    _, w, _ = sweep_setup
    labels = np.array(["child", "adult", "elder"])[np.digitize(w[:, 0], np.quantile(w[:, 0], [1 / 3, 2 / 3]))]
    d = DirectionFitter(kind="ordinal", classes=["child", "adult", "elder"], attribute="age",
                        compare_svm=False).fit(w, labels).to_direction()
    seen = np.array([[0.9, 0.1, 0.0], [0.0, 0.1, 0.9], [0.2, 0.0, 0.8]])  # child, elder, mostly elder
    assert toward_sign(d, 0, seen, ["child", "adult", "elder"], "adult").tolist() == [1.0, -1.0, -1.0]
    assert toward_sign(d, 0, seen, ["child", "adult", "elder"], "elder").tolist() == [1.0, 1.0, 1.0]
    assert toward_sign(d, 0, seen, ["child", "adult", "elder"], "child").tolist() == [-1.0, -1.0, -1.0]


def test_a_sweep_onto_a_binary_class_ends_each_face_where_the_reader_reads_it(sweep_setup):
    _, w, dset = sweep_setup
    step = offset(dset.entries["a"], 0, 1.0)[0]
    faces = w[np.argsort(w[:, 0])[:2]].copy()  # two "no" faces
    reader = PlantedReader(faces[:, 0] + step * np.array([1.2, 3.7]))
    ends = sweep_reach(faces, dset, "a", "yes", lambda c: c, reader)
    assert list(ends) == ["reach_units"] and ends["reach_units"].tolist() == [1.5, 4.0]
    sweep = sweep_latents(faces, dset, "a", 0, "yes", 5, pingpong=False, **ends)  # [F, N, D]
    assert np.allclose(sweep[0], faces)  # from the face itself
    assert np.allclose(sweep[-1], np.concatenate([edit(faces[:1], dset, {"a": 1.5}), edit(faces[1:], dset, {"a": 4.0})]),
                       atol=1e-5)  # to where the reader reads "yes", not to the class mean
    assert sweep_reach(faces, dset, "a", 2.0, lambda c: c, reader) == {}  # a number: as given
    assert sweep_reach(faces, dset, "a", "yes", lambda c: c, None) == {}  # no reader: onto the class mean
