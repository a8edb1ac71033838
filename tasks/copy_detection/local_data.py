"""The AnyPattern test data from a local folder: references, queries, the prompt pool and the ground-truth CSV.

Layout (the AnyPattern release, folder names settable):
    reference_images/R000000.jpg ...          the reference set
    query_k1_10_v2_test/Q....jpg ...          test queries (tampered with novel patterns, or distractors)
    query_k1_10_v2_support_select10/*.jpg     prompt pool: tampered examples
    query_k1_10_v2_support_ori_select10/*.jpg prompt pool: their originals, same file names
    ground_truth.csv                          query_id,reference_id (DISC21 format; empty reference_id = distractor),
                                              optional columns kind (base/novel) and pattern
"""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image

from harness.errors import HarnessError
from tasks.copy_detection.data import CopyData, PromptPair, Query, TrainingSet
from tasks.imagery import open_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _images(folder: Path, what: str) -> dict[str, Path]:
    if not folder.is_dir():
        raise HarnessError(f"the {what} folder {folder} does not exist: check --task-arg data_dir=... and the folder options")
    found = {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    if not found:
        raise HarnessError(f"the {what} folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return found


def _load(path: Path, size: int) -> Image.Image:
    return open_image(path).convert("RGB").resize((size, size), Image.BILINEAR)


def ground_truth(path: Path) -> dict[str, dict[str, str]]:
    """query_id -> its row (reference_id empty for distractors)."""
    if not path.is_file():
        raise HarnessError(f"ground-truth file {path} not found: give --task-arg ground_truth=<CSV with query_id,reference_id>")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"query_id", "reference_id"} <= set(rows[0]):
        raise HarnessError(f"{path} needs a header with query_id and reference_id (the DISC21 ground-truth format)")
    return {row["query_id"]: row for row in rows}


def local_data(data_dir: str, reference_folder: str, query_folder: str, support_folder: str, support_original_folder: str,
               ground_truth_file: str, size: int, training: TrainingSet) -> CopyData:
    root = Path(data_dir).expanduser()
    references = {rid: _load(p, size) for rid, p in _images(root / reference_folder, "reference").items()}
    truth = ground_truth(root / ground_truth_file)
    queries = []
    for qid, path in _images(root / query_folder, "query").items():
        row = truth.get(qid, {})
        ref = row.get("reference_id") or None
        if ref is not None and ref not in references:
            raise HarnessError(f"ground truth maps query {qid} to reference {ref}, which is not in {reference_folder}/")
        pattern = row.get("pattern") or "unknown"
        queries.append(Query(id=qid, image=_load(path, size), patterns=(pattern,), kind=row.get("kind") or "novel", reference=ref))
    if not any(q.reference for q in queries):
        raise HarnessError(f"no query in {query_folder}/ has a reference in {ground_truth_file}: check the query ids")
    prompts = []
    support, originals = root / support_folder, root / support_original_folder
    if support.is_dir():
        original_paths = _images(originals, "prompt originals")
        for pid, path in _images(support, "prompt").items():
            if pid not in original_paths:
                raise HarnessError(f"prompt {path.name} has no original of the same name in {support_original_folder}/")
            prompts.append(PromptPair(id=pid, original=_load(original_paths[pid], size), tampered=_load(path, size), pattern=None))
    return CopyData(references=references, queries=queries, prompts=prompts, training=training)
