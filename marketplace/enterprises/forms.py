"""Forms for the firm's profile, its qualifications and cases, and staff verification.

Forms parse types (dates, integers, decimals) with Chinese messages; ranges and the
rules that matter live in :mod:`marketplace.enterprises.services`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from marketplace.formfields import options
from marketplace.models import QualificationKind, RevenueBand


class ProfileForm(FlaskForm):
    """The firm's capability profile; saving may be partial, submitting checks the essentials."""

    address = StringField(_l("办公地址"), validators=[Optional(), Length(max=255)])
    building = StringField(_l("所在楼宇/园区"), validators=[Optional(), Length(max=128)],
                           description=_l("用于区县楼宇经济统计，例如：重庆国际博览中心 A 座"))
    founded_on = DateField(_l("成立日期"), validators=[Optional()])
    settled_year = IntegerField(_l("入驻本区县年份"), validators=[Optional()],
                                description=_l("近年新入驻本区县的企业填写；早已在本区县的可不填"))
    employees = IntegerField(_l("员工人数"), validators=[Optional()])
    revenue_band = SelectField(_l("年营业收入"), choices=options([("", "—")] + RevenueBand.choices()),
                               validators=[Optional()])
    business_scope = TextAreaField(_l("经营范围"), validators=[Optional(), Length(max=4000)],
                                   description=_l("与营业执照一致"))
    capabilities = TextAreaField(_l("能力介绍"), validators=[Optional(), Length(max=8000)],
                                 description=_l("主要产品、技术能力、服务行业和典型优势"))
    # Choices are checked by the service (with a Chinese message), not by WTForms.
    domains = SelectMultipleField(_l("产业领域"), validate_choice=False)
    tags = StringField(_l("技术标签"), validators=[Optional(), Length(max=1000)],
                       description=_l("用“、”分隔，例如：大数据、数字孪生、国产化适配"))
    website = StringField(_l("企业网站"), validators=[Optional(), Length(max=255)])
    contact_name = StringField(_l("业务联系人"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=32)])
    contact_email = StringField(_l("联系邮箱"), validators=[Optional(), Length(max=254)])
    save = SubmitField(_l("保存"))
    submit_for_verification = SubmitField(_l("保存并提交核验"))


class QualificationForm(FlaskForm):
    kind = SelectField(_l("资质类型"), choices=options([("", "—")] + QualificationKind.choices()),
                       validators=[Optional()])
    detail = StringField(_l("等级或名称"), validators=[Optional(), Length(max=128)],
                         description=_l("CMMI 填等级（如“3级”）；其他资质填名称"))
    year = IntegerField(_l("取得年份"), validators=[Optional()])
    evidence = FileField(_l("证明文件"), description=_l("证书扫描件或照片：PDF、PNG 或 JPEG，不超过 20 MB"))
    submit = SubmitField(_l("添加资质"))


class CaseForm(FlaskForm):
    title = StringField(_l("项目名称"), validators=[DataRequired(_l("请填写项目名称。")), Length(max=200)])
    client = StringField(_l("客户单位"), validators=[Optional(), Length(max=128)])
    year = IntegerField(_l("年份"), validators=[Optional()])
    amount_wan = DecimalField(_l("合同金额（万元）"), places=2, validators=[Optional()])
    description = TextAreaField(_l("项目简介"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("保存案例"))


class ReviewForm(FlaskForm):
    reason = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("确定"))


class DeleteForm(FlaskForm):
    """CSRF-protected delete buttons."""

    submit = SubmitField(_l("删除"))
