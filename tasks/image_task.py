"""The part image tasks share: the method trains on training images (timed by the cell as `fit`), then runs one
image per call; the measurement times a few of those calls, and a local split's data is identified by a manifest."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.contracts.digests import manifest_sha256
from harness.contracts.record import Throughput
from harness.contracts.task import Measured, Sample, Task

if TYPE_CHECKING:
    from harness.contracts.meter import Meter
    from harness.contracts.method import Method
    from harness.contracts.runtime import Runtime


class ImageTask(Task):
    """A task over images whose method has `fit(training, seed, device)` and `parameter_count()`.

    A subclass gives `training_images` (cached: `prepare` builds them before the timed fit) and `timed_call` (the
    images the measurement times and the call that runs one); it names its latency (`image_latency`) and the splits
    read from `options.data_dir` (`local_splits`, whose files matching `local_suffixes` make the data's manifest).
    """

    image_latency: ClassVar[str] = "predict_image"
    timed_images: ClassVar[int] = 8
    local_splits: ClassVar[tuple[str, ...]] = ()
    local_suffixes: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def training_images(self, runtime: "Runtime") -> Any:
        """What the method trains on, disjoint from the split's samples; built once (the same object every call)."""

    @abstractmethod
    def timed_call(self, method: "Method", runtime: "Runtime", samples: list[Sample]) -> tuple[list[Any], Callable[[Any], Any]]:
        """The images the measurement times (it takes the first `timed_images`) and the call that runs one."""

    def prepare(self, method: "Method", runtime: "Runtime") -> None:
        self.training_images(runtime)

    def fit(self, method: "Method", runtime: "Runtime") -> None:
        method.fit(self.training_images(runtime), runtime.seed, runtime.device)

    def measure(self, method: "Method", runtime: "Runtime", samples: list[Sample], meter: "Meter") -> Measured:
        """Time per image (batch of one), images per second, and the parameters' bytes (float32)."""
        items, run = self.timed_call(method, runtime, samples)
        times = meter.time_each(run, items[:self.timed_images])
        return Measured(latency={self.image_latency: meter.latency(times)},
                        throughput=Throughput(unit="images_per_s", value=float(1 / np.median(times))),
                        parameter_bytes=4 * method.parameter_count() or None)

    def dataset_source(self, split: str) -> tuple[str, str | None]:
        if split in self.local_splits:
            data_dir = self.options.data_dir
            return str(data_dir), manifest_sha256([data_dir], self.local_suffixes)
        return super().dataset_source(split)
