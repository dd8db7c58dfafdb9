"""Scalar identity code API: published vectors, parsing, regions, agreement with stdnum."""

from __future__ import annotations

import datetime
import functools
import pickle
import random

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidComponent, ValidationError

from socialcredit.identity import (
    ERROR_CODES,
    IdentityError,
    OrgCode,
    PersonCode,
    all_region_codes,
    compact_org,
    compact_person,
    is_valid_org,
    is_valid_person,
    kinds_of,
    parse_org,
    parse_person,
    region_name,
)
from socialcredit.identity.codes import (
    RIC_WEIGHTS,
    USCC_ALPHABET,
    check_org,
    check_person,
    ric_check_char,
    uscc_check_char,
)
from socialcredit.identity.regions import (
    is_known_region,
    province_name,
    region_in_use,
    region_periods,
    region_table,
)

VALID_PERSONS = [
    "11010519491231002X",
    "360426199101010071",
    "44011320141005001X",
    "412723199010050012",
    "110102199101010078",
]
VALID_ORGS = [
    "91110000600037341L",
    "91350100M000100Y43",
    "121200004013590816",
    "91110000710926094P",
    "91310115MA1K3BTP2B",
]
INVALID_PERSONS = [
    ("36042619910102009X", "invalid_checksum", "check character is 'X' but should be '3'"),
    (
        "T60426199101010078",
        "invalid_format",
        "contains characters other than digits in positions 1-17: 'T'",
    ),
    ("360426199113010079", "invalid_birth_date", "birth date 19911301 is not a real date"),
    (
        "990426199112010074",
        "unknown_region",
        "region code 990426 is not a GB/T 2260 division code",
    ),
    ("11010519491231002", "invalid_length", "length is 17, expected 18"),
    (
        "1101051949 231002X",
        "invalid_format",
        "contains characters other than digits in positions 1-17: ' '",
    ),
    ("  \t", "missing", "code is empty"),
]
INVALID_ORGS = [
    ("91110000600037341N", "invalid_checksum", "check character is 'N' but should be 'L'"),
    (
        "A1110000600037341L",
        "invalid_format",
        "contains characters other than digits in positions 1-8: 'A'",
    ),
    (
        "9111000060003IOZSV",
        "invalid_format",
        "contains characters outside the code alphabet (digits and letters except "
        "I, O, Z, S, V) in positions 9-18: 'I', 'O', 'Z', 'S', 'V'",
    ),
    (
        "91350100M000100Y4Z",
        "invalid_format",
        "contains characters outside the code alphabet (digits and letters except "
        "I, O, Z, S, V) in positions 9-18: 'Z'",
    ),
    ("9111000060003734", "invalid_length", "length is 16, expected 18"),
    ("", "missing", "code is empty"),
]


def stdnum_person(raw: str) -> bool:
    """stdnum's verdict, with any exception other than a validation error as invalid."""
    try:
        return bool(ric.is_valid(raw))
    except Exception:
        return False


def stdnum_org(raw: str) -> bool:
    """stdnum's verdict, with any exception other than a validation error as invalid."""
    try:
        return bool(uscc.is_valid(raw))
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


def with_ric_check(body: str) -> str:
    """17 digits plus their check character."""
    return body + ric_check_char(body)


# --- published vectors -------------------------------------------------------------


@pytest.mark.parametrize("raw", VALID_PERSONS)
def test_published_valid_persons(raw: str) -> None:
    assert ric.is_valid(raw)
    assert is_valid_person(raw)
    assert parse_person(raw).code == raw


@pytest.mark.parametrize("raw", VALID_ORGS)
def test_published_valid_orgs(raw: str) -> None:
    assert uscc.is_valid(raw)
    assert is_valid_org(raw)
    assert parse_org(raw).code == raw


@pytest.mark.parametrize(("raw", "code", "message"), INVALID_PERSONS)
def test_published_invalid_persons(raw: str, code: str, message: str) -> None:
    assert not ric.is_valid(raw)
    assert not is_valid_person(raw)
    with pytest.raises(IdentityError) as caught:
        parse_person(raw)
    assert (caught.value.code, caught.value.message) == (code, message)
    assert str(caught.value) == message


