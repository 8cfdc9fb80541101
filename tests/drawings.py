"""Pictures the generator never made, for upload and inversion tests."""

from PIL import Image, ImageDraw


def draw_face(size: int = 200) -> Image.Image:
    """A simple hand-drawn-looking face: not something the generator ever made."""
    img = Image.new("RGB", (size, size), (250, 220, 235))
    d = ImageDraw.Draw(img)
    s = size / 100
    d.ellipse([20 * s, 15 * s, 80 * s, 90 * s], fill=(255, 224, 196), outline=(60, 40, 30), width=max(1, int(s)))
    d.pieslice([12 * s, 5 * s, 88 * s, 70 * s], 180, 360, fill=(200, 40, 60))
    for cx in (38, 62):
        d.ellipse([(cx - 7) * s, 45 * s, (cx + 7) * s, 60 * s], fill=(255, 255, 255), outline=(0, 0, 0))
        d.ellipse([(cx - 4) * s, 48 * s, (cx + 4) * s, 58 * s], fill=(40, 120, 60))
    d.arc([42 * s, 66 * s, 58 * s, 76 * s], 20, 160, fill=(150, 40, 40), width=max(1, int(2 * s)))
    return img
