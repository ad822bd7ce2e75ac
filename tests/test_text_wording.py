"""Text output reads well: articles, no double spaces for unnamed objects, counts, and lines
wrapped at the terminal's width without breaking words."""

from __future__ import annotations

import re

import pytest

from migrator.cli.plural import count
from migrator.report import render
from tests.cases.harness import lint_text

UNNAMED = [
    "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id);",
    "ALTER TABLE orders ADD CHECK (qty > 0);",
    "ALTER TABLE users ADD UNIQUE (email);",
    "ALTER TABLE users ADD PRIMARY KEY (id);",
    "CREATE INDEX ON users (email);",
    "ALTER TABLE b ADD EXCLUDE USING gist (room WITH =);",
]


@pytest.mark.parametrize("sql", UNNAMED)
def test_messages_about_unnamed_objects_have_no_double_space(sql):
    report = lint_text(sql)
    messages = [f.message for m in report.migrations for f in m.findings]
    assert messages and not any("  " in msg for msg in messages), messages


def test_lock_names_take_the_right_article():
    report = lint_text("ALTER TABLE orders ADD CONSTRAINT c CHECK (qty > 0);\n"
                       "ALTER TABLE orders ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES b (id);")
    text = " ".join(f.message for m in report.migrations for f in m.findings)
    assert "an ACCESS EXCLUSIVE" in text and "a SHARE ROW EXCLUSIVE" in text
    assert not re.search(r"\ba [AEIOU]", text)


def test_counts_are_singular_for_one():
    assert [count(1, "row"), count(2, "row"), count(1, "batch"), count(0, "batch")] == [
        "1 row", "2 rows", "1 batch", "0 batches"]


@pytest.mark.parametrize("width", [40, 60, 100])
def test_text_lines_wrap_at_the_terminal_width_between_words(width):
    report = lint_text("ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) "
                       "REFERENCES customers (id);\nALTER TABLE orders ALTER COLUMN qty SET NOT NULL;")
    plain = render(report, "text", color=False)
    wrapped = render(report, "text", color=False, width=width)
    # the same words in the same order, only the line breaks differ
    assert wrapped.split() == plain.split()
    long_words = {w for w in plain.split() if len(w) > width - 10}
    for line in wrapped.splitlines()[1:-1]:  # the findings (not the header and summary lines)
        prefix_only = line.startswith("m0.sql:") and len(line.split()) <= 3  # path: severity rule
        assert len(line) <= width or prefix_only or any(w in line for w in long_words), line
    continuation = [l for l in wrapped.splitlines() if l.startswith("    ") and not l.startswith("    fix: ")]
    assert continuation  # long messages continued on indented lines
    colored = render(report, "text", color=True, width=width)
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == wrapped


def test_without_a_width_a_finding_is_one_line():
    report = lint_text("ALTER TABLE orders ALTER COLUMN qty SET NOT NULL;")
    out = render(report, "text", color=False)
    assert len(out.splitlines()) == 4  # header, finding, fix, summary
