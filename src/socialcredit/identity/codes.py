"""Chinese citizen identity numbers (GB 11643-1999) and unified social credit codes (GB 32100-2015).

Validity agrees with ``stdnum.cn.ric`` and ``stdnum.cn.uscc`` for every input except one
documented case: python-stdnum's digit test lets a newline through just before the end
of the tested slice (and may then accept the code or fail with a bare ``ValueError``);
here any character other than an ASCII digit in those positions is ``invalid_format``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from stdnum.cn import ric, uscc

from socialcredit.identity import regions

SubjectKind = Literal["person", "organisation"]
ErrorCode = Literal[
    "missing",
    "invalid_length",
    "invalid_format",
    "invalid_checksum",
    "invalid_birth_date",
    "unknown_region",
    "region_not_in_use",
]
ERROR_CODES: Final[tuple[ErrorCode, ...]] = (
    "missing",
    "invalid_length",
    "invalid_format",
    "invalid_checksum",
    "invalid_birth_date",
    "unknown_region",
    "region_not_in_use",
)

CODE_LENGTH: Final = 18
DIGITS: Final = "0123456789"
RIC_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK_CHARS: Final = "10X98765432"
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

AUTHORITY_NAMES: Final[Mapping[str, str]] = {
    "1": "institutional establishment (机构编制)",
    "2": "foreign affairs (外交)",
    "3": "judicial administration (司法行政)",
    "4": "culture (文化)",
    "5": "civil affairs (民政)",
    "6": "tourism (旅游)",
    "7": "religious affairs (宗教)",
    "8": "trade unions (工会)",
    "9": "market regulation (工商)",
    "A": "military establishment office (中央军委改革和编制办公室)",
    "N": "agriculture (农业)",
    "Y": "other (其他)",
}
UNASSIGNED_AUTHORITY: Final = "unassigned registration authority"

ENTITY_TYPE_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "1": {
        "1": "organ (机关)",
        "2": "public institution (事业单位)",
        "3": "mass organisation (群众团体)",
        "9": "other (其他)",
    },
    "5": {
        "1": "social organisation (社会团体)",
        "2": "private non-enterprise unit (民办非企业单位)",
        "3": "foundation (基金会)",
        "9": "other (其他)",
    },
    "9": {
        "1": "enterprise (企业)",
        "2": "individual business (个体工商户)",
        "3": "farmers' specialised cooperative (农民专业合作社)",
    },
    "Y": {"1": "other (其他)"},
}

_USCC_VALUES: Final = {char: value for value, char in enumerate(USCC_ALPHABET)}
_USCC_ALLOWED: Final = frozenset(USCC_ALPHABET)
_DIGIT_SET: Final = frozenset(DIGITS)


class IdentityError(ValueError):
    """A code is not valid; ``code`` is a machine error code, ``message`` says why."""

    code: ErrorCode
    message: str

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"IdentityError({self.code!r}, {self.message!r})"

    def __reduce__(self) -> tuple[type[IdentityError], tuple[ErrorCode, str]]:
        return (IdentityError, (self.code, self.message))


@dataclass(frozen=True)
class PersonCode:
    """A valid citizen identity number and what it encodes."""

    code: str
    region: str
    region_name: str | None
    birth_date: datetime.date
    sex: Literal["male", "female"]
    sequence: str

    def age_on(self, day: datetime.date) -> int:
        """Completed years of age on ``day`` (ValueError if ``day`` precedes the birth)."""
        if day < self.birth_date:
            raise ValueError(f"{day.isoformat()} is before the birth date")
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)


@dataclass(frozen=True)
class OrgCode:
    """A valid unified social credit code and what it encodes."""

    code: str
    authority: str
    authority_name: str
    entity_type: str
    entity_type_name: str | None
    region: str
    organisation_code: str


def compact_person(raw: str) -> str:
    """Canonical form of an identity number, exactly as ``stdnum.cn.ric.compact``."""
    return str(ric.compact(raw))


def compact_org(raw: str) -> str:
    """Canonical form of a social credit code, exactly as ``stdnum.cn.uscc.compact``."""
    return str(uscc.compact(raw))


def ric_check_char(body: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits of an identity number."""
    total = sum(int(digit) * weight for digit, weight in zip(body, RIC_WEIGHTS, strict=True))
    return RIC_CHECK_CHARS[total % 11]


