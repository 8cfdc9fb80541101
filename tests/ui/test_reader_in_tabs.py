"""The app's Edit and Invert & edit tabs use a set's attribute reader, as `latentlab edit --set` does:
a pick onto a class ends per face where the reader reads it. Real files in a workspace, no browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from directions_helpers import TINY

from directions.animate import render_frames
from directions.edit import edit
from directions.fit import AttributeSpec, fit_direction_set
from directions.io import save_direction_set
from directions.reach import edit_onto_classes
from directions.reader import reader_path, save_reader, train_reader
from labeler.schema import default_schema
from latentlab.generator.interface import image_grid, map_latents, render, sample_z
from latentlab.generator.stylegan2 import StyleGAN2Generator
from latentlab.ui.context import AppContext
from latentlab.ui.edit_tab import edited_faces
from latentlab.ui.invert_tab import edited_codes
from latentlab.ui.sets import DirectionShelf

CLASSES = ["dark", "mid", "light"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A W set with one categorical attribute (brightness terciles of the faces) and its reader."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    gen = StyleGAN2Generator(TINY).eval()
    folder = tmp_path_factory.mktemp("reader-ws")
    w = map_latents(gen, sample_z(300, 1, gen.z_dim), 0.8)
    faces = render(gen, w)
    light = faces.reshape(len(faces), -1).mean(1)
    labels = pd.DataFrame({"tone": np.array(CLASSES, object)[np.digitize(light, np.quantile(light, [1 / 3, 2 / 3]))]})
    dset = fit_direction_set(w, labels, [AttributeSpec("tone", "categorical", CLASSES)], generator_id=gen.generator_id,
                             compare_svm=False).direction_set
    path = save_direction_set(folder / "directions" / "tones.npz", dset)
    reader = train_reader(faces, labels, {"tone": CLASSES}, generator_id=gen.generator_id, epochs=4, width=8)
    save_reader(reader_path(path), reader)
    ctx = AppContext(generator=gen, generator_path=None, device=torch.device("cpu"), workspace=folder,
                     db_url=f"sqlite:///{folder / 'labels.sqlite'}", schema=default_schema())
    return ctx, DirectionShelf(ctx.directions_dir, gen.generator_id), str(path)


def test_the_edit_tab_ends_a_class_pick_where_the_reader_reads_it(workspace):
    ctx, shelf, path = workspace
    reader = shelf.reader(path)
    assert reader is not None and reader.classes == {"tone": CLASSES}
    assert shelf.reader(path) is reader  # read once per file version
    dset, gen = shelf.load(path), ctx.generator
    _, w = ctx.faces(3, 4, 0.8)
    amounts = {"tone": "light"}
    _, with_reader = edited_faces(ctx, dset, 3, 4, 0.8, "", amounts, min_px=0, reader=reader)
    expected = edit_onto_classes(w, dset, amounts, lambda c: render_frames(gen, c, space="w", truncation_psi=0.8),
                                 reader)
    assert np.array_equal(with_reader, image_grid(render(gen, expected), cols=2))
    _, plain = edited_faces(ctx, dset, 3, 4, 0.8, "", amounts, min_px=0)  # no reader: onto the class mean
    assert np.array_equal(plain, image_grid(render(gen, edit(w, dset, amounts)), cols=2))
    assert not np.array_equal(expected, edit(w, dset, amounts))  # the reader moved the faces otherwise
    # numbers are applied as given, reader or not
    _, numeric = edited_faces(ctx, dset, 3, 4, 0.8, "", {"tone:light": 1.5}, min_px=0, reader=reader)
    assert np.array_equal(numeric, image_grid(render(gen, edit(w, dset, {"tone:light": 1.5})), cols=2))


def test_the_invert_tab_uses_the_reader_on_the_inverted_face(workspace):
    ctx, shelf, path = workspace
    dset, reader, gen = shelf.load(path), shelf.reader(path), ctx.generator
    w = ctx.faces(5, 1, 0.8)[1][0]
    state = {"generator_id": gen.generator_id, "codes": w}  # an inverted face without a tuning file
    got = edited_codes(ctx, state, dset, {"tone": "dark"}, reader)
    assert np.array_equal(got, edit_onto_classes(w[None], dset, {"tone": "dark"}, lambda c: render(gen, c), reader))
    assert np.array_equal(edited_codes(ctx, state, dset, {"tone": "dark"}), edit(w[None], dset, {"tone": "dark"}))


def test_a_damaged_reader_file_is_left_out_and_the_sliders_still_work(workspace, tmp_path):
    ctx, _, path = workspace
    folder = tmp_path / "directions"
    folder.mkdir()
    (folder / "tones.npz").write_bytes(open(path, "rb").read())
    (folder / "tones.reader.npz").write_bytes(b"PK\x03\x04 not a reader")
    shelf = DirectionShelf(folder, ctx.generator.generator_id)
    with pytest.warns(UserWarning, match="not a latentlab attribute reader.*class mean instead"):
        assert shelf.reader(str(folder / "tones.npz")) is None  # said once (a toast in the app) ...
    assert shelf.reader(str(folder / "tones.npz")) is None  # ... and remembered for this file version
    assert shelf.reader(str(folder / "none.npz")) is None  # a set without a reader
    _, edited = edited_faces(ctx, shelf.load(str(folder / "tones.npz")), 3, 2, 0.8, "", {"tone": "light"}, min_px=0,
                             reader=shelf.reader(str(folder / "tones.npz")))
    assert edited.shape[0] == ctx.generator.resolution


def test_a_class_pick_of_a_binary_attribute_goes_along_its_slider_until_the_reader_reads_it(tmp_path):
    torch.manual_seed(0)
    gen = StyleGAN2Generator(TINY).eval()
    w = map_latents(gen, sample_z(300, 2, gen.z_dim), 0.8)
    faces = render(gen, w)
    light = faces.reshape(len(faces), -1).mean(1)
    labels = pd.DataFrame({"bright": np.where(light > np.median(light), "yes", "no").astype(object)})
    dset = fit_direction_set(w, labels, [AttributeSpec("bright", "binary", ["no", "yes"])],
                             generator_id=gen.generator_id, compare_svm=False).direction_set
    reader = train_reader(faces, labels, {"bright": ["no", "yes"]}, generator_id=gen.generator_id, epochs=4, width=8)
    ctx = AppContext(generator=gen, generator_path=None, device=torch.device("cpu"), workspace=tmp_path,
                     db_url=f"sqlite:///{tmp_path / 'labels.sqlite'}", schema=default_schema())
    _, start = ctx.faces(3, 4, 0.8)
    _, got = edited_faces(ctx, dset, 3, 4, 0.8, "", {"bright": "yes"}, min_px=0, reader=reader, regions=False)
    expected = edit_onto_classes(start, dset, {"bright": "yes"},
                                 lambda c: render_frames(gen, c, space="w", truncation_psi=0.8), reader)
    assert np.array_equal(got, image_grid(render(gen, expected), cols=2))
    units = (expected - start) @ dset.entries["bright"].vectors[0] / dset.entries["bright"].scales[0]
    assert np.allclose(units * 2, np.round(units * 2), atol=1e-3)  # half-unit steps along the slider's direction
    assert not np.allclose(expected, edit(start, dset, {"bright": "yes"}))  # not onto the class mean
