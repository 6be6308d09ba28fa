"""Yearly bulk downloads: every public process published in a year, as compiled OCDS releases.

* ``<year>.jsonl.gz``: one compiled release (JSON, UTF-8) per line, ordered by scenario id, gzip-compressed.
* ``<year>.csv``: the main fields of each compiled release flattened to one row (UTF-8 with a byte-order
  mark so that Excel reads the Chinese text; text cells never start a formula). Columns:
  :data:`CSV_COLUMNS`, described on ``/open-data``. Several awards or contracts (赛马) are joined with
  "；" and their amounts added up.

The year is the publication year in Beijing time. Files are built from the live database when asked for.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.exports import csv_bytes
from marketplace.models import Scenario
from marketplace.opendata import ocds
from marketplace.scenarios.policy import open_data_clause

#: Processes loaded at once while writing a file.
CHUNK = 200

CSV_COLUMNS = (
    "ocid", "title", "buyer_name", "buyer_uscc", "district", "domain", "procurement_method_details",
    "tender_status", "tender_value_cny", "tender_start", "tender_end", "number_of_tenderers",
    "award_status", "award_date", "suppliers", "supplier_usccs", "award_value_cny",
    "contract_value_cny", "contract_date_signed", "contract_status", "milestones", "milestones_met",
    "acceptance_date", "acceptance_result", "last_release_date", "url",
)


def _published(session: Session) -> list[tuple[int, datetime]]:
    return list(session.execute(sa.select(Scenario.id, Scenario.published_at)
                                .where(open_data_clause(), Scenario.published_at.is_not(None))
                                .order_by(Scenario.id)).all())


def years(session: Session) -> list[tuple[int, int]]:
    """(year, number of public processes published that year), newest year first."""
    counts = Counter(clock.to_local(published).year for _sid, published in _published(session))
    return sorted(counts.items(), reverse=True)


def scenario_ids(session: Session, year: int) -> list[int]:
    """Public scenarios first published in ``year`` (Beijing time), by id."""
    return [sid for sid, published in _published(session) if clock.to_local(published).year == year]


def compiled_releases(session: Session, year: int, now: datetime) -> Iterator[dict[str, Any]]:
    """The compiled release of every process of ``year``, loaded :data:`CHUNK` at a time."""
    ids = scenario_ids(session, year)
    for start in range(0, len(ids), CHUNK):
        for process in ocds.load_processes(session, ids[start:start + CHUNK]):
            yield ocds.compiled_release(process, now)


def jsonl_gz(session: Session, year: int, now: datetime) -> bytes:
    """The ``.jsonl.gz`` file of ``year``."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as out:
        for release in compiled_releases(session, year, now):
            out.write(json.dumps(release, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
    return buffer.getvalue()


def _amount_sum(values: list[dict[str, Any]]) -> int | float | None:
    amounts = [v["value"]["amount"] for v in values if v.get("value")]
    return sum(amounts) if amounts else None


def flatten(release: dict[str, Any]) -> dict[str, Any]:
    """The CSV row of one compiled release."""
    tender = release.get("tender", {})
    parties = {p["id"]: p for p in release.get("parties", [])}
    buyer = parties.get(release.get("buyer", {}).get("id"), {})
    awards = [a for a in release.get("awards", []) if a["status"] != "cancelled"]  # withdrawn in 公示
    contracts = release.get("contracts", [])
    suppliers = [s for a in awards for s in a.get("suppliers", [])]
    milestones = [m for c in contracts for m in c.get("implementation", {}).get("milestones", [])
                  if m["id"] != "acceptance"]
    acceptance = next((m for c in contracts for m in c.get("implementation", {}).get("milestones", [])
                       if m["id"] == "acceptance"), None)
    classification = (tender.get("items") or [{}])[0].get("classification", {})
    notice = next((d for d in tender.get("documents", []) if d["id"] == "scenario-page"), {})
    return {
        "ocid": release["ocid"],
        "title": tender.get("title"),
        "buyer_name": buyer.get("name"),
        "buyer_uscc": buyer.get("identifier", {}).get("id"),
        "district": buyer.get("address", {}).get("locality"),
        "domain": classification.get("description"),
        "procurement_method_details": tender.get("procurementMethodDetails"),
        "tender_status": tender.get("status"),
        "tender_value_cny": tender.get("value", {}).get("amount"),
        "tender_start": tender.get("tenderPeriod", {}).get("startDate"),
        "tender_end": tender.get("tenderPeriod", {}).get("endDate"),
        "number_of_tenderers": tender.get("numberOfTenderers"),
        "award_status": "；".join(sorted({a["status"] for a in awards})) or None,
        "award_date": max((a["date"] for a in awards), default=None),
        "suppliers": "；".join(s["name"] for s in suppliers) or None,
        "supplier_usccs": "；".join(parties.get(s["id"], {}).get("identifier", {}).get("id", "")
                                   for s in suppliers) or None,
        "award_value_cny": _amount_sum(awards),
        "contract_value_cny": _amount_sum(contracts),
        "contract_date_signed": "；".join(c["dateSigned"] for c in contracts if c.get("dateSigned")) or None,
        "contract_status": "；".join(sorted({c["status"] for c in contracts})) or None,
        "milestones": len(milestones) if contracts else None,
        "milestones_met": sum(1 for m in milestones if m["status"] == "met") if contracts else None,
        "acceptance_date": acceptance.get("dateModified") if acceptance else None,
        "acceptance_result": ("passed" if acceptance["status"] == "met" else "failed") if acceptance else None,
        "last_release_date": release["date"],
        "url": notice.get("url"),
    }


def csv_file(session: Session, year: int, now: datetime) -> bytes:
    """The ``.csv`` file of ``year``."""
    rows = (flatten(release) for release in compiled_releases(session, year, now))
    return csv_bytes(CSV_COLUMNS, ([row[name] for name in CSV_COLUMNS] for row in rows))
