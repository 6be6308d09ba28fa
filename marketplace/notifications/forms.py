"""Forms of the notification centre, its settings, follows and saved searches."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from marketplace.formfields import options
from marketplace.notifications.services import MODE_LABELS


class SettingsForm(FlaskForm):
    """How notifications reach the user by e-mail."""

    # The service checks the value and says what is wrong in Chinese (WTForms' own message would not).
    mode = RadioField(_l("邮件通知方式"), choices=options(MODE_LABELS.items()), validate_choice=False,
                      validators=[DataRequired(_l("请选择邮件通知方式。"))])
    submit = SubmitField(_l("保存设置"))


class SavedSearchForm(FlaskForm):
    """Name of a saved search (the filters come from the list page's query arguments)."""

    name = StringField(_l("订阅名称"), validators=[DataRequired(_l("请为订阅填写名称。")),
                                                 Length(max=100, message=_l("订阅名称不能超过 100 个字。"))])
    submit = SubmitField(_l("保存此搜索"))


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token, and where to go back to."""

    next = HiddenField()
