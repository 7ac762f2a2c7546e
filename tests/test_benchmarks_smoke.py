"""The benchmark harness runs end to end on a tiny store (figures are not checked here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_on_a_tiny_store(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "benchmarks", "--quick",
            "--store-size", "20", "--memory-mb", "4", "--rounds", "1", "--no-legacy",
            "--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "results"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "targets:" in result.stdout
    report = json.loads((tmp_path / "results" / "latest-quick.json").read_text())
    rows = report["rows"]
    expected = {"serve", "memory", "urls", "asgi", "e2e", "thumbnails", "entities"}
    assert {row["section"] for row in rows} >= expected
    # asgi, e2e and thumbnails are measured, or skipped with the reason on their rows
    # (imageattach.asgi missing; wrk or nginx not on PATH; Wand or libMagickWand missing:
    # then ours is measured alone), never failed
    # entities: a page of 100 costs two queries, and locate() does no I/O
    verdicts = {
        r["metric"]: r["verdict"]
        for r in rows
        if r["section"] == "entities" and r["competitor"] == "ours"
    }
    assert verdicts["queries"] == verdicts["I/O during locate()"] == "PASS"
    for section in ("asgi", "e2e", "thumbnails"):
        skipped = report[section].get("skipped")
        section_rows = [row for row in rows if row["section"] == section]
        if skipped:
            assert all(skipped in row["note"] for row in section_rows)
        else:
            measured = [row for row in section_rows if row["value"]]
            assert measured, section
    assert not [row for row in rows if str(row.get("note") or "").startswith("error:")]
    ours = [row for row in rows if row["competitor"] == "ours" and row["section"] == "serve"]
    assert ours
    assert all(row["value"] and row["value"] > 0 for row in ours)
