"""The catalog: the packaged default is sound, and every kind of bad catalog is refused with a
specific, located error — through the real CLI on real files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from socialcredit.catalog import CatalogError, catalog_version, load_catalog, load_default
from socialcredit.catalog.prohibited import prohibited_category, restricted_category

from conftest import run_cli


def exported(tmp_path: Path) -> Path:
    target = tmp_path / "cat"
    res = run_cli("catalog", "export", target)
    assert res.code == 0, res.err
    return target


def edit(path: Path, change: Any) -> None:
    """Load a YAML file, let ``change`` mutate the data, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def check(directory: Path) -> tuple[int, dict[str, Any]]:
    res = run_cli("catalog", "check", directory, "--json")
    return res.code, res.json()


def codes(report: dict[str, Any]) -> set[str]:
    return {e["code"] for e in report["errors"]}


def test_default_catalog_checks_clean() -> None:
    res = run_cli("catalog", "check")
    assert res.code == 0, res.err
    assert "valid" in res.out


def test_default_catalog_json_summary() -> None:
    res = run_cli("catalog", "check", "--json")
    assert res.code == 0
    data = res.json()
    assert data["valid"] is True
    assert data["version"] == catalog_version(load_default())
    assert data["counts"]["record_types"] == len(load_default().record_types)


def test_default_catalog_has_the_stable_codes() -> None:
    cat = load_default()
    assert set(cat.lists) == {
        "judgment_defaulters",
        "railway_restricted",
        "severe_untrustworthy",
        "tax_grade_a",
        "grade_aaa",
    }
    assert set(cat.memoranda) == {"mou_2016_defaulters", "railway_2018", "severe_2016", "tax_a_2016", "rongcheng_grade"}
    assert set(cat.measures) >= {
        "high_consumption",
        "rail_ban",
        "premium_travel_ban",
        "procurement_ban",
        "bond_issuance_ban",
        "financial_founding_ban",
        "civil_service_ban",
        "executive_ban",
        "subsidy_ban",
        "honors_ban",
        "green_channel",
        "accept_incomplete",
        "deposit_waiver",
        "heating_discount",
    }
    assert set(cat.sources) >= {"court", "railway", "market", "tax", "ecology", "safety", "drug", "transport"}
    assert cat.memoranda["mou_2016_defaulters"].measures == [
        "high_consumption",
        "procurement_ban",
        "bond_issuance_ban",
        "financial_founding_ban",
        "civil_service_ban",
        "executive_ban",
        "subsidy_ban",
        "honors_ban",
    ]
    assert cat.points is not None
    assert cat.points.base == 1000
    assert cat.points.items["public_facility.damage"].points == -100
    assert cat.points.items["loan.arrears_cycle"].per == "quantity"
    # every item cites law
    for group in (cat.sources, cat.record_types, cat.lists, cat.measures, cat.memoranda):
        for item in group.values():
            assert item.legal_basis, item


def test_export_then_check_gives_the_same_version(tmp_path: Path) -> None:
    directory = exported(tmp_path)
    code, report = check(directory)
    assert code == 0
    assert report["version"] == catalog_version(load_default())
    # layout does not matter: one file holding every section has the same version
    merged: dict[str, Any] = {}
    for f in sorted(directory.glob("*.yaml")):
        merged.update(yaml.safe_load(f.read_text(encoding="utf-8")))
    single = tmp_path / "single"
    single.mkdir()
    (single / "all.yaml").write_text(yaml.safe_dump(merged, allow_unicode=True), encoding="utf-8")
    code2, report2 = check(single)
    assert code2 == 0
    assert report2["version"] == report["version"]


def test_export_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    res = run_cli("catalog", "export", tmp_path / "x")
    assert res.code == 2
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"


def test_every_error_is_listed_with_file_and_line(tmp_path: Path) -> None:
    directory = exported(tmp_path)
    text = (directory / "record_types.yaml").read_text(encoding="utf-8")
    text += (
        "  civil.prayer:\n"
        "    name: Attendance at religious services\n"
        "    sources: [civil]\n"
        "    subjects: [person]\n"
        "    information: [religion]\n"
        "    legal_basis: [no_such_law]\n"
        "    follow_ups: {correct: {}, revoke: {}}\n"
    )
    (directory / "record_types.yaml").write_text(text, encoding="utf-8")
    code, report = check(directory)
    assert code == 1
    assert report["valid"] is False
    by_code = {e["code"]: e for e in report["errors"]}
    assert {"prohibited_category", "unknown_reference"} <= set(by_code)
    prohibited = [e for e in report["errors"] if e["code"] == "prohibited_category"]
    assert any("religio" in e["message"] for e in prohibited)
    lines = text.splitlines()
    for e in prohibited:
        assert e["file"] == "record_types.yaml"
        assert e["line"] is not None
        assert "civil.prayer" in e["path"]
    unknown = by_code["unknown_reference"]
    assert "no_such_law" in unknown["message"]
    assert "no_such_law" in lines[unknown["line"] - 1]
    # the text output lists every error too
    res = run_cli("catalog", "check", directory)
    assert res.code == 1
    assert res.err.count("[prohibited_category]") == len(prohibited)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("religion", "religious belief"),
        ("political_opinion", "political opinion"),
        ("online_speech", "speech"),
        ("ethnicity", "ethnicity"),
        ("genes", "genes"),
        ("fingerprints", "fingerprints"),
        ("blood_type", "blood type"),
        ("medical_history", "disease and medical history"),
        ("disease", "disease and medical history"),
        ("social_relationships", "social relationships"),
        ("friends", "social relationships"),
        ("facial_image", "biometrics"),
    ],
)
def test_prohibited_categories_are_recognised(name: str, category: str) -> None:
    assert prohibited_category(name) == category
    assert prohibited_category(f"person.{name}") == category


