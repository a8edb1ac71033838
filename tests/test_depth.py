"""Monocular depth: the alignment and metrics against hand-computed cases, the ray-caster's exact depth, the
Marigold-layout reader and the methods end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tasks.depth.metrics import align, alignment_columns, depth_metrics, scale_shift
from tests.conftest import harness_cli, logged_rows


def test_least_squares_scale_and_shift_match_the_closed_form():
    scale, shift = scale_shift(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 4.0]))
    assert scale == pytest.approx(1.5) and shift == pytest.approx(8 / 3 - 1.5)  # cov 3 / var 2; mean 8/3 - s x 1


def test_metrics_match_hand_values():
    depth, aligned = np.array([[1.0, 2.0, 4.0, 8.0]]), np.array([[1.1, 2.0, 3.0, 10.0]])
    m = depth_metrics(aligned, depth, np.ones((1, 4), bool))
    assert m["absrel"] == pytest.approx((0.1 + 0 + 0.25 + 0.25) / 4)
    assert m["delta1"] == 0.5  # ratios 1.1, 1, 1.33, 1.25: the threshold is strict
    assert m["delta2"] == 1.0 and m["delta3"] == 1.0
    assert m["rmse"] == pytest.approx(np.sqrt((0.01 + 0 + 1 + 4) / 4))


def test_alignment_clips_to_the_depth_range_and_inverts_clipped_disparity():
    depth, valid = np.array([[1.0, 2.0, 4.0]]), np.ones((1, 3), bool)
    aligned, scale, shift = align(np.array([[1.0, 2.0, 4.0]]), depth, valid, "depth", 1e-3, 3.0)
    assert scale == pytest.approx(1) and shift == pytest.approx(0, abs=1e-9)
    assert aligned[0] == pytest.approx([1.0, 2.0, 3.0])  # 4 m clipped to the 3 m maximum
    # disparity: prediction -1 at the last pixel is left out of the fit, then its aligned disparity is clipped at 1e-3
    aligned, scale, shift = align(np.array([[1.0, 0.5, -1.0]]), depth, valid, "disparity", 1e-3, 100.0)
    assert scale == pytest.approx(1) and shift == pytest.approx(0, abs=1e-9)
    assert aligned[0, :2] == pytest.approx([1.0, 2.0]) and aligned[0, 2] == pytest.approx(100.0)  # 1 / 1e-3 -> max


@pytest.mark.parametrize("space", ["depth", "disparity"])
def test_a_perfect_prediction_survives_any_positive_affine_distortion(space):
    from tasks.depth.data import offline_images

    rng = np.random.default_rng(3)
    for item in offline_images(0, "test", 6, 24, 32):
        truth = item.depth if space == "depth" else 1.0 / np.where(item.valid, item.depth, 1.0)
        for _ in range(4):
            a, b = rng.uniform(0.01, 100), rng.uniform(-2, 2) * truth[item.valid].mean()
            prediction = np.where(item.valid, a * truth + b, rng.normal(0, 1e3, truth.shape))  # garbage off the mask
            aligned, _, _ = align(prediction, item.depth, item.valid, space, item.min_depth, item.max_depth)
            m = depth_metrics(aligned, item.depth, item.valid)
            assert m["absrel"] == pytest.approx(0, abs=1e-6) and m["delta1"] == 1.0 and m["rmse"] == pytest.approx(0, abs=1e-4)


def marigold_fit(prediction: np.ndarray, target: np.ndarray, valid: np.ndarray, max_res: int) -> tuple[float, float]:
    """Marigold's align_depth_least_square downsampling, run as it runs (torch nearest Upsample of [1, H, W])."""
    import torch

    scale_factor = np.min(max_res / np.array(prediction.shape[-2:]))
    down = torch.nn.Upsample(scale_factor=scale_factor, mode="nearest")
    p, t = (down(torch.as_tensor(x).unsqueeze(0)).numpy() for x in (prediction, target))
    m = down(torch.as_tensor(valid).unsqueeze(0).float()).bool().numpy()
    (scale, shift), *_ = np.linalg.lstsq(np.stack([p[m], np.ones(m.sum())], 1), t[m], rcond=None)
    return float(scale), float(shift)


