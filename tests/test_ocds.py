"""OCDS open data: every release and record package validates against the official OCDS 1.1.5 schema,
open codelists hold their codes, applicants stay out of every release before the deadline, application
content never appears, and the endpoints page, filter and refuse bad input."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import timedelta

import pytest
from flask import current_app

from marketplace import clock
from marketplace.extensions import db
from marketplace.models import Application, ApplicationStatus, Scenario
from marketplace.opendata import bulk, ocds
from tests import ocds_schema
from tests.ocds_factory import CANCEL_REASON, STATES

#: Text the factory puts only into application content, notes and reports (never public).
SECRET = "机密"


def process(scenario_id: int):
    found = ocds.process_for(db.session, scenario_id)
    assert found is not None
    return found


def releases(scenario_id: int, now=None):
    """The mapping writes absolute URLs of this site, as inside the API's requests."""
    with current_app.test_request_context("/"):
        return ocds.releases_of(process(scenario_id), now or clock.now())


def compiled_of(scenario_id: int, now=None):
    with current_app.test_request_context("/"):
        return ocds.compiled_release(process(scenario_id), now or clock.now())


def assert_valid_release(release: dict) -> None:
    assert ocds_schema.release_errors(release) == []
    assert ocds_schema.codelist_errors(release, ocds.CODELIST_ADDITIONS) == []


def applicant_names(scenario_id: int) -> set[str]:
    rows = db.session.query(Application).filter(Application.scenario_id == scenario_id).all()
    return {a.organisation.name for a in rows}


def api_json(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:1000]
    return response.get_json()


# ------------------------------------------------------------------ the mapping, state by state


@pytest.mark.parametrize("state", STATES)
def test_every_release_and_record_of_every_state_validates(client, make_process, state):
    scenario = make_process(state)
    ocds_schema.require_schema()
    found = releases(scenario.id)
    assert found, state
    for release in found:
        assert_valid_release(release)
    assert len({r["id"] for r in found}) == len(found)
    assert [r["date"] for r in found] == sorted(r["date"] for r in found)

    package = api_json(client, f"/api/v1/ocds/records/{ocds.ocid_for(scenario.id)}")
    assert ocds_schema.record_package_errors(package) == []
    record = package["records"][0]
    assert record["ocid"] == ocds.ocid_for(scenario.id)
    assert record["compiledRelease"]["tag"] == ["compiled"]
    assert_valid_release(record["compiledRelease"])
    assert SECRET not in json.dumps(package, ensure_ascii=False)


@pytest.mark.parametrize("state", STATES)
def test_compiled_release_is_the_merge_of_the_releases(client, make_process, state):
    """The compiled release equals what the OCDS reference merge (ocdsmerge, official merge rules) makes."""
    ocdsmerge = pytest.importorskip("ocdsmerge")
    scenario = make_process(state)
    schema = ocds_schema.release_schema()
    merger = ocdsmerge.Merger(schema=schema)
    found = releases(scenario.id)
    merged = merger.create_compiled_release(found)
    ours = compiled_of(scenario.id)
    for key in ("id", "tag", "date"):
        merged.pop(key, None)
        ours.pop(key, None)
    assert merged == ours


def test_published_scenario_is_a_tender_without_applicants(make_process):
    scenario = make_process("published")
    found = releases(scenario.id)
    assert [r["tag"] for r in found] == [["tender"], ["tenderUpdate"]]  # publication, one answered question
    tender = found[-1]["tender"]
    assert tender["status"] == "active"
    assert tender["value"] == {"amount": 3_500_000, "currency": "CNY"}
    assert tender["tenderPeriod"]["endDate"] == clock.iso_local(scenario.deadline)
    assert tender["tenderPeriod"]["endDate"].endswith("+08:00")
    assert tender["items"][0]["classification"] == {"scheme": ocds.DOMAIN_SCHEME, "id": "ai",
                                                     "description": "人工智能"}
    assert "建设边界：" in tender["description"] and "验收标准：" in tender["description"]
    [buyer] = found[-1]["parties"]
    assert buyer["roles"] == ["buyer", "procuringEntity"]
    assert buyer["identifier"] == {"scheme": "CN-USCC", "id": scenario.owner.uscc, "legalName": scenario.owner.name}
    assert found[-1]["buyer"] == tender["procuringEntity"] == {"id": buyer["id"], "name": scenario.owner.name}
    assert "numberOfTenderers" not in tender and "tenderers" not in tender
    clarifications = [d for d in tender["documents"] if d["documentType"] == "clarifications"]
    assert len(clarifications) == 1 and "需要，接口文档见附件。" in clarifications[0]["description"]
    assert "提问企业" not in json.dumps(found, ensure_ascii=False)  # the asking firm is never named


