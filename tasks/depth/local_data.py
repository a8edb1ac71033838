"""NYUv2, KITTI and ETH3D from a local folder in Marigold's layout: the extracted dataset and a filename list.

Each line of the filename list (Marigold's data_split/*.txt) names an RGB file and its depth file relative to the
dataset folder, then maybe more columns (NYU's filled depth, KITTI's focal length), which are not used:
    nyu    test/kitchen_0004/rgb_0001.png test/kitchen_0004/depth_0001.png ...     uint16 PNG, millimetres
    kitti  2011_09_26/.../image_02/data/0000000069.png 2011_09_26_drive_.../0000000069.png ...  uint16 PNG / 256
    eth3d  rgb/office/images/dslr_images/DSC_0219.JPG depth/.../DSC_0219.JPG   raw float32 4032 x 6048, inf invalid
Valid pixels and crops follow Marigold's dataset classes: depth in (min, max) (NYU 1e-3..10 m with the Eigen
crop; KITTI 1e-5..80 m, cropped to the KITTI benchmark size 352 x 1216, with the Eigen crop; ETH3D > 1e-5 m).
A line whose depth column is "None" (KITTI frames without ground truth) is skipped, as Marigold does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from harness.errors import HarnessError
from tasks.depth.data import DepthImage, with_valid_range
from tasks.imagery import open_image

ETH3D_SHAPE = (4032, 6048)
KB_CROP = (352, 1216)


@dataclass(frozen=True)
class Layout:
    """How one dataset stores depth, and where its evaluation looks."""

    min_depth: float
    max_depth: float
    default_list: str  # Marigold's filename list, relative to its data_split/ folder
    alignment_max_res: int | None = None  # Marigold's eval script setting (32_eval_eth3d.sh: 1024)


LAYOUTS = {
    "nyu": Layout(1e-3, 10.0, "nyu_depth/labeled/filename_list_test.txt"),
    "kitti": Layout(1e-5, 80.0, "kitti_depth/eigen_test_files_with_gt.txt"),
    "eth3d": Layout(1e-5, float("inf"), "eth3d_depth/eth3d_filename_list.txt", alignment_max_res=1024),
}


def _listed(path: Path) -> Path:
    if not path.is_file():
        raise HarnessError(f"{path} is listed but missing: check --task-arg data_dir=... and filenames=...")
    return path


def _open(path: Path) -> Image.Image:
    return open_image(_listed(path), "replace the file or drop its line from the filename list")


def read_depth(dataset: str, path: Path) -> np.ndarray:
    """Metric depth in metres (0 where there is none)."""
    if dataset == "eth3d":
        raw = np.fromfile(_listed(path), dtype=np.float32)
        if raw.size != ETH3D_SHAPE[0] * ETH3D_SHAPE[1]:
            raise HarnessError(f"{path} holds {raw.size} floats, not ETH3D's {ETH3D_SHAPE[0]} x {ETH3D_SHAPE[1]}: is it an ETH3D depth file?")
        return np.where(np.isinf(raw), 0, raw).reshape(ETH3D_SHAPE)
    scale = 1000.0 if dataset == "nyu" else 256.0
    return np.asarray(_open(path), dtype=np.float32) / scale


def kitti_benchmark_crop(array: np.ndarray) -> np.ndarray:
    """The bottom-centred 352 x 1216 window of the KITTI benchmark."""
    height, width = array.shape[:2]
    top, left = height - KB_CROP[0], (width - KB_CROP[1]) // 2
    return array[top:top + KB_CROP[0], left:left + KB_CROP[1]]


def eval_crop(dataset: str, shape: tuple[int, int]) -> np.ndarray:
    """Where evaluation looks: NYU's Eigen crop (rows 45-470, columns 41-600), KITTI's Eigen crop (fractions of the
    image), everything for ETH3D."""
    mask = np.zeros(shape, bool)
    height, width = shape
    if dataset == "nyu":
        mask[45:471, 41:601] = True
    elif dataset == "kitti":
        mask[int(0.3324324 * height):int(0.91351351 * height), int(0.0359477 * width):int(0.96405229 * width)] = True
    else:
        mask[:] = True
    return mask


def listed_pairs(list_file: Path, marigold_list: str) -> list[tuple[str, str]]:
    if not list_file.is_file():
        raise HarnessError(f"filename list {list_file} not found: give --task-arg filenames=<Marigold's data_split/{marigold_list}>")
    pairs = []
    for number, line in enumerate(list_file.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise HarnessError(f"{list_file}:{number}: expected '<rgb path> <depth path> ...', got {line!r}")
        if fields[1] != "None":
            pairs.append((fields[0], fields[1]))
    if not pairs:
        raise HarnessError(f"{list_file} lists no image with ground truth")
    return pairs


def local_images(dataset: str, data_dir: str, filenames: str | None, limit: int | None) -> list[DepthImage]:
    """The listed images of a dataset (the first `limit` of them), at full resolution."""
    layout = LAYOUTS[dataset]
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise HarnessError(f"dataset folder {root} does not exist: give --task-arg data_dir=<extracted {dataset} folder>")
    list_file = Path(filenames).expanduser() if filenames else root / "filename_list.txt"
    if not list_file.is_absolute() and not list_file.is_file():
        list_file = root / list_file
    found = []
    for rgb_path, depth_path in listed_pairs(list_file, layout.default_list)[:limit]:
        image = np.asarray(_open(root / rgb_path).convert("RGB"))
        depth = read_depth(dataset, root / depth_path)
        if dataset == "kitti":
            image, depth = kitti_benchmark_crop(image), kitti_benchmark_crop(depth)
        if image.shape[:2] != depth.shape:
            raise HarnessError(f"{rgb_path} is {image.shape[1]} x {image.shape[0]} but its depth {depth_path} is "
                               f"{depth.shape[1]} x {depth.shape[0]}: the filename list pairs the wrong files")
        item = with_valid_range(image, depth, dataset, layout.min_depth, layout.max_depth)
        item.valid &= eval_crop(dataset, depth.shape)
        found.append(item)
    return found
