"""Scene-text removal (DeepEraser): erase rendered words, with the word boxes given or with no mask at all."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.contracts.record import MetricValue
from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import MetricSpec, Sample, SplitSpec, TaskSpec, metric_value
from harness.errors import HarnessError
from harness.statistics.resampling import UnitStatistic, weighted_mean
from tasks.image_task import ImageTask
from tasks.text_removal.data import offline_images
from tasks.text_removal.eraser import TextEraser, composite
from tasks.text_removal.metrics import script_metrics, standard_metrics
from tasks.text_removal.render import TextImage

if TYPE_CHECKING:
    from harness.contracts.runtime import Runtime

SETTINGS = {"box_mask": "box", "no_mask": "nomask"}
SCRIPT = ("psnr", "mssim", "mse", "age", "peps", "pceps")
STANDARD = ("psnr_skimage", "ssim_skimage")
HIGHER = {"psnr": True, "mssim": True, "mse": False, "age": False, "peps": False, "pceps": False, "psnr_skimage": True,
          "ssim_skimage": True}
OFFLINE = SplitSpec(name="offline", source="generated: 1-3 words in DejaVu / Pillow fonts on packaged photos and procedural scenes, seeded",
                    description="ground truth: the clean image, the stroke mask and the word-box mask")
LOCAL = SplitSpec(name="scut", source="SCUT-EnsText / SCUT-Syn folders (--task-arg data_dir=...): all_images, all_labels, all_gts or mask",
                  description="test/ is scored; learned methods train on train/ when it exists, else on the offline training split")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".txt")


class TextRemovalOptions(BaseModel):
    """Task options for text_removal (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    test_images: int = Field(300, ge=2, description="offline: test images")
    train_images: int = Field(600, ge=2, description="offline: training images for learned methods (other clean images)")
    image_size: int = Field(128, ge=32, description="side in pixels (scut images are resized to it; the papers use 512)")
    max_words: int = Field(3, ge=1, description="words per image: 1 to max_words")
    data_dir: str | None = Field(None, description="split 'scut': the dataset root holding test/ (and train/)")
    settings: list[str] = Field(list(SETTINGS), description="box_mask: the word boxes are given; no_mask: nothing is")

    @field_validator("settings")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        if not value or set(value) - set(SETTINGS):
            raise ValueError(f"settings must be a non-empty subset of {list(SETTINGS)}")
        return value


def _metric_specs() -> tuple[MetricSpec, ...]:
    specs = []
    for setting, suffix in SETTINGS.items():
        for name in SCRIPT:
            specs.append(MetricSpec(name=f"{name}_{suffix}", higher_is_better=HIGHER[name],
                                    description=f"{name} as the EraseNet community script computes it (short side resized to 512), setting {setting}"))
        for name in STANDARD:
            specs.append(MetricSpec(name=f"{name}_{suffix}", higher_is_better=HIGHER[name],
                                    description=f"scikit-image {name.split('_')[0].upper()} at native size, setting {setting}"))
    return tuple(specs)


class TextRemoval(ImageTask):
    """How close to the clean image does a method get once the words are erased?"""

    Options = TextRemovalOptions
    spec = TaskSpec(
        name="text_removal", family="text_removal", version="1", paper="https://arxiv.org/abs/2402.19108",
        description="Erase 1-3 rendered words from an image, with the word boxes given (outputs composited outside "
                    "them) or with no mask; PSNR, MSSIM, MSE, AGE, pEPs, pCEPs as the community script computes them, "
                    "and scikit-image PSNR / SSIM.",
        splits=(OFFLINE, LOCAL), metrics=_metric_specs(), main_metric="psnr_box", requires="text_eraser",
    )
    display = DisplaySpec(reference=ReferenceSpec(method="identity", kind="floor", latency="erase_image"))
    image_latency = "erase_image"
    local_splits = (LOCAL.name,)
    local_suffixes = IMAGE_SUFFIXES

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self._images: dict[tuple[str, str, int], list[TextImage]] = {}

    def images(self, split: str, role: str, seed: int) -> list[TextImage]:
        """The test or training images of a split (scut without a train/ folder trains on the offline split)."""
        key = (split, role, seed)
        if key not in self._images:
            self.spec.split(split)
            o = self.options
            if split == LOCAL.name and (role == "test" or self._local_root(role).is_dir()):
                from tasks.text_removal.local_data import local_images

                self._images[key] = local_images(self._local_root(role), o.image_size)
            else:
                count = o.test_images if role == "test" else o.train_images
                self._images[key] = offline_images(seed, role, count, o.image_size, o.max_words)
        return self._images[key]

    def _local_root(self, role: str) -> Path:
        if not self.options.data_dir:
            raise HarnessError("split 'scut' needs --task-arg data_dir=<SCUT-EnsText root holding test/all_images>")
        return Path(self.options.data_dir).expanduser() / role

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        found = [Sample(id=f"{i:04d}-{setting}", inputs={"index": i, "setting": setting}, target=None,
                        meta={"setting": setting, "words": len(t.words)})
                 for i, t in enumerate(self.images(split, "test", seed)) for setting in self.options.settings]
        return found[:limit] if limit else found

    def training_images(self, runtime: Runtime) -> list[TextImage]:
        return self.images(runtime.split, "train", runtime.seed)

    def timed_call(self, method: TextEraser, runtime: Runtime,
                   samples: list[Sample]) -> tuple[list[TextImage], Callable[[TextImage], np.ndarray | None]]:
        """The split's first test images with the box mask, or without one where the method runs unmasked only."""
        setting = "box_mask" if method.needs_mask or "box_mask" in self.options.settings else "no_mask"
        return self.images(runtime.split, "test", runtime.seed), lambda text: self.run_one(method, text, setting)

    def run_one(self, method: TextEraser, text: TextImage, setting: str) -> np.ndarray | None:
        mask = text.box_mask if setting == "box_mask" else None
        if mask is None and method.needs_mask:
            return None
        out = method.erase(text.image, mask)
        return composite(out, text.image, mask) if mask is not None else out

    def predict(self, sample: Sample, method: TextEraser, runtime: Runtime) -> dict[str, Any]:
        """The output image is scored here (images are not stored); the values are the saved output."""
        text = self.images(runtime.split, "test", runtime.seed)[sample.inputs["index"]]
        start = time.perf_counter()
        out = self.run_one(method, text, sample.inputs["setting"])
        seconds = time.perf_counter() - start
        if out is None:
            return {"skipped": f"{method.name} needs a mask"}
        return {**script_metrics(out, text.clean), **standard_metrics(out, text.clean), "seconds": seconds}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        return {k: float(output[k]) for k in SCRIPT + STANDARD if k in output}

    def aggregate(self, rows: list[dict[str, float]], metas: list[dict[str, Any]], seed: int = 0) -> dict[str, MetricValue]:
        """Per setting: the script's averages over images with MSE > 0, scikit-image's over all scored images."""
        result: dict[str, MetricValue] = {}
        for setting, suffix in SETTINGS.items():
            group = [r for r, m in zip(rows, metas) if m["setting"] == setting and r]
            scored = [r for r in group if r.get("mse", 0) > 0]
            for name in SCRIPT:
                values = [r[name] for r in scored if name in r]
                if values:
                    result[f"{name}_{suffix}"] = metric_value(values, HIGHER[name], seed)
            for name in STANDARD:
                values = [r[name] for r in group if name in r]
                if values:
                    result[f"{name}_{suffix}"] = metric_value(values, HIGHER[name], seed)
        return result

    def unit_statistic(self, metric: str, log_rows: list[dict[str, Any]]) -> UnitStatistic | None:
        """A metric's mean over the images aggregate averages it on (its setting; MSE > 0 for the script's)."""
        found = [(name, setting) for setting, suffix in SETTINGS.items() for name in SCRIPT + STANDARD
                 if metric == f"{name}_{suffix}"]
        if not found:
            return None
        name, setting = found[0]
        rows = [r for r in log_rows if r["meta"]["setting"] == setting and name in r["scores"]
                and (name in STANDARD or r["scores"].get("mse", 0) > 0)]
        if not rows:
            return None
        return UnitStatistic(units=[r["id"] for r in rows], statistic=weighted_mean([r["scores"][name] for r in rows]))

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """PSNR (script) by setting x number of words."""
        cells: dict[tuple[str, int], list[float]] = {}
        for sample, row in zip(samples, rows):
            if row.get("mse", 0) > 0:
                cells.setdefault((sample.meta["setting"], sample.meta["words"]), []).append(row["psnr"])
        return {"by_setting_words": [{"setting": s, "words": w, "n": len(v), "psnr": float(np.mean(v))} for (s, w), v in sorted(cells.items())]}

    def protocol(self) -> dict[str, Any]:
        return {
            "settings": "box_mask: the eraser gets the word-box mask and its output is kept inside the mask only "
                        "(input pixels outside, the same for every method); no_mask: the eraser gets the image alone; "
                        "methods that need a mask are not run without one",
            "script_metrics": "EraseNet's evaluation script: both images resized as its Resize(512) does (bicubic, short side to "
                              "512; the offline images are square, so 512 x 512); MSE, PSNR, "
                              "MSSIM (its msssim without downsampling), AGE, pEPs, pCEPs (luma errors > 20, and after a "
                              "cross erosion); averages over images with MSE > 0",
            "standard_metrics": "scikit-image PSNR (capped at 100 dB) and SSIM (Gaussian window, sigma 1.5) at native size",
            "training": "learned methods see only the training images (offline: other clean images, other words; "
                        "scut: train/ when it exists, else the offline training split)",
        }