def test_no_release_before_the_deadline_names_an_applicant(make_process, monkeypatch):
    """Sealed bids: before the deadline no release (not its parties, tenderers, counts or any text) names or
    counts an applicant; after it the deadline release does, and releases dated before it still do not."""
    scenario = make_process("published")
    names = applicant_names(scenario.id)
    assert len(names) == 4
    deadline = scenario.deadline
    for moment in (clock.now(), deadline - timedelta(seconds=1)):
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        for release in releases(scenario.id) + [compiled_of(scenario.id, moment)]:
            text = json.dumps(release, ensure_ascii=False)
            assert not any(name in text for name in names), release["id"]
            assert "numberOfTenderers" not in release["tender"]
            assert all(p["roles"] == ["buyer", "procuringEntity"] for p in release["parties"])
    after = deadline + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: after)
    found = releases(scenario.id, after)
    closed = found[-1]
    assert closed["id"].endswith("-closed") and closed["date"] == clock.iso_local(deadline)
    assert closed["tender"]["numberOfTenderers"] == 2  # submitted ones: never the draft or the withdrawn one
    named = {t["name"] for t in closed["tender"]["tenderers"]}
    assert len(named) == 2 and named < names
    assert {p["name"] for p in closed["parties"] if "tenderer" in p["roles"]} == named
    for release in found[:-1]:
        assert not any(name in json.dumps(release, ensure_ascii=False) for name in names)
    assert SECRET not in json.dumps(found, ensure_ascii=False)


def test_a_scenario_back_in_review_is_not_published_at_all(make_process):
    scenario = make_process("published")
    scenario.status = "submitted"
    db.session.commit()
    assert ocds.process_for(db.session, scenario.id) is None
    assert scenario.id not in {e.scenario_id for e in ocds.all_events(db.session, clock.now())}


def test_open_call_award(make_process):
    scenario = make_process("awarded")
    found = releases(scenario.id)
    assert [r["tag"][0] for r in found] == ["tender", "tenderUpdate", "tenderUpdate", "award"]
    award_release = found[-1]
    [award] = award_release["awards"]
    winner = db.session.query(Application).filter_by(scenario_id=scenario.id, status=ApplicationStatus.SELECTED).one()
    assert award["status"] == "active"
    assert award["value"] == {"amount": 2_800_000, "currency": "CNY"}
    assert award["suppliers"] == [{"id": ocds.party_id(winner.organisation), "name": winner.organisation.name}]
    assert award_release["tender"]["status"] == "complete"
    assert award_release["tender"]["numberOfTenderers"] == 2
    roles = {p["name"]: p["roles"] for p in award_release["parties"]}
    assert roles[winner.organisation.name] == ["tenderer", "supplier"]
    assert award_release["tender"]["awardPeriod"]["endDate"] == award["date"]
    assert "320" not in json.dumps(award_release)  # the losing bid's price is never published


