"""Are the generated offline splits bit-identical across CPU code paths? (issue 37)

Only one processor is at hand, so the other numeric code paths are forced on it: numpy's SIMD dispatch turned
down (NPY_DISABLE_CPU_FEATURES), other OpenBLAS kernels (OPENBLAS_CORETYPE), torch without its vectorised
kernels (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS), OpenCV without AVX (OPENCV_CPU_DISABLE), one thread
instead of the machine's, and all of these at once. Each variant runs in a child process that generates every
registered task's offline split: the samples and what index-only samples point into (EEG recordings, ray-cast
scenes, rendered text images, copy-detection images, test and training sets alike).
Every leaf (arrays, tensors, PIL images, strings, numbers) is hashed; the default variant keeps the numeric
leaves, and any other variant whose leaf differs reports max |a - b| and the relative difference
max |a - b| / max |a| of that leaf, plus the largest element-wise |a - b| / |a| (elements with |a| above 1e-6 of
the leaf's maximum).

    python benchmarks/split_portability.py [--limit 16 | --full] [--seed 0] [--variants numpy-avx2 ...] [--log PATH]

--limit N (3 to 4 minutes on 2 shared cores at 16) takes N samples per task and cuts the tasks that build their
whole split at once to about N items per part (EEG recordings, depth and text scenes, copy-detection images; same
generators, fewer draws); --full keeps every task's default options and all samples (19 minutes; rare last-bit
differences are found more often at full size). The table is also written to --log
(benchmarks/split_portability_cpu.log holds a --full run).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHOWN_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "NPY_DISABLE_CPU_FEATURES",
             "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "OPENCV_CPU_DISABLE")
OPENCV_AVX = "AVX512-SKX,AVX512-CLX,AVX2,FP16,AVX"  # OpenCV's own names (AVX512F alone is ignored)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# ---------------------------------------------------------------- variants

def numpy_targets(level: str) -> str:
    """numpy's dispatch targets to disable: `avx512` leaves AVX2 (X86_V3), `all` leaves the SSE4.2 baseline."""
    from numpy._core._multiarray_umath import __cpu_dispatch__

    return " ".join(t for t in __cpu_dispatch__ if level == "all" or "AVX512" in t or t == "X86_V4")


def variants() -> dict[str, dict[str, str]]:
    """Name -> environment additions; `default` is the environment as it is."""
    generic = {"NPY_DISABLE_CPU_FEATURES": numpy_targets("all"), "OPENBLAS_CORETYPE": "Sandybridge",
               "ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "OPENCV_CPU_DISABLE": OPENCV_AVX}
    return {
        "default": {},
        "numpy-avx2": {"NPY_DISABLE_CPU_FEATURES": numpy_targets("avx512")},
        "numpy-sse4.2": {"NPY_DISABLE_CPU_FEATURES": numpy_targets("all")},
        "openblas-haswell": {"OPENBLAS_CORETYPE": "Haswell"},
        "openblas-sandybridge": {"OPENBLAS_CORETYPE": "Sandybridge"},
        "torch-default": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
        "opencv-sse4.2": {"OPENCV_CPU_DISABLE": OPENCV_AVX},
        "threads-1": dict(ONE_THREAD),
        "all-generic": {**generic, **ONE_THREAD},
    }


def effective_paths() -> str:
    """What the child really got: numpy targets, OpenBLAS kernels, torch capability and threads, OpenCV features."""
    import cv2
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS too)
    import threadpoolctl
    import torch
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    numpy_on = [t for t in __cpu_dispatch__ if __cpu_features__.get(t)] or ["baseline"]
    blas = sorted({f"{i.get('architecture')}x{i['num_threads']}" for i in threadpoolctl.threadpool_info()
                   if i.get("internal_api") == "openblas"})
    cv_off = [f.rstrip("?").lstrip("*") for f in cv2.getCPUFeaturesLine().split() if f.endswith("?")]
    return (f"numpy {'+'.join(numpy_on)}; openblas {'/'.join(blas)}; torch {torch.backends.cpu.get_cpu_capability()}"
            f"x{torch.get_num_threads()}; opencv off: {','.join(cv_off) or '-'}")


# ---------------------------------------------------------------- walking a split

