"""Where results live on disk: record paths, atomic writes, the per-sample JSONL log, and reading records back.

A run appends its samples to a plain `RUN.samples.jsonl` (flushed per line, so a killed run resumes); once the run
is complete the log is stored gzip-compressed as `RUN.samples.jsonl.gz` (deterministic bytes: no name, no time).
Every reader takes both forms, and the sha256 a record pins is that of the JSONL *content*, compressed or not.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from harness.contracts.record import Artifacts, ResultRecord
from harness.errors import HarnessError
from harness.records.environment import slug
from harness.records.run_lock import LOCKS_FOLDER

SAMPLES_SUFFIX = ".samples.jsonl"
COMPRESSED_SUFFIX = SAMPLES_SUFFIX + ".gz"
PUBLIC_FILE_MODE = 0o644
LOG_BYTES_CAP = 256 * 1024 ** 2  # a samples log, stored or decompressed (a change over 256 MiB cannot land anyway)
RECORD_BYTES_CAP = 16 * 1024 ** 2  # a record's JSON (honest ones are 10-20 KB)
WRITE_DELAY_ENV = "HARNESS_FAULT_WRITE_DELAY"  # test hook: seconds to pause half-way through every write


def model_slug(model_id: str | None) -> str:
    return "none" if model_id is None else slug(model_id)


def safe_name(text: str) -> str:
    """A file name for any name from a user or plugin: unchanged when it is already safe, else made safe plus a short hash."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "x"
    return base if base == text else f"{base}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def cell_dir(out: Path, task: str, method: str, model_id: str | None, hardware_key: str) -> Path:
    return out / safe_name(task) / safe_name(method) / model_slug(model_id) / safe_name(hardware_key)


def ensure_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise HarnessError(f"cannot write results under {path}: a file stands where a folder should be; choose another --out") from None
    except OSError as exc:
        raise HarnessError(f"cannot create the results folder {path} ({exc.strerror}): choose a writable --out") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise HarnessError(f"cannot write into the results folder {path} (permission denied): choose a writable --out")


def _write_slowly(fh: Any, text: str | bytes) -> None:
    """Write `text` (or bytes); under the fault-injection hook, pause half-way so that a kill can land mid-write."""
    delay = float(os.environ.get(WRITE_DELAY_ENV) or 0)
    if delay <= 0:
        fh.write(text)
        return
    half = len(text) // 2
    fh.write(text[:half])
    fh.flush()
    time.sleep(delay)
    fh.write(text[half:])


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write text (or bytes) to a temporary file in the same folder, fsync, then rename over the target."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, PUBLIC_FILE_MODE)  # mkstemp makes files private; records are meant to be shared
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as fh:
            _write_slowly(fh, text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(path: Path, record: ResultRecord) -> None:
    write_text_atomic(path, json.dumps(record.model_dump(mode="json"), indent=2) + "\n")


def is_samples_log(path: Path) -> bool:
    return path.name.endswith((SAMPLES_SUFFIX, COMPRESSED_SUFFIX))


def log_run_id(path: Path) -> str:
    """The run id a samples log belongs to (its name without either suffix)."""
    return path.name.removesuffix(".gz").removesuffix(SAMPLES_SUFFIX)


def log_names(record_path: Path) -> tuple[Path, Path]:
    """Where `harness run` keeps a record's samples log beside it: plain while it runs, compressed once complete."""
    return (record_path.with_name(record_path.stem + SAMPLES_SUFFIX),
            record_path.with_name(record_path.stem + COMPRESSED_SUFFIX))


def samples_path(record: ResultRecord, path: Path) -> Path | None:
    """The samples log a record names: a file beside it (HarnessError for any other path, so none leaves the tree)."""
    if not record.artifacts:
        return None
    name = record.artifacts.samples
    if not name or name in (".", "..") or Path(name).name != name or "\\" in name:
        raise HarnessError(f"artifacts.samples {name!r} is not a file name beside the record: a samples log sits in its "
                           "record's folder, named as `harness run` names it")
    return path.parent / name


def read_capped(path: Path, cap: int) -> bytes:
    """A regular file's bytes (not a symlink, device or pipe), refused in one line past `cap` bytes."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise HarnessError(f"{path} cannot be read ({exc.strerror}): restore it from git") from None
    if not stat.S_ISREG(info.st_mode):
        raise HarnessError(f"{path} is not a regular file (a symlink, device or pipe): replace it with the file itself")
    if info.st_size > cap:
        raise HarnessError(f"{path} is {info.st_size:,} bytes, over the {cap:,} a file of results may hold: "
                           "split the run (--limit) or keep fewer fields per row")
    return path.read_bytes()


def read_log_bytes(path: Path) -> bytes:
    """A samples log's JSONL content, decompressed when it is stored as .gz (one line when it is not valid gzip, or
    when either form is over LOG_BYTES_CAP)."""
    data = read_capped(path, LOG_BYTES_CAP)
    if not path.name.endswith(".gz"):
        return data
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing; one member, as compress_log writes
    try:
        content = inflate.decompress(data, LOG_BYTES_CAP + 1)
    except zlib.error:
        raise HarnessError(f"{path} is not valid gzip: restore it from git, or rerun the cell") from None
    if len(content) > LOG_BYTES_CAP:
        raise HarnessError(f"{path} holds over {LOG_BYTES_CAP:,} bytes of samples: split the run (--limit)")
    if not inflate.eof or inflate.unused_data:
        raise HarnessError(f"{path} is not valid gzip (cut short, or more than one member): restore it from git, or rerun the cell")
    return content


DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
LONG_DIGIT_RUN = b"0" * 19  # an integer past 64 bits has 19 digits or more (so has a float's fraction, now and then)
HUGE = 2.0 ** 63  # orjson reads an integer outside [-2**63, 2**64) as a float at least this large


def holds_huge_float(value: Any) -> bool:
    """Whether a parsed JSON value holds a float of magnitude 2**63 or more (or NaN, or infinite) anywhere."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is float:
            if not -HUGE < item < HUGE:
                return True
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return False


