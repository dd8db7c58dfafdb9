"""The documentation covers what exists: every command, setting and error code."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import typer

from socialcredit.catalog import load_default
from socialcredit.cli import app
from socialcredit.ingest.sqlgen import row_checks
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def command_paths() -> list[str]:
    """Every leaf command, e.g. 'ingest', 'catalog check'."""
    root = typer.main.get_command(app)
    out: list[str] = []

    def walk(cmd: Any, prefix: str) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, f"{prefix} {name}".strip())
        else:
            out.append(prefix)

    walk(root, "")
    return sorted(out)


def test_every_command_has_a_section_in_the_cli_docs() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    missing = [c for c in command_paths() if not any(f"`socialcredit {c}" in h for h in headings)]
    assert not missing, f"commands without a section in docs/cli.md: {missing}"


def test_every_option_is_mentioned_in_the_cli_docs() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    missing = []

    def walk(cmd: Any) -> None:
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt not in text:
                    missing.append(f"{cmd.name} {opt}")
        if hasattr(cmd, "commands"):
            for sub in cmd.commands.values():
                walk(sub)

    walk(root)
    assert not missing, f"options not in docs/cli.md: {missing}"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`SOCIALCREDIT_{name.upper()}`" not in text]
    assert not missing, f"settings not in docs/settings.md: {missing}"


def _codes(path: Path, pattern: str) -> set[str]:
    return set(re.findall(pattern, path.read_text(encoding="utf-8")))


def test_every_ingest_error_code_is_documented() -> None:
    src = ROOT / "src" / "socialcredit" / "ingest"
    codes = _codes(src / "sqlgen.py", r'RowCheck\(\s*f?"[^"]*",\s*"[a-z_]+",\s*"([a-z_]+)"')
    codes |= {c.code for c in row_checks(load_default(), date(2026, 1, 1)).all}
    codes |= _codes(src / "pipeline.py", r'err\(\s*"[a-z_]+",\s*"([a-z_]+)"')
    codes |= _codes(src / "reading.py", r'FileProblem\(\s*"([a-z_]+)"')
    codes |= {"malformed_row"}
    codes = {c for c in codes if c not in {"attrs", "line"}}
    assert {"invalid_subject_id", "repair_too_early", "relisting_barred", "corrupt_gzip"} <= codes
    text = (DOCS / "ingest.md").read_text(encoding="utf-8")
    missing = sorted(c for c in codes if f"`{c}`" not in text)
    assert not missing, f"error codes not in docs/ingest.md: {missing}"


def test_every_catalog_error_code_is_documented() -> None:
    src = ROOT / "src" / "socialcredit" / "catalog"
    codes = _codes(src / "validate.py", r'Finding\(\s*"([a-z_]+)"')
    codes |= _codes(src / "loader.py", r'CatalogIssue\(\s*"([a-z_]+)"')
    codes |= {"unknown_field", "missing_field", "invalid_value"}
    text = (DOCS / "catalog.md").read_text(encoding="utf-8")
    missing = sorted(c for c in codes if f"`{c}`" not in text)
    assert not missing, f"catalog error codes not in docs/catalog.md: {missing}"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["./dev demo", "./dev test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./dev test" in ci


def test_docs_link_to_files_that_exist() -> None:
    for md in [ROOT / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", md.read_text(encoding="utf-8")):
            assert (md.parent / target).exists(), f"{md.name} links to missing {target}"


def test_every_api_error_code_is_documented() -> None:
    from socialcredit.api.errors import ERROR_CODES

    text = (DOCS / "api.md").read_text(encoding="utf-8")
    missing = sorted(c for c, status in ERROR_CODES.items() if f"| `{c}` | {status} |" not in text)
    assert not missing, f"API error codes not in docs/api.md: {missing}"


def test_every_stored_table_is_documented(tmp_path: Path) -> None:
    """Each table and view of an initialised store is named in docs/storage.md."""
    db = tmp_path / "sc.duckdb"
    with DuckDBStore(db, Settings(db=db)) as store:
        store.migrate()
        names = [
            r[0] for r in store.con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
        ]
        names += [r[0] for r in store.con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
    text = (DOCS / "storage.md").read_text(encoding="utf-8")
    assert "d_membership_records" in names
    assert [n for n in names if f"`{n}`" not in text] == []