@pytest.mark.parametrize(
    "name", ["civil.blood_donation", "judicial_enforcement", "traffic.violation", "health_safety_penalty_no"]
)
def test_allowed_names_are_not_caught(name: str) -> None:
    if name == "health_safety_penalty_no":
        assert prohibited_category(name) == "health"  # health is a prohibited word on its own
    else:
        assert prohibited_category(name) is None


def test_restricted_financial_data_needs_written_consent(tmp_path: Path) -> None:
    assert restricted_category("monthly_income") == "income"
    assert restricted_category("real_estate_holdings") == "real estate"
    directory = exported(tmp_path)

    def add_type(data: dict[str, Any]) -> None:
        data["record_types"]["bank.income_report"] = {
            "name": "Declared income",
            "sources": ["bank"],
            "subjects": ["person"],
            "information": ["income"],
            "legal_basis": ["crir_2013#Art. 14"],
            "follow_ups": {"correct": {}, "revoke": {}},
        }

    edit(directory / "record_types.yaml", add_type)
    code, report = check(directory)
    assert code == 1
    assert codes(report) == {"consent_required"}

    def with_consent(data: dict[str, Any]) -> None:
        data["record_types"]["bank.income_report"]["consent"] = "written"

    edit(directory / "record_types.yaml", with_consent)
    code, report = check(directory)
    assert code == 0, report


def test_restriction_attached_to_a_grade_based_list_is_refused(tmp_path: Path) -> None:
    directory = exported(tmp_path)

    def punish_by_grade(data: dict[str, Any]) -> None:
        data["memoranda"]["rongcheng_grade"]["measures"].append("rail_ban")

    edit(directory / "memoranda.yaml", punish_by_grade)
    code, report = check(directory)
    assert code == 1
    errors = [e for e in report["errors"] if e["code"] == "restriction_from_grade"]
    assert len(errors) == 1
    assert "rail_ban" in errors[0]["message"]
    assert errors[0]["file"] == "memoranda.yaml"


def test_grade_based_blacklist_is_refused(tmp_path: Path) -> None:
    directory = exported(tmp_path)

    def blacklist(data: dict[str, Any]) -> None:
        data["lists"]["grade_d"] = {
            "name": "D grade residents",
            "kind": "blacklist",
            "basis": "grade",
            "grade": "D",
            "requires_consent": True,
            "subjects": ["person"],
            "legal_basis": ["rongcheng_rewards"],
        }

    edit(directory / "lists.yaml", blacklist)
    code, report = check(directory)
    assert code == 1
    assert "restriction_from_grade" in codes(report)


def test_missing_legal_basis_and_unknown_references(tmp_path: Path) -> None:
    directory = exported(tmp_path)

    def break_measures(data: dict[str, Any]) -> None:
        data["measures"]["rail_ban"]["legal_basis"] = []
        data["measures"]["high_consumption"]["reaches_roles"].append("nephew")

    edit(directory / "measures.yaml", break_measures)
    edit(directory / "memoranda.yaml", lambda d: d["memoranda"]["railway_2018"].update(lists=["no_such_list"]))
    code, report = check(directory)
    assert code == 1
    found = {(e["code"], e["path"]) for e in report["errors"]}
    assert ("missing_legal_basis", "measures.rail_ban.legal_basis") in found
    assert any(c == "unknown_reference" and "reaches_roles" in p for c, p in found)
    assert any(c == "unknown_reference" and p.startswith("memoranda.railway_2018.lists") for c, p in found)


def test_invalid_action_patterns_are_refused(tmp_path: Path) -> None:
    directory = exported(tmp_path)

    def patterns(data: dict[str, Any]) -> None:
        data["measures"]["rail_ban"]["actions"] = ["rail.*", "Rail.G", "boat.*"]

    edit(directory / "measures.yaml", patterns)
    code, report = check(directory)
    assert code == 1
    messages = [e["message"] for e in report["errors"] if e["code"] == "invalid_action_pattern"]
    assert len(messages) == 2
    assert any("Rail.G" in m for m in messages)
    assert any("boat.*" in m and "matches no catalogued action" in m for m in messages)


