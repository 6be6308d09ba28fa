"""``/api/v1/ocds``: the open-data OCDS 1.1 endpoints (release list, records, yearly bulk files).

The mapping is :mod:`marketplace.opendata.ocds` (documented field by field there and on ``/open-data``);
these views parse, call it and answer. Bad parameters get the API's 400 envelope; an ocid of another
publisher, or of a scenario that is not public (and was not withdrawn after publication: that one's process
ends ``cancelled``), is 404; so is a year with nothing published.
"""

from __future__ import annotations

import json

from flask import Response, request, url_for
from flask_babel import gettext as _

from marketplace import clock
from marketplace.api import bp
from marketplace.cors import open_to_other_sites
from marketplace.downloads import content_disposition
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.opendata import bulk, ocds
from marketplace.opendata.query import parse_release_query
from marketplace.pagecache import cached_page

#: Bulk files and packages may be cached this long by browsers and proxies.
CACHE_SECONDS = 300


def _json(data: object) -> Response:
    """JSON in the mapping's field order (OCDS readers expect ``ocid``, ``id``, ``date`` … first)."""
    response = Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response


@bp.route("/ocds/releases")
@open_to_other_sites
@cached_page
def ocds_releases():
    """A release package of every public process's releases, newest first, ``since``/``until`` a time."""
    query = parse_release_query(request.args)
    now = clock.now()
    page = ocds.release_page(db.session, now, query.since, query.until, query.page, query.per_page)
    links = {}
    if page.has_next:
        links["next"] = url_for("api.ocds_releases", _external=True, **query.args(page=query.page + 1))
    if query.page > 1:
        links["prev"] = url_for("api.ocds_releases", _external=True, **query.args(page=query.page - 1))
    uri = url_for("api.ocds_releases", _external=True, **query.args())
    return _json(ocds.release_package(page.releases, uri, now, links))


@bp.route("/ocds/records/<ocid>")
@open_to_other_sites
@cached_page
def ocds_record(ocid: str):
    """The record package of one process: its releases (oldest first) and the compiled release."""
    scenario_id = ocds.scenario_id_of(ocid)
    process = ocds.process_for(db.session, scenario_id) if scenario_id is not None else None
    if process is None:
        raise NotFound(_("找不到该开放合同编号（ocid）：%(ocid)s。", ocid=ocid[:80]))
    uri = url_for("api.ocds_record", ocid=ocid, _external=True)
    return _json(ocds.record_package(process, uri, clock.now()))


@bp.route("/ocds/bulk")
@open_to_other_sites
def ocds_bulk_index():
    """The yearly bulk files that exist, newest year first."""
    return _json({"items": [{
        "year": year, "processes": count,
        "jsonl_gz": url_for("api.ocds_bulk_jsonl", year=year, _external=True),
        "csv": url_for("api.ocds_bulk_csv", year=year, _external=True),
    } for year, count in bulk.years(db.session)]})


def _require_year(year: int) -> None:
    if year not in {y for y, _count in bulk.years(db.session)}:
        raise NotFound(_("%(year)d 年没有发布的应用场景。", year=year))


def _download(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, mimetype=mimetype,
                        headers={"Content-Disposition": content_disposition(filename)})
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response


@bp.route("/ocds/bulk/<int:year>.jsonl.gz")
@open_to_other_sites
def ocds_bulk_jsonl(year: int):
    """Every compiled release of the processes published in ``year``, one per line, gzip-compressed."""
    _require_year(year)
    return _download(bulk.jsonl_gz(db.session, year, clock.now()), "application/gzip",
                     f"ocds-{year}.jsonl.gz")


@bp.route("/ocds/bulk/<int:year>.csv")
@open_to_other_sites
def ocds_bulk_csv(year: int):
    """The main fields of each compiled release of ``year``, one row per process (UTF-8 with BOM)."""
    _require_year(year)
    return _download(bulk.csv_file(db.session, year, clock.now()), "text/csv", f"ocds-{year}.csv")  # ; charset=utf-8
