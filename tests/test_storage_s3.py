"""Attachments in an S3-compatible store (``STORAGE=s3``), against moto's server mode over real HTTP."""

from __future__ import annotations

import io
import socket

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, make_test_app

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BUCKET = "marketplace-test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free 127.0.0.1 port, with the test bucket."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    mp = pytest.MonkeyPatch()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        mp.setenv(name, value)
    import boto3

    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()
    mp.undo()


@pytest.fixture
def s3_app(app, database_url, tmp_path, s3_endpoint):
    return make_test_app(database_url, tmp_path / "s3", STORAGE="s3", S3_BUCKET=BUCKET, S3_ENDPOINT_URL=s3_endpoint)


def _objects(endpoint: str) -> set[str]:
    import boto3

    listing = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET)
    return {item["Key"] for item in listing.get("Contents", [])}


def test_upload_download_and_delete_on_commit(s3_app, s3_endpoint, tmp_path, make_scenario, make_user):
    from marketplace import attachments
    from marketplace.extensions import db
    from marketplace.models import Attachment, AttachmentPurpose
    from marketplace.storage import S3Storage, get_storage

    with s3_app.test_request_context():
        assert isinstance(get_storage(), S3Storage)
        upload = io.BytesIO(PDF)
        from werkzeug.datastructures import FileStorage

        stored = attachments.store(db.session, FileStorage(upload, filename="方案.pdf"), AttachmentPurpose.APPLICATION_DOCUMENT,
                                   None)
        db.session.commit()
        attachment_id, stored_name = stored.id, stored.stored_name
    assert f"attachments/{stored_name}" in _objects(s3_endpoint)
    assert not (tmp_path / "s3" / "uploads" / stored_name).exists()  # nothing on this machine's disk

    # Download through /files/<id>: the purpose's access rule still decides (public scenario documents).
    scenario = make_scenario()
    from marketplace.models import ScenarioDocument

    row = db.session.get(Attachment, attachment_id)
    row.purpose = AttachmentPurpose.SCENARIO_DOCUMENT
    db.session.add(ScenarioDocument(scenario=scenario, attachment=row, public=True))
    db.session.commit()
    response = s3_app.test_client().get(f"/files/{attachment_id}")
    assert response.status_code == 200
    assert response.get_data() == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Length"] == str(len(PDF))
    assert "inline" in response.headers["Content-Disposition"]
    response.close()

    # A refused user still gets 404, whatever the storage.
    missing = s3_app.test_client().get("/files/2000000000")
    assert missing.status_code == 404

    # Deleting on commit: nothing leaves the bucket when the transaction rolls back, the object goes on commit.
    with s3_app.app_context():
        attachments.watch_session(db.session)
        attachments.remove_on_commit(db.session, [stored_name])
        db.session.rollback()
        assert f"attachments/{stored_name}" in _objects(s3_endpoint)
        attachments.remove_on_commit(db.session, [stored_name])
        db.session.commit()
    assert f"attachments/{stored_name}" not in _objects(s3_endpoint)


def test_application_document_round_trip_on_s3(s3_app, s3_endpoint, make_scenario, make_user):
    """A firm submits with a document through the real form, downloads it, removes it: the bucket follows."""
    from marketplace.extensions import db
    from marketplace.models import Application
    from tests.test_applications import form_data, pdf

    scenario = make_scenario()
    firm = make_user("enterprise")
    client = s3_app.test_client()
    assert client.post("/auth/login", data={"email": firm.email, "password": PASSWORD}).status_code == 302
    before = _objects(s3_endpoint)
    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(documents=pdf()),
                           content_type="multipart/form-data")
    assert response.status_code == 302
    application = db.session.execute(sa.select(Application)).scalar_one()
    document = application.documents[0]
    key = f"attachments/{document.attachment.stored_name}"
    assert _objects(s3_endpoint) - before == {key}
    download = client.get(f"/files/{document.attachment_id}")
    assert download.status_code == 200 and download.get_data() == PDF
    download.close()
    assert s3_app.test_client().get(f"/files/{document.attachment_id}").status_code == 404  # anonymous: refused

    response = client.post(f"/scenarios/{scenario.id}/apply", data=form_data(remove_documents=str(document.id)))
    assert response.status_code == 302
    assert key not in _objects(s3_endpoint)
