"""Masking of identity codes for public output."""

from __future__ import annotations

from socialcredit.identity.codes import CODE_LENGTH, SubjectKind, compact_org, compact_person

MASK_CHAR = "*"
_BIRTH_DATE = slice(6, 14)


def mask(code: str, kind: SubjectKind) -> str:
    """Public form of a code.

    A person's identity number keeps its region code (first 6) and its last 4
    characters; the 8 birth-date digits become ``*`` (``110105********002X``). A string
    that is not 18 characters long after compaction is masked entirely, since its
    positions cannot be trusted. An organisation's code is public registration data and
    is returned in full (compacted).
    """
    if kind == "organisation":
        return compact_org(code)
    if kind != "person":
        raise ValueError(f"unknown subject kind {kind!r}")
    number = compact_person(code)
    if len(number) != CODE_LENGTH:
        return MASK_CHAR * len(number)
    return number[: _BIRTH_DATE.start] + MASK_CHAR * 8 + number[_BIRTH_DATE.stop :]
