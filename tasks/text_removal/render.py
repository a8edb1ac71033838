"""Words rendered onto clean images with real fonts: the text image, its clean original, stroke and box masks."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("SALE", "open", "Coffee", "EXIT", "hotel", "Bank", "STOP", "market", "2026", "Taxi", "pizza", "OPEN 24H",
         "Station", "free", "News", "parking", "Cafe", "BOOKS", "street", "Pharmacy", "Hello", "menu", "Park", "HOT",
         "Museum", "shop", "Gate 7", "river", "Bakery", "SCHOOL", "wifi", "Bus", "Office", "tea", "Garden", "LIVE")


@lru_cache(maxsize=1)
def font_files() -> tuple[str | None, ...]:
    """DejaVu faces that ship inside matplotlib (the same files as Debian's fonts-dejavu) and Pillow's own scalable
    default (None): the same fonts on every machine, so the offline split is identical everywhere."""
    faces: list[str | None] = []
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.submodule_search_locations:
        folder = Path(list(spec.submodule_search_locations)[0]) / "mpl-data" / "fonts" / "ttf"
        faces += [str(folder / name) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
                                                  "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Oblique.ttf")
                  if (folder / name).exists()]
    return tuple(faces) + (None,)


def load_font(face: str | None, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(face, size) if face else ImageFont.load_default(size=size)


@dataclass
class TextImage:
    """An image with words on it, the clean image under them, and where the words are (stroke and box masks)."""

    image: np.ndarray  # uint8 [H, W, 3]
    clean: np.ndarray  # uint8 [H, W, 3]
    stroke_mask: np.ndarray | None  # bool [H, W]: pixels the glyphs (and their outline) cover (None: not known)
    box_mask: np.ndarray  # bool [H, W]: each word's rotated box
    words: list[str]


def _word_tile(word: str, font: ImageFont.FreeTypeFont, fill: tuple[int, ...], outline: int,
               outline_fill: tuple[int, ...]) -> tuple[Image.Image, list[tuple[float, float]]]:
    """The word on a transparent tile, and the corners of its box (with a 2-pixel margin)."""
    left, top, right, bottom = font.getbbox(word, stroke_width=outline)
    tile = Image.new("RGBA", (right - left + 8, bottom - top + 8), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((4 - left, 4 - top), word, font=font, fill=fill, stroke_width=outline, stroke_fill=outline_fill)
    w, h = tile.size
    return tile, [(2, 2), (w - 2, 2), (w - 2, h - 2), (2, h - 2)]


def _rotate(tile: Image.Image, corners: list[tuple[float, float]], angle: float) -> tuple[Image.Image, list[tuple[float, float]]]:
    rotated = tile.rotate(angle, resample=Image.BICUBIC, expand=True)
    cx, cy, ncx, ncy = tile.width / 2, tile.height / 2, rotated.width / 2, rotated.height / 2
    a = np.deg2rad(angle)
    moved = [(ncx + (x - cx) * np.cos(a) + (y - cy) * np.sin(a), ncy - (x - cx) * np.sin(a) + (y - cy) * np.cos(a)) for x, y in corners]
    return rotated, moved


def render_words(clean: Image.Image, rng: np.random.Generator, max_words: int = 3) -> TextImage:
    """1..max_words words at random size (10-30% of the side), colour, rotation (+-30 deg) and outline (0-2 px)."""
    size = clean.width
    canvas = clean.convert("RGBA")
    box = Image.new("L", clean.size, 0)
    words = []
    for _ in range(int(rng.integers(1, max_words + 1))):
        word = str(rng.choice(WORDS))
        font = load_font(font_files()[int(rng.integers(len(font_files())))], int(size * rng.uniform(0.1, 0.3)))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3)) + (255,)
        outline = int(rng.integers(0, 3))
        tile, corners = _word_tile(word, font, fill, outline, tuple(255 - c for c in fill[:3]) + (255,))
        tile, corners = _rotate(tile, corners, float(rng.uniform(-30, 30)))
        if tile.width >= size or tile.height >= size:
            tile = tile.resize((min(tile.width, size - 2), min(tile.height, size - 2)), Image.BICUBIC)
            corners = [(0, 0), (tile.width, 0), (tile.width, tile.height), (0, tile.height)]
        x, y = int(rng.integers(0, size - tile.width + 1)), int(rng.integers(0, size - tile.height + 1))
        canvas.alpha_composite(tile, (x, y))
        ImageDraw.Draw(box).polygon([(x + cx, y + cy) for cx, cy in corners], fill=255)
        words.append(word)
    image = np.asarray(canvas.convert("RGB"))
    clean_array = np.asarray(clean.convert("RGB"))
    stroke = np.abs(image.astype(int) - clean_array.astype(int)).max(axis=2) > 0
    return TextImage(image=image, clean=clean_array, stroke_mask=stroke, box_mask=(np.asarray(box) > 0) | stroke, words=words)
