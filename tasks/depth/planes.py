"""Depth of slanted textured planes: the one cue is perspective (texture shrinking with distance), and the true depth
is exact in closed form. A depth variant on its own generated split, written from CONTRIBUTING.md's "Adding a task"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from harness.contracts.display import DisplaySpec, ReferenceSpec
from harness.contracts.task import MetricSpec, Sample, SplitSpec, TaskSpec
from tasks.depth.data import DepthImage, with_valid_range
from tasks.depth.estimator import DepthEstimator
from tasks.depth.metrics import scored
from tasks.depth.task import METRICS
from tasks.image_task import ImageTask

if TYPE_CHECKING:
    from harness.contracts.runtime import Runtime

MAX_DEPTH = 10.0  # metres: farther plane points are invalid, as Marigold's indoor range
TILTS = {"gentle": (15.0, 40.0), "steep": (40.0, 70.0)}  # degrees between the optical axis and the plane's normal


class PlanesOptions(BaseModel):
    """Task options for depth_planes (set with --task-arg KEY=VALUE)."""

    model_config = ConfigDict(extra="forbid")
    test_images: int = Field(80, ge=2, description="test planes (half gentle, half steep tilt)")
    train_images: int = Field(160, ge=2, description="training planes for learned methods (their own seeds)")
    height: int = Field(64, ge=16, description="image height in pixels")
    width: int = Field(96, ge=16, description="image width in pixels")


def plane_image(rng: np.random.Generator, tilt: str, height: int, width: int) -> DepthImage:
    """A camera (focal length = width) looking at a plane at 1-3 m along its normal; the plane carries a checker
    of random period and colours with per-pixel noise. Depth z = distance / (normal . ray), for rays (x, y, 1)."""
    angle, turn = np.radians(rng.uniform(*TILTS[tilt])), rng.uniform(0, 2 * np.pi)
    normal = np.array([np.sin(angle) * np.cos(turn), np.sin(angle) * np.sin(turn), np.cos(angle)])
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    rays = np.stack([(u - width / 2) / width, (v - height / 2) / width, np.ones_like(u)], axis=-1)
    facing = rays @ normal
    depth = np.where(facing > 1e-6, rng.uniform(1.0, 3.0) / np.maximum(facing, 1e-6), 0.0)
    axis = np.cross(normal, [0.0, 1.0, 0.0] if abs(normal[1]) < 0.9 else [1.0, 0.0, 0.0])
    axis /= np.linalg.norm(axis)
    points = rays * depth[..., None]
    period = rng.uniform(0.1, 0.4)
    checker = (np.floor(points @ axis / period) + np.floor(points @ np.cross(normal, axis) / period)) % 2
    colours = rng.integers(0, 256, size=(2, 3))
    image = colours[checker.astype(int)] + rng.normal(0, 8, size=(height, width, 3))
    image = np.clip(image, 0, 255).astype(np.uint8)
    return with_valid_range(image, depth.astype(np.float32), tilt, 1e-3, MAX_DEPTH)


def planes(seed: int, role: str, count: int, height: int, width: int) -> list[DepthImage]:
    """`count` planes of a role ("test" or "train", seeded apart), alternating gentle and steep."""
    return [plane_image(np.random.default_rng([seed, 67, len(role), i]), list(TILTS)[i % 2], height, width)
            for i in range(count)]


class DepthPlanes(ImageTask):
    """How well does a method read depth from perspective alone, on planes whose depth is exact?"""

    Options = PlanesOptions
    spec = TaskSpec(
        name="depth_planes", family="depth", version="1", paper="https://arxiv.org/abs/2409.09144",
        description="Slanted checkered planes with closed-form depth, gentle and steep tilts: scale-and-shift aligned "
                    "as the depth task does (PrimeDepth / Marigold protocol), then AbsRel, delta1-3 and RMSE.",
        splits=(SplitSpec(name="offline", source="generated: textured planes at random tilt, turn and distance, seeded",
                          description="depth = distance / (normal . ray); points beyond 10 m are invalid"),),
        metrics=tuple(MetricSpec(name=name, higher_is_better=higher, description=f"{name} after scale-and-shift "
                                 "alignment, per image, averaged over planes") for name, higher in METRICS.items()),
        main_metric="absrel", requires="depth_estimator",
    )
    display = DisplaySpec(reference=ReferenceSpec(method="constant_depth", kind="floor", latency="predict_image"))

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self._images: dict[tuple[str, int], list[DepthImage]] = {}

    def images(self, role: str, seed: int) -> list[DepthImage]:
        if (role, seed) not in self._images:
            o = self.options
            count = o.test_images if role == "test" else o.train_images
            self._images[role, seed] = planes(seed, role, count, o.height, o.width)
        return self._images[role, seed]

    def samples(self, split: str, limit: int | None, seed: int) -> list[Sample]:
        self.spec.split(split)
        found = [Sample(id=f"{i:04d}", inputs={"index": i}, target=None, meta={"tilt": item.kind})
                 for i, item in enumerate(self.images("test", seed))]
        return found[:limit] if limit else found

    def training_images(self, runtime: Runtime) -> list[DepthImage]:
        return self.images("train", runtime.seed)

    def timed_call(self, method: DepthEstimator, runtime: Runtime,
                   samples: list[Sample]) -> tuple[list[DepthImage], Callable[[DepthImage], np.ndarray]]:
        return self.images("test", runtime.seed), lambda item: method.predict(item.image)

    def predict(self, sample: Sample, method: DepthEstimator, runtime: Runtime) -> dict[str, Any]:
        """Scored here (depth maps are not stored): the metrics, the fitted scale and shift, and the time."""
        item = self.images("test", runtime.seed)[sample.inputs["index"]]
        start = time.perf_counter()
        prediction = np.asarray(method.predict(item.image), dtype=np.float64)
        seconds = time.perf_counter() - start
        return {**scored(prediction, item, method.space), "seconds": seconds}

    def score(self, sample: Sample, output: dict[str, Any]) -> dict[str, float]:
        return {name: float(output[name]) for name in METRICS}

    def breakdowns(self, samples: list[Sample], rows: list[dict[str, float]]) -> dict[str, list[dict[str, Any]]]:
        """AbsRel and delta1 by tilt."""
        table = []
        for tilt in TILTS:
            group = [row for sample, row in zip(samples, rows) if sample.meta["tilt"] == tilt]
            if group:
                table.append({"tilt": tilt, "n": len(group), "absrel": float(np.mean([r["absrel"] for r in group])),
                              "delta1": float(np.mean([r["delta1"] for r in group]))})
        return {"by_tilt": table}

    def protocol(self) -> dict[str, Any]:
        return {"alignment": "as the depth task: least squares in the method's space (depth, or disparity against "
                             "1 / depth), clipped to (1e-3, 10) m; every valid pixel",
                "training": "learned methods see only the training planes (their own seeds)"}
