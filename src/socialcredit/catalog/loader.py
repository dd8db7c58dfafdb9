"""Load a catalog from a directory of YAML files, with errors located by file and line.

Every ``*.yaml`` / ``*.yml`` file of the directory is a mapping whose top-level keys are
sections of the catalog (``record_types``, ``lists``, ...); a section may appear in one file
only. The packaged default catalog lives in ``socialcredit/catalog/default``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from socialcredit.catalog.issues import CatalogError, CatalogIssue
from socialcredit.catalog.models import Catalog
from socialcredit.catalog.validate import check_catalog

SECTIONS = tuple(Catalog.model_fields)

Path_ = tuple[str | int, ...]


@dataclass
class _Located:
    """Parsed YAML data with the file and line of every key path."""

    data: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    lines: dict[Path_, tuple[str, int]] = field(default_factory=dict)

    def locate(self, path: Path_) -> tuple[str | None, int | None]:
        for n in range(len(path), 0, -1):
            hit = self.lines.get(tuple(path[:n]))
            if hit:
                return hit
        section = str(path[0]) if path else ""
        return self.files.get(section), None


def _walk(node: yaml.Node, path: Path_, fname: str, out: dict[Path_, tuple[str, int]]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            kpath = (*path, str(key.value))
            out[kpath] = (fname, key.start_mark.line + 1)
            _walk(value, kpath, fname, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            ipath = (*path, i)
            out[ipath] = (fname, item.start_mark.line + 1)
            _walk(item, ipath, fname, out)


def _read_dir(directory: Path) -> tuple[_Located, list[CatalogIssue]]:
    located = _Located()
    issues: list[CatalogIssue] = []
    if not directory.exists():
        raise CatalogError([CatalogIssue("not_found", f"{directory} does not exist", "", None)])
    files = (
        [directory] if directory.is_file() else sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    )
    if not files:
        raise CatalogError([CatalogIssue("empty_catalog", f"no *.yaml files in {directory}", "", str(directory))])
    for path in files:
        fname = path.name
        try:
            text = path.read_text(encoding="utf-8")
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except UnicodeDecodeError as exc:
            issues.append(CatalogIssue("unreadable", f"not UTF-8: {exc}", "", fname))
            continue
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            issues.append(CatalogIssue("yaml_syntax", f"invalid YAML: {exc}", "", fname, line))
            continue
        if data is None:
            continue
        if not isinstance(data, dict) or node is None:
            issues.append(CatalogIssue("not_a_mapping", "a catalog file must be a mapping of sections", "", fname, 1))
            continue
        _walk(node, (), fname, located.lines)
        for section, value in data.items():
            line = located.lines.get((str(section),), (fname, 1))[1]
            if section not in SECTIONS:
                issues.append(
                    CatalogIssue(
                        "unknown_section",
                        f"unknown section {section!r}; sections are: {', '.join(SECTIONS)}",
                        str(section),
                        fname,
                        line,
                    )
                )
                continue
            if section in located.data:
                issues.append(
                    CatalogIssue(
                        "duplicate_section",
                        f"section {section!r} is also defined in {located.files[section]}",
                        str(section),
                        fname,
                        line,
                    )
                )
                continue
            located.data[section] = value
            located.files[section] = fname
    return located, issues


def _fmt_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (f"[{part}]" if "." in part else part)
    return out


def _pydantic_issues(exc: ValidationError, located: _Located) -> list[CatalogIssue]:
    issues = []
    for err in exc.errors():
        loc: Path_ = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        fname, line = located.locate(loc)
        kind = err["type"]
        code = {
            "missing": "missing_field",
            "extra_forbidden": "unknown_field",
        }.get(kind, "invalid_value")
        msg = err["msg"]
        if kind == "extra_forbidden":
            msg = f"unknown field {loc[-1]!r} (a typo?)"
        elif kind == "missing":
            msg = f"required field {loc[-1]!r} is missing"
        elif "input" in err and kind not in ("model_type", "dict_type"):
            msg = f"{msg} (got {err['input']!r})"
        issues.append(CatalogIssue(code, msg, _fmt_path(loc), fname, line))
    return issues


def load_catalog(directory: Path | str) -> Catalog:
    """Load and fully validate a catalog; raises CatalogError listing every problem."""
    located, issues = _read_dir(Path(directory))
    if issues:
        raise CatalogError(issues)
    try:
        catalog = Catalog.model_validate(located.data)
    except ValidationError as exc:
        raise CatalogError(_pydantic_issues(exc, located)) from None
    problems = []
    for issue in check_catalog(catalog):
        fname, line = located.locate(issue.path_parts)
        problems.append(CatalogIssue(issue.code, issue.message, _fmt_path(issue.path_parts), fname, line))
    if problems:
        raise CatalogError(problems)
    return catalog


def default_catalog_dir() -> Path:
    """Directory of the packaged default catalog."""
    return Path(str(resources.files("socialcredit.catalog") / "default"))


def load_default() -> Catalog:
    """The packaged default catalog."""
    return load_catalog(default_catalog_dir())


def export_default(target: Path) -> list[Path]:
    """Copy the default catalog's files into ``target`` for editing; returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sorted(default_catalog_dir().glob("*.yaml")):
        dest = target / src.name
        shutil.copyfile(src, dest)
        written.append(dest)
    return written


def catalog_version(catalog: Catalog) -> str:
    """Content hash of a catalog: the same content gives the same version, whatever its layout."""
    canonical = json.dumps(catalog.model_dump(mode="json", by_alias=True), sort_keys=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def catalog_json(catalog: Catalog) -> str:
    """The catalog as canonical JSON (what is stored with its version)."""
    return json.dumps(catalog.model_dump(mode="json", by_alias=True), sort_keys=True)


def catalog_from_json(text: str) -> Catalog:
    """Rebuild a stored catalog."""
    return Catalog.model_validate(json.loads(text))
