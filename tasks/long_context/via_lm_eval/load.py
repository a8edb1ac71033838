"""Finding and loading lm-eval tasks offline: the shipped YAMLs, a user's `include_path`, lm-eval's own index.

Nothing downloads: the Hugging Face hub and datasets are switched to offline mode before lm-eval is imported, so a
dataset that is not in a local file or the local HF cache is one clear error naming what to fetch.
"""

from __future__ import annotations

import copy
import difflib
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.contracts.real_data import forbid_downloads
from harness.errors import HarnessError

SHIPPED = Path(__file__).parent / "shipped_tasks"
SUPPORTED_KINDS = ("generate_until", "loglikelihood", "multiple_choice")
LM_EVAL_FEWSHOT_SEED = 1234  # simple_evaluate's default fewshot_random_seed


def go_offline() -> None:
    """Forbid downloads for this process (datasets and huggingface_hub read these at import); lm-eval must be installed."""
    import importlib.util

    if importlib.util.find_spec("lm_eval") is None:
        raise HarnessError("the lm_eval task needs lm-eval: pip install -e '.[lm-eval]' (scripts/setup.sh installs it)")
    forbid_downloads()
    os.environ["TQDM_DISABLE"] = "1"  # lm-eval's and datasets' progress bars; the cell shows its own
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    logging.getLogger("lm-eval").setLevel(logging.ERROR)


def check_yaml(include_path: str | None) -> None:
    """Every YAML under the user's folder must parse: a broken one would otherwise be skipped in silence."""
    if include_path is None:
        return
    folder = Path(include_path)
    if not folder.is_dir():
        raise HarnessError(f"--task-arg include_path={include_path} is not a folder: point it at the folder of your lm-eval YAML files")
    go_offline()
    from lm_eval.tasks._yaml_loader import load_yaml

    for path in sorted(folder.glob("**/*.yaml")):
        try:
            load_yaml(path, resolve_func=False)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HarnessError(f"{path} does not parse as an lm-eval task YAML ({first}): fix it or move it out of include_path") from None


@lru_cache(maxsize=4)
def task_manager(include_path: str | None, defaults: bool):
    """lm-eval's TaskManager over the shipped tasks, the user's folder and, with `defaults`, lm-eval's own (~5 s)."""
    go_offline()
    from lm_eval.tasks import TaskManager

    paths = [str(SHIPPED)] + ([include_path] if include_path else [])
    return TaskManager(include_path=paths, include_defaults=defaults)


def manager_for(names: list[str], include_path: str | None):
    """The cheapest TaskManager that knows every name; an unknown name is one line with lm-eval's closest names."""
    manager = task_manager(include_path, False)
    if all(name in manager.task_index for name in names):
        return manager
    manager = task_manager(include_path, True)
    for name in names:
        if name not in manager.task_index:
            close = difflib.get_close_matches(name, manager.all_tasks, n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else "see `lm-eval ls tasks` for lm-eval's own tasks"
            raise HarnessError(f"unknown lm-eval task {name!r}: {hint} (your own YAML: --task-arg include_path=DIR)")
    return manager


def leaf_tasks(names: list[str], include_path: str | None) -> list[str]:
    """Task names with tags and groups expanded (one harness record per leaf task)."""
    check_yaml(include_path)
    manager = manager_for(names, include_path)
    found: list[str] = []
    for name in names:
        entry = manager.task_index[name]
        kind = entry.kind.name
        if kind in ("TASK", "PY_TASK"):
            members = [name]
        elif kind == "TAG":
            members = leaf_tasks(sorted(entry.tags), include_path)
        else:  # a group: its members are only known once lm-eval builds it
            members = list(_load(manager, name)["tasks"])
        found += [m for m in members if m not in found]
    return found


def _shipped_config(manager, name: str) -> dict[str, Any] | None:
    """A shipped task's config with its data files resolved against the shipped folder (lm-eval reads them from the cwd)."""
    entry = manager.task_index[name]
    if entry.yaml_path is None or Path(entry.yaml_path).resolve().parent != SHIPPED.resolve():
        return None
    config = copy.deepcopy(entry.cfg)
    config.pop("tag", None)
    files = config["dataset_kwargs"]["data_files"]
    config["dataset_kwargs"]["data_files"] = {split: str(SHIPPED / file) for split, file in files.items()}
    return config


def _load(manager, spec: str | dict[str, Any]) -> dict[str, Any]:
    name = spec if isinstance(spec, str) else spec["task"]
    try:
        return manager.load([spec])
    except Exception as exc:  # datasets raises many kinds for "not here and not allowed to download"
        entry = manager.task_index.get(name)
        config = entry.cfg if entry is not None and entry.cfg else {}
        dataset = config.get("dataset_path", "?") + (f" ({config['dataset_name']})" if config.get("dataset_name") else "")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fetch = (f"python -c \"import datasets; datasets.load_dataset('{config.get('dataset_path')}'"
                 + (f", '{config['dataset_name']}'" if config.get("dataset_name") else "") + ")\"")
        raise HarnessError(f"lm-eval task {name!r} cannot load its dataset {dataset} offline ({type(exc).__name__}: {first[:160]}): "
                           f"fetch it where there is internet with `{fetch}` and copy ~/.cache/huggingface here, "
                           f"or point --task-arg include_path at a YAML over local files") from None


def load_task(name: str, include_path: str | None, num_fewshot: int | None, fewshot_seed: int):
    """One lm-eval Task, configured as `simple_evaluate` configures it (few-shot count and seed)."""
    check_yaml(include_path)
    manager = manager_for([name], include_path)
    if manager.task_index[name].kind.name not in ("TASK", "PY_TASK"):
        raise HarnessError(f"{name!r} is an lm-eval group or tag: the lm_eval task runs one lm-eval task per record "
                           f"(pass --task-arg tasks={name} to `harness run`, which splits it)")
    loaded = _load(manager, _shipped_config(manager, name) or name)
    task = loaded["tasks"][name]
    kind = task.get_config("output_type")
    if kind not in SUPPORTED_KINDS:
        raise HarnessError(f"lm-eval task {name!r} asks for {kind} requests, which the KV-cache bridge does not run: "
                           f"it runs {', '.join(SUPPORTED_KINDS)} tasks")
    if num_fewshot is not None and task.get_config("num_fewshot") != 0:
        task.set_config(key="num_fewshot", value=num_fewshot)
    elif task.get_config("num_fewshot") is None:
        task.set_config(key="num_fewshot", value=0)
    task.set_fewshot_seed(seed=fewshot_seed)
    return task
