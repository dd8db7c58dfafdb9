"""Data errors as a real feed has them, injected into the identity codes and names that a
source writes (the ground truth keeps what really happened):

- ``check_character``: the last character is wrong, so ingest must reject the row;
- ``transposition``: two digits ten places apart are swapped, which keeps the MOD 11-2 check
  (positions i and i+10 carry the same weight), so the row passes and another person is hit;
- ``name_variant``: the right code with the name written differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from socialcredit.identity import is_valid_org, is_valid_person
from socialcredit.sim.scenario import Errors

KINDS = ("check_character", "transposition", "name_variant")
_CHECKS = "0123456789X"


@dataclass
class Injected:
    """The rows given an error: their row numbers, kind (index into KINDS), and the code and
    name the source writes for them."""

    rows: list[int]
    kind: list[int]
    codes: list[str]
    names: list[str]


def wrong_check(code: str, rng: np.random.Generator) -> str:
    """The code with a different (wrong) check character, chosen so that the result is not a
    valid social credit code either (an all-digit code can pass the MOD 31 check by chance, and
    would then be read as an organisation's)."""
    right = _CHECKS.index(code[17])
    for step in rng.permutation(np.arange(1, 11)):
        other = code[:17] + _CHECKS[(right + int(step)) % 11]
        if not is_valid_org(other):
            return other
    return code[:17] + _CHECKS[(right + 1) % 11]  # pragma: no cover - every digit cannot pass MOD 31


def transposed(code: str, rng: np.random.Generator) -> str | None:
    """Another valid identity number made by swapping two digits ten places apart, or None."""
    for i in rng.permutation(7):
        j = int(i) + 10
        if code[i] == code[j]:
            continue
        chars = list(code)
        chars[i], chars[j] = chars[j], chars[i]
        other = "".join(chars)
        if is_valid_person(other) and _plausible_birth(other):
            return other
    return None


def _plausible_birth(code: str) -> bool:
    """A birth date between 1900 and today: a swap into the year digits can make 4990 (which the
    standard's check accepts but no clerk would type for a living adult)."""
    try:
        born = date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today() - timedelta(days=18 * 366)


def name_variant(name: str, rng: np.random.Generator, pool: list[str]) -> str:
    """The same person's name as another clerk writes it."""
    choice = int(rng.integers(0, 3))
    if choice == 0 or len(name) < 2:
        return name[0] + " " + name[1:]
    if choice == 1 and len(name) >= 3:
        return name[:-1]
    other = pool[int(rng.integers(0, len(pool)))]
    return name[:-1] + (other if other != name[-1] else "")


def inject(
    code_of: Callable[[int], str],
    name_of: Callable[[int], str],
    eligible: npt.NDArray[np.bool_],
    rate: float,
    shares: Errors,
    rng: np.random.Generator,
    pool: list[str],
) -> Injected:
    """Errors in a share ``rate`` of the eligible rows (person records), split by ``shares``;
    ``code_of``/``name_of`` give a row's true code and name."""
    out = Injected([], [], [], [])
    rows = np.flatnonzero(eligible)
    if rate <= 0 or not len(rows):
        return out
    total = float(rng.binomial(len(rows), min(1.0, rate)))
    weights = np.array([shares.check_character, shares.transposition, shares.name_variant], dtype=np.float64)
    want = np.floor(total * weights / max(weights.sum(), 1e-12)).astype(np.int64)
    order = rng.permutation(rows)

    def add(row: int, kind: int, code: str, name: str) -> None:
        out.rows.append(row)
        out.kind.append(kind)
        out.codes.append(code)
        out.names.append(name)

    pos = 0
    for r in order[: want[0]]:
        add(int(r), 0, wrong_check(code_of(int(r)), rng), name_of(int(r)))
    pos = int(want[0])
    found = 0
    while found < want[1] and pos < len(order):
        r = int(order[pos])
        pos += 1
        other = transposed(code_of(r), rng)
        if other is not None:
            add(r, 1, other, name_of(r))
            found += 1
    for r in order[pos : pos + want[2]]:
        add(int(r), 2, code_of(int(r)), name_variant(name_of(int(r)), rng, pool))
    return out