@pytest.mark.parametrize(("raw", "code", "message"), INVALID_ORGS)
def test_published_invalid_orgs(raw: str, code: str, message: str) -> None:
    assert not uscc.is_valid(raw)
    assert not is_valid_org(raw)
    with pytest.raises(IdentityError) as caught:
        parse_org(raw)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_mod_11_2_worked_example() -> None:
    body = "11010519491231002"
    total = sum(int(digit) * weight for digit, weight in zip(body, RIC_WEIGHTS, strict=True))
    assert total == 167
    assert total % 11 == 2
    assert ric_check_char(body) == "X" == ric.calc_check_digit(body + "X")


def test_uscc_expected_check_of_published_invalid_vector() -> None:
    assert uscc_check_char("91350100M000100Y4") == "3" == uscc.calc_check_digit("91350100M000100Y4")


def test_440524188001010014_has_a_good_check_digit_but_its_county_postdates_1880() -> None:
    """A widely published "valid" example: its checksum is right, but python-stdnum (the
    reference) rejects it because county 440524 (潮阳县) is dated 1983-1993 in its data."""
    raw = "440524188001010014"
    assert ric_check_char(raw[:17]) == raw[17]
    with pytest.raises(InvalidComponent):
        ric.validate(raw)
    result = check_person(raw)
    assert isinstance(result, IdentityError)
    assert result.code == "region_not_in_use"
    assert result.message == ("region code 440524 was not in use in birth year 1880 (in use: 潮阳县 (1983-1993))")
    assert is_valid_person(with_ric_check("44052419900101001"))  # born while it existed


# --- parsing -----------------------------------------------------------------------


def test_parse_person_fields() -> None:
    person = parse_person(" 11010519491231002x ")
    assert person == PersonCode(
        code="11010519491231002X",
        region="110105",
        region_name="朝阳区",
        birth_date=datetime.date(1949, 12, 31),
        sex="female",
        sequence="002",
    )
    assert parse_person("360426199101010071").sex == "male"


def test_region_name_follows_birth_year() -> None:
    early = parse_person(with_ric_check("12011019800101001"))
    late = parse_person(with_ric_check("12011019920101001"))
    assert (early.region_name, late.region_name) == ("东郊区", "东丽区")
    assert region_name("120110") == "东丽区"
    assert region_name("120110", 1991) == "东郊区"
    assert region_name("110110", 1990) is None  # 燕山区, until 1986
    assert region_name("110103", 2015) is None
    assert region_name("990426") is None
    assert province_name("110105") == "北京市"


def test_age_on() -> None:
    person = parse_person("11010519491231002X")
    assert person.age_on(datetime.date(1949, 12, 31)) == 0
    assert person.age_on(datetime.date(2019, 12, 30)) == 69
    assert person.age_on(datetime.date(2019, 12, 31)) == 70
    leapling = parse_person(with_ric_check("11010520000229001"))
    assert leapling.age_on(datetime.date(2001, 2, 28)) == 0
    assert leapling.age_on(datetime.date(2001, 3, 1)) == 1
    with pytest.raises(ValueError, match="before the birth date"):
        person.age_on(datetime.date(1949, 12, 30))


def test_parse_org_fields() -> None:
    assert parse_org("9131-0115-MA1K-3BTP-2b") == OrgCode(
        code="91310115MA1K3BTP2B",
        authority="9",
        authority_name="market regulation (工商)",
        entity_type="1",
        entity_type_name="enterprise (企业)",
        region="310115",
        organisation_code="MA1K3BTP2",
    )
    public = parse_org("121200004013590816")
    assert public.authority_name == "institutional establishment (机构编制)"
    assert public.entity_type_name == "public institution (事业单位)"


def test_unassigned_authority_is_still_valid_as_stdnum_says() -> None:
    body = "01110000600037341"
    raw = body + uscc_check_char(body)
    assert uscc.is_valid(raw)
    org = parse_org(raw)
    assert org.authority_name == "unassigned registration authority"
    assert org.entity_type_name is None


def test_check_order_mirrors_stdnum() -> None:
    # Bad format and bad date and unknown region: format is reported.
    assert check_code("9904261991130100A7") == "invalid_format"
    # Bad checksum and bad date: checksum first.
    bad_date = "99042619911301007"
    wrong = "0" if ric_check_char(bad_date) != "0" else "1"
    assert check_code(bad_date + wrong) == "invalid_checksum"
    # Bad date and unknown region: date first.
    assert check_code(with_ric_check(bad_date)) == "invalid_birth_date"
    assert check_code(with_ric_check("99042619911201007")) == "unknown_region"
    assert check_code(with_ric_check("11010320150101001")) == "region_not_in_use"
    assert check_code(with_ric_check("00000000000101001")) == "invalid_birth_date"


