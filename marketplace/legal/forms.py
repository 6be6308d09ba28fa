"""Forms of the legal documents: the staff editor and the banner's 同意 button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from marketplace.legal.services import MAX_BODY, MAX_TITLE, MIN_BODY


class LegalDocumentForm(FlaskForm):
    title = StringField(_l("标题"), validators=[DataRequired(_l("请输入标题。")), Length(max=MAX_TITLE)])
    body = TextAreaField(
        _l("正文"),
        validators=[DataRequired(_l("请输入正文。")),
                    Length(min=MIN_BODY, max=MAX_BODY, message=_l("正文应为 %(min)d 至 %(max)d 个字。"))],
        description=_l("纯文本；空行分段。保存后发布为新版本，已同意旧版本的用户下次访问时会被请求同意新版本。"),
    )
    submit = SubmitField(_l("发布新版本"))


class AcceptForm(FlaskForm):
    submit = SubmitField(_l("同意"))
