"""depth_planes, the task CONTRIBUTING.md's "Adding a task" walks through: its split is seeded and exact, and it runs
end to end as any built-in does."""

from __future__ import annotations

import json

import numpy as np
import torch

from harness.contracts.registry import METHODS, TASKS
from harness.contracts.runtime import Runtime
from tasks.depth.planes import DepthPlanes, planes
from tests.conftest import harness_cli

CPU = Runtime(device=torch.device("cpu"), seed=0)


def test_the_split_is_seeded_and_its_depth_is_a_plane():
    first, again, other = planes(3, "test", 6, 48, 64), planes(3, "test", 6, 48, 64), planes(4, "test", 6, 48, 64)
    assert all(np.array_equal(a.image, b.image) and np.array_equal(a.depth, b.depth) for a, b in zip(first, again))
    assert not any(np.array_equal(a.image, b.image) for a, b in zip(first, other))
    assert not any(np.array_equal(a.image, b.image) for a, b in zip(first, planes(3, "train", 6, 48, 64)))
    assert [item.kind for item in first] == ["gentle", "steep"] * 3
    for item in first:  # a plane's inverse depth is affine in the pixel coordinates, exactly
        v, u = np.nonzero(item.valid)
        design = np.stack([u, v, np.ones_like(u)], axis=1).astype(np.float64)
        inverse = 1.0 / item.depth[v, u].astype(np.float64)
        fitted, *_ = np.linalg.lstsq(design, inverse, rcond=None)
        assert np.abs(design @ fitted - inverse).max() < 1e-5 * inverse.max()
        assert item.valid.mean() > 0.5 and item.depth[item.valid].max() < 10.0


def test_a_method_that_reads_the_true_disparity_scores_perfectly():
    task = DepthPlanes({"test_images": 4, "train_images": 2, "height": 32, "width": 48})
    [sample, *_] = task.samples("offline", None, 0)
    item = task.images("test", 0)[sample.inputs["index"]]
    oracle = METHODS.get("constant_depth")()
    oracle.predict = lambda image: np.where(item.valid, 1.0 / np.maximum(item.depth, 1e-6), 0.0)
    oracle.space = "disparity"
    scores = task.score(sample, task.predict(sample, oracle, CPU))
    assert scores["absrel"] < 1e-6 and scores["delta1"] == 1.0
    floor = task.score(sample, task.predict(sample, METHODS.get("constant_depth")(), CPU))
    assert floor["absrel"] > 0.01


def test_it_runs_validates_and_is_listed_like_any_task(tmp_path):
    out = tmp_path / "results"
    args = ["--task", "depth_planes", "--task-arg", "test_images=6", "--task-arg", "train_images=4", "--limit", "6",
            "--repeats", "1", "--warmups", "0", "--out", str(out)]
    for method in ("constant_depth", "unet_depth"):
        ran = harness_cli("run", "--method", method, *args, *(["--method-arg", "steps=5"] if method == "unet_depth" else []))
        assert ran.returncode == 0, ran.stderr
    records = [json.loads(p.read_text()) for p in sorted(out.rglob("*.json")) if ".locks" not in p.parts]
    assert sorted(r["method"]["name"] for r in records) == ["constant_depth", "unet_depth"]
    for record in records:
        assert record["status"] == "complete" and record["task"]["dataset"]["n_evaluated"] == 6
        assert set(record["performance"]["latency"]) == {"predict_image", "fit"}  # the cell timed the fit
        assert {row["tilt"] for row in record["breakdowns"]["by_tilt"]} == {"gentle", "steep"}
    assert harness_cli("validate", str(out)).returncode == 0
    assert "depth_planes" in TASKS.names() and "depth_planes" in harness_cli("list").stdout