def test_award_in_public_notice_is_pending_until_final(make_process, make_user):
    """公示: the award release says ``pending``; an ``awardUpdate`` makes it ``active`` once the notice has
    ended with no objection undecided (derived from the clock, like the deadline)."""
    from marketplace.models import Objection, ObjectionDecision, PublicityNotice

    scenario = make_process("awarded")
    decided = max(a.decided_at for a in db.session.query(Application).filter_by(scenario_id=scenario.id)
                  if a.decided_at)
    notice = PublicityNotice(scenario_id=scenario.id, starts_at=decided, ends_at=decided + timedelta(days=5))
    db.session.add(notice)
    db.session.commit()
    during = decided + timedelta(days=1)
    found = releases(scenario.id, during)
    assert found[-1]["tag"] == ["award"] and {a["status"] for a in found[-1]["awards"]} == {"pending"}
    for release in found:
        assert_valid_release(release)

    # An objection undecided when the notice ends keeps the award pending.
    objector = make_user("enterprise")
    objection = Objection(notice_id=notice.id, objector_id=objector.id, grounds="评分过程存在明显错误，请复核。" * 2)
    db.session.add(objection)
    db.session.commit()
    after = decided + timedelta(days=6)
    assert {a["status"] for a in compiled_of(scenario.id, after)["awards"]} == {"pending"}

    objection.decision, objection.decided_at = ObjectionDecision.DISMISSED, decided + timedelta(days=7)
    db.session.commit()
    later = decided + timedelta(days=8)
    found = releases(scenario.id, later)
    final = found[-1]
    assert final["tag"] == ["awardUpdate"] and final["date"] == clock.iso_local(decided + timedelta(days=7))
    assert {a["status"] for a in final["awards"]} == {"active"}
    assert {a["status"] for a in found[-2]["awards"]} == {"pending"}
    assert_valid_release(final)


def test_a_withdrawn_notice_keeps_its_award_as_cancelled(make_process):
    """An upheld objection withdraws the 公示: the award released at the decision stays in the process and an
    ``awardUpdate`` release cancels it (with the public reason); the tender is evaluated again (active)."""
    scenario = make_process("withdrawn")
    found = releases(scenario.id)
    assert [r["tag"][0] for r in found] == ["tender", "tenderUpdate", "tenderUpdate", "award", "awardUpdate"]
    proposed, withdrawn = found[-2:]
    assert proposed["id"].endswith("-award") and withdrawn["id"].endswith("-withdrawn")
    [award] = proposed["awards"]
    assert award["status"] == "pending" and award["value"] == {"amount": 2_800_000, "currency": "CNY"}
    [cancelled] = withdrawn["awards"]
    assert cancelled["id"] == award["id"] and cancelled["status"] == "cancelled"
    assert "计分错误" in cancelled["description"]
    assert withdrawn["tender"]["status"] == "active" and "endDate" not in withdrawn["tender"]["awardPeriod"]
    compiled = compiled_of(scenario.id)
    assert [a["status"] for a in compiled["awards"]] == ["cancelled"]
    row = bulk.flatten(compiled)
    assert row["award_status"] is None and row["award_value_cny"] is None


def test_an_award_after_a_withdrawn_one_has_its_own_ids(make_process):
    scenario = make_process("reawarded")
    found = releases(scenario.id)
    keys = [r["id"].removeprefix(ocds.ocid_for(scenario.id) + "-") for r in found]
    notices = sorted(n.id for n in process(scenario.id).facts.withdrawn) + [process(scenario.id).facts.notice_id]
    assert keys[-4:] == ["award", f"award-{notices[0]}-withdrawn", f"award-{notices[1]}", "award-final"]
    compiled = compiled_of(scenario.id)
    winner = db.session.query(Application).filter_by(scenario_id=scenario.id, status=ApplicationStatus.SELECTED).one()
    assert {a["id"]: a["status"] for a in compiled["awards"]} == {
        f"award-{winner.id}": "cancelled", f"award-{winner.id}-{notices[1]}": "active"}
    assert compiled["tender"]["status"] == "complete"
    assert bulk.flatten(compiled)["award_status"] == "active"


def test_horse_race_with_two_final_winners_has_two_awards(make_process):
    scenario = make_process("race_awarded")
    compiled = compiled_of(scenario.id)
    assert len(compiled["awards"]) == 2
    assert {a["value"]["amount"] for a in compiled["awards"]} == {1_500_000, 1_700_000}
    assert compiled["tender"]["procurementMethodDetails"].startswith("赛马（最多 3 支团队）")
    assert compiled["tender"]["numberOfTenderers"] == 3
    suppliers = [p for p in compiled["parties"] if "supplier" in p["roles"]]
    assert len(suppliers) == 2


