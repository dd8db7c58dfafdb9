"""Regenerate the bundled sample agency files (src/socialcredit/data/sample).

Deterministic: the same files every run. Each file mixes valid rows with a few bad ones, so
that the demo shows rejects with their reasons.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from stdnum.cn import ric, uscc

OUT = Path(__file__).resolve().parents[1] / "src" / "socialcredit" / "data" / "sample"


def person(region: str, birth: str, seq: int) -> str:
    body = f"{region}{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def org(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


P_WANG = person("371082", "19900312", 24)  # 王芳, Rongcheng, female
P_LI = person("371082", "19920607", 13)  # 李强, male
P_ZHANG = person("110105", "19900101", 35)  # 张伟
P_CHEN = person("110105", "19601120", 46)  # 陈静
P_MINOR = person("371082", "20120505", 57)  # 赵小明, a minor
O_HAIYANG = org("91371082MA3C12345")  # 荣成海洋食品有限公司
O_BUILD = org("91371082MA3D54321")  # 荣成建设工程有限公司

BAD_CHECK = P_LI[:-1] + ("0" if P_LI[-1] != "0" else "1")


def write_csv(name: str, header: list[str], rows: list[dict[str, object]]) -> None:
    with (OUT / name).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    core = [
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
    ]
    write_csv(
        "registry.csv",
        [*core, "person_id", "role"],
        [
            {
                "event_id": "R-001",
                "source": "registry",
                "subject_id": O_HAIYANG,
                "subject_name": "荣成海洋食品有限公司",
                "type": "registry.role",
                "decided_on": "2019-03-01",
                "document_no": "荣市监登字〔2019〕88号",
                "person_id": P_WANG,
                "role": "legal_representative",
            },
            {
                "event_id": "R-002",
                "source": "registry",
                "subject_id": O_BUILD,
                "subject_name": "荣成建设工程有限公司",
                "type": "registry.role",
                "decided_on": "2020-07-15",
                "document_no": "荣市监登字〔2020〕301号",
                "person_id": P_CHEN,
                "role": "actual_controller",
            },
        ],
    )
    write_csv(
        "court.csv",
        [*core, "ground", "extension_years", "grace_months", "requested_by", "case_no"],
        [
            {
                "event_id": "C-2024-001",
                "source": "court",
                "subject_id": O_HAIYANG,
                "subject_name": "荣成海洋食品有限公司",
                "type": "court.defaulter",
                "decided_on": "2025-06-02",
                "document_no": "(2025)鲁1082执1234号之一",
                "amount": "380000.00",
                "ground": "1",
                "grace_months": "2",
                "requested_by": "applicant",
                "case_no": "(2025)鲁1082执1234号",
            },
            {
                "event_id": "C-2024-002",
                "source": "court",
                "subject_id": P_ZHANG,
                "subject_name": "张伟",
                "type": "court.defaulter",
                "decided_on": "2024-03-04",
                "document_no": "(2024)京0105执567号之一",
                "amount": "52000.00",
                "ground": "4",
                "case_no": "(2024)京0105执567号",
            },
            {
                "event_id": "C-2024-003",
                "source": "court",
                "subject_id": P_MINOR,
                "subject_name": "赵小明",
                "type": "court.defaulter",
                "decided_on": "2025-01-10",
                "document_no": "(2025)鲁1082执77号之一",
                "ground": "1",
                "case_no": "(2025)鲁1082执77号",
            },
            {
                "event_id": "C-2024-004",
                "source": "court",
                "subject_id": BAD_CHECK,
                "subject_name": "李强",
                "type": "court.defaulter",
                "decided_on": "2025-02-30",
                "document_no": "(2025)鲁1082执78号之一",
                "ground": "7",
                "case_no": "(2025)鲁1082执78号",
            },
            {
                "event_id": "C-2024-005",
                "source": "court",
                "action": "extend",
                "record_id": "C-2024-002",
                "subject_id": P_ZHANG,
                "type": "court.defaulter",
                "decided_on": "2025-02-20",
                "document_no": "(2024)京0105执567号之二",
                "extension_years": "3",
            },
        ],
    )
    with (OUT / "railway.jsonl").open("w", encoding="utf-8") as fh:
        for row in [
            {
                "event_id": "RW-25-0001",
                "source": "railway",
                "subject_id": P_LI,
                "subject_name": "李强",
                "type": "railway.passenger_violation",
                "decided_on": "2025-06-02",
                "document_no": "铁路旅客〔2025〕6-001",
                "attrs": {"item": 2},
            },
            {
                "event_id": "RW-25-0002",
                "source": "railway",
                "subject_id": P_CHEN.lower(),
                "subject_name": "陈静",
                "type": "railway.passenger_violation",
                "decided_on": "2025-05-20",
                "document_no": "铁路旅客〔2025〕5-117",
                "attrs": {"item": 6},
            },
            {
                "event_id": "RW-25-0003",
                "source": "railway",
                "action": "perform",
                "record_id": "RW-25-0002",
                "decided_on": "2025-06-10",
                "document_no": "补票 2025-06-10",
            },
            {
                "event_id": "RW-25-0004",
                "source": "railway",
                "subject_id": P_WANG,
                "subject_name": "王芳",
                "type": "railway.passenger_violation",
                "decided_on": "2025-06-02",
                "attrs": {"item": 2, "seat": "12A"},
            },
        ]:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    write_csv(
        "market.csv",
        [*core, "severity", "penalty_kind", "field", "category"],
        [
            {
                "event_id": "M-2026-0101",
                "source": "market",
                "subject_id": O_BUILD,
                "subject_name": "荣成建设工程有限公司",
                "type": "admin.penalty",
                "decided_on": "2026-05-11",
                "document_no": "荣市监罚〔2026〕101号",
                "amount": "50000",
                "severity": "general",
                "penalty_kind": "fine",
                "field": "construction_quality",
            },
            {
                "event_id": "M-2026-0102",
                "source": "market",
                "action": "repair",
                "record_id": "M-2026-0101",
                "subject_id": O_BUILD,
                "type": "admin.penalty",
                "decided_on": "2026-07-01",
                "document_no": "信用修复申请 2026-07-01",
            },
            {
                "event_id": "M-2026-0103",
                "source": "market",
                "subject_id": O_BUILD,
                "subject_name": "荣成建设工程有限公司",
                "type": "admin.severe_listing",
                "decided_on": "2026-06-01",
                "document_no": "荣市监严〔2026〕3号",
                "category": "market_order",
            },
            {
                "event_id": "M-2026-0104",
                "source": "market",
                "subject_id": O_HAIYANG,
                "subject_name": "荣成海洋食品有限公司",
                "type": "admin.severe_listing",
                "decided_on": "2026-06-01",
                "document_no": "荣市监严〔2026〕4号",
                "category": "political_loyalty",
            },
        ],
    )
    write_csv(
        "tax.csv",
        [*core, "year"],
        [
            {
                "event_id": "T-2026-A-001",
                "source": "tax",
                "subject_id": O_BUILD,
                "subject_name": "荣成建设工程有限公司",
                "type": "tax.grade_a",
                "decided_on": "2025-04-15",
                "document_no": "国家税务总局荣成市税务局公告2025年第2号",
                "year": "2024",
            },
        ],
    )
    write_csv(
        "citizens.csv",
        core,
        [
            {
                "event_id": "S-0001",
                "source": "self",
                "subject_id": P_WANG,
                "subject_name": "王芳",
                "type": "consent.scoring",
                "decided_on": "2024-01-05",
                "document_no": "同意书 2024-01-05",
            },
            {
                "event_id": "S-0002",
                "source": "self",
                "subject_id": P_LI,
                "subject_name": "李强",
                "type": "consent.scoring",
                "decided_on": "2024-02-01",
                "document_no": "同意书 2024-02-01",
            },
            {
                "event_id": "CV-0001",
                "source": "civil",
                "subject_id": P_WANG,
                "subject_name": "王芳",
                "type": "civil.volunteer_month",
                "decided_on": "2025-12-31",
                "document_no": "志愿服务 2025",
                "quantity": "6",
            },
            {
                "event_id": "CV-0002",
                "source": "civil",
                "subject_id": P_WANG,
                "subject_name": "王芳",
                "type": "civil.blood_donation",
                "decided_on": "2025-08-08",
                "document_no": "献血证 2025-08-08",
            },
            {
                "event_id": "B-0001",
                "source": "bank",
                "subject_id": P_LI,
                "subject_name": "李强",
                "type": "loan.arrears_cycle",
                "decided_on": "2025-09-30",
                "document_no": "逾期 2025-09",
                "quantity": "2",
            },
            {
                "event_id": "U-0001",
                "source": "utility",
                "subject_id": P_LI,
                "subject_name": "李 强",
                "type": "utility.arrears",
                "decided_on": "2025-03-01",
                "document_no": "供热欠费 2024-2025",
                "amount": "2400",
            },
            {
                "event_id": "TR-0001",
                "source": "traffic",
                "subject_id": P_LI,
                "subject_name": "李强",
                "type": "traffic.violation",
                "decided_on": "2026-01-12",
                "document_no": '=HYPERLINK("x")',
            },
        ],
    )
    print(f"wrote sample files to {OUT}")


if __name__ == "__main__":
    main()
