"""Vectorised construction of valid identity codes (GB 11643-1999 citizen identity numbers and
GB 32100-2015 unified social credit codes) from their parts, for synthetic populations."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_RIC_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_RIC_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
USCC_ALPHABET = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
_USCC_W = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
# GB 11714 organisation code (characters 9-17 of the USCC): weights of its 8 body digits
_ORG_W = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


def strings(mat: U8) -> pa.StringArray:
    """Fixed-width rows of an ASCII byte matrix as an Arrow string array (no Python objects)."""
    n, width = mat.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = pa.py_buffer(np.ascontiguousarray(mat).tobytes())
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), data)


def _digits(mat: U8, start: int, width: int, value: I64) -> None:
    for k in range(width):
        mat[:, start + width - 1 - k] = (value // 10**k) % 10


def person_digits(region: I64, year: I64, month: I64, day: I64, seq: I64) -> U8:
    """The 18 digit values (check character as its value 0-10) of citizen identity numbers."""
    n = len(region)
    mat = np.zeros((n, 18), dtype=np.uint8)
    for value, width, start in ((region, 6, 0), (year, 4, 6), (month, 2, 10), (day, 2, 12), (seq, 3, 14)):
        _digits(mat, start, width, value)
    total = (mat[:, :17].astype(np.int64) * _RIC_W).sum(axis=1)
    mat[:, 17] = (12 - total % 11) % 11
    return mat


def person_text(digits: U8) -> U8:
    """ASCII bytes of identity numbers from their digit values (check value 10 is ``X``)."""
    out = digits + ord("0")
    out[:, 17] = np.where(digits[:, 17] == 10, ord("X"), digits[:, 17] + ord("0"))
    return out.astype(np.uint8)


def check_value(body: U8) -> npt.NDArray[np.uint8]:
    """The MOD 11-2 check value (0-10) of 17-digit bodies given as digit values."""
    total = (body.astype(np.int64) * _RIC_W).sum(axis=1)
    return np.asarray((12 - total % 11) % 11, dtype=np.uint8)


def check_char_bytes(values: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """ASCII of check values 0-10."""
    return np.where(values == 10, ord("X"), values + ord("0")).astype(np.uint8)


def org_codes(region: I64, body: I64, authority: int = 9, entity: int = 1) -> pa.StringArray:
    """Unified social credit codes: registration authority and entity type, the region, a GB 11714
    organisation code built from the 8-digit ``body`` (with its own check character) and the
    GB 32100 check character."""
    n = len(region)
    vals = np.zeros((n, 18), dtype=np.int64)
    vals[:, 0], vals[:, 1] = authority, entity
    for k in range(6):
        vals[:, 7 - k] = (region // 10**k) % 10
    for k in range(8):
        vals[:, 15 - k] = (body // 10**k) % 10
    org_check = (11 - (vals[:, 8:16] * _ORG_W).sum(axis=1) % 11) % 11
    # GB 11714 writes 10 as X, which the USCC alphabet lacks; such bodies are avoided by callers
    vals[:, 16] = org_check
    vals[:, 17] = (31 - (vals[:, :17] * _USCC_W).sum(axis=1) % 31) % 31
    return strings(USCC_ALPHABET[vals].astype(np.uint8))


def org_body_ok(body: I64) -> npt.NDArray[np.bool_]:
    """Whether an 8-digit organisation code body has a digit check character (not ``X``)."""
    digits = np.stack([(body // 10 ** (7 - k)) % 10 for k in range(8)], axis=1)
    return np.asarray(((11 - (digits * _ORG_W).sum(axis=1) % 11) % 11) != 10)
