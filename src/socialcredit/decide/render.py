"""Human answers for the terminal: a decision or a file that reads, to a person, like a complete
answer to "why can't I do this, until when, and on what legal basis?"."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _cite(b: dict[str, Any], titles: bool) -> str:
    text = str(b["citation"] or b["ref"])
    if b.get("articles"):
        text += f" {b['articles']}"
    if titles and b.get("title"):
        text += f" ({b['title']})"
    return text


def _basis(items: list[dict[str, Any]], titles: bool = True) -> str:
    seen: list[str] = []
    for item in items:
        for b in item["legal_basis"]:
            text = _cite(b, titles)
            if text not in seen:
                seen.append(text)
    return "; ".join(seen)


def _until(item: dict[str, Any]) -> str:
    if item.get("until"):
        return f"until {item['last_day']} inclusive (allowed again from {item['until']})"
    return str(item.get("until_rule") or "no end date known")


def _records(item: dict[str, Any]) -> str:
    parts = []
    for r in item["records"]:
        text = f"record {r['record_id']}"
        if r.get("document_no"):
            text += f", document {r['document_no']}"
        if r.get("decided_on"):
            text += f", decided {r['decided_on']}"
        if r.get("source"):
            text += f" by {r['source']}"
        parts.append(text)
    return "; ".join(parts) or "—"


def _because(item: dict[str, Any]) -> str:
    listed = f"the {item['list_name'] or item['list']}"
    if item.get("since"):
        listed += f" since {item['since']}"
    via = item.get("via")
    if via:
        doc = f", {via['document_no']}" if via.get("document_no") else ""
        return (
            f"{via['organisation_name'] or ''} ({via['organisation']}), where this subject is "
            f"{(via['role_name'] or via['role']).lower()} (registration {via['record_id']}{doc}), is on {listed}"
        )
    return f"the subject is on {listed}"


def explanation(items: list[dict[str, Any]], titles: bool = True) -> list[str]:
    """Lines explaining measures that share one cause (list, memorandum, via)."""
    first = items[0]
    names = ", ".join(f"{i['measure_name'].lower()} ({i['measure']})" for i in items)
    lines = [
        f"[bold]{escape(names[0].upper() + names[1:])}[/]",
        f"  because {escape(_because(first))}",
        f"  on the strength of {escape(_records(first))}",
        f"  joint measure under {escape(first['memorandum_name'] or first['memorandum'])} "
        f"{escape('[' + first['memorandum'] + ']')}",
        f"  lasts {escape(_until(first))}",
        f"  legal basis: {escape(_basis(items, titles))}",
    ]
    for ex in first.get("exemptions") or []:
        until = f" until {ex['valid_until']}" if ex.get("valid_until") else ""
        lines.append(
            f"  exemption {escape(ex['record_id'])} ({escape(ex.get('document_no') or '')}) lifts "
            f"{escape(', '.join(ex['actions']))}{until}"
        )
    return lines


def _grouped(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        via = item.get("via") or {}
        key = (item["list"], item["memorandum"], via.get("organisation"), via.get("role"), item.get("until"))
        groups[key].append(item)
    return list(groups.values())


def render_check(console: Console, result: dict[str, Any]) -> None:
    """A check answer."""
    head = f"{result['subject']} — {escape(result['action_name'])} ({result['action']}) — on {result['as_of']}"
    if result["allowed"]:
        console.print(f"[bold green]ALLOWED[/]: {head}", highlight=False)
        if not result["known"]:
            console.print("  nothing is recorded about this subject", highlight=False)
    else:
        console.print(f"[bold red]NOT ALLOWED[/]: {head}", highlight=False)
    for group in _grouped(result["restrictions"]):
        for line in explanation(group):
            console.print("  " + line, highlight=False)
    if result.get("lifted"):
        console.print("  [yellow]lifted by an exemption:[/]", highlight=False)
        for group in _grouped(result["lifted"]):
            for line in explanation(group):
                console.print("    " + line, highlight=False)
    if result["incentives"]:
        console.print("  [green]incentives granted:[/]", highlight=False)
        for group in _grouped(result["incentives"]):
            for line in explanation(group):
                console.print("    " + line, highlight=False)
    console.print(
        f"  decision {result['decision_id']} "
        f"(catalog {result['catalog_version'][:19]}…, data {result['data_version']})",
        highlight=False,
    )


def render_show(console: Console, result: dict[str, Any]) -> None:
    """A subject's file."""
    name = f" {escape(result['name'])}" if result.get("name") else ""
    console.rule(f"{result['subject']}{name} ({result['kind']}) on {result['as_of']}")
    if not result["known"]:
        console.print("nothing is recorded about this subject")
        return
    if result["lists"]:
        table = Table("list", "since", "until", "published", "records", title="lists")
        for m in result["lists"]:
            until = m["until"] or (m.get("until_rule") or "")
            recs = ", ".join(f"{r['record_id']} ({r['document_no'] or ''})" for r in m["records"])
            table.add_row(m["list_name"] or m["list"], m["since"] or "", until, "yes" if m["published"] else "no", recs)
        console.print(table)
    else:
        console.print("on no list")
    for title, items in (("restrictions", result["restrictions"]), ("incentives", result["incentives"])):
        if items:
            console.print(f"[bold]{title}[/]")
            for group in _grouped(items):
                for line in explanation(group, titles=False):
                    console.print("  " + line, highlight=False)
    if result["score"] is not None:
        console.print(f"score {result['score']:g}, grade {result['grade']} (consent {result['consent']['record_id']})")
    else:
        console.print("no score (no consent to scoring in force)")
    table = Table("record", "type", "status", "decided", "document", "points", "published until", title="records")
    for r in result["records"]:
        points = "" if r["points"] is None else f"{r['points']:g}"
        table.add_row(
            r["record_id"],
            r["type"],
            r["status"],
            r["decided_on"] or "",
            r["document_no"] or "",
            points,
            r["published_until"] or "",
        )
    if result["records"]:
        console.print(table)
    else:
        console.print("no records of this subject's own")
