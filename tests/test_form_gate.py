"""Issue 15.3: after an error (an upload refused, a field invalid) the scenario form's "还需完善" box
judges the submitted values, not the stored (rolled-back) ones — and nothing is saved."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

from marketplace import clock
from marketplace.extensions import db
from marketplace.scenarios import services


def _gate_fields(html: str) -> set[str]:
    match = re.search(r'<div class="alert alert-info" id="gate".*?</div>', html, re.S)
    return set(re.findall(r'data-gate-field="(\w+)"', match.group(0))) if match else set()


def _filled(**extra) -> dict:
    deadline = clock.to_local(clock.now() + timedelta(days=15)).strftime("%Y-%m-%dT%H:%M")
    return {"title": "城市内涝监测预警系统", "description": "汛期主城区低洼路段积水频发，需要实时监测与预警。",
            "boundary": "包括：30个易涝点监测。不包括：排水管网改造。", "acceptance": "预警提前量不少于30分钟；准确率90%以上。",
            "domain": "iot_embedded", "theme": "smart_city", "contact_name": "陈静", "contact_phone": "023-61234567",
            "funding_source": "fiscal", "budget_wan": "280.5", "deadline": deadline, "delivery_months": "8",
            "mode": "open_call", **extra}


def test_gate_after_an_upload_error_reflects_the_submitted_values(client, make_scenario, make_user, login):
    scenario = make_scenario("draft", complete=False)
    login(make_user("owner", organisation=scenario.owner))
    stored = {p.field for p in services.gate_problems(scenario)}
    assert {"boundary", "acceptance", "funding_evidence"} <= stored
    response = client.post(f"/scenarios/{scenario.id}/edit", data=_filled(
        funding_evidence=(BytesIO(b"MZ\x90\x00not a document"), "证明.exe")), content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # Only what is still missing: the evidence (the upload was refused); the typed fields count as filled.
    assert _gate_fields(html) == {"funding_evidence"}
    assert "验收标准至少 10 个字" not in html.split('id="gate"')[1].split("</div>")[0]
    # Nothing was saved, and the stored scenario still lacks what it lacked.
    db.session.expire_all()
    assert not scenario.boundary
    assert {p.field for p in services.gate_problems(scenario)} == stored
    # A plain GET judges the stored values again.
    assert {"boundary", "acceptance"} <= _gate_fields(client.get(f"/scenarios/{scenario.id}/edit").get_data(
        as_text=True))


def test_gate_after_a_field_error_keeps_the_problems_of_the_submitted_form(client, make_scenario, make_user,
                                                                            login):
    scenario = make_scenario("draft", complete=False)
    login(make_user("owner", organisation=scenario.owner))
    response = client.post(f"/scenarios/{scenario.id}/edit", data=_filled(boundary="", budget_wan="-3"),
                           content_type="multipart/form-data")
    assert response.status_code in (200, 422)  # the form re-shown with its field errors (WTForms: 200)
    fields = _gate_fields(response.get_data(as_text=True))
    # Emptied and invalid values are problems; the filled ones are not.
    assert {"boundary", "budget_wan", "funding_evidence"} <= fields
    assert not {"acceptance", "description", "contact_name", "deadline"} & fields


def test_gate_preview_writes_nothing(make_scenario):
    scenario = make_scenario("draft", complete=False)
    problems = services.gate_preview(db.session, scenario, _filled(deadline=None, delivery_months=8))
    assert "boundary" not in {p.field for p in problems} and "deadline" in {p.field for p in problems}
    assert not db.session.new and not db.session.dirty
