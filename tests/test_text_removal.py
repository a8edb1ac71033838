"""Scene-text removal: the community script's metrics and scikit-image's against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tasks.text_removal.metrics import script_metrics, standard_metrics


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