def parse_json(text: str) -> Any:
    """One JSON document exactly as the standard library reads it, in a third of the time on samples logs: orjson,
    except where the two differ (NaN, Infinity and lone surrogates, which orjson refuses; integers outside 64 bits,
    which it reads as floats), where the standard library reads it."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    if LONG_DIGIT_RUN in text.encode().translate(DIGITS_AS_ZERO) and holds_huge_float(value):
        return json.loads(text)
    return value


def samples_sha256(path: Path) -> str:
    """The sha256 a record pins for its samples log: that of the JSONL content, whether stored plain or compressed."""
    return hashlib.sha256(read_log_bytes(path)).hexdigest()


def compress_log(path: Path) -> Path:
    """Store a finished plain log as .gz beside it (deterministic bytes) and return the new path; the plain log is
    left for the caller to remove once the record names the new one."""
    target = path.with_name(path.name + ".gz")
    write_text_atomic(target, gzip.compress(path.read_bytes(), compresslevel=9, mtime=0))
    return target


def store_compressed(record: ResultRecord, path: Path, log: Path) -> None:
    """Keep a complete run's log compressed: write the .gz, point the record at it (its content sha256 is
    unchanged), then remove the plain log. A stop in between leaves a record that names a log that exists."""
    compressed = compress_log(log)
    record.artifacts = Artifacts(samples=compressed.name, sha256=record.artifacts.sha256)
    write_record(path, record)
    log.unlink()


def row_shape_problem(row: Any) -> str | None:
    """What keeps a parsed line from being a sample row (None when it is one): an object with an `id` (text or an
    integer), `scores` mapping names to numbers (or null), and `meta` an object when present."""
    if not isinstance(row, dict):
        return "not an object"
    if isinstance(row.get("id"), bool) or not isinstance(row.get("id"), (str, int)):
        return "its id is not text or an integer"
    scores = row.get("scores")
    if not isinstance(scores, dict) or not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                                               for v in scores.values()):
        return "its scores are not names mapped to numbers"
    if not isinstance(row.get("meta", {}), dict):
        return "its meta is not an object"
    return None


class SampleLog:
    """Append-only JSONL of per-sample outputs and scores, flushed per line so a killed run can resume."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> list[dict[str, Any]]:
        """Rows in file order; a truncated last line (from a kill mid-write) is ignored, anything else is an error."""
        return self.read_with_text()[0]

    def read_with_text(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The rows (as `read`) and each row's line of JSON text as the log holds it."""
        if not self.path.exists():
            return [], []
        rows = []
        data = read_log_bytes(self.path)
        try:
            lines = data.decode().splitlines()
        except UnicodeDecodeError:
            raise HarnessError(f"{self.path} is not UTF-8 text: restore it from git, or rerun the cell") from None
        for number, line in enumerate(lines, 1):
            try:
                row = parse_json(line)
            except (ValueError, RecursionError):
                if number == len(lines) and not data.endswith(b"\n"):
                    break
                raise HarnessError(
                    f"{self.path} line {number} is not a sample record: move the file away to start that run afresh"
                ) from None
            wrong = row_shape_problem(row)
            if wrong:
                raise HarnessError(f"{self.path} line {number} is not a sample record ({wrong}): restore the log, or "
                                   "move it away to start that run afresh")
            rows.append(row)
        return rows, lines[:len(rows)]

    def repair_tail(self) -> None:
        """Drop a truncated last line before appending to the log again."""
        data = self.path.read_bytes() if self.path.exists() else b""
        if data and not data.endswith(b"\n"):
            self.path.write_bytes(data[: data.rfind(b"\n") + 1])

    def claim(self) -> bool:
        """Create the log if no other run has it yet (atomic): False when the name is taken."""
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PUBLIC_FILE_MODE))
        except FileExistsError:
            return False
        return True

    def append(self, row: dict[str, Any]) -> None:
        with self.path.open("a") as fh:
            _write_slowly(fh, json.dumps(row) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def rewrite(self, rows: list[dict[str, Any]]) -> None:
        """Replace the log's rows, in the form (plain or compressed) it is stored in."""
        text = "".join(json.dumps(row) + "\n" for row in rows).encode()
        compressed = self.path.name.endswith(".gz")
        write_text_atomic(self.path, gzip.compress(text, compresslevel=9, mtime=0) if compressed else text)


def result_files(root: Path) -> dict[str, Path]:
    """Every file of a results folder but its locks and unfinished temporary writes, by relative path."""
    if not root.is_dir():
        raise HarnessError(f"{root} is not a results folder: give folders written by `harness run --out`")
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and LOCKS_FOLDER not in p.relative_to(root).parts and not p.name.endswith(".tmp")}


