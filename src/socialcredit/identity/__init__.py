"""Chinese identity codes: citizen identity numbers and unified social credit codes."""

from socialcredit.identity.bulk import validate_codes
from socialcredit.identity.codes import (
    ERROR_CODES,
    ErrorCode,
    IdentityError,
    OrgCode,
    PersonCode,
    SubjectKind,
    check_org,
    check_person,
    compact_org,
    compact_person,
    is_valid_org,
    is_valid_person,
    kinds_of,
    parse_org,
    parse_person,
)
from socialcredit.identity.masking import mask
from socialcredit.identity.regions import all_region_codes, region_name

__all__ = [
    "ERROR_CODES",
    "ErrorCode",
    "IdentityError",
    "OrgCode",
    "PersonCode",
    "SubjectKind",
    "all_region_codes",
    "check_org",
    "check_person",
    "compact_org",
    "compact_person",
    "is_valid_org",
    "is_valid_person",
    "kinds_of",
    "mask",
    "parse_org",
    "parse_person",
    "region_name",
    "validate_codes",
]
