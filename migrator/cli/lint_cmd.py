"""``migrator lint``, ``migrator rules``, ``migrator explain``: the linter for people and CI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import EXIT_FAIL, EXIT_OK, UsageError
from ..report.progress import CountProgress

FORMATS = ("text", "json", "sarif", "github", "gitlab")


def _config(config_file: str | None, **flags):
    from ..config import load_config

    config = load_config(config_file=Path(config_file) if config_file else None)
    return config.with_overrides(**flags)


def _terminal_width(stream) -> int | None:
    """The terminal's width in columns (None when not writing to a terminal)."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    import shutil  # only on a terminal

    return max(40, shutil.get_terminal_size().columns)


def _use_color(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _write(text: str, output: str | None) -> None:
    if output:
        path = Path(output)
        try:
            if path.parent and not path.parent.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            raise UsageError(f"cannot write the report: {e.strerror or e}", path=output) from None
    else:
        click.echo(text, nl=False)


def _read_stdin() -> str:
    """Standard input as text; bytes that are not UTF-8 become U+FFFD rather than a crash."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read()
    return stream.read().decode("utf-8-sig", errors="replace")


def exit_code(report, strict: bool) -> int:
    """0 clean (warnings allowed unless strict), 1 when findings fail the run."""
    if report.errors or (strict and report.warnings):
        return EXIT_FAIL
    return EXIT_OK


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: text for people, json (docs/json.md), sarif (code scanning), "
                   "github (workflow annotations), gitlab (Code Quality).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--server-version", type=click.IntRange(9, 99), default=None,
              help="PostgreSQL major version the migrations run on (default 15).")
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("--diff", "diff_base", metavar="BASE",
              help="Report only migrations added or changed since git ref BASE "
                   "(earlier migrations are still read for the schema state).")
@click.option("--include-baseline", is_flag=True,
              help="Report the revisions of an adopted baseline too (they are always read for the "
                   "schema state; by default only later revisions are reported).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--quiet", "-q", is_flag=True,
              help="No progress on standard error (a long run shows revisions rendered: a bar on a "
                   "terminal, a line every 10 s elsewhere).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Configuration file (default: migrator.toml or pyproject.toml, searched upwards).")
@click.option("--jobs", "-j", type=click.IntRange(0, 256), default=None,
              help="Worker processes (default: a pool only where idle cores and enough SQL make it "
                   "faster than one process; 1: none).")
def lint(paths, fmt, output, server_version, strict, diff_base, include_baseline, no_cache, quiet,
         config_file, jobs):
    """Classify migrations into expand / contract and check them.

    PATHS are SQL files, directories of them, Alembic projects or versions/ directories, or - for
    standard input. Exit status: 0 clean (warnings allowed), 1 errors found (or warnings with
    --strict), 2 usage, configuration or unreadable input.
    """
    config = _config(config_file, server_version=server_version)
    stdin_text = None
    for p in paths:
        if p == "-":
            if stdin_text is None:
                stdin_text = _read_stdin()
        elif not os.path.exists(p):
            raise UsageError("no such file or directory", path=p)
    from ..lint.parallel import lint_paths

    report = lint_paths(list(paths), config, stdin_text=stdin_text, use_cache=not no_cache,
                        jobs=jobs, diff_base=diff_base, need_operations=fmt in ("sarif", "gitlab"),
                        include_baseline=include_baseline,
                        progress=None if quiet else CountProgress("rendering revisions"))
    from ..report import render

    if report.baseline_hidden:
        click.echo(f"migrator: {report.baseline_hidden} revision(s) of the baseline {config.baseline} "
                   "read for the schema state, not reported (--include-baseline shows them)", err=True)
    if not report.migrations and not diff_base and not report.baseline_hidden:
        click.echo(f"warning: no migrations found in {', '.join(paths) or 'the project'}", err=True)
    if output == "-":
        output = None
    terminal = fmt == "text" and not output
    text = render(report, fmt, color=terminal and _use_color(sys.stdout),
                  width=_terminal_width(sys.stdout) if terminal else None)
    _write(text, output)
    if output:
        click.echo(f"migrator: {len(report.migrations)} migrations, {report.errors} errors, "
                   f"{report.warnings} warnings; report written to {output}", err=True)
    sys.exit(exit_code(report, strict))


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def rules(fmt):
    """List the rule catalog: name, severity and summary of every rule."""
    from ..lint.catalog import all_rules

    catalog = all_rules()
    if fmt == "json":
        import json

        doc = {"version": 1, "rules": [
            {"name": r.name, "severity": r.severity.value, "summary": r.summary} for r in catalog
        ]}
        click.echo(json.dumps(doc, indent=2))
        return
    width = max((len(r.name) for r in catalog), default=4)
    color = _use_color(sys.stdout)
    for r in catalog:
        sev = r.severity.value
        if color:
            sev = click.style(f"{sev:<7}", fg="red" if sev == "error" else "yellow")
        else:
            sev = f"{sev:<7}"
        click.echo(f"{r.name:<{width}}  {sev}  {r.summary}")
    click.echo(f"\n{len(catalog)} rules; `migrator explain RULE` shows one rule's doc.")


@click.command("explain")
@click.argument("name")
def explain(name):
    """Print one rule's documentation: why it is dangerous, the safe recipe, examples."""
    from ..lint.catalog import all_rules, get_rule, render_doc

    wanted = name.strip().lower().replace("_", "-")
    rule = get_rule(wanted)
    if rule is None:
        import difflib

        names = [r.name for r in all_rules()]
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
        close += [n for n in names if wanted and wanted in n and n not in close][: 3 - len(close)]
        hint = f"; did you mean {', '.join(close)}?" if close else "; `migrator rules` lists them"
        raise UsageError(f"unknown rule {name!r}{hint}")
    doc = render_doc(rule)
    if _use_color(sys.stdout):
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(doc))
    else:
        click.echo(doc, nl=False)
