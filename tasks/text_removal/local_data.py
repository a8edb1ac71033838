"""SCUT-EnsText / SCUT-Syn from a local folder: text images, their erased ground truth, and word masks.

Layout (the releases EraseNet and DeepEraser train on; one folder per split):
    <data_dir>/<split>/all_images/<name>.jpg   images with text
    <data_dir>/<split>/all_labels/<name>.jpg   the same images with the text erased by hand (the ground truth)
    <data_dir>/<split>/all_gts/<name>.txt      word polygons, one per line: x1,y1,x2,y2,...[,transcription]
    <data_dir>/<split>/mask/<name>.jpg         or, without all_gts: EraseNet's masks (text black, background white)
The box mask is the union of the filled word polygons (or the black part of the mask image), at the image's size
before resizing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from harness.errors import HarnessError
from tasks.imagery import open_image
from tasks.text_removal.render import TextImage

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def polygons(path: Path) -> list[list[tuple[float, float]]]:
    """Word polygons of an annotation file: the leading numbers of each line, as (x, y) pairs (at least 3)."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
        fields = [f.strip() for f in line.split(",")]
        values = []
        for field in fields:
            if not NUMBER.match(field):
                break
            values.append(float(field))
        if not fields or not fields[0]:
            continue
        if len(values) < 6:
            raise HarnessError(f"{path}:{number}: a word needs at least 3 points (x1,y1,x2,y2,x3,y3,...), got {line!r}")
        found.append(list(zip(values[0:len(values) - len(values) % 2:2], values[1::2])))
    return found


def word_mask(folder: Path, name: str, size: tuple[int, int]) -> tuple[np.ndarray, int]:
    """The box mask at `size` (width, height) and how many words it holds."""
    annotation = folder / "all_gts" / f"{name}.txt"
    if annotation.is_file():
        words = polygons(annotation)
        canvas = Image.new("L", size, 0)
        for polygon in words:
            ImageDraw.Draw(canvas).polygon(polygon, fill=255)
        return np.asarray(canvas) > 0, len(words)
    for suffix in IMAGE_SUFFIXES:
        path = folder / "mask" / f"{name}{suffix}"
        if path.is_file():
            mask = np.asarray(open_image(path).convert("L").resize(size, Image.NEAREST)) < 128
            return mask, 1
    raise HarnessError(f"image {name} has neither all_gts/{name}.txt nor mask/{name}.jpg in {folder}: add its annotation")


def local_images(folder: Path, size: int) -> list[TextImage]:
    """Every image of `<folder>/all_images` with its ground truth and masks, resized to size x size."""
    images = folder / "all_images"
    if not images.is_dir():
        raise HarnessError(f"{images} does not exist: give --task-arg data_dir=<SCUT-EnsText root holding {folder.name}/all_images>")
    paths = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise HarnessError(f"{images} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    found = []
    for path in paths:
        label = folder / "all_labels" / path.name
        if not label.is_file():
            raise HarnessError(f"{path.name} has no ground truth all_labels/{path.name} in {folder}: add it or remove the image")
        image, clean = open_image(path).convert("RGB"), open_image(label).convert("RGB")
        mask, words = word_mask(folder, path.stem, image.size)
        resized = Image.fromarray(mask).resize((size, size), Image.NEAREST)
        found.append(TextImage(image=np.asarray(image.resize((size, size), Image.BICUBIC)),
                               clean=np.asarray(clean.resize((size, size), Image.BICUBIC)),
                               stroke_mask=None, box_mask=np.asarray(resized) > 0, words=[""] * words))
    return found
