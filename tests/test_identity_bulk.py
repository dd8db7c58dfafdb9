"""Bulk validator: element-wise agreement with the scalar API and with stdnum."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from socialcredit.identity import bulk, codes, validate_codes
from socialcredit.identity.codes import (
    USCC_ALPHABET,
    IdentityError,
    OrgCode,
    PersonCode,
    check_org,
    check_person,
    compact_org,
    compact_person,
    ric_check_char,
    uscc_check_char,
)
from socialcredit.identity.regions import region_in_use, region_table

FIXED = [
    "11010519491231002X",
    "11010519491231002x",
    " 360426199101010071\t",
    "44011320141005001X",
    "440524188001010014",
    "36042619910102009X",
    "T60426199101010078",
    "360426199113010079",
    "990426199112010074",
    "91110000600037341L",
    "9111-0000-6000-3734-1l",
    " 9131 0115 MA1K 3BTP 2B ",
    "91350100M000100Y43",
    "121200004013590816",
    "91110000600037341N",
    "A1110000600037341L",
    "9111000060003IOZSV",
    "91350100M000100Y4Z",
    "11010519491231037X",
    "１１０１０５１９４９１２３１００２X",
    "9131\u20140115MA1K3BTP2B",
    "1101051949123100\n2",
    "9111000\n600037341L",
    "",
    "   ",
    " - ",
    "-",
    "x",
    None,
]


def stdnum_verdict(check: Callable[[str], Any], raw: str) -> bool:
    """stdnum's is_valid, with any exception other than a validation error as invalid."""
    try:
        return bool(check(raw))
    except Exception:
        return False


def newline_quirk_person(raw: str) -> bool:
    """Inputs where stdnum's RIC digit test lets a newline through (the documented
    deviation): 18 characters after compaction with '\\n' as the 17th."""
    number = compact_person(raw)
    return len(number) == 18 and number[16] == "\n"


def newline_quirk_org(raw: str) -> bool:
    """Inputs where stdnum's USCC digit test lets a newline through (the documented
    deviation): 18 characters after compaction with '\\n' as the 8th."""
    number = compact_org(raw)
    return len(number) == 18 and number[7] == "\n"


def expected_row(raw: str | None) -> dict[str, Any]:
    """What validate_codes should say for one input, from the scalar API."""
    if raw is None:
        return {
            "code": None,
            "person_ok": False,
            "org_ok": False,
            "person_error": "missing",
            "org_error": "missing",
            "birth_date": None,
            "sex": None,
        }
    person = check_person(raw)
    org = check_org(raw)
    code = None
    if isinstance(person, PersonCode):
        code = person.code
    elif isinstance(org, OrgCode):
        code = org.code
    return {
        "code": code,
        "person_ok": isinstance(person, PersonCode),
        "org_ok": isinstance(org, OrgCode),
        "person_error": person.code if isinstance(person, IdentityError) else None,
        "org_error": org.code if isinstance(org, IdentityError) else None,
        "birth_date": person.birth_date if isinstance(person, PersonCode) else None,
        "sex": person.sex if isinstance(person, PersonCode) else None,
    }


def assert_matches_scalar(values: Sequence[str | None], table: pa.Table) -> None:
    assert table.schema == bulk.SCHEMA
    assert table.num_rows == len(values)
    for raw, row in zip(values, table.to_pylist(), strict=True):
        assert row == expected_row(raw), raw
        if raw is not None and not newline_quirk_person(raw):
            assert row["person_ok"] == stdnum_verdict(ric.is_valid, raw), raw
        if raw is not None and not newline_quirk_org(raw):
            assert row["org_ok"] == stdnum_verdict(uscc.is_valid, raw), raw


