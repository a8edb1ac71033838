"""Tamper patterns: base patterns seen in training, novel patterns held out for the test (AnyPattern's split).

Each pattern maps an RGB image and a seeded generator to an RGB image of the same size. Everything is PIL, numpy,
OpenCV or scikit-image; perspective and meme format are local versions of AugLy's functions of those names.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from tasks.imagery import draw_shapes, texture

try:
    import cv2
except ImportError as exc:  # the registry turns this into one line
    raise ImportError("the image families need the vision extra: pip install -e '.[vision]' (scripts/setup.sh does)") from exc

Pattern = Callable[[Image.Image, np.random.Generator], Image.Image]
WORDS = ("COPY", "meme", "LOL", "sale", "news", "2026", "wow", "fake", "hello", "share")


def _fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image.resize(size, Image.BILINEAR) if image.size != size else image


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.uint8)


def resize_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    scale = rng.uniform(0.5, 0.85)
    cw, ch = int(w * scale), int(h * scale * rng.uniform(0.85, 1.15))
    ch = min(ch, h)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return _fit(image.crop((x, y, x + cw, y + ch)), image.size)


def blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(1.0, 3.0)))


def pixelate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    factor = rng.uniform(0.12, 0.3)
    small = image.resize((max(2, int(image.width * factor)), max(2, int(image.height * factor))), Image.BILINEAR)
    return small.resize(image.size, Image.NEAREST)


def rotate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    angle = rng.uniform(10, 40) * rng.choice([-1, 1])
    return image.rotate(angle, resample=Image.BILINEAR, fillcolor=tuple(int(v) for v in rng.integers(0, 256, 3)))


def grayscale(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def pad(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    border = [int(s * rng.uniform(0.05, 0.3)) for s in (w, h, w, h)]
    padded = ImageOps.expand(image, border=tuple(border), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return _fit(padded, image.size)


def noise(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    array = _array(image).astype(np.float32) + rng.normal(0, rng.uniform(10, 35), (image.height, image.width, 3))
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def hflip(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.transpose(Image.FLIP_LEFT_RIGHT)


def vflip(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.transpose(Image.FLIP_TOP_BOTTOM)


def jpeg(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(5, 20)))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def color_jitter(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(rng.uniform(0.5, 1.6))
    return image


def hue_shift(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(int) + int(rng.integers(40, 216))) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def text_overlay(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    image = image.copy()
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        xy = tuple(int(v) for v in rng.integers(0, image.width * 2 // 3, 2))
        draw.text(xy, str(rng.choice(WORDS)), fill=tuple(int(v) for v in rng.integers(0, 256, 3)),
                  font_size=int(image.width * rng.uniform(0.12, 0.25)))
    return image


def emoji_overlay(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A drawn smiley (face, eyes, mouth) pasted at a random place, 20-45% of the side."""
    image = image.copy()
    side = int(image.width * rng.uniform(0.2, 0.45))
    x, y = (int(v) for v in rng.integers(0, image.width - side, 2))
    draw = ImageDraw.Draw(image)
    draw.ellipse([x, y, x + side, y + side], fill=(255, 204, 0), outline=(0, 0, 0))
    eye = max(1, side // 8)
    for ex in (x + side // 3, x + 2 * side // 3):
        draw.ellipse([ex - eye, y + side // 3 - eye, ex + eye, y + side // 3 + eye], fill=(0, 0, 0))
    draw.arc([x + side // 4, y + side // 3, x + 3 * side // 4, y + 3 * side // 4], 20, 160, fill=(0, 0, 0), width=max(1, side // 12))
    return image


def stripes(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    overlay = image.copy()
    draw = ImageDraw.Draw(overlay)
    spacing, width = int(rng.integers(6, 16)), int(rng.integers(1, 4))
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    vertical = rng.random() < 0.5
    for offset in range(0, image.width, spacing):
        line = [offset, 0, offset, image.height] if vertical else [0, offset, image.width, offset]
        draw.line(line, fill=colour, width=width)
    return Image.blend(image, overlay, rng.uniform(0.5, 0.9))


def _shuffled(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random permutation of n items that is not the identity."""
    order = rng.permutation(n)
    while (order == np.arange(n)).all():
        order = rng.permutation(n)
    return order


def channel_shuffle(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    order = _shuffled(3, rng)
    return Image.fromarray(_array(image)[..., order].copy())


def opacity(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    background = texture(rng, image.width).resize(image.size)
    return Image.blend(background, image, rng.uniform(0.4, 0.7))


def sharpen(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.UnsharpMask(radius=rng.uniform(2, 4), percent=int(rng.integers(200, 400)), threshold=0))


def perspective(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Corners moved by up to 20% of the side, then a perspective warp (AugLy's perspective_transform, locally)."""
    w, h = image.size
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-0.2, 0.2, (4, 2)).astype(np.float32) * np.float32([w, h])
    matrix = cv2.getPerspectiveTransform(src, dst)
    return Image.fromarray(cv2.warpPerspective(_array(image), matrix, (w, h), borderMode=cv2.BORDER_CONSTANT))


def meme_format(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A white band with black caption above the image, resized back (AugLy's meme_format, locally)."""
    w, h = image.size
    band = int(h * rng.uniform(0.2, 0.35))
    canvas = Image.new("RGB", (w, h + band), (255, 255, 255))
    canvas.paste(image, (0, band))
    ImageDraw.Draw(canvas).text((int(w * 0.05), int(band * 0.15)), str(rng.choice(WORDS)), fill=(0, 0, 0), font_size=int(band * 0.6))
    return _fit(canvas, image.size)


def overlay_onto_background(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The image shrunk to 45-80% and pasted onto a procedural background (like a screenshot)."""
    background = draw_shapes(texture(rng, image.width), rng, 3).resize(image.size)
    scale = rng.uniform(0.45, 0.8)
    small = image.resize((int(image.width * scale), int(image.height * scale)), Image.BILINEAR)
    background.paste(small, (int(rng.integers(0, image.width - small.width + 1)), int(rng.integers(0, image.height - small.height + 1))))
    return background


# novel patterns (never seen in training): geometric and structural ones that keep colours, then photometric and
# colour ones that keep the layout, so that neither a colour statistic nor a layout statistic covers the novel set


def swirl(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    from skimage.transform import swirl as skimage_swirl

    strength = rng.uniform(3, 8)
    warped = skimage_swirl(_array(image), strength=strength, radius=image.width * rng.uniform(0.5, 0.9), preserve_range=True)
    return Image.fromarray(warped.astype(np.uint8))


def mirror(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One half of the image reflected onto the other half."""
    array = _array(image).copy()
    half = array.shape[1] // 2
    if rng.random() < 0.5:
        array[:, array.shape[1] - half:] = array[:, :half][:, ::-1]
    else:
        array[:, :half] = array[:, array.shape[1] - half:][:, ::-1]
    return Image.fromarray(array)


def solarize(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.solarize(image, threshold=int(rng.integers(64, 160)))


def edges(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    gray = cv2.cvtColor(_array(image), cv2.COLOR_RGB2GRAY)
    low = int(rng.integers(30, 80))
    found = cv2.Canny(gray, low, low * 2)
    return Image.fromarray(found).convert("RGB")


def emboss(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.EMBOSS)


def posterize(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageOps.posterize(image, int(rng.integers(1, 3)))


def tile(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The image repeated n x n times (n = 2 or 3) at 1/n scale."""
    n = int(rng.integers(2, 4))
    small = image.resize((image.width // n, image.height // n), Image.BILINEAR)
    canvas = Image.new("RGB", (small.width * n, small.height * n))
    for i in range(n):
        for j in range(n):
            canvas.paste(small, (i * small.width, j * small.height))
    return _fit(canvas, image.size)


def fisheye(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Barrel distortion around the centre."""
    h, w = image.height, image.width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nx, ny = (xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)
    r = np.sqrt(nx ** 2 + ny ** 2)
    k = rng.uniform(0.3, 0.7)
    factor = (1 + k * r ** 2) / (1 + k)
    map_x, map_y = (nx * factor * (w / 2) + w / 2).astype(np.float32), (ny * factor * (h / 2) + h / 2).astype(np.float32)
    return Image.fromarray(cv2.remap(_array(image), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))


def block_shuffle(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The image cut into a 2 x 2 or 3 x 3 grid whose blocks are shuffled."""
    n = int(rng.integers(2, 4))
    array = _array(image)
    bh, bw = array.shape[0] // n, array.shape[1] // n
    blocks = [array[i * bh:(i + 1) * bh, j * bw:(j + 1) * bw] for i in range(n) for j in range(n)]
    order = _shuffled(len(blocks), rng)
    rows = [np.concatenate([blocks[order[i * n + j]] for j in range(n)], axis=1) for i in range(n)]
    return _fit(Image.fromarray(np.concatenate(rows, axis=0)), image.size)


def contour(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.CONTOUR)


def invert(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The colour negative."""
    return ImageOps.invert(image)


def duotone(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The luma mapped onto a ramp between two random colours (a two-ink print)."""
    dark, light = (tuple(int(v) for v in rng.integers(lo, lo + 128, 3)) for lo in (0, 128))
    return ImageOps.colorize(ImageOps.grayscale(image), black=dark, white=light)


def equalize(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Per-channel histogram equalisation, then a strong gamma curve (1/3 to 1/2, or 2 to 3)."""
    gamma = rng.uniform(2.0, 3.0) ** rng.choice([-1, 1])
    flat = _array(ImageOps.equalize(image)).astype(np.float32) / 255.0
    return Image.fromarray((255 * flat ** gamma).round().astype(np.uint8))


def false_colour(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The luma shown through a false-colour map (jet, hot, ocean or rainbow), as a thermal view."""
    maps = (cv2.COLORMAP_JET, cv2.COLORMAP_HOT, cv2.COLORMAP_OCEAN, cv2.COLORMAP_RAINBOW)
    gray = cv2.cvtColor(_array(image), cv2.COLOR_RGB2GRAY)
    return Image.fromarray(cv2.cvtColor(cv2.applyColorMap(gray, maps[int(rng.integers(len(maps)))]), cv2.COLOR_BGR2RGB))


BASE: dict[str, Pattern] = {f.__name__: f for f in (
    resize_crop, blur, pixelate, rotate, grayscale, pad, noise, hflip, vflip, jpeg, color_jitter, hue_shift, text_overlay,
    emoji_overlay, stripes, channel_shuffle, opacity, sharpen, perspective, meme_format, overlay_onto_background)}
NOVEL: dict[str, Pattern] = {f.__name__: f for f in (
    swirl, mirror, solarize, edges, emboss, posterize, tile, fisheye, block_shuffle, contour,
    invert, duotone, equalize, false_colour)}
ALL: dict[str, Pattern] = {**BASE, **NOVEL}


def apply(names: list[str], image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Apply the named patterns in order; the result keeps the input's size and is RGB."""
    for name in names:
        image = _fit(ALL[name](image.convert("RGB"), rng).convert("RGB"), image.size)
    return image
