"""Slider ends per face: each face stops where the reader first reads the target class."""

import numpy as np

from directions.edit import edit
from directions.reach import MAX_SHARE, edit_onto_classes, first_sure, onto_class_shares


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
        p = 1 / (1 + np.exp(-50 * (codes[:, 0] - t)))
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
    assert np.allclose(edit_onto_classes(faces, dset, {"a": "yes"}, lambda c: c, reader), full)  # binary: moved as usual
    moved = edit_onto_classes(faces, dset, {"a": "yes"}, lambda c: c, reader, kinds=None)  # per face on request
    assert np.all(moved[:2, 0] >= thresholds[:2] - 1e-6)  # read as the class
    assert np.all(np.abs(moved[:2] - faces[:2]).sum(1) < np.abs(full[:2] - faces[:2]).sum(1))  # and no further
    assert np.allclose(edit_onto_classes(faces, dset, {"a": "yes"}, lambda c: c, None, kinds=None), full)  # no reader: as before
