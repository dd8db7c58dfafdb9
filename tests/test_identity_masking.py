"""Masking of identity codes for public output."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcredit.identity import mask, parse_person


def test_person_keeps_region_and_last_four() -> None:
    assert mask("11010519491231002X", "person") == "110105********002X"


def test_person_is_compacted_first() -> None:
    assert mask(" 11010519491231002x\t", "person") == "110105********002X"


def test_person_of_wrong_length_is_masked_entirely() -> None:
    assert mask("1101051949123100", "person") == "*" * 16
    assert mask("", "person") == ""


def test_organisation_is_public() -> None:
    assert mask("91110000600037341L", "organisation") == "91110000600037341L"
    assert mask("9111-0000-6000-3734-1l", "organisation") == "91110000600037341L"


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown subject kind"):
        mask("91110000600037341L", "company")  # type: ignore[arg-type]


@given(st.text("0123456789", min_size=17, max_size=17))
def test_masked_person_never_shows_the_birth_date(body: str) -> None:
    masked = mask(body + "X", "person")
    assert len(masked) == 18
    assert masked[6:14] == "********"
    assert masked[:6] == body[:6]
    assert masked[14:] == body[14:] + "X"


def test_mask_of_parsed_code() -> None:
    person = parse_person("360426199101010071")
    assert mask(person.code, "person") == "360426********0071"
