"""Scene-text removal: the community script's metrics and scikit-image's against hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.conftest import harness_cli
from tasks.text_removal.metrics import script_metrics, script_size, standard_metrics


def test_script_metrics_on_constant_images_match_hand_values():
    truth, output = np.full((64, 64, 3), 100, np.uint8), np.full((64, 64, 3), 130, np.uint8)
    m = script_metrics(output, truth)  # bicubic resizing keeps a constant image constant
    assert m["mse"] == pytest.approx((30 / 255) ** 2)
    assert m["psnr"] == pytest.approx(20 * math.log10(255 / 30))
    assert m["age"] == pytest.approx(30.0)  # luma difference of a grey shift
    assert m["peps"] == 1.0  # every pixel is off by more than 20
    assert m["pceps"] == pytest.approx(510 * 510 / 512 ** 2)  # erosion clears the one-pixel border
    c1 = (0.01 * 255) ** 2  # constant images: contrast-structure term 1, luminance term as below
    assert m["mssim"] == pytest.approx(((2 * 100 * 130 + c1) / (100 ** 2 + 130 ** 2 + c1)) ** 0.1333)
    assert script_metrics(truth, truth) == {"mse": 0.0}  # the script skips perfect images beyond MSE


def test_error_pixels_count_a_block_and_its_eroded_core():
    truth = np.zeros((512, 512, 3), np.uint8)  # 512 x 512: the script's resize leaves it as it is
    output = truth.copy()
    output[100:150, 200:300] = 255
    m = script_metrics(output, truth)
    assert m["peps"] == pytest.approx(50 * 100 / 512 ** 2)
    assert m["pceps"] == pytest.approx(48 * 98 / 512 ** 2)
    assert m["age"] == pytest.approx(255 * 50 * 100 / 512 ** 2)
    small = output.copy()
    small[100:150, 200:300] = 15  # below the error threshold of 20 grey levels
    assert script_metrics(small, truth)["peps"] == 0.0


def test_non_square_images_resize_the_short_side_as_torchvision_resize_512():
    assert script_size(64, 64) == (512, 512)
    assert script_size(300, 400) == (512, 682) and script_size(400, 300) == (682, 512)  # int(512 * 4 / 3)
    truth = np.zeros((512, 1024, 3), np.uint8)  # already 512 on the short side: left as it is
    output = truth.copy()
    output[:, :512] = 255  # half the pixels wrong, 512 x 512 of them
    m = script_metrics(output, truth)
    assert m["mse"] == pytest.approx(0.5)  # MSE averages over every pixel of the resized image
    assert m["age"] == pytest.approx(255 / 2)
    assert m["peps"] == pytest.approx(1.0)  # but pEPs divides by the script's 512^2
    constant = script_metrics(np.full((120, 200, 3), 130, np.uint8), np.full((120, 200, 3), 100, np.uint8))
    assert constant["peps"] == pytest.approx(853 / 512)  # 512 x 853 error pixels over 512^2


def test_standard_metrics_are_scikit_image_psnr_and_ssim():
    truth, output = np.full((32, 32, 3), 100, np.uint8), np.full((32, 32, 3), 110, np.uint8)
    m = standard_metrics(output, truth)
    assert m["psnr_skimage"] == pytest.approx(20 * math.log10(255 / 10))
    assert standard_metrics(truth, truth) == {"psnr_skimage": 100.0, "ssim_skimage": 1.0}  # capped, not infinite
    assert 0 < m["ssim_skimage"] < 1


def test_rendered_words_come_with_exact_masks():
    from tasks.imagery import make_image
    from tasks.text_removal.render import font_files, render_words

    assert len(font_files()) >= 2  # DejaVu faces from matplotlib's package data, and Pillow's default
    clean = make_image(0, "text", 1, 96)
    t = render_words(clean, np.random.default_rng(0))
    again = render_words(clean, np.random.default_rng(0))
    assert np.array_equal(t.image, again.image) and 1 <= len(t.words) <= 3
    changed = np.abs(t.image.astype(int) - t.clean.astype(int)).max(axis=2) > 0
    assert np.array_equal(changed, t.stroke_mask) and t.stroke_mask.any()
    assert (t.box_mask >= t.stroke_mask).all() and t.box_mask.sum() > t.stroke_mask.sum()
    assert np.array_equal(t.image[~t.stroke_mask], t.clean[~t.stroke_mask])  # outside the strokes nothing changed


def _offline_task(**options):
    from tasks.text_removal.task import TextRemoval

    return TextRemoval({"test_images": 6, "train_images": 6, "image_size": 64, **options})


def test_box_mask_setting_keeps_input_pixels_outside_the_mask_for_every_method():
    from baselines.telea import Telea

    task = _offline_task()
    text = task.images("offline", "test", 0)[0]
    out = task.run_one(Telea(), text, "box_mask")
    assert np.array_equal(out[~text.box_mask], text.image[~text.box_mask])
    assert not np.array_equal(out[text.box_mask], text.image[text.box_mask])
    assert task.run_one(Telea(), text, "no_mask") is None  # inpainting needs a mask: not run without one


def test_aggregate_averages_script_metrics_over_imperfect_images_only():
    from tasks.text_removal.task import TextRemoval

    rows = [{"mse": 0.01, "psnr": 20.0, "psnr_skimage": 20.0}, {"mse": 0.0, "psnr_skimage": 100.0},
            {"mse": 0.04, "psnr": 14.0, "psnr_skimage": 14.0}, {}]
    metas = [{"setting": "box_mask"}, {"setting": "box_mask"}, {"setting": "box_mask"}, {"setting": "no_mask"}]
    result = TextRemoval().aggregate(rows, metas)
    assert result["psnr_box"].value == pytest.approx(17.0)  # the perfect image is left out, as the script does
    assert result["mse_box"].value == pytest.approx(0.025)
    assert result["psnr_skimage_box"].value == pytest.approx(134 / 3)  # scikit-image averages every image
    assert "psnr_nomask" not in result  # nothing was scored without a mask


def test_learned_erasers_train_and_lower_their_loss():
    import torch

    from baselines.deeperaser import DeepEraser
    from baselines.unet_eraser import UNetEraser

    task = _offline_task(image_size=48)
    training = task.images("offline", "train", 0)
    for method in (UNetEraser({"steps": 60, "width": 8, "crop": 32}), DeepEraser({"steps": 30, "width": 8, "crop": 32, "iterations": 2})):
        method.fit(training, 0, torch.device("cpu"))
        state = method.fitted_state()
        assert state["final_loss"] < state["first_loss"], method.name
        text = training[0]
        odd = text.image[:45, :47]  # sides that are not a multiple of the network's stride
        assert method.erase(odd, text.box_mask[:45, :47]).shape == odd.shape


def write_scut(root, names=("a", "b", "c")) -> None:
    """A tiny SCUT-EnsText tree: test/ with all_gts for two images and an EraseNet mask for the third."""
    from PIL import Image

    for split in ("test",):
        for sub in ("all_images", "all_labels", "all_gts", "mask"):
            (root / split / sub).mkdir(parents=True, exist_ok=True)
        for i, name in enumerate(names):
            clean = np.full((40, 60, 3), 90 + 40 * i, np.uint8)
            image = clean.copy()
            image[10:20, 10:40] = 250
            Image.fromarray(clean).save(root / split / "all_labels" / f"{name}.png")
            Image.fromarray(image).save(root / split / "all_images" / f"{name}.png")
            if i < 2:
                (root / split / "all_gts" / f"{name}.txt").write_text("10,10,39,10,39,19,10,19,SALE\n\n50,30,55,30,55,35,50,35\n")
            else:
                mask = np.full((40, 60), 255, np.uint8)
                mask[10:20, 10:40] = 0  # EraseNet's masks: text black
                Image.fromarray(mask).save(root / split / "mask" / f"{name}.png")


def test_scut_folder_gives_box_masks_from_polygons_or_mask_images(tmp_path):
    from tasks.text_removal.local_data import local_images

    write_scut(tmp_path)
    a, _, c = local_images(tmp_path / "test", 60)
    assert a.image.shape == (60, 60, 3) and len(a.words) == 2 and c.stroke_mask is None
    assert a.box_mask[15:30, 10:40].all() and not a.box_mask[:15].any()  # rows 10-19 of 40 -> 15-29 of 60
    assert a.box_mask[46:53, 50:56].all() and not a.box_mask[:, 56:].any()  # the second, small polygon
    assert np.array_equal(c.box_mask[:, :45], a.box_mask[:, :45])  # the same word, from the mask image


def test_text_removal_runs_end_to_end_offline_and_on_a_scut_folder(tmp_path):
    data, out = tmp_path / "scut", tmp_path / "results"
    write_scut(data)
    small = ["--task-arg", "test_images=4", "--task-arg", "train_images=4", "--task-arg", "image_size=48",
             "--out", str(out), "--repeats", "1", "--warmups", "0"]
    proc = harness_cli("run", "--method", "unet", "--method-arg", "steps=3", "--method-arg", "width=4", *small)
    assert proc.returncode == 0, proc.stderr
    [record] = [json.loads(p.read_text()) for p in out.rglob("*.json")]
    assert record["status"] == "complete" and record["task"]["dataset"]["n_evaluated"] == 8
    assert {"psnr_box", "pceps_nomask", "ssim_skimage_box"} <= set(record["metrics"])
    assert record["method"]["fitted"]["steps"] == 3
    proc = harness_cli("run", "--method", "telea", "--split", "scut", "--task-arg", f"data_dir={data}", *small)
    assert proc.returncode == 0, proc.stderr
    scut = [json.loads(p.read_text()) for p in out.rglob("*.json") if "telea" in p.parts]
    assert scut[0]["task"]["dataset"]["n_evaluated"] == 6 and "psnr_nomask" not in scut[0]["metrics"]
    assert len(scut[0]["task"]["dataset"]["revision_or_sha256"]) == 64
    (data / "test" / "all_gts" / "a.txt").write_text("10,10,20\n")
    proc = harness_cli("run", "--method", "telea", "--split", "scut", "--task-arg", f"data_dir={data}", *small)
    assert proc.returncode == 2 and "a.txt:1" in proc.stderr and "Traceback" not in proc.stderr
    proc = harness_cli("run", "--method", "telea", "--split", "scut", "--out", str(out))
    assert proc.returncode == 2 and "data_dir" in proc.stderr and "Traceback" not in proc.stderr
