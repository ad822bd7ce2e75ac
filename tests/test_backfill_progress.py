"""What a running backfill shows: a rich bar with rows/s and ETA on a terminal, plain lines in CI."""

from __future__ import annotations

import io
import re

from rich.console import Console

from migrator.backfill.progress import LogProgress, RichProgress, make_progress


def test_log_progress_prints_rate_eta_and_the_end():
    out = io.StringIO()
    p = LogProgress(out, interval=0.0)
    p.start("users.full_name", total=1000, scanned=0, done=0)
    p.update(scanned=400, done=300, batch_rows=400, batch_ms=80.0, batch_size=400)
    p.finish(scanned=1000, done=900, status="finished")
    lines = out.getvalue().splitlines()
    assert lines[0] == "backfill users.full_name: starting at 0 rows walked of ~1000"
    assert "400 rows walked (40%), 300 updated" in lines[1] and "rows/s, ETA " in lines[1]
    assert "batch 400 rows in 80 ms" in lines[1]
    assert lines[2].startswith("backfill users.full_name: finished: 1000 rows walked, 900 updated")


def test_log_progress_is_quiet_between_intervals():
    out = io.StringIO()
    p = LogProgress(out, interval=3600)
    p.start("b", total=None, scanned=0, done=0)
    for i in range(1, 50):
        p.update(scanned=i * 10, done=i * 10, batch_rows=10, batch_ms=1.0, batch_size=10)
    assert len(out.getvalue().splitlines()) == 1


def test_rich_progress_renders_a_bar_with_rows_per_second_and_eta():
    buf = io.StringIO()
    p = RichProgress(Console(file=buf, force_terminal=True, width=120))
    p.start("users.full_name", total=1000, scanned=0, done=0)
    p.update(scanned=500, done=500, batch_rows=500, batch_ms=50.0, batch_size=500)
    p.finish(scanned=1000, done=1000, status="finished")
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", buf.getvalue())
    assert "backfill users.full_name" in text and "rows/s" in text and "ETA" in text
    assert "1000/1000" in text and "backfill finished: 1000 rows walked" in text


def test_make_progress_picks_plain_lines_when_not_a_terminal():
    assert isinstance(make_progress(io.StringIO()), LogProgress)