def load_record(path: Path) -> ResultRecord:
    return read_record(path)[0]


SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def read_record(path: Path) -> tuple[ResultRecord, list[str]]:
    """A record and its warnings: a field this harness does not know is dropped with a warning; anything else
    that does not match the schema is an error naming the file."""
    try:
        text = read_capped(path, RECORD_BYTES_CAP).decode()
        data = json.loads(text)
        if SURROGATE_ESCAPE.search(text):  # a lone one could reach no page, file or terminal: UTF-8 cannot carry it
            json.dumps(data, ensure_ascii=False).encode()
    except FileNotFoundError:
        raise HarnessError(f"no result record at {path}: check the path (see `harness show` for run ids)") from None
    except UnicodeEncodeError:
        raise HarnessError(f"{path} holds text that is not Unicode (a lone surrogate escape): fix or remove that file") from None
    except (ValueError, OSError, RecursionError) as exc:
        raise HarnessError(f"{path} is not a valid result record ({type(exc).__name__}: {exc}): fix or remove that file") from None
    warnings: list[str] = []
    try:
        return ResultRecord.model_validate(data), warnings
    except ValidationError as exc:
        errors = exc.errors()
        if not all(e["type"] == "extra_forbidden" for e in errors):
            raise _invalid(path, next(e for e in errors if e["type"] != "extra_forbidden")) from None
    for error in errors:
        *parents, key = error["loc"]
        holder = data
        for part in parents:
            holder = holder[part]
        del holder[key]
        warnings.append(f"{path}: unknown field {'.'.join(str(p) for p in error['loc'])} ignored (made by another harness version?)")
    try:
        return ResultRecord.model_validate(data), warnings
    except ValidationError as exc:  # a required field hidden behind a misspelt name
        raise _invalid(path, exc.errors()[0]) from None


def _invalid(path: Path, error: Any) -> HarnessError:
    where = ".".join(str(p) for p in error["loc"]) or "document"
    return HarnessError(f"{path} is not a valid result record ({where}: {error['msg']}): fix or remove that file")


def within_tree(root: Path, path: Path, fix: str) -> Path:
    """`path`, refused (one line ending in `fix`) when it is a symlink, or a symlinked folder on its way leads out of
    `root`: what every command that writes into a results tree checks first."""
    if path.is_symlink() or not path.parent.resolve().is_relative_to(root.resolve()):
        raise HarnessError(f"{path} leads out of {root} (a symlinked folder or file, or a path elsewhere): {fix}")
    return path


def record_paths(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    if not root.exists():
        raise HarnessError(f"results folder {root} does not exist: run `harness run` first or pass the right --results")
    for path in sorted(root.rglob("*.json")):
        if not path.name.startswith("."):
            yield path


def find_run(root: Path, run: str) -> Path:
    """A run given as a record path, or as a run id looked up under `root`."""
    path = Path(run)
    if path.suffix == ".json" or path.exists():
        return path
    matches = [p for p in record_paths(root) if p.stem == run]
    if not matches:
        raise HarnessError(f"no run {run!r} under {root}: pass a record path or a run id from `harness show`")
    if len(matches) > 1:
        raise HarnessError(f"run id {run!r} is ambiguous under {root}: pass the record path instead")
    return matches[0]