def test_fixed_vectors() -> None:
    table = validate_codes(pa.array(FIXED, pa.string()))
    assert_matches_scalar(FIXED, table)
    rows = table.to_pylist()
    assert rows[0] == {
        "code": "11010519491231002X",
        "person_ok": True,
        "org_ok": False,
        "person_error": None,
        "org_error": "invalid_checksum",
        "birth_date": datetime.date(1949, 12, 31),
        "sex": "female",
    }
    assert rows[1]["code"] == "11010519491231002X"
    assert rows[10]["code"] == "91110000600037341L"
    assert rows[11]["code"] == "91310115MA1K3BTP2B"
    assert rows[18]["person_ok"]
    assert rows[18]["org_ok"]
    assert rows[21]["person_error"] == "invalid_format"  # stricter than stdnum
    assert rows[22]["org_error"] == "invalid_format"
    assert rows[-1]["person_error"] == rows[-1]["org_error"] == "missing"


@pytest.mark.parametrize(
    "kind",
    [pa.string(), pa.large_string(), pa.string_view(), pa.dictionary(pa.int8(), pa.string())],
)
def test_input_types(kind: pa.DataType) -> None:
    values = [*FIXED[:12], None]
    table = validate_codes(pa.array(values, pa.string()).cast(kind))
    assert_matches_scalar(values, table)


def test_chunked_sliced_empty_and_null_inputs() -> None:
    chunked = pa.chunked_array([FIXED[:5], FIXED[5:9], [], FIXED[9:]], pa.string())
    assert_matches_scalar(FIXED, validate_codes(chunked))
    sliced = pa.array(FIXED, pa.string()).slice(3, 15)
    assert_matches_scalar(FIXED[3:18], validate_codes(sliced))
    assert validate_codes(pa.array([], pa.string())).num_rows == 0
    assert validate_codes(pa.chunked_array([], pa.string())).num_rows == 0
    dictionaries = pa.chunked_array([pa.array(FIXED[:9]).dictionary_encode(), pa.array(FIXED[9:]).dictionary_encode()])
    assert_matches_scalar(FIXED, validate_codes(dictionaries))
    nulls = validate_codes(pa.nulls(3))
    assert nulls.column("person_error").to_pylist() == ["missing"] * 3
    with pytest.raises(TypeError, match="expected a string column"):
        validate_codes(pa.array([1, 2]))


def test_all_valid_fast_path_without_nulls() -> None:
    values = ["11010519491231002X", "91110000600037341L"] * 20
    assert_matches_scalar(values, validate_codes(pa.array(values)))


@pytest.mark.parametrize("workers", [1, 2])
def test_chunked_and_threaded(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    monkeypatch.setattr(bulk, "CHUNK_ROWS", 4)
    monkeypatch.setattr(bulk, "WORKERS", workers)
    values = FIXED * 3
    table = validate_codes(pa.array(values, pa.string()))
    assert_matches_scalar(values, table)


def test_ascii_rows_never_reach_the_scalar_path(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def spy(function: Callable[[str], Any]) -> Callable[[str], Any]:
        def wrapped(raw: str) -> Any:
            calls.append(raw)
            return function(raw)

        return wrapped

    monkeypatch.setattr(codes, "check_person", spy(codes.check_person))
    monkeypatch.setattr(codes, "check_org", spy(codes.check_org))
    ascii_values = [value for value in FIXED if value is None or value.isascii()]
    validate_codes(pa.array(ascii_values * 50, pa.string()))
    assert calls == []
    validate_codes(pa.array(["9131\u20140115MA1K3BTP2B", "11010519491231002X"]))
    assert calls == ["9131\u20140115MA1K3BTP2B"] * 2


def test_birth_dates_across_the_calendar() -> None:
    days = [
        datetime.date(1, 1, 1),
        datetime.date(1600, 2, 29),
        datetime.date(1900, 2, 28),
        datetime.date(1969, 12, 31),
        datetime.date(1970, 1, 1),
        datetime.date(2000, 2, 29),
        datetime.date(2024, 12, 31),
        datetime.date(9999, 12, 31),
    ]
    values = [with_ric_check(f"110105{day.year:04d}{day:%m%d}001") for day in days]
    bad = ["19000229", "21000229", "20230229", "00000101", "20231131", "20230001", "20230100"]
    values += [with_ric_check(f"110105{text}001") for text in bad]
    table = validate_codes(pa.array(values))
    assert table.column("birth_date").to_pylist() == days + [None] * len(bad)
    assert table.column("person_error").to_pylist()[len(days) :] == ["invalid_birth_date"] * len(bad)
    assert_matches_scalar(values, table)


# --- property: mixed lists ----------------------------------------------------------

CHARS = "0123456789XxABCDEFGHJKLMNPQRTUWXYIOZSVaz -\n\t\u2013\u2014\u3000１"
PADDING = " \t\n\r\x0b\x0c\x1c\x1f\u3000\u00a0"


def with_ric_check(body: str) -> str:
    return body + ric_check_char(body)


@functools.cache
def regions_in_use(year: int) -> list[str]:
    return [code for code in region_table().periods if region_in_use(code, year)]


@st.composite
def valid_persons(draw: st.DrawFn) -> str:
    birth = draw(
        st.one_of(
            st.dates(datetime.date(1900, 1, 1), datetime.date(2030, 12, 31)),
            st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31)),
        )
    )
    region = draw(st.sampled_from(regions_in_use(min(max(birth.year, 1978), 2027))))
    sequence = draw(st.integers(0, 999))
    return with_ric_check(f"{region}{birth.year:04d}{birth:%m%d}{sequence:03d}")


