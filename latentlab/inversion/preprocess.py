"""Turn an uploaded picture into the generator's input format, refusing anything unsafe.

Accepted: PNG, JPEG, WebP and GIF (first frame). Refused with a `UserError` that says what to do:
empty files, files that are not one of those images, truncated files, files or images beyond the
size limits, and decompression bombs (a small file that declares a huge image). The image size
is checked from the header, before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from latentlab.core.errors import UserError, quoted
from latentlab.generator.synthetic.oracle import images_to_tensor

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


@dataclass(frozen=True)
class UploadLimits:
    """Upper bounds on what an upload may be; the defaults suit photos and drawings alike."""

    max_bytes: int = 20 * 2 ** 20  # 20 MiB on disk
    max_pixels: int = 40_000_000  # width * height, below PIL's own bomb threshold (89 Mpx)
    max_side: int = 12_000  # pixels, either side


CropBox = tuple[int, int, int, int]  # (left, top, right, bottom) in source pixels, right/bottom exclusive


def _read_bytes(source: str | Path | bytes, limits: UploadLimits) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), "upload"
    else:
        path = Path(source)
        name = path.name
        if not path.is_file():
            raise UserError(f"image file {path} does not exist")
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise UserError(f"{name} is {size / 2 ** 20:.1f} MiB, more than the {limits.max_bytes / 2 ** 20:.0f} MiB "
                            "limit; upload a smaller image")
        data = path.read_bytes()
    if len(data) == 0:
        raise UserError(f"{name} is an empty file; upload a PNG, JPEG, WebP or GIF image")
    if len(data) > limits.max_bytes:
        raise UserError(f"{name} is {len(data) / 2 ** 20:.1f} MiB, more than the {limits.max_bytes / 2 ** 20:.0f} MiB "
                        "limit; upload a smaller image")
    return data, name


BOMBS = (Image.DecompressionBombError, Image.DecompressionBombWarning)  # PIL's two signals of a huge image


def _bomb_message(name: str) -> str:
    return f"{name} declares an enormous image (a decompression bomb); upload an ordinary picture"


def open_image(source: str | Path | bytes, limits: UploadLimits | None = None) -> Image.Image:
    """Decode an upload (path or bytes) to an RGB PIL image, or raise `UserError` saying why not.

    Transparent pixels are composited on white; JPEG EXIF rotation is applied; GIFs give their
    first frame. `limits` defaults to `UploadLimits()`.
    """
    limits = limits or UploadLimits()
    data, name = _read_bytes(source, limits)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
        except BOMBS:
            raise UserError(_bomb_message(name)) from None
        except UnidentifiedImageError:
            raise UserError(f"{name} is not a PNG, JPEG, WebP or GIF image; upload one of those") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise UserError(f"{name} could not be read as an image ({e}); upload a PNG, JPEG, WebP or GIF") from None
        width, height = img.size
        if width * height > limits.max_pixels or max(width, height) > limits.max_side:
            raise UserError(f"{name} is {width}x{height} pixels, beyond the limit of {limits.max_pixels / 1e6:.0f} "
                            f"megapixels or {limits.max_side} px a side; scale it down first")
        if width < 1 or height < 1:
            raise UserError(f"{name} has no pixels; upload a real image")
        try:
            img.seek(0)  # first frame of an animation
            img.load()
            img = ImageOps.exif_transpose(img)
        except BOMBS:
            raise UserError(_bomb_message(name)) from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise UserError(f"{name} is damaged or truncated ({e}); upload the complete image file") from None
    return _to_rgb(img)


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB, with any transparency composited over white (drawings often have a clear background)."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def centre_box(width: int, height: int) -> CropBox:
    """The largest centred square."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def check_box(box: CropBox, width: int, height: int) -> CropBox:
    """Validate a crop box against the image; a non-square box is reduced to its centred square."""
    try:
        left, top, right, bottom = (int(round(float(v))) for v in box)
    except (TypeError, ValueError):
        raise UserError("a crop box is four numbers: left, top, right, bottom (pixels)") from None
    if not (0 <= left < right <= width and 0 <= top < bottom <= height):
        raise UserError(f"crop box {left},{top},{right},{bottom} is not inside the {width}x{height} image; "
                        "give left,top,right,bottom with 0 <= left < right <= width and 0 <= top < bottom <= height")
    bw, bh = right - left, bottom - top
    side = min(bw, bh)
    left, top = left + (bw - side) // 2, top + (bh - side) // 2
    return left, top, left + side, top + side


def crop_and_resize(img: Image.Image, resolution: int, box: CropBox | None = None) -> np.ndarray:
    """Square crop (centre by default) and antialiased (Lanczos) resize -> uint8 [R, R, 3]."""
    box = centre_box(*img.size) if box is None else check_box(box, *img.size)
    square = img.crop(box)
    if square.size != (resolution, resolution):
        square = square.resize((resolution, resolution), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(square, dtype=np.uint8).copy()


def prepare_image(source: str | Path | bytes, resolution: int, box: CropBox | None = None,
                  limits: UploadLimits | None = None) -> np.ndarray:
    """Upload -> uint8 [R, R, 3] at the generator's resolution (see `open_image`, `crop_and_resize`)."""
    return crop_and_resize(open_image(source, limits), resolution, box)


def parse_box(text: str | None) -> CropBox | None:
    """'left,top,right,bottom' -> a box; None or '' -> None (centre crop)."""
    if not text:
        return None
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if len(parts) != 4:
        raise UserError(f"a crop box needs four numbers left,top,right,bottom, got {quoted(text)}")
    try:
        return tuple(int(float(p)) for p in parts)  # type: ignore[return-value]
    except ValueError:
        raise UserError(f"a crop box needs four numbers left,top,right,bottom, got {quoted(text)}") from None


def to_tensor(images: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 [R, R, 3] or [N, R, R, 3] -> float [N, 3, R, R] in [-1, 1] (the generator's range)."""
    return images_to_tensor(images[None] if images.ndim == 3 else images, size=None).to(device)
