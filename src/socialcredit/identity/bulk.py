"""Column-at-a-time validation of identity codes (citizen identity numbers and USCCs).

``validate_codes`` gives, element for element, the same verdicts, error codes and
canonical forms as the scalar functions in :mod:`socialcredit.identity.codes`. Pure ASCII
strings are checked with Arrow kernels and numpy over fixed-width byte matrices, in
cache-sized chunks spread over threads; strings with other characters (whose compaction
may map unicode dashes, digits and spaces) go through the scalar functions one by one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from socialcredit.identity import codes, regions

SCHEMA: Final = pa.schema(
    [
        pa.field("code", pa.string()),
        pa.field("person_ok", pa.bool_(), nullable=False),
        pa.field("org_ok", pa.bool_(), nullable=False),
        pa.field("person_error", pa.string()),
        pa.field("org_error", pa.string()),
        pa.field("birth_date", pa.date32()),
        pa.field("sex", pa.string()),
    ]
)
"""Columns of the table returned by :func:`validate_codes`."""

CHUNK_ROWS: Final = 1 << 18
"""Rows validated together; longer inputs are split into chunks of this size."""

WORKERS: Final = max(1, min(os.cpu_count() or 1, 8))
"""Threads validating chunks concurrently."""

_Bools: TypeAlias = npt.NDArray[np.bool_]
_U8: TypeAlias = npt.NDArray[np.uint8]
_I32: TypeAlias = npt.NDArray[np.int32]
_Index: TypeAlias = slice | npt.NDArray[np.intp]

_WIDTH: Final = codes.CODE_LENGTH
# The characters str.strip() removes from an ASCII string.
_ASCII_WHITESPACE: Final = "".join(chr(i) for i in range(128) if chr(i).isspace())
_OK: Final = np.uint8(255)
_ERR: Final = {name: np.uint8(i) for i, name in enumerate(codes.ERROR_CODES)}
_ERROR_NAMES: Final = pa.array(codes.ERROR_CODES, pa.string())
_SEX_NAMES: Final = pa.array(["female", "male"], pa.string())
_EPOCH_ORDINAL: Final = 719163  # datetime.date(1970, 1, 1).toordinal()

_RIC_WEIGHTS: Final = [np.uint16(w) for w in codes.RIC_WEIGHTS]
_USCC_WEIGHTS: Final = [np.uint16(w) for w in codes.USCC_WEIGHTS]
# Check character (as a byte) / check value, by weighted sum.
_RIC_CHECK_BY_SUM: Final = np.frombuffer(codes.RIC_CHECK_CHARS.encode("ascii"), np.uint8)[np.arange(1 << 16) % 11]
_USCC_CHECK_BY_SUM: Final = ((31 - np.arange(1 << 16) % 31) % 31).astype(np.uint8)


def _uscc_values() -> _U8:
    """Byte -> USCC character value (either case); 255 for bytes outside the alphabet."""
    table = np.full(256, 255, dtype=np.uint8)
    for value, char in enumerate(codes.USCC_ALPHABET):
        table[ord(char)] = value
        table[ord(char.lower())] = value
    return table


def _calendar_tables() -> tuple[_Bools, _I32, _Bools, npt.NDArray[np.int16]]:
    """Calendar lookups.

    By year 0..MAX_YEAR: leap flag, and days from 1970-01-01 to its 1 January (year 0
    unused). By MMDD 0..9999: whether it is a date of a common year, and its 0-based day
    of a common year (0229 shares 0301's: later days of a leap year add one).
    """
    years = np.arange(regions.MAX_YEAR + 1)
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    first_day = np.zeros(years.size, np.int32)
    first_day[1:] = (years[1:] - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(int)
    common_date = np.zeros(10_000, np.bool_)
    day_of_year = np.zeros(10_000, np.int16)
    elapsed = 0
    for month, length in enumerate([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], start=1):
        for day in range(1, length + 1):
            is_leap_day = (month, day) == (2, 29)
            common_date[month * 100 + day] = not is_leap_day
            day_of_year[month * 100 + day] = elapsed
            elapsed += not is_leap_day
    return leap, first_day, common_date, day_of_year


def _first_failure(*names: codes.ErrorCode) -> _U8:
    """Error index by failure bits: bit k set when check k failed, counting from the
    last name; the first name's check has the highest priority."""
    table = np.full(1 << len(names), _OK, np.uint8)
    for bits in range(1, table.size):
        first = next(k for k in range(len(names)) if bits & (1 << (len(names) - 1 - k)))
        table[bits] = _ERR[names[first]]
    return table


_PERSON_ERROR: Final = _first_failure(
    "invalid_format",
    "invalid_checksum",
    "invalid_birth_date",
    "unknown_region",
    "region_not_in_use",
)
_ORG_ERROR: Final = _first_failure("invalid_format", "invalid_checksum")
_USCC_VALUES: Final = _uscc_values()
_LEAP, _YEAR_FIRST_DAY, _COMMON_DATE, _DAY_OF_YEAR = _calendar_tables()


def validate_codes(values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """Validate a column of strings as identity numbers and as social credit codes.

    Returns one row per input with the columns of :data:`SCHEMA`: ``code`` (canonical
    form when valid as either kind, else null), ``person_ok``/``org_ok``, the error code
    per kind (null when valid; ``missing`` for null or empty input), and the birth date
    and sex of valid identity numbers.
    """
    pieces = [
        array.slice(start, CHUNK_ROWS) for array in _string_arrays(values) for start in range(0, len(array), CHUNK_ROWS)
    ]
    if len(pieces) <= 1:
        return _validate_chunk(pieces[0] if pieces else pa.array([], pa.string()))
    regions.region_table()  # load once, before the threads need it
    if WORKERS == 1:
        return pa.concat_tables([_validate_chunk(piece) for piece in pieces])
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return pa.concat_tables(list(pool.map(_validate_chunk, pieces)))


def _string_arrays(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    """The input as string or large_string arrays (its chunks, if chunked)."""
    kind = values.type
    if pa.types.is_null(kind) or pa.types.is_dictionary(kind) or pa.types.is_string_view(kind):
        values = values.cast(pa.string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise TypeError(f"expected a string column, got {kind}")
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return [chunk for chunk in chunks if len(chunk)]


@dataclass
class _Verdicts:
    """Per-row results of one chunk, before they become Arrow columns."""

    person_error: _U8  # error index, or _OK
    org_error: _U8
    birth_days: _I32  # days since 1970-01-01, meaningful where the person is valid
    male: _Bools
    canonical: _U8  # (n, 18) compacted bytes, meaningful where valid as either kind

    @classmethod
    def start(cls, present: _Bools, lengths: _I32) -> _Verdicts:
        """Verdicts from emptiness and length alone; the checks fill in the rest."""
        errors = np.full(lengths.size, _ERR["invalid_length"], np.uint8)
        errors[~present | (lengths == 0)] = _ERR["missing"]
        n = lengths.size
        return cls(
            person_error=errors,
            org_error=errors.copy(),
            birth_days=np.zeros(n, np.int32),
            male=np.zeros(n, np.bool_),
            canonical=np.zeros((n, _WIDTH), np.uint8),
        )

    def record(self, index: _Index, compacted: _U8) -> None:
        """Remember the compacted bytes of the rows at ``index``."""
        if isinstance(index, slice) and compacted.shape == self.canonical.shape:
            self.canonical = compacted  # the whole chunk: no copy (until patched)
            return
        if not self.canonical.flags.writeable:
            self.canonical = self.canonical.copy()
        self.canonical[index] = compacted

    def table(self) -> pa.Table:
        """The verdicts as a table of :data:`SCHEMA`."""
        person_ok = self.person_error == _OK
        org_ok = self.org_error == _OK
        return pa.Table.from_arrays(
            [
                _fixed_width_strings(self.canonical, person_ok | org_ok),
                pa.array(person_ok),
                pa.array(org_ok),
                _error_names(self.person_error),
                _error_names(self.org_error),
                pa.array(self.birth_days, mask=~person_ok).view(pa.date32()),
                pc.take(_SEX_NAMES, pa.array(self.male.view(np.uint8), mask=~person_ok)),
            ],
            schema=SCHEMA,
        )


def _validate_chunk(strings: pa.Array) -> pa.Table:
    """validate_codes for one string array."""
    present = _to_bools(strings.is_valid())
    ascii_rows = present & _to_bools(pc.string_is_ascii(strings))
    # Person compaction of ASCII text is a trim (upper-casing is left to the checks);
    # organisation compaction differs only where ' ' or '-' remain after the trim.
    trimmed = pc.utf8_trim(strings, characters=_ASCII_WHITESPACE)
    lengths = _lengths(trimmed)
    verdicts = _Verdicts.start(present, lengths)

    full = ascii_rows & (lengths == _WIDTH)
    matrix = _Matrix.of(trimmed, full)
    index = _index(full)
    verdicts.record(index, matrix.rows)
    _check_persons(matrix, index, verdicts)
    _check_orgs(matrix, index, verdicts)

    separated = np.flatnonzero(ascii_rows & _may_contain_separators(trimmed))
    if separated.size:
        _check_separated(strings.take(pa.array(separated)), separated, verdicts)

    others = np.flatnonzero(present & ~ascii_rows)
    if others.size:
        _check_scalar(strings.take(pa.array(others)).to_pylist(), others, verdicts)
    return verdicts.table()


def _check_separated(strings: pa.Array, rows: npt.NDArray[np.intp], out: _Verdicts) -> None:
    """Redo the organisation checks for ASCII rows whose compaction drops ' ' or '-'."""
    without = pc.replace_substring(pc.replace_substring(strings, " ", ""), "-", "")
    compacted = pc.utf8_trim(without, characters=_ASCII_WHITESPACE)
    lengths = _lengths(compacted)
    out.org_error[rows] = _Verdicts.start(np.ones(rows.size, np.bool_), lengths).org_error
    full = lengths == _WIDTH
    matrix = _Matrix.of(compacted, full)
    # A person can't be valid here, as its compacted form holds a separator.
    out.record(rows[full], matrix.rows)
    _check_orgs(matrix, rows[full], out)


def _check_scalar(values: Sequence[str], rows: npt.NDArray[np.intp], out: _Verdicts) -> None:
    """Run the scalar checks (for rows with non-ASCII text)."""
    valid_rows: list[int] = []
    compacted: list[bytes] = []
    for row, raw in zip(rows.tolist(), values, strict=True):
        person = codes.check_person(raw)
        org = codes.check_org(raw)
        out.person_error[row] = _ERR[person.code] if isinstance(person, Exception) else _OK
        out.org_error[row] = _ERR[org.code] if isinstance(org, Exception) else _OK
        if isinstance(person, codes.PersonCode):
            out.birth_days[row] = person.birth_date.toordinal() - _EPOCH_ORDINAL
            out.male[row] = person.sex == "male"
        valid = person if isinstance(person, codes.PersonCode) else org
        if not isinstance(valid, Exception):
            valid_rows.append(row)
            compacted.append(valid.code.encode("ascii"))
    if valid_rows:
        matrix = np.frombuffer(b"".join(compacted), np.uint8).reshape(-1, _WIDTH)
        out.record(np.array(valid_rows, np.intp), matrix)


def _to_bools(array: pa.Array) -> _Bools:
    """Boolean Arrow array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _lengths(strings: pa.Array) -> _I32:
    """Byte length of each string (0 for nulls)."""
    lengths = pc.fill_null(pc.binary_length(strings), 0)
    return np.asarray(lengths.to_numpy(zero_copy_only=False), dtype=np.int32)


def _offsets(strings: pa.Array) -> npt.NDArray[np.int64]:
    """The n + 1 value offsets of a string array, honouring its slice offset."""
    dtype = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    raw = np.frombuffer(strings.buffers()[1], dtype=dtype)
    return raw[strings.offset : strings.offset + len(strings) + 1].astype(np.int64)


def _data(strings: pa.Array) -> _U8:
    """The value bytes of a string array (empty if it has none)."""
    buffer = strings.buffers()[2]
    return np.empty(0, np.uint8) if buffer is None else np.frombuffer(buffer, dtype=np.uint8)


def _index(rows: _Bools) -> _Index:
    """Index of the True rows (a slice when that is all of them)."""
    return slice(None) if rows.all() else np.flatnonzero(rows)


def _may_contain_separators(strings: pa.Array) -> _Bools:
    """Rows that may contain ' ' or '-' (a superset: also ! $ % ( ) ,)."""
    offsets = _offsets(strings)
    data = _data(strings)[offsets[0] : offsets[-1]]
    # OR-ing 0x0D maps both ' ' (0x20) and '-' (0x2D) to 0x2D.
    hits = np.flatnonzero((data | np.uint8(0x0D)) == 0x2D)
    rows = np.zeros(len(strings), np.bool_)
    if hits.size:
        rows[np.searchsorted(offsets, hits + offsets[0], side="right") - 1] = True
    return rows


@dataclass(frozen=True)
class _Matrix:
    """Selected 18-byte ASCII strings as byte matrices."""

    rows: _U8  # (k, 18): one string per row
    raw: _U8  # (18, k): one character position per row
    digit: _U8  # (18, k): digit values, clamped to 9 where the byte is not a digit
    is_digit: _Bools  # (18, k)

    @classmethod
    def of(cls, strings: pa.Array, selected: _Bools) -> _Matrix:
        """The selected strings (each non-null and exactly 18 bytes long)."""
        chosen = strings if selected.all() else strings.filter(pa.array(selected))
        k = len(chosen)
        if k == 0:
            rows = np.empty((0, _WIDTH), np.uint8)
        else:
            start = int(_offsets(chosen)[0])
            rows = _data(chosen)[start : start + _WIDTH * k].reshape(k, _WIDTH)
        raw = np.ascontiguousarray(rows.T)
        digit = raw - np.uint8(ord("0"))
        is_digit = digit <= 9
        np.minimum(digit, np.uint8(9), out=digit)
        return cls(rows, raw, digit, is_digit)

    @property
    def size(self) -> int:
        """Number of strings."""
        return int(self.raw.shape[1])

    def all_digits(self, first: int, stop: int) -> _Bools:
        """Whether positions ``first`` .. ``stop - 1`` are all digits, per string."""
        result: _Bools = self.is_digit[first].copy()
        for position in range(first + 1, stop):
            result &= self.is_digit[position]
        return result

    def number(self, first: int, stop: int, dtype: type[np.signedinteger[Any]]) -> Any:
        """Decimal value of positions ``first`` .. ``stop - 1`` (of the clamped digits)."""
        total = self.digit[first].astype(dtype)
        for position in range(first + 1, stop):
            total *= 10
            total += self.digit[position]
        return total

    def weighted_sum(self, weights: Sequence[np.uint16]) -> npt.NDArray[np.uint16]:
        """Sum of digit value times weight over the first ``len(weights)`` positions."""
        total: npt.NDArray[np.uint16] = self.digit[0] * weights[0]
        for position in range(1, len(weights)):
            total += self.digit[position] * weights[position]
        return total


def _check_persons(matrix: _Matrix, index: _Index, out: _Verdicts) -> None:
    """Identity number checks of the matrix's strings, stored at ``index``."""
    if matrix.size == 0:
        return
    well_formed = matrix.all_digits(0, 17)
    expected = _RIC_CHECK_BY_SUM[matrix.weighted_sum(_RIC_WEIGHTS)]
    given = matrix.raw[17]
    checksum_ok = (given == expected) | ((expected == ord("X")) & (given == ord("x")))

    year = matrix.number(6, 10, np.int16)
    month_day = matrix.number(10, 14, np.int16)
    leap = _LEAP[year]
    date_ok = _COMMON_DATE[month_day]
    date_ok |= leap & (month_day == 229)
    date_ok &= year >= 1

    known, in_use = regions.region_table().status(matrix.number(0, 6, np.int32), year)

    failures = _failure_bits(well_formed, checksum_ok, date_ok, known, in_use)
    out.person_error[index] = _PERSON_ERROR[failures]

    days = _YEAR_FIRST_DAY[year]
    days += _DAY_OF_YEAR[month_day]
    days += leap & (month_day > 229)
    out.birth_days[index] = days
    out.male[index] = (matrix.digit[16] & 1).view(np.bool_)


def _failure_bits(*passed: _Bools) -> _U8:
    """Bit k set where check k (counting from the last) failed."""
    bits = np.zeros(passed[0].size, np.uint8)
    for check in passed:
        bits <<= 1
        bits |= ~check
    return bits


def _check_orgs(matrix: _Matrix, index: _Index, out: _Verdicts) -> None:
    """Social credit code checks of the matrix's strings, stored at ``index``."""
    if matrix.size == 0:
        return
    well_formed = matrix.all_digits(0, 8)
    weighted = matrix.weighted_sum(_USCC_WEIGHTS)
    check = matrix.digit[17].copy()
    # Strings with letters in positions 9-18 are redone with the alphabet's values.
    lettered = np.flatnonzero(~matrix.all_digits(8, _WIDTH))
    if lettered.size:
        tail = _USCC_VALUES[matrix.raw[8:, lettered]]
        well_formed[lettered] &= np.logical_and.reduce(tail != 255, axis=0)
        head = matrix.digit[:8, lettered]
        lettered_sum = head[0] * _USCC_WEIGHTS[0]
        for position in range(1, 17):
            values = head[position] if position < 8 else tail[position - 8]
            lettered_sum += values * _USCC_WEIGHTS[position]
        weighted[lettered] = lettered_sum
        check[lettered] = tail[9]
    checksum_ok = _USCC_CHECK_BY_SUM[weighted] == check
    out.org_error[index] = _ORG_ERROR[_failure_bits(well_formed, checksum_ok)]


def _fixed_width_strings(matrix: _U8, valid: _Bools) -> pa.Array:
    """Upper-cased rows of an (n, 18) byte matrix as strings, null where not ``valid``."""
    data = matrix[valid]
    # Valid codes hold only digits and letters: any byte from 'a' up is lower case.
    np.subtract(data, np.uint8(32), out=data, where=data >= ord("a"))
    offsets = np.zeros(valid.size + 1, np.int32)
    np.cumsum(valid * np.int32(_WIDTH), out=offsets[1:])
    return pa.Array.from_buffers(
        pa.string(),
        valid.size,
        [
            pa.py_buffer(np.packbits(valid, bitorder="little")),
            pa.py_buffer(offsets),
            pa.py_buffer(data),
        ],
        null_count=valid.size - int(np.count_nonzero(valid)),
    )


def _error_names(errors: _U8) -> pa.Array:
    """Error names for error indices, null where the row is valid."""
    return pc.take(_ERROR_NAMES, pa.array(errors, mask=errors == _OK))
