"""The archive commands: ingest, db upgrade, history, diff, rejects, show, stats, index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _records import make_record
from click.testing import CliRunner

from cablegate.cli import cli
from cablegate.search import SearchIndex


@pytest.fixture
def run(db_url, tmp_path, monkeypatch):
    """Invoke `cablegate ...` on a fresh database (CABLEGATE_DB / CABLEGATE_INDEX)."""
    monkeypatch.setenv("CABLEGATE_DB", db_url)
    monkeypatch.setenv("CABLEGATE_INDEX", str(tmp_path / "index"))
    runner = CliRunner()

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result

    return invoke


def jsonl(path: Path, records: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.fixture
def loaded(run, tmp_path):
    first = jsonl(tmp_path / "a.jsonl", [
        make_record("07MOSCOW1", body="THE MINISTER SAID NO.", references=["08PARIS2",
                                                                          "99NOWHERE1"]),
        make_record("08PARIS2", created="2008-02-03 10:00", origin="Embassy Paris",
                    classification="SECRET", references=["07MOSCOW1"]),
    ])
    second = jsonl(tmp_path / "b.jsonl", [
        make_record("07MOSCOW1", body="THE DEPUTY MINISTER SAID YES."),
    ])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json at all\n")
    return run, first, second, str(bad)


def test_ingest_summary_exit_status_and_rejects(loaded):
    run, first, second, bad = loaded
    out = run("ingest", first, "--quiet").output
    assert "new 2, new revision 0, unchanged 0, rejected 0" in out
    out = run("ingest", first, second, bad, "--quiet", code=1)
    assert "new 0, new revision 1, unchanged 2, rejected 1" in out.output
    assert bad in out.stderr
    listed = run("rejects").output
    assert bad in listed
    assert json.loads(run("rejects", "--json").output)[0]["path"] == bad


def test_history_diff_show_stats(loaded):
    run, first, second, _bad = loaded
    run("ingest", first, second, "--quiet")
    history = run("history", "07MOSCOW1").output.splitlines()
    assert len(history) == 2 and history[1].startswith("*   2")
    diff = run("diff", "07MOSCOW1", "--no-color").output
    assert "[-NO.-]" in diff and "{+DEPUTY +}" in diff and "{+YES.+}" in diff
    assert run("diff", "07MOSCOW1", "2", "1", "--no-color").output.count("{+NO.+}") == 1
    assert "one revision only" in run("diff", "08PARIS2").output
    run("diff", "07MOSCOW1", "1", "9", code=1)

    view = json.loads(run("show", "07MOSCOW1", "--json").output)
    assert view["body"] == "THE DEPUTY MINISTER SAID YES."
    assert [r["revision"] for r in view["revisions"]] == [1, 2]
    # The current revision has no references; the first one's links are gone.
    assert view["cites"] == [] and view["cited_by"][0]["reference_id"] == "08PARIS2"
    paris = json.loads(run("show", "08PARIS2", "--json").output)
    assert paris["cites"][0]["in_archive"] is True and paris["unresolved_references"] == []
    text = run("show", "08PARIS2").output
    assert "Cited by:" in text and "SUBJECT OF 08PARIS2" in text
    run("show", "99NOWHERE1", code=1)

    stats = json.loads(run("stats", "--json").output)
    assert {k: stats[k] for k in ("cables", "revisions")} == {"cables": 2, "revisions": 3}
    assert stats["by_year"] == {"2007": 1, "2008": 1}
    assert stats["by_origin"] == {"Embassy Moscow": 1, "Embassy Paris": 1}
    assert stats["by_classification"] == {"CONFIDENTIAL": 1, "SECRET": 1}
    assert "cables: 2" in run("stats").output


def test_unresolved_references_are_listed(loaded):
    run, first, _second, _bad = loaded
    run("ingest", first, "--quiet")
    view = json.loads(run("show", "07MOSCOW1", "--json").output)
    assert view["unresolved_references"] == ["99NOWHERE1"]
    assert "99NOWHERE1  (not in the archive)" in run("show", "07MOSCOW1").output


def test_index_rebuild_and_sync(loaded, tmp_path):
    run, first, _second, _bad = loaded
    run("ingest", first, "--quiet", "--no-index")
    assert "2 changes applied" in run("index", "sync").output
    assert "2 public cables" in run("index", "rebuild").output
    index = SearchIndex(tmp_path / "index")
    assert index.num_docs == 2 and index.search("minister").total == 1
    index.close()


def test_db_upgrade(run):
    from cablegate.db import head_revision

    assert f"revision {head_revision()}" in run("db", "upgrade").output
    assert f"revision {head_revision()}" in run("db", "upgrade").output


def test_real_process_exit_status_and_plain_progress(db_url, tmp_path):
    """`cablegate ingest` as a real process: not a terminal, so plain lines, exit 1 on rejects."""
    good = jsonl(tmp_path / "a.jsonl", [make_record("07MOSCOW1")])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{")
    cmd = [sys.executable, "-m", "cablegate", "ingest", good, str(bad), "--db", db_url,
           "--index", str(tmp_path / "idx")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "new 1, new revision 0, unchanged 0, rejected 1" in done.stdout
    assert "\x1b[" not in done.stderr  # no terminal control codes in logs


def test_ingest_from_stdin(db_url, tmp_path):
    """`-` is read in the ingest process itself (a parse worker cannot read stdin)."""
    lines = "".join(json.dumps(make_record(f"07MOSCOW{i}")) + "\n" for i in range(1, 4))
    cmd = [sys.executable, "-m", "cablegate", "ingest", "-", "--db", db_url, "--no-index"]
    done = subprocess.run(cmd, input=lines, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "new 3, new revision 0" in done.stdout


def test_ingest_help_states_the_batch_default_ingest_uses() -> None:
    # the CLI does not import cablegate.ingest to start (it pulls in SQLAlchemy):
    # its help text spells the default out, and must say what ingest really uses
    from cablegate.ingest import BATCH_ITEMS

    result = CliRunner().invoke(cli, ["ingest", "--help"])
    assert result.exit_code == 0
    assert f"(default: {BATCH_ITEMS})" in " ".join(result.output.split())
