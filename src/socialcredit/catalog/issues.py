"""Problems found in a catalog, each located by file, line and path."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogIssue:
    """One problem: a machine code, a specific message, and where it is."""

    code: str
    message: str
    path: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "<catalog>"
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.path}: {self.message} [{self.code}]"

    def as_dict(self) -> dict[str, str | int | None]:
        """The issue as a JSON-ready mapping."""
        return {
            "code": self.code,
            "message": self.message,
            "path": self.path,
            "file": self.file,
            "line": self.line,
        }


class CatalogError(Exception):
    """Raised when a catalog cannot be loaded; carries every issue found."""

    def __init__(self, issues: list[CatalogIssue]) -> None:
        self.issues = issues
        lines = "\n".join(f"  {i}" for i in issues)
        super().__init__(f"the catalog has {len(issues)} error(s):\n{lines}")
