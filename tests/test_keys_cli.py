"""``socialcredit keys create|list|revoke`` and ``serve`` options, through the real CLI."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import run_cli
from server import create_key, query


def test_create_prints_the_key_once_and_stores_only_its_hash(db: Path) -> None:
    made = create_key(db, "--role", "relying_party", "--purpose", "flight.*", "--purpose", "rail.g.*", "--name", "Air")
    assert made["key"].startswith("sck_" + made["id"] + "_")
    assert made["purposes"] == ["flight.*", "rail.g.*"]
    assert (made["role"], made["name"], made["source"], made["subject"]) == ("relying_party", "Air", None, None)
    [(stored_hash,)] = query(db, "SELECT key_hash FROM api_keys WHERE id = ?", [made["id"]])
    assert stored_hash == hashlib.sha256(made["key"].encode()).hexdigest()
    listed = run_cli("keys", "list", "--db", db, "--json").json()["keys"]
    assert [k["id"] for k in listed] == [made["id"]]
    assert made["key"] not in str(listed)
    assert stored_hash not in str(listed)


def test_each_role_takes_its_own_scope(db: Path) -> None:
    agency = create_key(db, "--role", "agency", "--source", "court")
    assert (agency["source"], agency["name"]) == ("court", f"agency-{agency['id']}")
    subject = create_key(db, "--role", "subject", "--subject", "91371082ma3c123459")
    assert subject["subject"] == "91371082MA3C123459"
    operator = create_key(db, "--role", "operator")
    assert (operator["source"], operator["purposes"], operator["subject"]) == (None, [], None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "king"], "unknown role 'king'"),
        (["--role", "agency"], "needs --source"),
        (["--role", "agency", "--source", "police"], "unknown source 'police'"),
        (["--role", "relying_party"], "at least one --purpose"),
        (["--role", "relying_party", "--purpose", "Flight.*"], "is not an action pattern"),
        (["--role", "relying_party", "--purpose", "flght.*"], "matches no catalogued action"),
        (["--role", "subject"], "needs --subject"),
        (["--role", "subject", "--subject", "371082199003120245"], "not a valid identity code"),
        (["--role", "operator", "--source", "court"], "take no --source"),
        (["--role", "agency", "--source", "court", "--purpose", "flight.*"], "take no --purpose"),
        (["--role", "operator", "--name", " "], "--name must not be empty"),
    ],
)
def test_invalid_key_specifications_are_refused(db: Path, args: list[str], message: str) -> None:
    res = run_cli("keys", "create", "--db", db, *args)
    assert res.code == 2
    assert message in " ".join(res.err.split())
    assert query(db, "SELECT count(*) FROM api_keys") == [(0,)]


def test_revoke_marks_the_key_and_is_idempotent(db: Path) -> None:
    made = create_key(db, "--role", "operator")
    first = run_cli("keys", "revoke", made["id"], "--db", db, "--json").json()
    assert first["revoked_at"] is not None
    second = run_cli("keys", "revoke", made["id"], "--db", db, "--json").json()
    assert second["revoked_at"] == first["revoked_at"]
    unknown = run_cli("keys", "revoke", "nope", "--db", db)
    assert unknown.code == 2
    assert "no key with id 'nope'" in unknown.err


def test_serve_refuses_more_than_one_worker_on_duckdb(db: Path) -> None:
    res = run_cli("serve", "--db", db, "--workers", "2")
    assert res.code == 2
    assert "one process" in " ".join(res.err.split())


def test_serve_needs_an_initialised_database(tmp_path: Path) -> None:
    res = run_cli("serve", "--db", tmp_path / "missing.duckdb")
    assert res.code == 2
    assert "does not exist" in res.err
