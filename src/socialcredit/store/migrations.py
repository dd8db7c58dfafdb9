"""Schema migrations of the store, applied in order; the database records its version.

The SQL is kept to what DuckDB and PostgreSQL both accept, so that the server store can run
the same list, except for the conversions of migrations 7 and 8, which read DuckDB's list of
structs (a store created at version 8 has only flat tables).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "event log, ingest runs, catalog versions, subjects, review flags",
        (
            """CREATE TABLE catalogs (
                version VARCHAR PRIMARY KEY,
                name VARCHAR NOT NULL,
                content VARCHAR NOT NULL,
                stored_at TIMESTAMPTZ NOT NULL
            )""",
            """CREATE TABLE store_meta (
                key VARCHAR PRIMARY KEY,
                value VARCHAR NOT NULL
            )""",
            """CREATE TABLE ingest_runs (
                run_id BIGINT PRIMARY KEY,
                file VARCHAR NOT NULL,
                format VARCHAR NOT NULL,
                started_at TIMESTAMPTZ NOT NULL,
                recorded_at TIMESTAMPTZ NOT NULL,
                catalog_version VARCHAR NOT NULL,
                rows_read BIGINT NOT NULL,
                accepted BIGINT NOT NULL,
                duplicates BIGINT NOT NULL,
                rejected BIGINT NOT NULL,
                flagged BIGINT NOT NULL,
                first_seq BIGINT,
                last_seq BIGINT,
                digest VARCHAR NOT NULL,
                prev_digest VARCHAR NOT NULL,
                rejects_path VARCHAR
            )""",
            """CREATE TABLE events (
                seq BIGINT NOT NULL,
                run_id BIGINT NOT NULL,
                source VARCHAR NOT NULL,
                event_id VARCHAR NOT NULL,
                action VARCHAR NOT NULL,
                record_id VARCHAR NOT NULL,
                subject_id VARCHAR NOT NULL,
                subject_kind VARCHAR NOT NULL,
                subject_name VARCHAR,
                type VARCHAR NOT NULL,
                decided_on DATE NOT NULL,
                document_no VARCHAR,
                amount DECIMAL(18, 2),
                quantity DOUBLE,
                attrs VARCHAR,
                recorded_at TIMESTAMPTZ NOT NULL,
                catalog_version VARCHAR NOT NULL,
                file VARCHAR,
                line BIGINT
            )""",
            """CREATE TABLE subjects (
                subject_id VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                name VARCHAR,
                first_seq BIGINT NOT NULL,
                first_recorded_at TIMESTAMPTZ NOT NULL
            )""",
            """CREATE TABLE review_flags (
                seq BIGINT NOT NULL,
                run_id BIGINT NOT NULL,
                subject_id VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                submitted VARCHAR,
                known VARCHAR,
                flagged_at TIMESTAMPTZ NOT NULL
            )""",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        2,
        "derived state (lists, measures, exemptions, scores) and the decision log",
        (
            """CREATE TABLE d_memberships (
                subject_id VARCHAR NOT NULL,
                subject_kind VARCHAR,
                list VARCHAR NOT NULL,
                since DATE,
                until DATE,
                published BOOLEAN NOT NULL,
                records VARCHAR NOT NULL
            )""",
            """CREATE TABLE d_measures (
                subject_id VARCHAR NOT NULL,
                subject_kind VARCHAR,
                measure VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                list VARCHAR NOT NULL,
                memorandum VARCHAR NOT NULL,
                until DATE,
                via_role VARCHAR,
                via_organisation VARCHAR,
                via_organisation_name VARCHAR,
                via_record VARCHAR,
                via_document VARCHAR
            )""",
            """CREATE TABLE d_exemptions (
                subject_id VARCHAR NOT NULL,
                type VARCHAR NOT NULL,
                record_id VARCHAR NOT NULL,
                document_no VARCHAR,
                decided_on DATE NOT NULL,
                valid_until DATE,
                actions VARCHAR NOT NULL
            )""",
            """CREATE TABLE d_scores (
                subject_id VARCHAR NOT NULL,
                score DOUBLE NOT NULL,
                grade VARCHAR,
                consent_record VARCHAR,
                consent_document VARCHAR,
                consent_since DATE
            )""",
            """CREATE TABLE d_next (
                subject_id VARCHAR NOT NULL,
                next_change DATE
            )""",
            """CREATE TABLE derive_state (
                as_of DATE NOT NULL,
                published_seq BIGINT NOT NULL,
                catalog_version VARCHAR NOT NULL,
                data_version VARCHAR NOT NULL,
                derived_at TIMESTAMPTZ NOT NULL,
                mode VARCHAR NOT NULL,
                subjects BIGINT NOT NULL
            )""",
            """CREATE TABLE decisions (
                decision_id VARCHAR NOT NULL,
                decided_at TIMESTAMPTZ NOT NULL,
                party VARCHAR NOT NULL,
                purpose VARCHAR,
                subject_id VARCHAR NOT NULL,
                action VARCHAR NOT NULL,
                allowed BOOLEAN NOT NULL,
                known BOOLEAN NOT NULL,
                as_of DATE NOT NULL,
                known_at TIMESTAMPTZ,
                catalog_version VARCHAR NOT NULL,
                data_version VARCHAR NOT NULL,
                measures VARCHAR,
                screen_id VARCHAR
            )""",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        3,
        "API keys of the HTTP service (only a hash of each key is kept)",
        (
            """CREATE TABLE api_keys (
                id VARCHAR PRIMARY KEY,
                key_hash VARCHAR NOT NULL UNIQUE,
                role VARCHAR NOT NULL,
                name VARCHAR NOT NULL,
                source VARCHAR,
                purposes VARCHAR,
                subject VARCHAR,
                created_at TIMESTAMPTZ NOT NULL,
                revoked_at TIMESTAMPTZ
            )""",
        ),
    ),
)

MIGRATIONS += (
    Migration(
        4,
        "screening jobs of the HTTP service",
        (
            """CREATE TABLE screening_jobs (
                job_id VARCHAR PRIMARY KEY,
                key_id VARCHAR,
                party VARCHAR NOT NULL,
                purpose VARCHAR,
                action VARCHAR NOT NULL,
                as_of DATE,
                file VARCHAR NOT NULL,
                rows BIGINT NOT NULL,
                status VARCHAR NOT NULL,
                stage VARCHAR NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                started_at TIMESTAMPTZ,
                finished_at TIMESTAMPTZ,
                screen_id VARCHAR,
                allowed BIGINT,
                restricted BIGINT,
                invalid BIGINT,
                error VARCHAR
            )""",
        ),
    ),
)

# Sets ``record_seq`` on follow-ups written without it (the log before migration 5; bulk loads).
RECORD_SEQ_FILL = """UPDATE events SET record_seq = c.seq
               FROM (SELECT source, record_id, min(seq) AS seq FROM events WHERE action = 'create'
                     GROUP BY source, record_id) c
               WHERE events.action <> 'create' AND events.record_seq IS NULL
                 AND c.source = events.source AND c.record_id = events.record_id"""

MIGRATIONS += (
    Migration(
        5,
        "follow-up events carry the seq of their record's create (record_seq)",
        (
            "ALTER TABLE events ADD COLUMN record_seq BIGINT",
            RECORD_SEQ_FILL,
        ),
    ),
)

# The measures a subject's memberships bring through the memoranda in force: one row per stored
# membership and link of its list, plus the stored rows of measures reaching a person through a
# role. Readers see the same columns as the table ``d_measures`` had.
MEASURES_VIEW = """CREATE VIEW d_measures AS
    SELECT m.subject_id, m.subject_kind, l.measure, l.kind, l.list, l.memorandum, m.until,
           CAST(NULL AS VARCHAR) AS via_role, CAST(NULL AS VARCHAR) AS via_organisation,
           CAST(NULL AS VARCHAR) AS via_organisation_name, CAST(NULL AS VARCHAR) AS via_record,
           CAST(NULL AS VARCHAR) AS via_document
    FROM d_memberships m JOIN d_measure_links l ON l.list = m.list
    UNION ALL
    SELECT subject_id, subject_kind, measure, kind, list, memorandum, until, via_role, via_organisation,
           via_organisation_name, via_record, via_document
    FROM d_measures_via"""

MIGRATIONS += (
    Migration(
        6,
        "measures of memberships read through the stored memoranda links (d_measures becomes a view)",
        (
            """CREATE TABLE d_measure_links (
                memorandum VARCHAR NOT NULL,
                list VARCHAR NOT NULL,
                measure VARCHAR NOT NULL,
                kind VARCHAR NOT NULL
            )""",
            # (the links behind the stored rows: the view then gives exactly those rows)
            "INSERT INTO d_measure_links SELECT DISTINCT memorandum, list, measure, kind FROM d_measures "
            "WHERE via_organisation IS NULL",
            "ALTER TABLE d_measures RENAME TO d_measures_via",
            "DELETE FROM d_measures_via WHERE via_organisation IS NULL",
            MEASURES_VIEW,
        ),
    ),
)

# The records behind a stored membership, as a list of structs (they were JSON text): inserting
# them costs less than writing them out as text and compressing it (the insert of 4.4M
# memberships at 113M events took 3.6-3.9 s instead of 4.4-4.9 s), and readers get the dates
# typed.
RECORD_FIELDS = (
    ("record_id", "VARCHAR"),
    ("source", "VARCHAR"),
    ("type", "VARCHAR"),
    ("event_id", "VARCHAR"),
    ("document_no", "VARCHAR"),
    ("decided_on", "DATE"),
    ("start", "DATE"),
    ("until", "DATE"),
)
RECORDS_TYPE = "STRUCT(" + ", ".join(f'"{n}" {t}' for n, t in RECORD_FIELDS) + ")[]"
_RECORDS_JSON = "[{" + ", ".join(f'"{n}": "{t}"' for n, t in RECORD_FIELDS) + "}]"

MIGRATIONS += (
    Migration(
        7,
        "the records behind a stored membership are a list of structs, not JSON text",
        (f"ALTER TABLE d_memberships ALTER records TYPE {RECORDS_TYPE} USING from_json(records, '{_RECORDS_JSON}')",),
    ),
)

# The records behind the stored memberships, one row per record and membership, beside the
# memberships themselves: a derive no longer groups the records of each membership into a list
# (at 113M events the memberships and their records took about 5 s to make and write instead of
# about 9 s). Readers gather a membership's records when they show them (see
# ``socialcredit.derive.sql.records_list``).
MIGRATIONS += (
    Migration(
        8,
        "the records behind the stored memberships are rows of their own (d_membership_records)",
        (
            "CREATE TABLE d_membership_records (subject_id VARCHAR NOT NULL, list VARCHAR NOT NULL, "
            + ", ".join(f"{n} {t}" for n, t in RECORD_FIELDS)
            + ")",
            "INSERT INTO d_membership_records SELECT subject_id, list, "
            + ", ".join(f"r.{n}" for n, _ in RECORD_FIELDS)
            + " FROM (SELECT subject_id, list, unnest(records) AS r FROM d_memberships)",
            "ALTER TABLE d_memberships DROP COLUMN records",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version
