"""Monocular depth (PrimeDepth protocol): predict depth up to scale and shift; aligned by least squares, then scored."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.record import MetricValue
from harness.contracts.task import MetricSpec, Sample, SplitSpec, TaskSpec, metric_value
from harness.errors import HarnessError
from harness.statistics.resampling import UnitStatistic, weighted_mean
from tasks.depth.data import DepthImage, offline_images, stereo_sample
from tasks.depth.estimator import DepthEstimator
from tasks.depth.metrics import scored
from tasks.image_task import ImageTask

if TYPE_CHECKING:
    from harness.contracts.runtime import Runtime

METRICS = {"absrel": False, "delta1": True, "delta2": True, "delta3": True, "rmse": False}
REAL = "real"
OFFLINE = SplitSpec(name="offline", source="generated: ray-cast rooms and outdoor scenes with exact z-depth, seeded; plus "
                    "scikit-image's Middlebury Motorcycle stereo pair as one real image",
                    description="boxes, spheres, textures, shading, fog; sky and ground beyond 80 m are invalid")
LOCAL = {name: SplitSpec(name=name, source=f"{label} in Marigold's layout (--task-arg data_dir=... filenames=...)",
                         description=crop)
         for name, label, crop in (("nyu", "NYUv2 labeled test", "Eigen crop, 1e-3..10 m"),
                                   ("kitti", "KITTI Eigen test", "KITTI benchmark crop 352 x 1216, Eigen crop, to 80 m"),
                                   ("eth3d", "ETH3D", "every pixel with depth"))}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".txt")


class DepthOptions(BaseModel):
    """Task options for depth (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    test_images: int = Field(300, ge=1, description="offline: test scenes")
    train_images: int = Field(600, ge=2, description="offline: training scenes for learned methods (other seeds)")
    height: int = Field(96, ge=16, description="offline: image height in pixels")
    width: int = Field(128, ge=16, description="offline: image width in pixels")
    real_sample: bool = Field(True, description="offline: also score scikit-image's stereo Motorcycle (metrics *_real)")
    data_dir: str | None = Field(None, description="nyu / kitti / eth3d: the extracted dataset folder")
    filenames: str | None = Field(None, description="nyu / kitti / eth3d: Marigold's filename list (default data_dir/filename_list.txt)")
    input_long_side: int = Field(256, ge=16, description="nyu / kitti / eth3d: images are resized to this long side "
                                 "for the method; its prediction is resized back to the ground truth")
    max_images: int | None = Field(None, ge=1, description="nyu / kitti / eth3d: only the first N listed images")


def _metric_specs() -> tuple[MetricSpec, ...]:
    specs = [MetricSpec(name=name, higher_is_better=higher, description=f"{name} after least-squares scale-and-shift "
                        "alignment, per image, averaged (the ray-cast scenes, or the whole real dataset)")
             for name, higher in METRICS.items()]
    specs += [MetricSpec(name=f"{name}_real", higher_is_better=METRICS[name],
                         description=f"{name} on scikit-image's Middlebury Motorcycle (offline split only)")
              for name in ("absrel", "delta1")]
    return tuple(specs)


class Depth(ImageTask):
    """How close is the aligned depth map to the true one (Marigold / PrimeDepth zero-shot protocol)?"""

    Options = DepthOptions
    spec = TaskSpec(
        name="depth", family="depth", version="1", paper="https://arxiv.org/abs/2409.09144",
        description="Monocular depth on ray-cast scenes with exact depth (and NYUv2 / KITTI / ETH3D locally): each "
                    "prediction is fitted to the ground truth by least-squares scale and shift, in depth or disparity "
                    "space as the method predicts, clipped, then AbsRel, delta1-3 and RMSE per image.",
        splits=(OFFLINE, *LOCAL.values()), metrics=_metric_specs(), main_metric="absrel", requires="depth_estimator",
        equivalent_specs={"6d1d7407d0636cd8e2c804a3b523b96686d42d9c070e1d32d8ae4e9da32920c8":
                          "metrics gained the `binary` flag (false for every depth metric); no sample, metric or score changed"},
    )
    display = DisplaySpec(reference=ReferenceSpec(method="constant_depth", kind="floor", latency="predict_image"))
    local_splits = tuple(LOCAL)
    local_suffixes = IMAGE_SUFFIXES

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self._images: dict[tuple[str, str, int], list[DepthImage]] = {}

    def images(self, split: str, role: str, seed: int) -> list[DepthImage]:
        """Test images of a split (offline: the scenes, then the real sample) or the offline training scenes."""
        key = (split, role, seed)
        if key not in self._images:
            self.spec.split(split)
            o = self.options
            if role == "test" and split in LOCAL:
                from tasks.depth.local_data import local_images

                if not o.data_dir:
                    raise HarnessError(f"split {split!r} needs --task-arg data_dir=<extracted folder> (and filenames=<Marigold list>)")
                self._images[key] = local_images(split, o.data_dir, o.filenames, o.max_images)
            elif role == "test":
                found = offline_images(seed, "test", o.test_images, o.height, o.width)
                self._images[key] = found + ([stereo_sample(o.height, o.width)] if o.real_sample else [])
            else:
                self._images[key] = offline_images(seed, "train", o.train_images, o.height, o.width)
        return self._images[key]

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        found = [Sample(id=f"{i:04d}", inputs={"index": i}, target=None, meta={"kind": t.kind})
                 for i, t in enumerate(self.images(split, "test", seed))]
        return found[:limit] if limit else found

    def training_images(self, runtime: Runtime) -> list[DepthImage]:
        """The offline training scenes, whatever the split (real datasets train on them too)."""
        return self.images("offline", "train", runtime.seed)

    def timed_call(self, method: DepthEstimator, runtime: Runtime,
                   samples: list[Sample]) -> tuple[list[DepthImage], Callable[[DepthImage], np.ndarray]]:
        """The split's first test images, resizing included."""
        return self.images(runtime.split, "test", runtime.seed), lambda item: self.run_one(method, item, runtime.split)

    def alignment_max_res(self, split: str) -> int | None:
        """Marigold's alignment subsample for the split (ETH3D: 1024), None for a fit over every valid pixel."""
        if split not in LOCAL:
            return None
        from tasks.depth.local_data import LAYOUTS

        return LAYOUTS[split].alignment_max_res

    def run_one(self, method: DepthEstimator, item: DepthImage, split: str) -> np.ndarray:
        """The method's prediction at the ground truth's resolution (real datasets: run at input_long_side)."""
        height, width = item.depth.shape
        if split not in LOCAL:
            return np.asarray(method.predict(item.image), dtype=np.float64)
        factor = self.options.input_long_side / max(height, width)
        small = Image.fromarray(item.image).resize((max(1, round(width * factor)), max(1, round(height * factor))), Image.BICUBIC)
        prediction = np.asarray(method.predict(np.asarray(small)), dtype=np.float32)
        return np.asarray(Image.fromarray(prediction).resize((width, height), Image.BILINEAR), dtype=np.float64)

    def predict(self, sample: Sample, method: DepthEstimator, runtime: Runtime) -> dict[str, Any]:
        """Scored here (depth maps are not stored): the metrics, the fitted scale and shift, and the time."""
        item = self.images(runtime.split, "test", runtime.seed)[sample.inputs["index"]]
        start = time.perf_counter()
        prediction = self.run_one(method, item, runtime.split)
        seconds = time.perf_counter() - start
        return {**scored(prediction, item, method.space, self.alignment_max_res(runtime.split)), "space": method.space,
                "seconds": seconds}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        return {name: float(output[name]) for name in METRICS}

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """Means over images with bootstrap intervals; the real stereo sample is reported apart (*_real)."""
        result: dict[str, MetricValue] = {}
        main = [r for r, m in zip(rows, metas) if m["kind"] != REAL]
        real = [r for r, m in zip(rows, metas) if m["kind"] == REAL]
        for name, higher in METRICS.items():
            if main:
                result[name] = metric_value([r[name] for r in main], higher, seed)
        for name in ("absrel", "delta1"):
            if real:
                result[f"{name}_real"] = metric_value([r[name] for r in real], METRICS[name], seed)
        return result

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """A metric's mean over the images of its part (generated, or the real stereo sample for *_real)."""
        name, real = metric.removesuffix("_real"), metric.endswith("_real")
        rows = [r for r in log_rows if (r["meta"]["kind"] == REAL) == real]
        if name not in METRICS or not rows:
            return None
        return UnitStatistic(units=[r["id"] for r in rows], statistic=weighted_mean([r["scores"][name] for r in rows]))

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """AbsRel and delta1 by scene kind (indoor, outdoor, real)."""
        kinds: dict[str, list[dict[str, float]]] = {}
        for sample, row in zip(samples, rows):
            kinds.setdefault(sample.meta["kind"], []).append(row)
        return {"by_kind": [{"kind": k, "n": len(v), "absrel": float(np.mean([r["absrel"] for r in v])),
                             "delta1": float(np.mean([r["delta1"] for r in v]))} for k, v in sorted(kinds.items())]}

    def protocol(self) -> dict[str, Any]:
        return {
            "alignment": "per image, least squares (numpy lstsq on [prediction, 1]) over valid pixels: in depth space, "
                         "or for methods predicting disparity against 1 / depth over pixels with positive prediction, "
                         "then clipped at 1e-3 and inverted (Marigold's eval.py); ETH3D fits on Marigold's "
                         "alignment_max_res=1024 subsample (its nearest Upsample of a [1, H, W] tensor keeps every row "
                         "and 1024 columns), the metrics use every valid pixel",
            "clipping": "aligned depth clipped to the split's [min_depth, max_depth] (indoor 10 m, outdoor 80 m, "
                        "Motorcycle 20 m, NYU 10 m, KITTI 80 m), then to > 1e-6",
            "metrics": "AbsRel = mean |d - d*| / d*, delta_k = share with max(d / d*, d* / d) < 1.25^k, RMSE in metres, "
                       "per image over valid pixels, averaged over images",
            "training": "learned methods see only the offline training scenes (other seeds), on every split",
            "timing": "predict_image: one image per call, resizing included; images_per_s = 1 / its median",
        }
