"""Provenance of plugin methods: a record names the distribution, version and commit that provided its method;
validate and the site show it; a plugin upgraded since makes the record stale (issue 36, item 2)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.contracts.provenance import public_url
from tests.conftest import harness_cli
from tests.test_cli import records

PLUGIN = '''
from baselines.streamingllm import StreamingLLM


class SinkPlugin(StreamingLLM):
    """StreamingLLM's sink and window, from a package of its own."""

    name = "sink_plugin"
'''
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SMALL = ["--task", "passkey", "--task-arg", "lengths=[256]", "--task-arg", "depths=[0.5]", "--repeats", "1", "--warmups", "0"]


def plugin(root: Path, version: str, direct_url: dict | None) -> dict[str, str]:
    """An installed-looking distribution `harness-sink-plugin` (dist-info with an entry point and, optionally, pip's
    direct_url.json) on PYTHONPATH."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "harness_sink_plugin.py").write_text(PLUGIN)
    for old in root.glob("*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    dist = root / f"harness_sink_plugin-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: harness-sink-plugin\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text("[harness.methods]\nsink_plugin = harness_sink_plugin:SinkPlugin\n")
    if direct_url is not None:
        (dist / "direct_url.json").write_text(json.dumps(direct_url))
    return {"PYTHONPATH": str(root)}


def test_public_urls_lose_credentials_and_local_paths_are_never_kept():
    assert public_url("git+https://user:ghp_secret@github.com/me/knorm.git") == "https://github.com/me/knorm.git"
    assert public_url("git+ssh://git@github.com:22/me/knorm.git") == "ssh://github.com:22/me/knorm.git"
    assert public_url("file:///home/me/knorm") is None and public_url("/home/me/knorm") is None
    assert public_url("http://example.com/x.git") is None  # plain http is not kept either


def test_a_plugin_run_records_its_distribution_and_validate_and_the_site_show_it(tiny_model_dir, tmp_path):
    env = plugin(tmp_path / "site-packages", "0.3", {"url": "git+https://me:s3cr3t@github.com/me/sink.git",
                                                      "vcs_info": {"vcs": "git", "commit_id": COMMIT}})
    out = tmp_path / "results"
    proc = harness_cli("run", "--method", "sink_plugin", *SMALL, "--model", str(tiny_model_dir), "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    [path] = records(out)
    record = json.loads(path.read_text())
    assert record["method"]["provider"] == {"distribution": "harness-sink-plugin", "version": "0.3", "commit": COMMIT,
                                            "dirty": None, "source": "https://github.com/me/sink.git"}
    assert record["environment"]["packages"]["harness-sink-plugin"] == "0.3"
    assert "s3cr3t" not in path.read_text()
    checked = harness_cli("validate", str(out), env=env)
    assert checked.returncode == 0, checked.stderr
    assert (f"method from plugin harness-sink-plugin 0.3, commit {COMMIT[:12]} from https://github.com/me/sink.git"
            in checked.stdout)
    site = tmp_path / "site"
    assert harness_cli("site", "--results", str(out), "--out", str(site), env=env).returncode == 0
    page = next((site / "runs").glob("*.html")).read_text()
    assert "harness-sink-plugin" in page and COMMIT in page

    upgraded = plugin(tmp_path / "site-packages", "0.4", None)  # the plugin moved on since the run
    checked = harness_cli("validate", str(out), env=upgraded)
    assert checked.returncode == 0 and "1 stale" in checked.stdout
    assert "method sink_plugin from harness-sink-plugin 0.3, installed from harness-sink-plugin 0.4" in checked.stderr


@pytest.mark.parametrize("dirty", [False, True])
def test_an_editable_git_checkout_records_its_head_and_whether_it_was_dirty(tmp_path, monkeypatch, dirty):
    from harness.contracts import provenance

    checkout = tmp_path / "sink"
    checkout.mkdir()
    (checkout / "sink.py").write_text("x = 1\n")
    git = ["git", "-C", str(checkout), "-c", "user.email=a@b", "-c", "user.name=a"]
    for args in (["init", "-q"], ["add", "sink.py"], ["commit", "-qm", "first"]):
        subprocess.run([*git, *args], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        (checkout / "sink.py").write_text("x = 2\n")
    plugin(tmp_path / "site-packages", "0.5", {"url": checkout.as_uri(), "dir_info": {"editable": True}})
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    provenance.distribution_provider.cache_clear()
    found = provenance.distribution_provider("harness-sink-plugin")
    assert (found.version, found.commit, found.dirty, found.source) == ("0.5", head, dirty, None)  # no local path kept
    provenance.distribution_provider.cache_clear()