def uscc_check_char(body: str) -> str:
    """Check character for the first 17 characters of a social credit code."""
    total = sum(_USCC_VALUES[char] * weight for char, weight in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _listed(chars: str) -> str:
    """Distinct characters, quoted, in order of appearance."""
    return ", ".join(repr(char) for char in dict.fromkeys(chars))


def _check_shape(number: str) -> IdentityError | None:
    """Error for an empty or wrong-length compacted code."""
    if not number:
        return IdentityError("missing", "code is empty")
    if len(number) != CODE_LENGTH:
        return IdentityError("invalid_length", f"length is {len(number)}, expected {CODE_LENGTH}")
    return None


def check_person(raw: str) -> PersonCode | IdentityError:
    """Parse an identity number, returning the error instead of raising it."""
    number = compact_person(raw)
    shape_error = _check_shape(number)
    if shape_error is not None:
        return shape_error
    bad = [char for char in number[:17] if char not in _DIGIT_SET]
    if bad:
        return IdentityError(
            "invalid_format",
            f"contains characters other than digits in positions 1-17: {_listed(''.join(bad))}",
        )
    expected = ric_check_char(number[:17])
    if number[17] != expected:
        return IdentityError("invalid_checksum", f"check character is {number[17]!r} but should be {expected!r}")
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return IdentityError("invalid_birth_date", f"birth date {number[6:14]} is not a real date")
    region = number[:6]
    periods = regions.region_periods(region)
    if not periods:
        return IdentityError("unknown_region", f"region code {region} is not a GB/T 2260 division code")
    name = regions.region_name(region, birth.year)
    if name is None:
        known = "; ".join(period.describe() for period in periods)
        return IdentityError(
            "region_not_in_use",
            f"region code {region} was not in use in birth year {birth.year} (in use: {known})",
        )
    return PersonCode(
        code=number,
        region=region,
        region_name=name,
        birth_date=birth,
        sex="male" if int(number[16]) % 2 else "female",
        sequence=number[14:17],
    )


def check_org(raw: str) -> OrgCode | IdentityError:
    """Parse a social credit code, returning the error instead of raising it."""
    number = compact_org(raw)
    shape_error = _check_shape(number)
    if shape_error is not None:
        return shape_error
    bad_head = [char for char in number[:8] if char not in _DIGIT_SET]
    if bad_head:
        return IdentityError(
            "invalid_format",
            f"contains characters other than digits in positions 1-8: {_listed(''.join(bad_head))}",
        )
    bad_tail = [char for char in number[8:] if char not in _USCC_ALLOWED]
    if bad_tail:
        return IdentityError(
            "invalid_format",
            "contains characters outside the code alphabet (digits and letters "
            f"except I, O, Z, S, V) in positions 9-18: {_listed(''.join(bad_tail))}",
        )
    expected = uscc_check_char(number[:17])
    if number[17] != expected:
        return IdentityError("invalid_checksum", f"check character is {number[17]!r} but should be {expected!r}")
    authority, entity_type = number[0], number[1]
    return OrgCode(
        code=number,
        authority=authority,
        authority_name=AUTHORITY_NAMES.get(authority, UNASSIGNED_AUTHORITY),
        entity_type=entity_type,
        entity_type_name=ENTITY_TYPE_NAMES.get(authority, {}).get(entity_type),
        region=number[2:8],
        organisation_code=number[8:17],
    )


def parse_person(raw: str) -> PersonCode:
    """Parse a citizen identity number; raises IdentityError if it is not valid."""
    result = check_person(raw)
    if isinstance(result, IdentityError):
        raise result
    return result


def parse_org(raw: str) -> OrgCode:
    """Parse a unified social credit code; raises IdentityError if it is not valid."""
    result = check_org(raw)
    if isinstance(result, IdentityError):
        raise result
    return result


def is_valid_person(raw: str) -> bool:
    """Whether ``raw`` is a valid citizen identity number."""
    return not isinstance(check_person(raw), IdentityError)


def is_valid_org(raw: str) -> bool:
    """Whether ``raw`` is a valid unified social credit code."""
    return not isinstance(check_org(raw), IdentityError)


def kinds_of(raw: str) -> frozenset[SubjectKind]:
    """The kinds of subject ``raw`` is a valid code for (possibly both, possibly none)."""
    kinds: set[SubjectKind] = set()
    if is_valid_person(raw):
        kinds.add("person")
    if is_valid_org(raw):
        kinds.add("organisation")
    return frozenset(kinds)


def invalid_reasons(raw: str) -> str:
    """Why ``raw`` is neither a valid citizen identity number nor a valid unified social credit
    code, one reason per kind (e.g. for error messages)."""
    reasons = []
    for label, check in (("citizen identity number", check_person), ("unified social credit code", check_org)):
        result = check(raw)
        if isinstance(result, IdentityError):
            reasons.append(f"as a {label}: {result.message}")
    return "; ".join(reasons)
