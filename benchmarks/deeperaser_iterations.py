"""Does iterating help DeepEraser? One recipe, 1 / 4 / 8 refinement iterations, PSNR after every iteration.

DeepEraser-lite is trained with the task's shared recipe (`tasks/text_removal/learned.py`) at each iteration count
for the same number of optimiser steps (equal steps), and once more with one iteration for more steps, about the
8-iteration fit's time (equal compute). Every iteration's output is scored on the offline test images with the
task's script PSNR (EraseNet's evaluation), in both settings: box mask (the output composited inside the word
boxes, as the task does) and no mask. Prints PSNR after each iteration, the fit times, and paired (by image)
differences of the last iterations with 95% bootstrap intervals over images.

    python benchmarks/deeperaser_iterations.py [--steps 400] [--long-steps 1400] [--test-images 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from baselines.deeperaser import DeepEraser
from harness.statistics.intervals import bootstrap_ci95
from tasks.text_removal.eraser import composite
from tasks.text_removal.learned import to_image
from tasks.text_removal.metrics import script_metrics
from tasks.text_removal.task import TextRemoval

SETTINGS = ("box_mask", "no_mask")


def psnr_per_iteration(method: DeepEraser, images: list, setting: str) -> np.ndarray:
    """[iterations, images] script PSNR of every iteration's output (NaN where the script skips an image: MSE 0)."""
    found = []
    for text in images:
        mask = text.box_mask if setting == "box_mask" else None
        row = []
        for output in method.outputs(text.image, mask):
            out = to_image(output)
            scores = script_metrics(composite(out, text.image, mask) if mask is not None else out, text.clean)
            row.append(scores["psnr"] if scores["mse"] > 0 else np.nan)
        found.append(row)
    return np.array(found).T


def paired(a: np.ndarray, b: np.ndarray) -> str:
    """Mean of a - b over images both score, with its 95% bootstrap interval over images."""
    both = ~np.isnan(a) & ~np.isnan(b)
    diff = a[both] - b[both]
    low, high = bootstrap_ci95(diff.tolist())
    return f"{diff.mean():+.2f} [{low:+.2f}, {high:+.2f}] dB (n={both.sum()})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="optimiser steps of the equal-steps runs")
    parser.add_argument("--long-steps", type=int, default=1400, help="steps of the one-iteration equal-compute run")
    parser.add_argument("--iterations", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--test-images", type=int, default=300)
    parser.add_argument("--train-images", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    task = TextRemoval({"test_images": args.test_images, "train_images": args.train_images})
    test, training = task.images("offline", "test", args.seed), task.images("offline", "train", args.seed)
    runs = [(n, args.steps) for n in args.iterations] + [(1, args.long_steps)]
    last: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    print(f"DeepEraser-lite, shared recipe, seed {args.seed}: {len(training)} training, {len(test)} test images "
          f"of {task.options.image_size} px; script PSNR (dB), mean over images")
    for iterations, steps in runs:
        method = DeepEraser({"iterations": iterations, "steps": steps})
        start = time.perf_counter()
        method.fit(training, args.seed, torch.device("cpu"))
        fit = time.perf_counter() - start
        print(f"\n{iterations} iteration(s), {steps} steps: fit {fit:.0f} s, final loss {method.fitted_state()}")
        last[(iterations, steps)] = {}
        for setting in SETTINGS:
            psnr = psnr_per_iteration(method, test, setting)
            last[(iterations, steps)][setting] = psnr[-1]
            print(f"  {setting:8s} after iteration " + "  ".join(f"{i + 1}: {np.nanmean(v):.2f}" for i, v in enumerate(psnr)))
    print("\nPaired differences of the last iteration's PSNR, by image (a minus b):")
    fewest, most, long = (args.iterations[0], args.steps), (args.iterations[-1], args.steps), (1, args.long_steps)
    pairs = [(key, fewest, "equal steps") for key in runs[1:len(args.iterations)]]
    if len(args.iterations) > 2:
        pairs.append((most, (args.iterations[-2], args.steps), "equal steps"))
    pairs.append((long, most, "equal compute"))
    for setting in SETTINGS:
        for a, b, what in pairs:
            print(f"  {setting:8s} {a[0]} it @ {a[1]} - {b[0]} it @ {b[1]} ({what}): {paired(last[a][setting], last[b][setting])}")


if __name__ == "__main__":
    main()