def check_code(raw: str) -> str | None:
    result = check_person(raw)
    return result.code if isinstance(result, IdentityError) else None


def test_error_codes_are_the_documented_ones() -> None:
    assert ERROR_CODES == (
        "missing",
        "invalid_length",
        "invalid_format",
        "invalid_checksum",
        "invalid_birth_date",
        "unknown_region",
        "region_not_in_use",
    )
    assert issubclass(IdentityError, ValueError)
    error = pickle.loads(pickle.dumps(IdentityError("missing", "code is empty")))
    assert (error.code, error.message, str(error)) == ("missing", "code is empty", "code is empty")


def test_compaction_is_stdnums() -> None:
    samples = ["  11010519491231002x\t", "1101 0519-4912 3100 2X", "１１０１—０５", "9131–0115 MA"]
    for raw in samples:
        assert compact_person(raw) == ric.compact(raw)
        assert compact_org(raw) == uscc.compact(raw)


def test_unicode_forms_are_accepted_like_stdnum() -> None:
    fullwidth_digits = "１１０１０５１９４９１２３１００２X"
    assert ric.is_valid(fullwidth_digits)  # fullwidth digits map to ASCII digits
    assert parse_person(fullwidth_digits).code == "11010519491231002X"
    fullwidth_x = "１１０１０５１９４９１２３１００２Ｘ"  # but a fullwidth 'Ｘ' is not mapped
    assert not ric.is_valid(fullwidth_x)
    assert not is_valid_person(fullwidth_x)
    dashed = "9131\u20140115\u2013MA1K3BTP2B"
    assert uscc.is_valid(dashed)
    assert is_valid_org(dashed)


def test_kinds_of() -> None:
    assert kinds_of("11010519491231002X") == {"person"}
    assert kinds_of("91110000600037341L") == {"organisation"}
    assert kinds_of("nonsense") == frozenset()
    both = "11010519491231037X"
    assert ric.is_valid(both)
    assert uscc.is_valid(both)
    assert kinds_of(both) == {"person", "organisation"}


def test_province_known_county_unknown_where_stdnum_raises_key_error() -> None:
    """stdnum looks up info['county'] without a default: a known province with an
    unknown county raises KeyError from is_valid instead of returning False."""
    raw = with_ric_check("11019919900101001")
    with pytest.raises(KeyError):
        ric.is_valid(raw)
    result = check_person(raw)
    assert isinstance(result, IdentityError)
    assert result.code == "unknown_region"


# --- the documented deviation: newline inside the code -----------------------------


def test_deviation_newline_before_ric_check_character() -> None:
    """stdnum's digit test is re.match('^[0-9]+$'), and '$' also matches before a final
    '\\n': 16 digits + '\\n' pass as "17 digits", int() ignores the trailing newline when
    computing the check, so stdnum accepts the string. We reject it."""
    body = "1101051949123100\n"
    raw = body + ric.calc_check_digit(body + "0")
    assert len(raw) == 18
    assert ric.is_valid(raw) is True
    assert ric.validate(raw) == raw
    result = check_person(raw)
    assert isinstance(result, IdentityError)
    assert result.code == "invalid_format"
    assert result.message == "contains characters other than digits in positions 1-17: '\\n'"


def test_deviation_newline_in_uscc_position_8() -> None:
    """The same regex quirk lets '\\n' through as the 8th "digit" of a USCC, after which
    stdnum's check computation fails with a bare ValueError from str.index."""
    raw = "9111000\n600037341L"
    with pytest.raises(ValueError, match="substring not found") as caught:
        uscc.is_valid(raw)
    assert not isinstance(caught.value, ValidationError)
    result = check_org(raw)
    assert isinstance(result, IdentityError)
    assert result.code == "invalid_format"


# --- agreement with stdnum ----------------------------------------------------------

CODE_CHARS = "0123456789XxABCDEFGHJKLMNPQRTUWXYIOZSVaz -\n\t\u2013\u3000１"


@functools.cache
def _regions_in_use(year: int) -> list[str]:
    table = region_table()
    return [code for code in table.periods if region_in_use(code, year)]


@st.composite
def valid_persons(draw: st.DrawFn) -> str:
    birth = draw(
        st.one_of(
            st.dates(datetime.date(1900, 1, 1), datetime.date(2030, 12, 31)),
            st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31)),
        )
    )
    year = min(max(birth.year, 1978), 2027)
    region = draw(st.sampled_from(_regions_in_use(year)))
    sequence = draw(st.integers(0, 999))
    return with_ric_check(f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}")