def leaves(obj: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(path, leaf) pairs in a fixed order; leaves are numpy arrays, numbers, strings, bytes or None."""
    if depth > 30:
        raise ValueError(f"{path}: nested too deep")
    torch = sys.modules.get("torch")
    image = sys.modules.get("PIL.Image")
    if obj is None or isinstance(obj, (str, bytes, bool, int, float)):
        yield path, obj
    elif isinstance(obj, np.ndarray) and obj.dtype.kind == "O":
        yield from leaves(obj.tolist(), path, depth + 1)
    elif isinstance(obj, np.ndarray):
        yield path, obj
    elif isinstance(obj, np.generic):
        yield path, np.asarray(obj)
    elif torch is not None and isinstance(obj, torch.Tensor):
        yield f"{path}<tensor>", obj.detach().cpu().numpy()
    elif image is not None and isinstance(obj, image.Image):
        yield f"{path}<{obj.mode}>", np.asarray(obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from leaves(value, f"{path}.{key}", depth + 1)
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from leaves(value, f"{path}[{i}]", depth + 1)
    elif dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__"):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else vars(obj)
        for key, value in fields.items():
            yield from leaves(value, f"{path}.{key}", depth + 1)
    else:
        yield f"{path}<{type(obj).__name__}>", repr(obj)


def kind(leaf: Any) -> str:
    """'float' (floating arrays and numbers), 'int' (integer and boolean arrays, ints) or 'exact' (the rest)."""
    if isinstance(leaf, np.ndarray):
        return "float" if leaf.dtype.kind in "fc" else "int" if leaf.dtype.kind in "iub" else "exact"
    if isinstance(leaf, float):
        return "float"
    return "int" if isinstance(leaf, (bool, int)) else "exact"


def leaf_digest(path: str, leaf: Any) -> str:
    if isinstance(leaf, np.ndarray):
        head = f"{path}|{leaf.dtype.str}|{leaf.shape}|".encode()
        return hashlib.sha256(head + np.ascontiguousarray(leaf).tobytes()).hexdigest()
    return hashlib.sha256(f"{path}|{type(leaf).__name__}|{leaf!r}".encode()).hexdigest()


def numeric(leaf: Any) -> np.ndarray:
    array = np.asarray(leaf)
    return array.view(array.real.dtype) if array.dtype.kind == "c" else array


def compare(ours: Any, ref: np.ndarray) -> dict[str, float]:
    """max |a - b|, max |a - b| / max |b| and the largest element-wise |a - b| / |b| (|b| > 1e-6 max |b|)."""
    a, b = numeric(ours).astype(np.float64), ref.astype(np.float64)
    if a.shape != b.shape:
        return {"abs": float("inf"), "rel": float("inf"), "elementwise": float("inf")}
    diff, scale = np.abs(a - b), np.abs(b)
    top = float(scale.max()) if scale.size else 0.0
    big = scale > 1e-6 * top
    largest = float(diff.max(initial=0.0))
    return {"abs": largest, "rel": largest / top if top else (np.inf if largest else 0.0),
            "elementwise": float((diff[big] / scale[big]).max(initial=0.0))}


# ---------------------------------------------------------------- generating the splits

def split_data(task: Any, seed: int) -> dict[str, Any]:
    """What index-only samples point into: EEG parts, depth / text scenes (test and train), copy-detection data."""
    if hasattr(task, "parts"):
        return {"parts": task.parts("offline", seed)}
    if hasattr(task, "images"):
        return {role: task.images("offline", role, seed) for role in ("test", "train")}
    if callable(getattr(task, "data", None)):
        return {"data": task.data("offline", seed)}
    return {}


def smaller(limit: int) -> dict[str, dict[str, int]]:
    """Option overrides that cut the splits built whole (not by samples()) to about `limit` items per part."""
    if not limit:
        return {}
    n = max(8, limit)
    return {"eeg_transfer": {"source_recordings": n, "target_train_recordings": n, "target_eval_recordings": n},
            "depth": {"test_images": n, "train_images": n},
            "text_removal": {"test_images": n, "train_images": n},
            "copy_detection": {"references": 4 * n, "base_queries": n, "novel_queries": n, "distractor_queries": n,
                               "train_images": n}}


def cells(limit: int) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(cell name, task class, options) for every registered task and every option set its expand() makes."""
    from harness.contracts.registry import TASKS

    overrides = smaller(limit)
    for name in TASKS.names():
        cls = TASKS.get(name)
        expanded = cls.expand(overrides.get(name, {}))
        for options in expanded:
            label = name if len(expanded) == 1 else f"{name}:{','.join(options.get('tasks', []))}"
            yield label, cls, options


def fingerprint(cls: Any, options: dict[str, Any], limit: int, seed: int) -> list[tuple[str, Any]]:
    task = cls(options)
    samples = task.samples("offline", limit or None, seed=seed)
    walked = [(s.id, {"inputs": s.inputs, "target": s.target, "meta": s.meta}) for s in samples]
    return list(leaves({"samples": walked, "split": split_data(task, seed)}))


def summarise(found: list[tuple[str, Any]], reference: dict[str, Any] | None, store: Path) -> dict[str, Any]:
    """Digests of one cell. The default (reference None) stores its numeric leaves and a manifest; another variant
    compares the leaves whose digest differs from the manifest's with the stored ones."""
    digests = [leaf_digest(p, leaf) for p, leaf in found]
    kinds = [kind(leaf) for _, leaf in found]
    out: dict[str, Any] = {"leaves": len(found), "sha256": hashlib.sha256("".join(digests).encode()).hexdigest()}
    if reference is None:
        np.savez(store, **{str(i): numeric(leaf) for i, (_, leaf) in enumerate(found) if kinds[i] != "exact"})
        out["manifest"] = [[p, d] for (p, _), d in zip(found, digests)]
        return out
    if "manifest" not in reference or [p for p, _ in found] != [p for p, _ in reference["manifest"]]:
        out["structure_differs"] = True
        return out
    diffs: dict[str, dict[str, Any]] = {"float": {"leaves": 0}, "int": {"leaves": 0}, "exact": {"leaves": 0}}
    with np.load(store) as ref:
        for i, ((path, leaf), (_, ref_digest)) in enumerate(zip(found, reference["manifest"])):
            if digests[i] == ref_digest:
                continue
            d = diffs[kinds[i]]
            d["leaves"] += 1
            d.setdefault("first", path)
            if kinds[i] != "exact":
                for key, value in compare(leaf, ref[str(i)]).items():
                    d[key] = max(d.get(key, 0.0), value)
    out["diffs"] = diffs
    return out


def child(variant: str, workdir: Path, limit: int, seed: int) -> None:
    """Generate every cell under this process's environment and write workdir/<variant>.json."""
    if "OMP_NUM_THREADS" in os.environ:
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    result: dict[str, Any] = {"paths": effective_paths(), "cells": {}}
    for label, cls, options in cells(limit):
        start = time.perf_counter()
        store = workdir / f"{label.replace(':', '_')}.npz"
        manifest = workdir / f"{label.replace(':', '_')}.json"
        try:
            found = fingerprint(cls, options, limit, seed)
        except Exception as exc:  # noqa: BLE001  (a task that cannot run offline is reported, not fatal)
            result["cells"][label] = {"skipped": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"}
            continue
        reference = None
        if variant != "default":
            reference = json.loads(manifest.read_text()) if manifest.exists() else {}
        summary = summarise(found, reference, store)
        if variant == "default":
            manifest.write_text(json.dumps(summary))
            summary.pop("manifest")
        summary["seconds"] = time.perf_counter() - start
        result["cells"][label] = summary
    (workdir / f"{variant}.json").write_text(json.dumps(result))


# ---------------------------------------------------------------- the parent: run the variants, print the table

def run_variant(name: str, extra: dict[str, str], workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, **extra}
    command = [sys.executable, __file__, "--child", name, "--workdir", str(workdir), "--limit", str(args.limit),
               "--seed", str(args.seed)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"variant {name} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads((workdir / f"{name}.json").read_text())
    result["seconds"] = time.perf_counter() - start
    return result


def cell_row(label: str, results: dict[str, dict[str, Any]]) -> str:
    """One task's row: bit-identical under every variant, else the worst float differences and who differs."""
    default = results["default"]["cells"][label]
    if "skipped" in default:
        return f"{label:34s} skipped: {default['skipped']}"
    worst: dict[str, float] = {}
    differing, notes = [], set()
    for name, result in results.items():
        cell = result["cells"].get(label, {})
        if name == "default" or cell.get("sha256") == default["sha256"]:
            continue
        differing.append(name)
        if "diffs" not in cell:
            notes.add(cell.get("skipped", "structure differs"))
            continue
        diffs = cell["diffs"]
        for key in ("abs", "rel", "elementwise"):
            worst[key] = max(worst.get(key, 0.0), diffs["float"].get(key, 0.0))
        if diffs["int"]["leaves"]:
            worst["int"] = max(worst.get("int", 0.0), diffs["int"]["abs"])
        if diffs["exact"]["leaves"]:
            notes.add("strings differ")
    if "int" in worst:
        notes.add(f"integer arrays differ by up to {worst['int']:.3g}")
    numbers = " ".join(f"{worst.get(k, 0):9.2g}" for k in ("abs", "rel", "elementwise")) if differing else f"{'':29s}"
    return (f"{label:34s} {default['seconds']:5.1f} {default['leaves']:7d} {'no' if differing else 'yes':>4s} {numbers}  "
            f"{', '.join(differing) or '-'}" + (f"; {'; '.join(sorted(notes))}" if notes else ""))


def variant_rows(name: str, result: dict[str, Any], default: dict[str, Any]) -> list[str]:
    """One line per cell that differs under this variant: how many leaves differ, by how much, the first one."""
    rows = []
    for label, cell in result["cells"].items():
        if cell.get("sha256") == default["cells"][label].get("sha256"):
            continue
        if "diffs" not in cell:
            rows.append(f"{name:20s} {label:28s} {cell.get('skipped', 'structure differs')}")
            continue
        d = cell["diffs"]
        parts = [f"float rel {d['float']['rel']:.2g} in {d['float']['leaves']} leaves from {d['float']['first']}"
                 if d["float"]["leaves"] else "",
                 f"integers by {d['int']['abs']:.3g} in {d['int']['leaves']} leaves from {d['int']['first']}"
                 if d["int"]["leaves"] else "",
                 f"strings in {d['exact']['leaves']} leaves from {d['exact']['first']}" if d["exact"]["leaves"] else ""]
        rows.append(f"{name:20s} {label:28s} {'; '.join(p for p in parts if p)}")
    return rows or [f"{name:20s} bit-identical everywhere"]


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace, table: dict[str, dict[str, str]]) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import torch

    shown = ", ".join(f"{k}={os.environ.get(k, '<unset>')}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS"))
    size = "--full" if args.full else f"--limit {args.limit}"
    lines = [f"# python benchmarks/split_portability.py {size} --seed {args.seed}, {os.cpu_count()} CPU cores "
             f"({cpu}), Python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
             f"{datetime.date.today()}; environment before the variants: {shown}",
             "", "variant               seconds  paths taken (checked in the child)  <- environment added"]
    for name, result in results.items():
        added = " ".join(f"{k}={v!r}" for k, v in table[name].items() if k in SHOWN_ENV) or "(as is)"
        lines.append(f"{name:20s} {result['seconds']:7.0f}  {result['paths']}  <- {added}")
    lines += ["", f"{'task (offline split, seed ' + str(args.seed) + ')':34s} {'s':>5s} {'leaves':>7s} {'same':>4s} "
              f"{'max|Δ|':>9s} {'max rel':>9s} {'elem rel':>9s}  variants that differ; what differs",
              *[cell_row(label, results) for label in results["default"]["cells"]],
              "", "differences by variant (against default)",
              *[row for name, result in results.items() if name != "default"
                for row in variant_rows(name, result, results["default"])],
              "", "s: seconds to generate and hash (default variant). same: every leaf's bytes equal under every variant. max|Δ|: largest |a - b| of a float leaf against the "
              "default; max rel: max |a - b| / max |a| of that leaf; elem rel: largest element-wise |a - b| / |a|."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=16, help="samples per task, and items per part of whole-built splits")
    parser.add_argument("--full", action="store_true", help="default task options, every sample (overrides --limit)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", nargs="*", help="a subset of the variants (default is always run first)")
    parser.add_argument("--log", default=str(ROOT / "benchmarks" / "split_portability_cpu.log"), help="'' for none")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.full:
        args.limit = 0
    if args.child:
        child(args.child, Path(args.workdir), args.limit, args.seed)
        return
    table = variants()
    chosen = ["default"] + [v for v in (args.variants or table) if v != "default"]
    unknown = set(chosen) - set(table)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}: choose from {', '.join(table)}")
    with tempfile.TemporaryDirectory(prefix="split-portability-") as tmp:
        results = {}
        for name in chosen:
            results[name] = run_variant(name, table[name], Path(tmp), args)
            print(f"{name}: {results[name]['seconds']:.0f} s", file=sys.stderr, flush=True)
    text = report(results, args, table)
    print(text)
    if args.log:
        Path(args.log).write_text(text + "\n")


if __name__ == "__main__":
    main()