@pytest.mark.parametrize("shape", [(40, 60), (60, 40), (403, 605)])
def test_eth3d_alignment_fits_on_marigolds_subsample(shape):
    rng = np.random.default_rng(1)
    depth = rng.uniform(1, 20, shape)
    prediction = 0.3 * depth + 2 + rng.normal(0, 1, shape) * np.linspace(0, 3, shape[1])  # noise grows to the right
    valid = rng.random(shape) > 0.2
    max_res = 24 if shape[0] < 100 else 128
    columns = alignment_columns(shape, max_res)
    assert columns is not None and len(columns) == int(shape[1] * max_res / max(shape))  # only the width shrinks
    _, scale, shift = align(prediction, depth, valid, "depth", 1e-3, 1e9, max_res=max_res)
    assert (scale, shift) == pytest.approx(marigold_fit(prediction, depth, valid, max_res), rel=1e-9)
    _, full_scale, _ = align(prediction, depth, valid, "depth", 1e-3, 1e9)
    assert full_scale != pytest.approx(scale, rel=1e-6)  # the subsample changes the fit
    assert alignment_columns(shape, 10_000) is None and alignment_columns(shape, None) is None


def test_ray_caster_gives_exact_z_depth_for_a_wall_and_a_sphere():
    from tasks.depth.raycast import Box, Camera, Scene, Sphere, Surface

    plain = Surface(np.full(3, 0.5), np.full(3, 0.5), "plain", 1.0, np.zeros(3))
    room = Box(np.array([0.0, 0.0, 0.0]), np.array([50.0, 50.0, 7.0]), 0.0, plain, inside=True)
    camera = Camera(np.zeros(3), 0.0, 0.0, np.deg2rad(60))
    _, depth = Scene("indoor", camera, [room], np.array([0, 1.0, 0]), (np.zeros(3), np.zeros(3)), 0.0, 100.0).render(9, 11)
    assert np.allclose(depth, 7.0)  # a wall facing the camera has one z-depth everywhere (not the ray length)
    ball = Sphere(np.array([0.0, 0.0, 5.0]), 1.0, plain)
    _, depth = Scene("indoor", camera, [room, ball], np.array([0, 1.0, 0]), (np.zeros(3), np.zeros(3)), 0.0, 100.0).render(9, 11)
    assert depth[4, 5] == pytest.approx(4.0, abs=0.01) and depth[0, 0] == pytest.approx(7.0)


def test_offline_scenes_are_seeded_and_have_invalid_sky_outdoors():
    from tasks.depth.data import offline_images, stereo_sample

    a, b = offline_images(0, "test", 12, 24, 32), offline_images(0, "test", 12, 24, 32)
    assert all(np.array_equal(x.depth, y.depth) and np.array_equal(x.image, y.image) for x, y in zip(a, b))
    kinds = {x.kind for x in a}
    assert kinds == {"indoor", "outdoor"}
    assert all(x.valid.all() for x in a if x.kind == "indoor")
    assert all(not x.valid.all() and x.valid.any() for x in a if x.kind == "outdoor")  # sky and horizon are invalid
    assert not np.array_equal(offline_images(0, "train", 1, 24, 32)[0].depth, a[0].depth)
    real = stereo_sample(50, 74)
    assert real.kind == "real" and 0.8 < real.valid.mean() < 1 and 1.5 < real.depth[real.valid].min() < real.depth.max() < 6