@st.composite
def valid_orgs(draw: st.DrawFn) -> str:
    head = draw(st.text("0123456789", min_size=8, max_size=8))
    tail = draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return head + tail + uscc_check_char(head + tail)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    code = draw(base)
    position = draw(st.integers(0, len(code) - 1))
    action = draw(st.sampled_from(["replace", "delete", "insert", "lower", "pad"]))
    char = draw(st.sampled_from(CODE_CHARS))
    if action == "replace":
        return code[:position] + char + code[position + 1 :]
    if action == "delete":
        return code[:position] + code[position + 1 :]
    if action == "insert":
        return code[:position] + char + code[position:]
    if action == "lower":
        return code.lower()
    pad = draw(st.text(" \t\n\r\x0b\x0c\x1c\x1f\u3000\u00a0", max_size=3))
    return pad + code + pad[::-1]


ANY_INPUT = st.one_of(
    valid_persons(),
    valid_orgs(),
    mutated(valid_persons()),
    mutated(valid_orgs()),
    st.text(CODE_CHARS, max_size=22),
    st.text(max_size=22),
)


@settings(max_examples=1500, deadline=None)
@given(ANY_INPUT)
@example("1101051949123100\n2")
@example("9111000\n600037341L")
@example(with_ric_check("11019919900101001"))
def test_agrees_with_stdnum(raw: str) -> None:
    if newline_quirk_person(raw):
        assert not is_valid_person(raw)  # the documented deviation: stricter
    else:
        assert is_valid_person(raw) == stdnum_person(raw)
    if newline_quirk_org(raw):
        assert not is_valid_org(raw)
    else:
        assert is_valid_org(raw) == stdnum_org(raw)


@settings(max_examples=300, deadline=None)
@given(valid_persons())
def test_generated_persons_are_valid(raw: str) -> None:
    person = parse_person(raw)
    assert ric.is_valid(raw)
    assert person.birth_date == ric.get_birth_date(raw)
    assert person.region_name == ric.get_birth_place(raw)["county"]


@settings(max_examples=300, deadline=None)
@given(valid_orgs())
def test_generated_orgs_are_valid(raw: str) -> None:
    assert uscc.is_valid(raw)
    assert parse_org(raw).code == raw


# --- regions -----------------------------------------------------------------------


def test_region_status_matches_stdnum_birth_place_lookup() -> None:
    rng = random.Random(7)
    table = region_table()
    known = list(table.periods)
    unknown = [f"{rng.randrange(1_000_000):06d}" for _ in range(1500)]
    years = [1900, 1982, 1991, 2000, 2011, 2024]
    for code in known + unknown:
        year = rng.choice(years)
        raw = with_ric_check(f"{code}{year}0101001")
        try:
            ric.get_birth_place(raw)
            stdnum_ok = True
        except (InvalidComponent, KeyError):
            stdnum_ok = False
        assert region_in_use(code, year) == stdnum_ok, (code, year)
        assert is_known_region(code) == (code in table.periods)


def test_region_periods() -> None:
    assert [p.describe() for p in region_periods("120110")] == [
        "东郊区 (until 1991)",
        "东丽区 (from 1992)",
    ]
    assert region_periods("990426") == ()


def test_all_region_codes() -> None:
    now = all_region_codes(2024)
    assert "110105" in now
    assert "110103" not in now  # 崇文区, merged in 2010
    assert "110000" not in now
    assert "110100" not in now
    assert "441900" in now  # 东莞市: a prefecture-level city without counties
    assert "110103" in all_region_codes(2005)
    assert set(now) <= set(all_region_codes())
    assert now == sorted(now)
    assert all(len(code) == 6 and code.isdigit() for code in now)
    for code in now[::97]:
        assert is_valid_person(with_ric_check(f"{code}20240101001"))


def test_numpy_region_table_matches_periods() -> None:
    table = region_table()
    known = list(table.periods)
    unknown = ["000000", "110199", "990426", "999999"]
    years = list(range(1, 1980, 199)) + list(range(1975, 2031)) + [9999]
    code_grid = np.repeat(np.array([int(code) for code in known + unknown]), len(years))
    year_grid = np.tile(np.array(years), len(known) + len(unknown))
    is_known, in_use = table.status(code_grid, year_grid)
    expected = [region_in_use(code, year) for code in known + unknown for year in years]
    assert in_use.tolist() == expected
    assert is_known.tolist() == [code in table.periods for code in known + unknown for _ in years]
