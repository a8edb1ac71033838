"""Offline source images for the image families: crops of the photos that ship in scikit-image and scikit-learn,
and procedural scenes (gradients, textures, shapes)."""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from harness.errors import HarnessError

SKIMAGE_PHOTOS = ("astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "colorwheel", "grass",
                  "gravel", "hubble_deep_field", "immunohistochemistry", "logo", "moon", "page", "retina", "rocket", "text")
KINDS = ("photo", "scene", "collage")


@lru_cache(maxsize=1)
def packaged_photos() -> tuple[Image.Image, ...]:
    """The bundled sample photos as RGB images (scikit-image's data folder and scikit-learn's two samples)."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = []
    for name in SKIMAGE_PHOTOS:
        array = np.asarray(getattr(skimage.data, name)())
        if array.ndim == 2:
            array = np.repeat(array[..., None], 3, axis=2)
        photos.append(Image.fromarray(array[..., :3].astype(np.uint8)).convert("RGB"))
    photos += [Image.fromarray(a).convert("RGB") for a in load_sample_images().images]
    return tuple(photos)


def open_image(path: Path, fix: str = "replace or remove the file") -> Image.Image:
    """The image at `path`, fully decoded; a file PIL cannot read is a one-line error naming it and `fix`."""
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except OSError as exc:
        raise HarnessError(f"cannot read image {path}: {exc}; {fix}") from None


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def photo_crop(rng: np.random.Generator, size: int) -> Image.Image:
    """A random crop (10-60% of the short side, random aspect) of a random photo, tinted, maybe mirrored."""
    photo = packaged_photos()[int(rng.integers(len(packaged_photos())))]
    short = min(photo.size)
    side = int(short * rng.uniform(0.1, 0.6))
    aspect = rng.uniform(0.75, 1.33)
    w, h = max(8, min(photo.width, int(side * aspect))), max(8, min(photo.height, int(side / aspect)))
    x, y = int(rng.integers(0, photo.width - w + 1)), int(rng.integers(0, photo.height - h + 1))
    crop = photo.crop((x, y, x + w, y + h)).resize((size, size), Image.BILINEAR)
    tint = rng.uniform(0.6, 1.4, 3)
    array = np.clip(np.asarray(crop, dtype=np.float32) * tint, 0, 255).astype(np.uint8)
    crop = Image.fromarray(array)
    return crop.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop


def gradient(rng: np.random.Generator, size: int) -> Image.Image:
    """A linear gradient between two random colours at a random angle."""
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    a, b = np.array(_colour(rng), dtype=np.float32), np.array(_colour(rng), dtype=np.float32)
    return Image.fromarray((a + (b - a) * t[..., None]).astype(np.uint8))


def texture(rng: np.random.Generator, size: int) -> Image.Image:
    """Sinusoidal stripes, a checkerboard or smoothed noise, in two random colours."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    kind = int(rng.integers(3))
    if kind == 0:
        angle, period = rng.uniform(0, np.pi), rng.uniform(4, 24)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / period)
    elif kind == 1:
        cell = int(rng.integers(4, 20))
        t = ((xx // cell + yy // cell) % 2).astype(np.float32)
    else:
        coarse = rng.random((int(rng.integers(3, 9)),) * 2).astype(np.float32)
        t = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC), dtype=np.float32) / 255
    a, b = np.array(_colour(rng), dtype=np.float32), np.array(_colour(rng), dtype=np.float32)
    return Image.fromarray(np.clip(a + (b - a) * t[..., None], 0, 255).astype(np.uint8))


def draw_shapes(image: Image.Image, rng: np.random.Generator, count: int) -> Image.Image:
    """Random ellipses, rectangles, polygons and thick lines in random colours."""
    draw = ImageDraw.Draw(image)
    size = image.width
    for _ in range(count):
        x0, y0 = rng.integers(-size // 4, size, 2)
        w, h = rng.integers(size // 8, size // 2, 2)
        box = [int(x0), int(y0), int(x0 + w), int(y0 + h)]
        kind = int(rng.integers(4))
        if kind == 0:
            draw.ellipse(box, fill=_colour(rng))
        elif kind == 1:
            draw.rectangle(box, fill=_colour(rng))
        elif kind == 2:
            points = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=_colour(rng))
        else:
            draw.line(box, fill=_colour(rng), width=int(rng.integers(2, max(3, size // 10))))
    return image


def scene(rng: np.random.Generator, size: int) -> Image.Image:
    """A procedural scene: gradient or texture background with 3-8 shapes, sometimes a texture patch."""
    image = gradient(rng, size) if rng.random() < 0.5 else texture(rng, size)
    image = draw_shapes(image, rng, int(rng.integers(3, 9)))
    if rng.random() < 0.5:
        patch_side = int(size * rng.uniform(0.25, 0.5))
        patch = texture(rng, patch_side)
        image.paste(patch, tuple(int(v) for v in rng.integers(0, size - patch_side, 2)))
    return image


def collage(rng: np.random.Generator, size: int) -> Image.Image:
    """A photo crop with 1-4 procedural shapes and a smaller photo crop pasted on it."""
    image = draw_shapes(photo_crop(rng, size), rng, int(rng.integers(1, 5)))
    inset_side = int(size * rng.uniform(0.25, 0.45))
    image.paste(photo_crop(rng, inset_side), tuple(int(v) for v in rng.integers(0, size - inset_side, 2)))
    return image


def make_image(seed: int, role: str, index: int, size: int) -> Image.Image:
    """Image `index` of a role (references, train, distractors, prompts), the same for the same seed on every machine."""
    rng = np.random.default_rng([seed, zlib.crc32(role.encode()), index])
    kind = KINDS[int(rng.integers(len(KINDS)))]
    if kind == "photo":  # one or two small shapes make each crop unique even where crops of one photo overlap
        return draw_shapes(photo_crop(rng, size), rng, int(rng.integers(1, 3)))
    return {"scene": scene, "collage": collage}[kind](rng, size)
