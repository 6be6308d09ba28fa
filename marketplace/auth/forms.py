"""Forms for sign-in, registration and passwords."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp, ValidationError

from marketplace import uscc
from marketplace.formfields import options
from marketplace.models import OrganisationKind

PHONE = Regexp(r"^[0-9+\-\s()]{7,20}$", message=_l("请输入有效的电话号码。"))


def validate_uscc(form: FlaskForm, field: StringField) -> None:
    """WTForms validator: GB 32100-2015 form and check character."""
    if field.data:
        field.data = uscc.normalise(field.data)
        problem = uscc.problem(field.data)
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailField(_l("电子邮箱"), validators=[DataRequired(_l("请输入电子邮箱。")), Email(_l("邮箱格式不正确。"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。"))])
    submit = SubmitField(_l("登录"))


class _PersonMixin:
    name = StringField(_l("姓名"), validators=[DataRequired(_l("请输入姓名。")), Length(max=64)])
    email = EmailField(_l("电子邮箱"), validators=[DataRequired(_l("请输入电子邮箱。")), Email(_l("邮箱格式不正确。")),
                                                Length(max=254)])
    phone = StringField(_l("联系电话"), validators=[DataRequired(_l("请输入联系电话。")), PHONE])
    password = PasswordField(
        _l("密码"), validators=[DataRequired(_l("请设置密码。")), Length(min=10, max=128, message=_l("密码至少 10 位。"))]
    )
    password2 = PasswordField(
        _l("确认密码"), validators=[DataRequired(_l("请再次输入密码。")), EqualTo("password", _l("两次输入的密码不一致。"))]
    )
    #: 同意《用户协议》和《隐私政策》 (the template renders the label with links to both).
    consent = BooleanField(_l("我已阅读并同意《用户协议》和《隐私政策》"),
                           validators=[DataRequired(_l("请阅读并同意《用户协议》和《隐私政策》。"))])


class EnterpriseRegistrationForm(_PersonMixin, FlaskForm):
    organisation_name = StringField(_l("企业名称"), validators=[DataRequired(_l("请输入企业名称。")), Length(max=128)])
    uscc = StringField(
        _l("统一社会信用代码"),
        validators=[DataRequired(_l("请输入统一社会信用代码。")), validate_uscc],
        description=_l("18 位，见营业执照"),
    )
    district = SelectField(_l("所在区县"), validators=[DataRequired(_l("请选择所在区县。"))])
    submit = SubmitField(_l("注册"))


class OwnerRegistrationForm(_PersonMixin, FlaskForm):
    organisation_id = SelectField(_l("所属单位"), coerce=int, default=0,
                                  description=_l("已在平台登记的单位；没有的请选择“新单位”并填写下方信息"))
    new_organisation_name = StringField(_l("新单位名称"), validators=[Optional(), Length(max=128)])
    new_organisation_kind = SelectField(
        _l("单位类型"),
        choices=options((k.value, k.lazy_label) for k in OrganisationKind.owner_kinds()),
        validators=[Optional()],
    )
    new_organisation_uscc = StringField(_l("单位统一社会信用代码"), validators=[Optional(), validate_uscc])
    district = SelectField(_l("所在区县"), validators=[DataRequired(_l("请选择所在区县。"))])
    submit = SubmitField(_l("提交注册申请"))

    def validate_new_organisation_name(self, field: StringField) -> None:
        if not self.organisation_id.data and not (field.data or "").strip():
            raise ValidationError(_l("请选择所属单位，或填写新单位名称。"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码。"))])
    password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请设置新密码。")), Length(min=10, max=128, message=_l("密码至少 10 位。"))]
    )
    password2 = PasswordField(
        _l("确认新密码"), validators=[DataRequired(_l("请再次输入新密码。")), EqualTo("password", _l("两次输入的密码不一致。"))]
    )
    submit = SubmitField(_l("修改密码"))


class ResetRequestForm(FlaskForm):
    email = EmailField(_l("电子邮箱"), validators=[DataRequired(_l("请输入电子邮箱。")), Email(_l("邮箱格式不正确。"))])
    submit = SubmitField(_l("发送重置链接"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("新密码"), validators=[DataRequired(_l("请设置新密码。")), Length(min=10, max=128, message=_l("密码至少 10 位。"))]
    )
    password2 = PasswordField(
        _l("确认新密码"), validators=[DataRequired(_l("请再次输入新密码。")), EqualTo("password", _l("两次输入的密码不一致。"))]
    )
    submit = SubmitField(_l("设置新密码"))


class ConfirmForm(FlaskForm):
    """The button on a confirmation link's page (a link's GET never writes)."""

    submit = SubmitField(_l("确认"))


class EmailChangeForm(FlaskForm):
    email = EmailField(_l("新邮箱"), validators=[DataRequired(_l("请输入新邮箱。")), Email(_l("邮箱格式不正确。")),
                                              Length(max=254)])
    password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码。"))])
    submit = SubmitField(_l("发送确认链接"))