def test_overlapping_and_unbounded_terms_are_refused(tmp_path: Path) -> None:
    directory = exported(tmp_path)

    def overlap(data: dict[str, Any]) -> None:
        terms = data["lists"]["judgment_defaulters"]["terms"]
        terms[1]["when"] = {"ground": {"in": [1, 2, 3, 4, 5, 6]}}

    edit(directory / "lists.yaml", overlap)
    code, report = check(directory)
    assert code == 1
    assert "overlapping_terms" in codes(report)

    directory2 = exported(tmp_path / "b")

    def forever(data: dict[str, Any]) -> None:
        term = data["lists"]["severe_untrustworthy"]["terms"][0]
        del term["duration"]
        term["ends_on"] = ["delist"]

    edit(directory2 / "lists.yaml", forever)
    code, report = check(directory2)
    assert code == 1
    assert "unbounded_term" in codes(report)

    directory3 = exported(tmp_path / "c")

    def uncovered(data: dict[str, Any]) -> None:
        data["lists"]["railway_restricted"]["terms"][1]["when"] = {"item": {"in": [4, 5]}}

    edit(directory3 / "lists.yaml", uncovered)
    code, report = check(directory3)
    assert code == 1
    assert any(e["code"] == "unbounded_term" and "item=6" in e["message"] for e in report["errors"])


def test_overlapping_publication_regimes_and_periods(tmp_path: Path) -> None:
    directory = exported(tmp_path)

    def overlap(data: dict[str, Any]) -> None:
        data["publication_regimes"]["order_36"]["effective_from"] = "2026-01-01"
        data["publication_regimes"]["ndrc_2019"]["severities"]["general"]["minimum"] = "P2Y"

    edit(directory / "publication.yaml", overlap)
    code, report = check(directory)
    assert code == 1
    assert {"overlapping_terms", "invalid_period"} <= codes(report)


def test_grade_bands_must_cover_every_score_once(tmp_path: Path) -> None:
    directory = exported(tmp_path)

    def bands(data: dict[str, Any]) -> None:
        grades = data["points"]["grades"]
        grades[1]["min"] = 1040  # AA 1040-1049: 1030..1039 uncovered
        grades[3]["max"] = 970  # B up to 970 overlaps A from 960

    edit(directory / "points.yaml", bands)
    code, report = check(directory)
    assert code == 1
    assert {"grade_gap", "overlapping_grades"} <= codes(report)


def test_typos_and_yaml_errors_are_located(tmp_path: Path) -> None:
    directory = exported(tmp_path)
    text = (directory / "sources.yaml").read_text(encoding="utf-8")
    (directory / "sources.yaml").write_text(
        text.replace("    kind: judicial", "    knd: judicial", 1), encoding="utf-8"
    )
    code, report = check(directory)
    assert code == 1
    [error] = [e for e in report["errors"] if e["code"] == "unknown_field"]
    assert "knd" in error["message"]
    assert error["file"] == "sources.yaml"
    line = (directory / "sources.yaml").read_text(encoding="utf-8").splitlines()[error["line"] - 1]
    assert "knd" in line

    broken = exported(tmp_path / "y")
    (broken / "lists.yaml").write_text("lists:\n  a: [unclosed\n", encoding="utf-8")
    code, report = check(broken)
    assert code == 1
    assert codes(report) == {"yaml_syntax"}
    assert report["errors"][0]["file"] == "lists.yaml"


def test_unknown_and_duplicate_sections(tmp_path: Path) -> None:
    directory = exported(tmp_path)
    (directory / "extra.yaml").write_text("lists: {}\nscores_of_friends: {}\n", encoding="utf-8")
    code, report = check(directory)
    assert code == 1
    assert {"duplicate_section", "unknown_section"} <= codes(report)


def test_every_record_type_accepts_corrections_and_revocations(tmp_path: Path) -> None:
    directory = exported(tmp_path)
    edit(directory / "record_types.yaml", lambda d: d["record_types"]["traffic.violation"]["follow_ups"].pop("revoke"))
    code, report = check(directory)
    assert code == 1
    assert codes(report) == {"missing_follow_up"}


def test_python_api_raises_with_all_issues(tmp_path: Path) -> None:
    directory = exported(tmp_path)
    edit(directory / "measures.yaml", lambda d: d["measures"]["rail_ban"].update(actions=["nowhere.*"]))
    edit(directory / "lists.yaml", lambda d: d["lists"]["tax_grade_a"].update(record_types=["tax.grade_z"]))
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    found = {i.code for i in info.value.issues}
    assert found == {"invalid_action_pattern", "unknown_reference"}
    assert all(i.file is not None for i in info.value.issues)


def test_codes_must_be_lower_case_dotted_identifiers(tmp_path: Path) -> None:
    directory = exported(tmp_path)
    edit(directory / "measures.yaml", lambda d: d["measures"].update({"Rail Ban": d["measures"]["rail_ban"]}))
    code, report = check(directory)
    assert code == 1
    assert codes(report) == {"invalid_code"}
    assert "Rail Ban" in report["errors"][0]["message"]
