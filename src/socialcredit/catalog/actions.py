"""Dotted action names (``flight.economy``) and the patterns measures use (``rail.*.first``).

A pattern is dot-separated segments of lower-case letters, digits and underscores, where a
segment may be ``*``. An inner ``*`` matches exactly one segment; a final ``*`` matches one or
more segments, so ``flight.*`` covers ``flight.economy`` and ``rail.*`` every rail action.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_SEGMENT = r"[a-z0-9_]+"
ACTION_RE = re.compile(rf"^{_SEGMENT}(\.{_SEGMENT})*$")
PATTERN_RE = re.compile(rf"^({_SEGMENT}|\*)(\.({_SEGMENT}|\*))*$")


def pattern_syntax_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a well-formed action pattern, or None when it is."""
    if not isinstance(pattern, str) or not pattern:
        return "an action pattern must be a non-empty string"
    if not PATTERN_RE.match(pattern):
        return (
            f"{pattern!r} is not an action pattern: use dot-separated segments of a-z, 0-9, _ "
            "or '*' (e.g. 'flight.*', 'rail.*.first')"
        )
    return None


def matches(pattern: str, action: str) -> bool:
    """Whether ``action`` falls under ``pattern``."""
    p = pattern.split(".")
    a = action.split(".")
    if p[-1] == "*":
        if len(a) < len(p):
            return False
        head = p[:-1]
        return all(ps in ("*", as_) for ps, as_ in zip(head, a, strict=False))
    if len(a) != len(p):
        return False
    return all(ps in ("*", as_) for ps, as_ in zip(p, a, strict=True))


def expand(patterns: Iterable[str], vocabulary: Iterable[str]) -> list[str]:
    """The actions of ``vocabulary`` matched by any of ``patterns``, sorted."""
    pats = list(patterns)
    return sorted(a for a in vocabulary if any(matches(p, a) for p in pats))


def nearest(action: str, vocabulary: Iterable[str], n: int = 5) -> list[str]:
    """The catalogued actions closest to a mistyped one, best first."""
    vocab = list(vocabulary)
    close = difflib.get_close_matches(action, vocab, n=n, cutoff=0.5)
    if len(close) < n:
        prefix = action.split(".")[0] + "."
        close += [a for a in sorted(vocab) if a.startswith(prefix) and a not in close]
    return close[:n]
