"""Throughput of the bulk identity code validator against a plain stdnum loop.

Generates a column of codes (80% valid identity numbers, 15% valid social credit
codes, 5% corrupted: one character replaced, or the last one dropped), validates it with
``validate_codes`` and times a Python loop of ``stdnum.cn.ric.is_valid`` over a part.

    python bench/identity.py [--rows 5000000] [--loop-rows 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from stdnum.cn import ric

from socialcredit.identity import all_region_codes, validate_codes
from socialcredit.identity.codes import (
    RIC_CHECK_CHARS,
    RIC_WEIGHTS,
    USCC_ALPHABET,
    USCC_WEIGHTS,
)

Matrix = npt.NDArray[np.uint8]
ORG_PREFIXES = ["91", "92", "93", "11", "12", "13", "51", "52", "53"]


def _digits(values: npt.NDArray[np.int64], width: int) -> Matrix:
    """Zero-padded decimal digits (as values 0-9) of each number."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10).astype(np.uint8)


def person_codes(rng: np.random.Generator, n: int) -> Matrix:
    """Valid identity numbers as an (n, 18) ASCII byte matrix."""
    years = rng.integers(1950, 2011, n)
    regions = np.empty(n, np.int64)
    for year in np.unique(years):
        rows = np.flatnonzero(years == year)
        pool = np.array([int(code) for code in all_region_codes(int(year))])
        regions[rows] = rng.choice(pool, rows.size)
    first = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    length = np.where((years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0)), 366, 365)
    days = first + (rng.random(n) * length).astype("timedelta64[D]")
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    body = np.concatenate(
        [
            _digits(regions, 6),
            _digits(years, 4),
            _digits(month, 2),
            _digits(day, 2),
            _digits(rng.integers(0, 1000, n), 3),
        ],
        axis=1,
    )
    total = body.astype(np.int64) @ np.array(RIC_WEIGHTS, np.int64)
    check = np.frombuffer(RIC_CHECK_CHARS.encode(), np.uint8)[total % 11]
    return np.concatenate([body + ord("0"), check[:, None]], axis=1)


def org_codes(rng: np.random.Generator, n: int) -> Matrix:
    """Valid unified social credit codes as an (n, 18) ASCII byte matrix."""
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), np.uint8)
    prefixes = np.array([[int(c) for c in p] for p in ORG_PREFIXES], np.uint8)
    regions = np.array([int(code) for code in all_region_codes(2020)])
    values = np.concatenate(
        [
            prefixes[rng.integers(0, len(ORG_PREFIXES), n)],
            _digits(rng.choice(regions, n), 6),
            rng.integers(0, 31, (n, 9)).astype(np.uint8),
        ],
        axis=1,
    )
    total = values.astype(np.int64) @ np.array(USCC_WEIGHTS, np.int64)
    check = ((31 - total % 31) % 31).astype(np.uint8)
    codes: Matrix = alphabet[np.concatenate([values, check[:, None]], axis=1)]
    return codes


def generate(rows: int, seed: int = 0) -> pa.Array:
    """The benchmark column, shuffled."""
    rng = np.random.default_rng(seed)
    n_person, n_org = int(rows * 0.80), int(rows * 0.15)
    n_bad = rows - n_person - n_org
    bad = np.concatenate([person_codes(rng, n_bad - n_bad // 4), org_codes(rng, n_bad // 4)])
    position = rng.integers(0, 18, n_bad)
    junk = np.frombuffer(b"0123456789ABCDXYZxo -", np.uint8)
    bad[np.arange(n_bad), position] = junk[rng.integers(0, junk.size, n_bad)]
    matrix = np.concatenate([person_codes(rng, n_person), org_codes(rng, n_org), bad])
    lengths = np.full(rows, 18, np.int64)
    lengths[rows - n_bad :: 3] = 17  # every third corrupted code loses its last character
    order = rng.permutation(rows)
    matrix, lengths = matrix[order], lengths[order]
    keep = np.arange(18)[None, :] < lengths[:, None]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.Array.from_buffers(pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(matrix[keep])])


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--loop-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    column = generate(args.rows)
    print(f"generated {args.rows:,} codes in {time.perf_counter() - started:.1f} s")

    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        table = validate_codes(column)
        timings.append(time.perf_counter() - started)
    persons = table.column("person_ok").to_numpy().sum()
    orgs = table.column("org_ok").to_numpy().sum()
    print(f"valid: {persons:,} as person, {orgs:,} as organisation")
    best = min(timings)
    bulk_rate = args.rows / best
    runs = ", ".join(f"{t:.3f}" for t in timings)
    print(f"validate_codes: {bulk_rate:,.0f} codes/s (best of {args.repeat}: {runs} s)")

    sample = column.slice(0, args.loop_rows).to_pylist()
    started = time.perf_counter()
    for code in sample:
        ric.is_valid(code)
    loop_rate = len(sample) / (time.perf_counter() - started)
    print(f"stdnum.cn.ric.is_valid loop: {loop_rate:,.0f} codes/s over {len(sample):,}")
    print(f"ratio: {bulk_rate / loop_rate:,.0f}x")


if __name__ == "__main__":
    main()
