"""Vectorised generator of large agency files in the record format, for benchmarks.

A realistic mix: mostly points-model records (traffic, arrears, utilities), administrative
penalties, court listings, railway violations, registrations and consents. Identity codes
are valid (computed check characters, regions in use in the birth year).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from socialcredit.identity import all_region_codes
from socialcredit.sim.codes import org_body_ok, org_codes, person_digits, person_text, strings

MIX: tuple[tuple[str, str, float], ...] = (
    ("traffic.violation", "traffic", 0.30),
    ("loan.arrears_cycle", "bank", 0.14),
    ("utility.arrears", "utility", 0.10),
    ("contract.breach", "bank", 0.06),
    ("admin.penalty", "market", 0.10),
    ("court.defaulter", "court", 0.06),
    ("railway.passenger_violation", "railway", 0.05),
    ("civil.volunteer_month", "civil", 0.08),
    ("civil.blood_donation", "civil", 0.03),
    ("consent.scoring", "self", 0.05),
    ("registry.role", "registry", 0.03),
)

COLUMNS = (
    "event_id",
    "source",
    "action",
    "record_id",
    "subject_id",
    "subject_name",
    "type",
    "decided_on",
    "document_no",
    "amount",
    "quantity",
    "ground",
    "extension_years",
    "grace_months",
    "case_no",
    "item",
    "severity",
    "penalty_kind",
    "person_id",
    "role",
)

_SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"))
_GIVEN = np.array(
    ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "桂英", "建华"]
)


def persons(rng: np.random.Generator, n: int) -> pa.Array:
    """n valid citizen identity numbers (adults born 1950-2004)."""
    stable = sorted(set(all_region_codes(1950)) & set(all_region_codes(2005)))
    regions = np.array([int(c) for c in stable], dtype=np.int64)
    reg = regions[rng.integers(0, len(regions), n)]
    digits = person_digits(
        reg, rng.integers(1950, 2005, n), rng.integers(1, 13, n), rng.integers(1, 29, n), rng.integers(0, 1000, n)
    )
    return strings(person_text(digits))


def organisations(rng: np.random.Generator, n: int) -> pa.Array:
    """n valid unified social credit codes of enterprises."""
    body = rng.integers(0, 10**8, n * 2)
    body = body[org_body_ok(body)][:n]
    return org_codes(np.full(len(body), 371082, dtype=np.int64), body)


def _choice(rng: np.random.Generator, values: list[str], n: int) -> pa.Array:
    arr = np.array(values, dtype=object)
    return pa.array(arr[rng.integers(0, len(values), n)], pa.string())


def chunk(rng: np.random.Generator, start: int, n: int, people: pa.Array, orgs: pa.Array) -> pa.Table:
    """Rows ``start .. start+n`` of the file."""
    probs = np.array([m[2] for m in MIX])
    kinds = rng.choice(len(MIX), size=n, p=probs / probs.sum())
    types = np.array([m[0] for m in MIX], dtype=object)[kinds]
    sources = np.array([m[1] for m in MIX], dtype=object)[kinds]
    is_org = (types == "registry.role") | ((types == "admin.penalty") & (rng.random(n) < 0.5))
    pidx = rng.integers(0, len(people), n)
    oidx = rng.integers(0, len(orgs), n)
    subj = np.where(
        is_org,
        np.asarray(orgs.take(pa.array(oidx)).to_numpy(zero_copy_only=False)),
        np.asarray(people.take(pa.array(pidx)).to_numpy(zero_copy_only=False)),
    )
    key = np.where(is_org, oidx, pidx)
    names = np.char.add(_SURNAMES[key % len(_SURNAMES)], _GIVEN[(key // len(_SURNAMES)) % len(_GIVEN)])
    names = np.where(is_org, np.char.add(np.char.add("荣成", names), "有限公司"), names)
    days = rng.integers(0, 365 * 3, n)
    decided = (np.datetime64("2023-01-01") + days.astype("timedelta64[D]")).astype(str)
    ids = np.char.add("E", (np.arange(start, start + n)).astype(str))
    empty = pa.nulls(n, pa.string())

    def where(mask: npt.NDArray[np.bool_], values: npt.NDArray[Any]) -> pa.Array:
        return pa.array(np.where(mask, values, np.array(None, dtype=object)), pa.string())

    quantity_types = (types == "loan.arrears_cycle") | (types == "civil.volunteer_month")
    defaulter = types == "court.defaulter"
    ground = rng.integers(1, 7, n)
    penalty = types == "admin.penalty"
    railway = types == "railway.passenger_violation"
    role = types == "registry.role"
    amount_types = defaulter | (types == "utility.arrears") | penalty
    cols = {
        "event_id": pa.array(ids),
        "source": pa.array(sources, pa.string()),
        "action": empty,
        "record_id": empty,
        "subject_id": pa.array(subj, pa.string()),
        "subject_name": pa.array(names),
        "type": pa.array(types, pa.string()),
        "decided_on": pa.array(decided),
        "document_no": pa.array(np.char.add("(2025)鲁1082号-", np.arange(start, start + n).astype(str))),
        "amount": where(amount_types, rng.integers(100, 500000, n).astype(str)),
        "quantity": where(quantity_types, rng.integers(1, 6, n).astype(str)),
        "ground": where(defaulter, ground.astype(str)),
        "extension_years": where(defaulter & (ground > 1) & (rng.random(n) < 0.2), rng.integers(1, 4, n).astype(str)),
        "grace_months": where(defaulter & (rng.random(n) < 0.3), rng.integers(1, 4, n).astype(str)),
        "case_no": where(defaulter, np.char.add("(2025)鲁1082执", np.arange(start, start + n).astype(str))),
        "item": where(railway, rng.integers(1, 8, n).astype(str)),
        "severity": where(penalty, np.array(["minor", "general", "serious"])[rng.integers(0, 3, n)]),
        "penalty_kind": where(penalty, np.array(["warning", "fine", "confiscation"])[rng.integers(0, 3, n)]),
        "person_id": where(role, np.asarray(people.take(pa.array(pidx)).to_numpy(zero_copy_only=False))),
        "role": where(role, np.array(["legal_representative", "actual_controller"])[rng.integers(0, 2, n)]),
    }
    return pa.table(cols)


def write_file(path: Path, rows: int, seed: int = 7, chunk_rows: int = 1_000_000) -> None:
    """Write ``rows`` records to a CSV file at ``path``."""
    rng = np.random.default_rng(seed)
    people = persons(rng, max(1000, rows // 10))
    orgs = organisations(rng, max(100, rows // 100))
    with pacsv.CSVWriter(path, chunk(rng, 0, 1, people, orgs).schema) as writer:
        for start in range(0, rows, chunk_rows):
            writer.write_table(chunk(rng, start, min(chunk_rows, rows - start), people, orgs))