def test_unsuccessful_tender(make_process):
    scenario = make_process("unsuccessful")
    found = releases(scenario.id)
    last = found[-1]
    assert last["id"].endswith("-unsuccessful") and last["tag"] == ["tenderUpdate"]
    assert last["tender"]["status"] == "unsuccessful"
    assert "awards" not in last
    notice = [d for d in last["tender"]["documents"] if d["id"] == "unsuccessful-notice"]
    assert notice and "流榜" in notice[0]["title"]
    assert all(r["tender"]["status"] == "active" for r in found[:-1])


def _withdrawn_at(scenario) -> str:
    from marketplace.scenarios import services

    return clock.iso_local(services.withdrawal_of(db.session, scenario).at)


def test_a_scenario_withdrawn_before_the_deadline_ends_cancelled_and_never_names_a_tenderer(
        client, make_process, monkeypatch):
    """Withdrawn after publication: the process stays, its releases up to the withdrawal unchanged, and a last
    ``cancelled`` release gives the public reason; sealed before the deadline, sealed for good."""
    scenario = make_process("cancelled")
    names = applicant_names(scenario.id)
    found = releases(scenario.id)
    assert [r["id"].rsplit("-", 1)[1] for r in found] == ["tender", found[1]["id"].rsplit("-", 1)[1], "cancelled"]
    last = found[-1]
    assert last["tag"] == ["tenderUpdate"] and last["date"] == _withdrawn_at(scenario)
    assert last["tender"]["status"] == "cancelled"
    [notice] = [d for d in last["tender"]["documents"] if d["documentType"] == "cancellationDetails"]
    assert notice["title"] == "场景撤回公告" and CANCEL_REASON in notice["description"]
    assert notice["datePublished"] == last["date"] and notice["url"].endswith(f"/scenarios/{scenario.id}")
    for release in found[:-1]:
        assert release["tender"]["status"] == "active"
        assert "cancellationDetails" not in json.dumps(release)
    assert compiled_of(scenario.id)["tender"]["status"] == "cancelled"
    # Even long after the deadline it never becomes a closed tender with named or counted tenderers.
    later = scenario.deadline + timedelta(days=30)
    monkeypatch.setattr(clock, "now", lambda: later)
    for release in releases(scenario.id, later) + [compiled_of(scenario.id, later)]:
        assert not release["id"].endswith("-closed")
        text = json.dumps(release, ensure_ascii=False)
        assert not any(name in text for name in names), release["id"]
        assert "numberOfTenderers" not in release["tender"] and "tenderers" not in release["tender"]
        assert "awardPeriod" not in release["tender"]
        assert all(p["roles"] == ["buyer", "procuringEntity"] for p in release["parties"])
        assert_valid_release(release)
    monkeypatch.undo()
    # Everywhere open data is: the record, the release list, the bulk files.
    ocid = ocds.ocid_for(scenario.id)
    record = api_json(client, f"/api/v1/ocds/records/{ocid}")["records"][0]
    assert record["releases"][-1]["id"] == f"{ocid}-cancelled"
    assert record["compiledRelease"]["tender"]["status"] == "cancelled"
    listed = api_json(client, "/api/v1/ocds/releases")["releases"]
    assert listed[0]["id"] == f"{ocid}-cancelled"
    year = clock.to_local(scenario.published_at).year
    assert {"year": year, "processes": 1} == {k: v for k, v in api_json(client, "/api/v1/ocds/bulk")["items"][0].items()
                                              if k in ("year", "processes")}
    lines = gzip.decompress(client.get(f"/api/v1/ocds/bulk/{year}.jsonl.gz").data).decode("utf-8").splitlines()
    assert [json.loads(line)["tender"]["status"] for line in lines] == ["cancelled"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/ocds/bulk/{year}.csv").data.decode("utf-8-sig"))))
    assert [(r["tender_status"], r["number_of_tenderers"]) for r in rows] == [("cancelled", "")]


def test_a_scenario_withdrawn_after_the_deadline_keeps_its_tenderers(make_process):
    """Withdrawn once sealing had ended: the ``closed`` release (tenderers named) had been public and stays."""
    scenario = make_process("cancelled_closed")
    found = releases(scenario.id)
    assert [r["id"].rsplit("-", 1)[1] for r in found][-2:] == ["closed", "cancelled"]
    closed, last = found[-2:]
    assert closed["tender"]["status"] == "active" and closed["tender"]["numberOfTenderers"] == 2
    assert last["tender"]["status"] == "cancelled" and last["tender"]["numberOfTenderers"] == 2
    assert last["tender"]["awardPeriod"]["endDate"] == last["date"] == _withdrawn_at(scenario)
    assert SECRET not in json.dumps(found, ensure_ascii=False)


def test_a_scenario_withdrawn_before_publication_has_no_open_data(client, make_scenario, make_user):
    from marketplace.scenarios import services

    for status in ("draft", "submitted", "returned"):
        scenario = make_scenario(status, title="从未发布的场景")
        services.transition(db.session, make_user("owner", organisation=scenario.owner), scenario, "withdraw",
                            reason="内部调整")
        db.session.commit()
        assert scenario.published_at is None
        assert ocds.process_for(db.session, scenario.id) is None
        assert scenario.id not in {e.scenario_id for e in ocds.all_events(db.session, clock.now())}
        api_json(client, f"/api/v1/ocds/records/{ocds.ocid_for(scenario.id)}", 404)
        assert client.get(f"/scenarios/{scenario.id}").status_code == 404
    assert api_json(client, "/api/v1/ocds/bulk")["items"] == []
    assert api_json(client, "/api/v1/ocds/releases")["releases"] == []


def test_amendment_after_a_substantive_change(make_process):
    scenario = make_process("amended")
    found = releases(scenario.id)
    amendment = next(r for r in found if r["tag"] == ["tenderAmendment"])
    assert amendment["id"] == f"{ocds.ocid_for(scenario.id)}-amendment-1"
    [entry] = amendment["tender"]["amendments"]
    assert "揭榜截止时间" in entry["description"] and "预算" in entry["description"]
    assert entry["releaseID"] == amendment["id"]
    assert "amendments" not in found[0]["tender"]


def test_delivery_contract_and_milestones(make_process):
    scenario = make_process("in_delivery")
    found = releases(scenario.id)
    tags = [r["tag"] for r in found]
    assert ["contract"] in tags and ["implementation"] in tags and ["implementationUpdate"] in tags
    [contract] = found[-1]["contracts"]
    assert contract["status"] == "active"
    assert contract["value"] == {"amount": 2_755_000, "currency": "CNY"}
    assert contract["dateSigned"].endswith("T00:00:00+08:00")
    assert contract["awardID"] == found[-1]["awards"][0]["id"]
    assert contract["period"]["endDate"] > contract["period"]["startDate"]
    statuses = [m["status"] for m in contract["implementation"]["milestones"]]
    assert statuses == ["met", "notMet", "scheduled"]
    # Milestones are "scheduled" in the contract release, before any outcome was recorded.
    contract_release = next(r for r in found if r["tag"] == ["contract"])
    assert [m["status"] for m in contract_release["contracts"][0]["implementation"]["milestones"]] == ["scheduled"] * 3
    assert SECRET not in json.dumps(found, ensure_ascii=False)


def test_acceptance_is_the_last_milestone_and_terminates_the_contract(make_process):
    scenario = make_process("accepted")
    found = releases(scenario.id)
    last = found[-1]
    assert last["id"].endswith("-acceptance")
    assert last["tag"] == ["implementationUpdate", "contractTermination"]
    [contract] = last["contracts"]
    assert contract["status"] == "terminated"
    final = contract["implementation"]["milestones"][-1]
    assert final["id"] == "acceptance" and final["status"] == "met" and final["type"] == "assessment"
    earlier = next(r for r in found if r["tag"] == ["contract"])
    assert earlier["contracts"][0]["status"] == "active"


def test_failed_acceptance_keeps_the_contract_active(make_process):
    scenario = make_process("acceptance_failed")
    [contract] = compiled_of(scenario.id)["contracts"]
    assert contract["status"] == "active"
    assert contract["implementation"]["milestones"][-1]["status"] == "notMet"


def test_ocid_prefix_setting(app, make_process):
    scenario = make_process("published")
    assert ocds.ocid_for(scenario.id) == f"ocds-placeholder-{scenario.id}"
    assert ocds.scenario_id_of(f"ocds-placeholder-{scenario.id}") == scenario.id
    for other in ("ocds-213czf-1", f"ocds-placeholder-0{scenario.id}", "ocds-placeholder-", "ocds-placeholder-1x",
                  "ocds-placeholder-99999999999", "ocds-placeholder-١"):
        assert ocds.scenario_id_of(other) is None
    app.config["OCDS_PREFIX"] = "213czf"
    try:
        assert releases(scenario.id)[0]["ocid"] == f"ocds-213czf-{scenario.id}"
        assert not ocds.is_placeholder_prefix()
    finally:
        app.config["OCDS_PREFIX"] = "placeholder"


def test_prefix_from_the_environment():
    from marketplace.config import load_config

    assert load_config({"OCDS_PREFIX": "ocds-213czf", "SECRET_KEY": "x"})["OCDS_PREFIX"] == "213czf"
    assert load_config({"OCDS_PREFIX": "213czf", "SECRET_KEY": "x"})["OCDS_PREFIX"] == "213czf"
    assert load_config({"SECRET_KEY": "x"})["OCDS_PREFIX"] == "placeholder"


# ------------------------------------------------------------------ endpoints


@pytest.fixture
def three_processes(make_process):
    return [make_process(s) for s in ("published", "awarded", "accepted")]


def test_release_list_is_a_valid_package_newest_first_with_next_links(client, three_processes):
    ocds_schema.require_schema()
    package = api_json(client, "/api/v1/ocds/releases")
    assert ocds_schema.release_package_errors(package) == []
    dates = [r["date"] for r in package["releases"]]
    assert dates == sorted(dates, reverse=True)
    assert package["publishedDate"] == dates[0]
    assert package["publicationPolicy"].endswith("/open-data")
    total = len(package["releases"])
    assert {r["ocid"] for r in package["releases"]} == {ocds.ocid_for(s.id) for s in three_processes}
    assert "links" not in package

    seen, url = [], "/api/v1/ocds/releases?per_page=4"
    while url:
        page = api_json(client, url)
        assert ocds_schema.release_package_errors(page) == []
        seen += [r["id"] for r in page["releases"]]
        url = page.get("links", {}).get("next")
    assert seen == [r["id"] for r in package["releases"]] and len(seen) == total


def test_release_list_window(client, three_processes):
    everything = api_json(client, "/api/v1/ocds/releases")["releases"]
    middle = sorted(r["date"] for r in everything)[len(everything) // 2]
    newer = api_json(client, f"/api/v1/ocds/releases?since={middle.replace('+', '%2B')}")["releases"]
    assert newer and all(r["date"] >= middle for r in newer)
    older = api_json(client, f"/api/v1/ocds/releases?until={middle.replace('+', '%2B')}")["releases"]
    assert older and all(r["date"] <= middle for r in older)
    assert len({r["id"] for r in newer} | {r["id"] for r in older}) == len(everything)
    day = middle[:10]
    assert api_json(client, f"/api/v1/ocds/releases?since={day}&until={day}")["releases"]
    empty = api_json(client, "/api/v1/ocds/releases?since=2099-01-01")
    assert empty["releases"] == []
    assert api_json(client, f"/api/v1/ocds/releases?since={day}T23:00:00&until={day}T01:00:00")["releases"] == []


@pytest.mark.parametrize("query, field", [
    ("since=yesterday", "since"), ("until=2025-13-01", "until"),
    ("page=0", "page"), ("per_page=101", "per_page"), ("page=x", "page"), ("since=0001-01-01", "since"),
])
def test_release_list_bad_parameters(client, query, field):
    body = api_json(client, f"/api/v1/ocds/releases?{query}", 400)
    assert body["error"]["status"] == 400 and field in body["error"]["fields"]


def test_record_endpoint_refuses_what_is_not_public(client, make_process, make_scenario):
    draft = make_scenario("draft")
    for ocid in (ocds.ocid_for(draft.id), "ocds-213czf-1", ocds.ocid_for(999999), "nonsense"):
        body = api_json(client, f"/api/v1/ocds/records/{ocid}", 404)
        assert body["error"]["status"] == 404


def test_bulk_files(client, three_processes):
    ocds_schema.require_schema()
    year = clock.to_local(min(s.published_at for s in three_processes)).year
    index = api_json(client, "/api/v1/ocds/bulk")
    assert sum(i["processes"] for i in index["items"]) == 3
    for item in index["items"]:
        response = client.get(f"/api/v1/ocds/bulk/{item['year']}.jsonl.gz")
        assert response.status_code == 200 and response.mimetype == "application/gzip"
        lines = gzip.decompress(response.data).decode("utf-8").splitlines()
        assert len(lines) == item["processes"]
        for line in lines:
            release = json.loads(line)
            assert release["tag"] == ["compiled"]
            assert_valid_release(release)
    response = client.get(f"/api/v1/ocds/bulk/{year}.csv")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 3 and list(rows[0]) == list(bulk.CSV_COLUMNS)
    accepted = next(r for r in rows if r["contract_status"] == "terminated")
    assert accepted["acceptance_result"] == "passed" and accepted["award_status"] == "active"
    assert accepted["contract_value_cny"] == "2755000" and accepted["milestones"] == "3"
    assert accepted["url"].startswith("http")
    for missing in (1999, 2101, year - 30):
        assert client.get(f"/api/v1/ocds/bulk/{missing}.csv").status_code == 404
        assert client.get(f"/api/v1/ocds/bulk/{missing}.jsonl.gz").status_code == 404


def test_csv_cells_never_start_a_formula(client, make_process):
    scenario = make_process("awarded", title="=HYPERLINK(\"http://evil\")")
    year = clock.to_local(scenario.published_at).year
    rows = list(csv.reader(io.StringIO(client.get(f"/api/v1/ocds/bulk/{year}.csv").data.decode("utf-8-sig"))))
    assert rows[1][1].startswith("'=")


def test_open_data_page(client, three_processes):
    response = client.get("/open-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "开放数据" in page and "ocds-placeholder" in page and 'id="ocid-placeholder"' in page
    year = clock.to_local(three_processes[0].published_at).year
    assert f"/api/v1/ocds/bulk/{year}.jsonl.gz" in page and f"/api/v1/ocds/bulk/{year}.csv" in page
    assert "creativecommons.org/licenses/by/4.0" in page
    assert "tenderAmendment" in page and "numberOfTenderers" in page
    assert 'href="/open-data"' in client.get("/").get_data(as_text=True)  # the footer link
    client.get("/lang/en")
    assert client.get("/open-data").status_code == 200


def test_releases_of_many_processes_use_a_bounded_number_of_queries(app, make_process):
    """The release list loads every process in bulk: the query count does not grow with the processes."""
    import sqlalchemy as sa

    for state in ("awarded", "accepted"):
        make_process(state)
    counted = []

    def count(*_args, **_kwargs):
        counted.append(1)

    def queries():
        counted.clear()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            with app.test_request_context("/"):
                ocds.release_page(db.session, clock.now(), None, None, 1, 100)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        db.session.expunge_all()
        return len(counted)

    few = queries()
    for state in ("awarded", "accepted", "in_delivery", "race_awarded"):
        make_process(state)
    assert queries() == few


def test_scenario_model_is_untouched_by_reading(make_process):
    """Reading open data writes nothing (GET never writes)."""
    scenario = make_process("accepted")
    before = db.session.get(Scenario, scenario.id).updated_at
    db.session.expire_all()
    releases(scenario.id)
    assert not db.session.dirty and not db.session.new
    assert db.session.get(Scenario, scenario.id).updated_at == before
