"""Forms for drafting, reviewing and publishing scenarios, batches and questions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from marketplace.formfields import options
from marketplace.models import BatchStage, FundingSource, ScenarioMode

#: The three stages of a batch, in one line under its select field.
STAGE_HELP = _l("征集：正在征集需求、公开揭榜；开发：已确定揭榜企业、正在开发实施；拓展：已建成交付、正在拓展复制。")


class ScenarioForm(FlaskForm):
    """Drafts may be saved incomplete; submitting checks the publish gate."""

    title = StringField(_l("场景名称"), validators=[DataRequired(_l("请填写场景名称。")), Length(max=200)])
    summary = TextAreaField(_l("一句话简介"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("场景描述"), description=_l("背景、痛点和建设目标；提交审核时至少 10 个字"))
    boundary = TextAreaField(_l("建设边界"), description=_l("写明建设内容，以及明确不包括的内容；至少 10 个字"))
    requirements = TextAreaField(_l("技术要求"))
    acceptance = TextAreaField(_l("验收标准"), description=_l("可衡量、可核验的验收指标；至少 10 个字"))
    outcomes = TextAreaField(_l("预期成效"))
    domain = SelectField(_l("产业领域"), validators=[Optional()])
    theme = SelectField(_l("应用主题"), validators=[Optional()])
    contact_name = StringField(_l("业主联系人"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=32)])
    contact_email = EmailField(_l("联系邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确。")), Length(max=254)])
    funding_source = SelectField(_l("资金来源"), choices=options([("", "—")] + FundingSource.choices()),
                                 validators=[Optional()])
    budget_wan = DecimalField(_l("项目预算"), places=2, validators=[
        Optional(), NumberRange(min=0.01, message=_l("预算必须大于 0。")),
        NumberRange(max=10_000_000, message=_l("预算不能超过 %(max)s 万元", max="10,000,000"))])
    funding_evidence = FileField(_l("资金落实证明"), description=_l("PDF、DOCX、XLSX、PNG 或 JPEG，不超过 20 MB"))
    deadline = DateTimeLocalField(_l("揭榜截止时间（北京时间）"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    delivery_months = IntegerField(_l("建设周期（月）"), validators=[Optional(), NumberRange(
        min=1, max=120, message=_l("建设周期应在 1–120 个月之间。"))])
    mode = SelectField(_l("揭榜方式"), choices=options(ScenarioMode.choices()), default=ScenarioMode.OPEN_CALL.value)
    race_teams = IntegerField(_l("赛马团队数"), validators=[Optional(), NumberRange(
        min=2, max=10, message=_l("赛马团队数应在 2–10 之间。"))])
    save = SubmitField(_l("保存草稿"))
    submit_for_review = SubmitField(_l("保存并提交审核"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("原因"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("确定"))


class PublishForm(FlaskForm):
    batch_id = SelectField(_l("发布到批次"), coerce=int, default=0)
    new_batch_name = StringField(_l("或新建批次"), validators=[Optional(), Length(max=128)])
    new_batch_stage = SelectField(_l("阶段"), choices=options(BatchStage.choices()), default="collect",
                                  description=STAGE_HELP)
    submit = SubmitField(_l("审核通过并发布"))


class BatchForm(FlaskForm):
    name = StringField(_l("批次名称"), validators=[DataRequired(_l("请填写批次名称。")), Length(max=128)])
    stage = SelectField(_l("阶段"), choices=options(BatchStage.choices()), default="collect",
                        description=STAGE_HELP)
    published_on = DateField(_l("发布日期"), validators=[Optional()])
    description = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("创建批次"))


class CityListForm(FlaskForm):
    batch_id = SelectField(_l("纳入市级批次"), coerce=int)
    submit = SubmitField(_l("纳入市级清单"))


class QuestionForm(FlaskForm):
    text = TextAreaField(_l("您的问题"), validators=[DataRequired(_l("请填写问题。")),
                                                 Length(min=5, max=2000, message=_l("问题应为 5–2000 个字。"))])
    submit = SubmitField(_l("提交问题"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("答复"), validators=[DataRequired(_l("请填写答复内容。")), Length(max=4000)])
    submit = SubmitField(_l("发布答复"))


class DocumentForm(FlaskForm):
    """Upload a scenario document (需求说明书, drawings …); internal unless 公开 is ticked."""

    file = FileField(_l("上传新附件"), description=_l("PDF、Word、Excel 或图片，不超过 20 MB"))
    public = BooleanField(_l("公开（场景发布后任何人可查看和下载）"))
    submit = SubmitField(_l("上传附件"))


class DocumentActionForm(FlaskForm):
    """Publish, make internal or delete one document (the CSRF token is all it carries)."""