def test_learned_baselines_fit_the_training_scenes():
    import torch

    from baselines.row_prior import RowPrior
    from baselines.unet_depth import UNetDepth
    from tasks.depth.data import offline_images

    training = offline_images(0, "train", 16, 32, 48)
    prior = RowPrior()
    prior.fit(training, 0, torch.device("cpu"))
    assert prior.profile[-1] > prior.profile[0]  # the bottom of the frame is nearer: larger disparity
    assert prior.predict(training[0].image).shape == (32, 48) and prior.predict(training[0].image).min() >= 1
    net = UNetDepth({"steps": 40, "width": 4})
    net.fit(training, 0, torch.device("cpu"))
    state = net.fitted_state()
    assert state["final_loss"] < state["first_loss"]
    out = net.predict(training[0].image[:30, :45])  # sides that are not multiples of the UNet's stride
    assert out.shape == (30, 45) and (out > 0).all()  # positive disparity


def write_nyu(root, count: int = 2) -> None:
    """A tiny NYUv2 tree in Marigold's layout (480 x 640, uint16 millimetres) and its filename list."""
    from PIL import Image

    lines = []
    for i in range(count):
        folder = root / "test" / "kitchen_0004"
        folder.mkdir(parents=True, exist_ok=True)
        depth = np.full((480, 640), 2000 + 500 * i, np.uint16)
        depth[:, 320:] = 4000
        depth[0:10] = 0  # no measurement
        Image.fromarray(depth).save(folder / f"depth_{i:04d}.png")
        Image.fromarray(np.full((480, 640, 3), 60 * i, np.uint8)).save(folder / f"rgb_{i:04d}.png")
        lines.append(f"test/kitchen_0004/rgb_{i:04d}.png test/kitchen_0004/depth_{i:04d}.png test/kitchen_0004/filled_{i:04d}.png")
    (root / "filename_list_test.txt").write_text("\n".join(lines) + "\n")


def test_marigold_layouts_decode_depth_and_apply_the_eval_crops(tmp_path, monkeypatch):
    from PIL import Image

    from tasks.depth import local_data

    write_nyu(tmp_path / "nyu")
    [first, _] = local_data.local_images("nyu", str(tmp_path / "nyu"), "filename_list_test.txt", None)
    assert first.depth[100, 100] == pytest.approx(2.0) and first.depth[100, 400] == pytest.approx(4.0)
    assert first.valid.sum() == (471 - 45) * (601 - 41)  # Eigen crop; the empty top rows lie outside it anyway
    kitti = tmp_path / "kitti"
    (kitti / "seq").mkdir(parents=True)
    Image.fromarray(np.full((375, 1242), 256 * 20, np.uint16)).save(kitti / "seq" / "d.png")
    Image.fromarray(np.zeros((375, 1242, 3), np.uint8)).save(kitti / "seq" / "i.png")
    (kitti / "list.txt").write_text("seq/i.png seq/d.png 721.5\nseq/i.png None 721.5\n")
    [item] = local_data.local_images("kitti", str(kitti), str(kitti / "list.txt"), None)
    assert item.depth.shape == (352, 1216) and item.depth.max() == pytest.approx(20.0)
    assert item.valid.sum() == (int(0.91351351 * 352) - int(0.3324324 * 352)) * (int(0.96405229 * 1216) - int(0.0359477 * 1216))
    monkeypatch.setattr(local_data, "ETH3D_SHAPE", (6, 8))
    eth = tmp_path / "eth3d"
    eth.mkdir()
    raw = np.full((6, 8), 3.0, np.float32)
    raw[0, 0] = np.inf
    raw.tofile(eth / "d.JPG")
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(eth / "i.png")
    (eth / "filename_list.txt").write_text("i.png d.JPG\n")
    [item] = local_data.local_images("eth3d", str(eth), None, None)
    assert item.valid.sum() == 47 and item.depth[0, 0] == 0  # infinity means no measurement


