"""Forms for managing users and organisations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from marketplace.auth.forms import PHONE, validate_uscc
from marketplace.formfields import options
from marketplace.models import OrganisationKind, Role


class UserForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请输入姓名。")), Length(max=64)])
    email = EmailField(_l("电子邮箱"), validators=[DataRequired(_l("请输入电子邮箱。")), Email(_l("邮箱格式不正确。"))])
    phone = StringField(_l("联系电话"), validators=[Optional(), PHONE])
    role = SelectField(_l("角色"), choices=options(Role.choices()), validators=[DataRequired()])
    organisation_id = SelectField(_l("所属单位"), coerce=int, default=0)
    active = BooleanField(_l("启用"), default=True)
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(min=10, max=128, message=_l("密码至少 10 位。"))],
                             description=_l("新建账号时必填；编辑时留空则不修改"))
    submit = SubmitField(_l("保存"))


class OrganisationForm(FlaskForm):
    name = StringField(_l("单位名称"), validators=[DataRequired(_l("请输入单位名称。")), Length(max=128)])
    kind = SelectField(_l("单位类型"), choices=options(OrganisationKind.choices()), validators=[DataRequired()])
    uscc = StringField(_l("统一社会信用代码"), validators=[Optional(), validate_uscc])
    district = SelectField(_l("所在区县"), validators=[Optional()])
    active = BooleanField(_l("启用"), default=True)
    submit = SubmitField(_l("保存"))


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("说明（不通过时必填）"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("确定"))
