"""Views for the Excel import of scenario drafts and the open-data exports of the public list.

Thin, like every view: parse → one service (:mod:`marketplace.scenarios.importer`,
:mod:`~marketplace.scenarios.import_template`, :mod:`~marketplace.scenarios.exports`) → render.
The request's unit of work commits an accepted import; a refused one is rolled back before the
page lists its row errors.
"""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField

from marketplace.downloads import content_disposition
from marketplace.errors import ValidationFailed, rejected
from marketplace.extensions import db
from marketplace.models import Role
from marketplace.permissions import roles_required
from marketplace.scenarios import bp, exports, import_template, importer, policy
from marketplace.scenarios.serializers import list_filters

STAFF = (Role.DISTRICT_STAFF, Role.CITY_STAFF)
#: Row errors shown on the page at most (the count says how many there are).
MAX_ERRORS_SHOWN = 300


class ImportForm(FlaskForm):
    """Upload of a filled-in import template (kept beside its only view)."""

    file = FileField(_l("Excel 文件（.xlsx）"), validators=[FileRequired(_l("请选择要上传的 Excel 文件。"))],
                     description=_l("使用下载的导入模板填写，最多 %(n)d 行，不超过 20 MB。", n=importer.MAX_ROWS))
    submit = SubmitField(_l("校验并导入"))


def _xlsx_response(content: bytes, filename: str) -> Response:
    return Response(content, mimetype=exports.XLSX_MIMETYPE,
                    headers={"Content-Disposition": content_disposition(filename)})


@bp.route("/scenarios/import/template.xlsx", endpoint="import_template")
@roles_required(*STAFF)
def import_template_file():
    content = import_template.build_template(db.session, current_user)
    return _xlsx_response(content, "scenario-import-template.xlsx")


@bp.route("/scenarios/import", methods=["GET", "POST"])
@roles_required(*STAFF)
def import_list():
    if not importer.can_import(current_user):
        abort(403)
    form = ImportForm()
    errors: list[importer.RowError] = []
    result = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = importer.import_scenarios(db.session, current_user, upload.filename or "", upload.read(),
                                               request.remote_addr)
        except ValidationFailed as error:  # the page lists what to correct, row by row for ImportRejected
            errors = error.errors if isinstance(error, importer.ImportRejected) else []
            status = rejected(form, error)
    viewable = {s.id for _row, s in result.rows if policy.can_view(current_user, s)} if result else set()
    return render_template("scenarios/import.html", form=form, errors=errors[:MAX_ERRORS_SHOWN],
                           error_count=len(errors), result=result, viewable=viewable,
                           max_rows=importer.MAX_ROWS, columns=importer.COLUMNS), status


@bp.route("/scenarios/export.<fmt>")
def export(fmt: str):
    if fmt not in exports.EXPORT_FORMATS:
        abort(404)
    filters = list_filters(request.args)
    exported = exports.export_public(db.session, filters, fmt)
    return Response(exported.content, mimetype=exported.mimetype,
                    headers={"Content-Disposition": content_disposition(exported.filename)})