def test_depth_runs_end_to_end_offline_and_on_a_nyu_folder(tmp_path):
    from harness.site.build import number

    out = tmp_path / "results"
    small = ["--task", "depth", "--task-arg", "test_images=4", "--task-arg", "train_images=4", "--task-arg", "height=32",
             "--task-arg", "width=48", "--out", str(out), "--repeats", "1", "--warmups", "0"]
    proc = harness_cli("run", "--method", "unet_depth", "--method-arg", "steps=3", "--method-arg", "width=4", *small)
    assert proc.returncode == 0, proc.stderr
    [record] = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert record["status"] == "complete" and record["task"]["dataset"]["n_evaluated"] == 5  # 4 scenes + Motorcycle
    assert {"absrel", "delta1", "delta2", "delta3", "rmse", "absrel_real", "delta1_real"} <= set(record["metrics"])
    throughput = record["performance"]["throughput"]
    assert throughput["unit"] == "images_per_s" and throughput["value"] > 0
    write_nyu(tmp_path / "nyu")
    nyu = ["--split", "nyu", "--task-arg", f"data_dir={tmp_path / 'nyu'}", "--task-arg", "filenames=filename_list_test.txt"]
    proc = harness_cli("run", "--method", "row_prior", *nyu, *small)
    assert proc.returncode == 0, proc.stderr
    [nyu_record] = [json.loads(p.read_text()) for p in out.rglob("*.json") if "row_prior" in p.parts]
    assert nyu_record["task"]["dataset"]["n_evaluated"] == 2 and "absrel_real" not in nyu_record["metrics"]
    assert len(nyu_record["task"]["dataset"]["revision_or_sha256"]) == 64
    proc = harness_cli("run", "--method", "row_prior", "--split", "nyu", *small)
    assert proc.returncode == 2 and "data_dir" in proc.stderr and "Traceback" not in proc.stderr
    proc = harness_cli("site", "--results", str(out), "--out", str(tmp_path / "site"))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "site" / "tasks" / "depth.html").read_text()
    assert "images/s</th>" in page and f">{number(throughput['value'])}<" in page  # images per second in the table


def test_transformers_depth_model_runs_from_a_local_folder_and_explains_a_missing_one(tmp_path):
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(image_size=28, patch_size=14, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=16, out_features=["stage1", "stage2"], reshape_hidden_states=False)
    model = DepthAnythingForDepthEstimation(DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=8,
                                                                patch_size=14, neck_hidden_sizes=[4, 4], fusion_hidden_size=6))
    folder = tmp_path / "tiny-depth"
    model.save_pretrained(folder)
    DPTImageProcessor(size={"height": 28, "width": 28}, keep_aspect_ratio=False, ensure_multiple_of=14).save_pretrained(folder)
    out = tmp_path / "results"
    small = ["--task", "depth", "--task-arg", "test_images=3", "--task-arg", "train_images=2", "--task-arg", "height=32",
             "--task-arg", "width=48", "--out", str(out), "--repeats", "1", "--warmups", "0"]
    proc = harness_cli("run", "--method", "depth_anything", "--method-arg", f"model={folder}", *small)
    assert proc.returncode == 0, proc.stderr
    [record] = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert record["status"] == "complete" and record["method"]["fitted"]["class"] == "DepthAnythingForDepthEstimation"
    rows = logged_rows(out)
    assert all(r["output"]["space"] == "disparity" for r in rows)
    proc = harness_cli("run", "--method", "depth_anything", "--method-arg", f"model={tmp_path / 'absent'}", *small)
    assert proc.returncode == 2 and "not available offline" in proc.stderr and "Traceback" not in proc.stderr


def test_scale_and_shift_invariant_loss_ignores_affine_changes_and_invalid_pixels():
    import torch

    from baselines.unet_depth import ssi_loss

    target = torch.tensor([[[1.0, 2.0, 3.0, 10.0]]])
    valid = torch.tensor([[[True, True, True, False]]])
    assert ssi_loss(2 * target + 5, target, valid).item() == pytest.approx(0, abs=1e-6)
    assert ssi_loss(torch.ones_like(target), target, valid).item() == pytest.approx(2 / 3)  # flat: the variance of 1, 2, 3
