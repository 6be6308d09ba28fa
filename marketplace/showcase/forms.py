"""Forms for selection rounds, nominations, expert scoring and reuse.

Amounts and weights are text fields parsed by the services, so that every bad value gets
the services' Chinese message against its field.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields import FieldList
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

YEAR_RANGE = NumberRange(min=2000, max=2100, message=_l("请填写 2000–2100 之间的年份。"))


class CriterionEntry(Form):
    """One row of a round's criteria (a plain sub-form: the outer form carries the CSRF token)."""

    name = StringField(_l("评审标准"), validators=[Optional(), Length(max=100)])
    weight = StringField(_l("权重（%）"), validators=[Optional(), Length(max=10)])


class RoundForm(FlaskForm):
    year = IntegerField(_l("评选年度"), validators=[InputRequired(_l("请填写评选年度。")), YEAR_RANGE])
    name = StringField(_l("评选名称"), validators=[DataRequired(_l("请填写评选名称。")), Length(max=128)],
                       description=_l("例如：2025年度重庆市本地优秀软件和应用示范项目评选"))
    description = TextAreaField(_l("评选说明"), validators=[Optional(), Length(max=5000)])
    criteria = FieldList(FormField(CriterionEntry), min_entries=6, max_entries=10)
    submit = SubmitField(_l("保存"))


class ActionForm(FlaskForm):
    """A bare POST with CSRF protection (open, start scoring, withdraw …)."""

    submit = SubmitField(_l("确定"))


class NominationForm(FlaskForm):
    problem = TextAreaField(_l("建设前的问题"), validators=[DataRequired(_l("请写明建设前存在的问题。")),
                                                      Length(max=5000)])
    solution = TextAreaField(_l("解决方案"), validators=[DataRequired(_l("请写明解决方案。")), Length(max=8000)])
    outcomes = TextAreaField(_l("实际成效（可量化）"), validators=[DataRequired(_l("请写明实际成效。")),
                                                           Length(max=5000)],
                             description=_l("用数据说明，例如：审批时间由 5 天缩短到 1 天，差错率下降 60%"))
    highlights = TextAreaField(_l("亮点"), validators=[Optional(), Length(max=3000)])
    media = MultipleFileField(_l("图片或文档"), description=_l("PNG、JPEG 或 PDF，每个不超过 20 MB，最多 10 个；项目入选后公开"))
    submit = SubmitField(_l("提交推荐"))


class AssignExpertForm(FlaskForm):
    expert_id = SelectField(_l("评审专家"), coerce=int, validators=[InputRequired(_l("请选择评审专家。"))])
    submit = SubmitField(_l("指派到全部推荐项目"))


class DeclarationForm(FlaskForm):
    no_conflict = BooleanField(_l("本人与该项目的业主单位、揭榜企业无利益冲突"))
    note = TextAreaField(_l("回避说明"), validators=[Optional(), Length(max=1000)])
    declare = SubmitField(_l("声明无利益冲突"))
    recuse = SubmitField(_l("申请回避"))


class PublishRoundForm(FlaskForm):
    submit = SubmitField(_l("公布入选名单"))


class ReuseForm(FlaskForm):
    scenario_id = SelectField(_l("本单位的场景"), coerce=int, validators=[InputRequired(_l("请选择本单位的场景。"))])
    note = TextAreaField(_l("复用说明"), validators=[Optional(), Length(max=1000)],
                         description=_l("例如：借鉴其数据中台架构，在本单位推广应用"))
    submit = SubmitField(_l("登记复用"))
