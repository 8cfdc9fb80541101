"""Uploads: the accepted formats decode to the generator's size; every kind of bad file is refused clearly."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from latentlab.core.errors import UserError
from latentlab.inversion.preprocess import (UploadLimits, centre_box, check_box, open_image, parse_box,
                                            prepare_image, to_tensor)

from .conftest import rgb_noise


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(side: int = 30_000) -> bytes:
    """A real, valid 1-bit PNG of side x side white pixels: tens of kB on disk, ~900 Mpx decoded."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt,kw", [("PNG", {}), ("JPEG", {"quality": 95}), ("WEBP", {"lossless": True}),
                                    ("GIF", {})])
def test_accepted_formats_give_rgb_at_generator_size(tmp_path, fmt, kw):
    src = Image.fromarray(rgb_noise(90, 120))
    path = tmp_path / f"pic.{fmt.lower()}"
    path.write_bytes(_encode(src, fmt, **kw))
    out = prepare_image(path, 64)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8


def test_gif_uses_first_frame(tmp_path):
    red, blue = Image.new("RGB", (40, 40), (255, 0, 0)), Image.new("RGB", (40, 40), (0, 0, 255))
    path = tmp_path / "anim.gif"
    red.save(path, save_all=True, append_images=[blue], duration=100, loop=0)
    out = prepare_image(path, 16)
    assert out[..., 0].mean() > 200 and out[..., 2].mean() < 50


def test_transparency_is_composited_on_white():
    rgba = Image.new("RGBA", (32, 32), (255, 0, 0, 0))  # fully transparent red
    out = np.asarray(open_image(_encode(rgba, "PNG")))
    assert (out == 255).all()


def test_centre_crop_and_manual_box():
    arr = np.zeros((100, 300, 3), np.uint8)
    arr[:, 100:200] = 255  # a white centre square between black bands
    data = _encode(Image.fromarray(arr), "PNG")
    assert centre_box(300, 100) == (100, 0, 200, 100)
    assert prepare_image(data, 16).min() == 255  # the centre square only
    left = prepare_image(data, 16, box=(0, 0, 100, 100))
    assert left.max() == 0
    # a non-square box is reduced to its centred square
    assert check_box((0, 0, 300, 100), 300, 100) == (100, 0, 200, 100)


@pytest.mark.parametrize("box", [(0, 0, 400, 100), (-1, 0, 50, 50), (50, 50, 50, 60), ("a", 0, 1, 1)])
def test_bad_crop_box_refused(box):
    img = Image.fromarray(rgb_noise(100, 300))
    with pytest.raises(UserError, match="crop box"):
        prepare_image(_encode(img, "PNG"), 16, box=box)


def test_parse_box():
    assert parse_box("1,2,30,40") == (1, 2, 30, 40)
    assert parse_box(None) is None
    with pytest.raises(UserError, match="four numbers"):
        parse_box("1,2,3")


def test_zero_byte_file_refused(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(UserError, match="empty file"):
        open_image(path)


def test_not_an_image_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are my notes, not a picture\n" * 20)
    with pytest.raises(UserError, match="not a PNG, JPEG, WebP or GIF"):
        open_image(path)


def test_other_image_formats_refused():
    with pytest.raises(UserError, match="not a PNG, JPEG, WebP or GIF"):
        open_image(_encode(Image.fromarray(rgb_noise(20, 20)), "BMP"))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_refused(fmt):
    data = _encode(Image.fromarray(rgb_noise(200, 200)), fmt)
    with pytest.raises(UserError, match="damaged or truncated"):
        open_image(data[: len(data) // 2])


def test_decompression_bomb_refused():
    data = bomb_png()
    assert len(data) < 200_000  # small on disk ...
    with pytest.raises(UserError, match="decompression bomb"):  # ... refused before decoding 900 Mpx
        open_image(data)


def test_bomb_below_pil_threshold_refused_by_our_pixel_limit():
    data = bomb_png(8_000)  # 64 Mpx: PIL only warns; our 40 Mpx limit refuses it
    with pytest.raises(UserError, match="megapixels"):
        open_image(data)


def test_oversize_file_and_image_refused(tmp_path):
    data = _encode(Image.fromarray(rgb_noise(64, 64)), "PNG")
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(UserError, match="MiB"):
        open_image(path, UploadLimits(max_bytes=len(data) - 1))
    with pytest.raises(UserError, match="megapixels"):
        open_image(path, UploadLimits(max_pixels=64 * 64 - 1))
    with pytest.raises(UserError, match="px a side"):
        open_image(data, UploadLimits(max_side=63))
    assert open_image(path, UploadLimits(max_bytes=len(data), max_pixels=64 * 64)).size == (64, 64)


def test_missing_file_refused(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        open_image(tmp_path / "nope.png")


def test_to_tensor_range():
    x = to_tensor(np.array([[[0, 255, 128]]], np.uint8))
    assert x.shape == (1, 3, 1, 1)
    assert x.min() == -1 and x.max() == 1