@st.composite
def valid_orgs(draw: st.DrawFn) -> str:
    body = draw(st.text("0123456789", min_size=8, max_size=8)) + draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return body + uscc_check_char(body)


@st.composite
def variants(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A valid code, or one mutated the way real data gets mangled."""
    code = draw(base)
    position = draw(st.integers(0, len(code)))
    char = draw(st.sampled_from(CHARS))
    action = draw(st.sampled_from(["keep", "replace", "delete", "insert", "lower", "pad", "spaces", "dashes"]))
    if action == "replace":
        return code[:position] + char + code[position + 1 :]
    if action == "delete":
        return code[:position] + code[position + 1 :]
    if action == "insert":
        return code[:position] + char + code[position:]
    if action == "lower":
        return code.lower()
    if action == "pad":
        return draw(st.text(PADDING, max_size=3)) + code + draw(st.text(PADDING, max_size=3))
    if action in ("spaces", "dashes"):
        separator = " " if action == "spaces" else draw(st.sampled_from(["-", "\u2013", "\u2014", "\u2212", "\uff0d"]))
        return separator.join(code[i : i + 4] for i in range(0, len(code), 4))
    return code


ELEMENTS = st.one_of(
    variants(valid_persons()),
    variants(valid_orgs()),
    st.text(CHARS, max_size=22),
    st.text(max_size=20),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ELEMENTS, max_size=50), st.booleans())
def test_bulk_agrees_with_scalar_and_stdnum(values: list[str | None], large: bool) -> None:
    array = pa.array(values, pa.large_string() if large else pa.string())
    assert_matches_scalar(values, validate_codes(array))


def test_large_generated_column_matches_scalar_sample() -> None:
    rng = np.random.default_rng(3)
    regions = np.array(regions_in_use(2000))
    values: list[str | None] = []
    for i in range(3000):
        region = regions[rng.integers(regions.size)]
        body = f"{region}2000{rng.integers(1, 13):02d}"
        body += f"{rng.integers(1, 29):02d}{rng.integers(1000):03d}"
        code = with_ric_check(body)
        if i % 7 == 0:
            position = int(rng.integers(18))
            code = code[:position] + str(rng.integers(10)) + code[position + 1 :]
        values.append(code)
    table = validate_codes(pa.array(values))
    assert sum(table.column("person_ok").to_pylist()) > 2500
    assert_matches_scalar(values, table)
