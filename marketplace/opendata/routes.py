"""Pages: ``/open-data`` (开放数据: downloads, licence, update frequency, field meanings) and ``/api/docs``
(the API description rendered from the OpenAPI document, no external assets)."""

from __future__ import annotations

import json

from flask import current_app, render_template

from marketplace.extensions import db
from marketplace.opendata import bp, bulk, ocds


@bp.route("/open-data")
def index():
    return render_template("opendata/index.html", years=bulk.years(db.session), prefix=ocds.ocid_prefix(),
                           placeholder=ocds.is_placeholder_prefix(), csv_columns=bulk.CSV_COLUMNS,
                           license_url=current_app.config["OPEN_DATA_LICENSE"],
                           publisher=current_app.config["OCDS_PUBLISHER"],
                           schemes=(ocds.DOMAIN_SCHEME, ocds.THEME_SCHEME), uscc_scheme=ocds.USCC_SCHEME)


@bp.route("/api/docs")
def api_docs():
    document = current_app.extensions["openapi_spec"]()  # marketplace.api.openapi.spec
    texts = {name: json.dumps(schema, ensure_ascii=False, indent=2)
             for name, schema in document["components"]["schemas"].items()}
    return render_template("opendata/api_docs.html", spec=document, schema_texts=texts)
