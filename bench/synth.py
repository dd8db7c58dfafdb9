"""Synthetic event logs written straight into a store (vectorised SQL), for derive and decide
benchmarks: a realistic mix of record types and follow-ups over many subjects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from socialcredit.catalog import catalog_version, load_default
from socialcredit.settings import Settings
from socialcredit.store.duckdb_store import DuckDBStore
from socialcredit.store.migrations import RECORD_SEQ_FILL

from records import organisations, persons

# type, source, weight, attrs SQL (r = a random in [0,1) per row)
MIX: tuple[tuple[str, str, float, str], ...] = (
    ("traffic.violation", "traffic", 0.28, "NULL"),
    ("loan.arrears_cycle", "bank", 0.12, "NULL"),
    ("utility.arrears", "utility", 0.08, "NULL"),
    ("contract.breach", "bank", 0.05, "NULL"),
    ("civil.volunteer_month", "civil", 0.07, "NULL"),
    ("civil.blood_donation", "civil", 0.03, "NULL"),
    (
        "admin.penalty",
        "market",
        0.12,
        "json_object('severity', CASE WHEN r < 0.5 THEN 'minor' WHEN r < 0.85 THEN 'general' ELSE 'serious' END)",
    ),
    (
        "court.defaulter",
        "court",
        0.08,
        "json_object('ground', 1 + CAST(floor(r * 6) AS INTEGER), 'grace_months', CAST(floor(r * 100) AS INTEGER) % 4)",
    ),
    ("railway.passenger_violation", "railway", 0.06, "json_object('item', 1 + CAST(floor(r * 7) AS INTEGER))"),
    ("admin.severe_listing", "market", 0.01, "json_object('category', 'market_order')"),
    ("consent.scoring", "self", 0.05, "NULL"),
    ("tax.grade_a", "tax", 0.02, "json_object('year', 2024)"),
    ("registry.role", "registry", 0.03, "NULL"),
)


def build(db: Path, subjects: int, events: int, seed: int = 11, memory_limit: str = "8GB") -> None:
    """A store at ``db`` holding ``events`` published events about ``subjects`` subjects."""
    rng = np.random.default_rng(seed)
    n_org = max(10, subjects // 50)
    people = persons(rng, subjects - n_org)
    orgs = organisations(rng, n_org)
    settings = Settings(db=db, memory_limit=memory_limit)
    with DuckDBStore(db, settings) as store:
        store.migrate()
        catalog = load_default()
        version = store.store_catalog(catalog)
        con = store.con
        ids = pa.table(
            {
                "n": pa.array(np.arange(subjects), pa.int64()),
                "subject_id": pa.concat_arrays([people, orgs]),
                "kind": pa.array(["person"] * (subjects - n_org) + ["organisation"] * n_org),
            }
        )
        con.register("ids", ids)
        con.execute("CREATE TEMP TABLE subj AS SELECT * FROM ids")
        con.unregister("ids")
        weights = np.array([m[2] for m in MIX])
        bounds = np.cumsum(weights / weights.sum())
        case_type = " ".join(f"WHEN k < {b} THEN {i}" for i, b in enumerate(bounds))
        mix = ", ".join(f"({i}, '{t}', '{s}')" for i, (t, s, _, _) in enumerate(MIX))
        attrs = " ".join(f"WHEN {i} THEN {a}" for i, (_, _, _, a) in enumerate(MIX))
        n_persons = subjects - n_org
        # creates: subjects skewed (a minority causes most records), orgs for org-only types
        con.execute(f"SELECT setseed({(seed % 100) / 100})")
        con.execute(
            f"""
            CREATE TEMP TABLE creates AS
            WITH g AS (
                SELECT range AS i, random() AS k, random() AS r, random() AS u, random() AS v FROM range({events})
            ), t AS (
                SELECT *, CASE {case_type} ELSE 0 END AS ti FROM g
            )
            SELECT i, ti, r, v, m.type, m.source,
                   CASE WHEN m.type IN ('tax.grade_a', 'registry.role') OR (m.type = 'admin.penalty' AND u < 0.2)
                        THEN {n_persons} + CAST(floor(u * {n_org}) AS BIGINT)
                        ELSE CAST(floor(pow(u, 2.0) * {n_persons}) AS BIGINT) END AS n,
                   CAST(DATE '2021-01-01' + CAST(floor(v * 2100) AS INTEGER) AS DATE) AS decided_on,
                   CASE ti {attrs} END AS attrs0
            FROM t JOIN (VALUES {mix}) m(ti2, type, source) ON m.ti2 = t.ti
            """
        )
        con.execute(
            f"""
            CREATE TEMP TABLE ev AS
            SELECT c.i, c.source, 'E' || c.i AS event_id, 'create' AS action, 'E' || c.i AS record_id,
                   s.subject_id, s.kind AS subject_kind, '名' AS subject_name, c.type, c.decided_on,
                   '(' || c.i || ')' AS document_no,
                   CASE WHEN c.type IN ('loan.arrears_cycle', 'civil.volunteer_month') THEN 1 + c.i % 3 END AS quantity,
                   CASE WHEN c.type = 'registry.role'
                        THEN CAST(json_object('person_id', p.subject_id, 'role', 'legal_representative') AS VARCHAR)
                        ELSE CAST(c.attrs0 AS VARCHAR) END AS attrs
            FROM creates c JOIN subj s ON s.n = c.n
            LEFT JOIN subj p ON c.type = 'registry.role' AND p.n = (c.i * 7919) % {n_persons}
            """
        )
        # follow-ups: performance of obligations, some deletions
        con.execute(
            """
            CREATE TEMP TABLE fu AS
            SELECT i, source, 'P' || i AS event_id, 'perform' AS action, record_id, subject_id, subject_kind,
                   NULL AS subject_name, type, CAST(decided_on + CAST(30 + (i % 400) AS INTEGER) AS DATE) AS decided_on,
                   NULL AS document_no, NULL AS quantity, NULL AS attrs
            FROM ev WHERE type IN ('court.defaulter', 'railway.passenger_violation', 'loan.arrears_cycle',
                                   'utility.arrears') AND i % 3 = 0
            UNION ALL
            SELECT i, source, 'D' || i, 'delist', record_id, subject_id, subject_kind, NULL, type,
                   CAST(decided_on + CAST(200 + (i % 300) AS INTEGER) AS DATE), NULL, NULL,
                   CAST(json_object('reason', CASE type WHEN 'court.defaulter' THEN 'early_deletion'
                                                        WHEN 'consent.scoring' THEN NULL ELSE 'other' END) AS VARCHAR)
            FROM ev WHERE type IN ('court.defaulter', 'consent.scoring') AND i % 7 = 1
            """
        )
        now = "TIMESTAMPTZ '2026-11-26 00:00:00+00'"
        con.execute(
            f"""
            INSERT INTO events
            SELECT row_number() OVER () AS seq, 1, source, event_id, action, record_id, subject_id, subject_kind,
                   subject_name, type, decided_on, document_no, NULL, quantity, attrs, {now}, '{version}',
                   'synthetic', 0, NULL
            FROM (SELECT * FROM ev UNION ALL SELECT * FROM fu) ORDER BY decided_on
            """
        )
        con.execute(RECORD_SEQ_FILL)
        n = int(con.execute("SELECT max(seq) FROM events").fetchall()[0][0])
        store.con.execute(
            "INSERT INTO subjects SELECT subject_id, kind, '名', 1, TIMESTAMPTZ '2026-11-26 00:00:00+00' FROM subj"
        )
        store.publish(n)
        con.execute("CHECKPOINT")
        _ = catalog_version


def count(db: Path) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT count(*), count(DISTINCT subject_id) FROM events").fetchall()[0]
        return int(row[0]), int(row[1])
    finally:
        con.close()


def upgrade(db: Path) -> list[int]:
    """Bring a log kept from an earlier run (``--dir``) to the current schema; returns the
    migrations applied."""
    with DuckDBStore(db, Settings(db=db)) as store:
        return store.migrate()


def build_in_child(db: Path, subjects: int, events: int) -> None:
    """``build`` in a child process, so that the caller stays small: a child's peak RSS counts
    the pages it shares with its parent at fork."""
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); from pathlib import Path; "
        f"from synth import build; build(Path({str(db)!r}), {subjects}, {events})"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
