"""Forms for evaluation and award (criteria, experts, scores, decisions) and for delivery and acceptance.

Numbers whose rules belong to the platform (weights, scores, amounts) arrive as text and are
checked by the services, which return one clear Chinese message per field.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from marketplace.applications.evaluation import plain_number
from marketplace.formfields import options
from marketplace.models import AcceptanceResult, EvaluationCriterion, MilestoneStatus

# ------------------------------------------------------------------ evaluation


class CriterionRow(Form):
    """One row of the criteria table (blank rows are ignored)."""

    name = StringField(_l("评分项"), validators=[Optional(), Length(max=100, message=_l("评分项名称不能超过 100 个字。"))])
    weight = StringField(_l("权重（%）"), validators=[Optional()], render_kw={"inputmode": "decimal"})


class CriteriaForm(FlaskForm):
    rows = FieldList(FormField(CriterionRow), min_entries=6, max_entries=10)
    submit = SubmitField(_l("保存评分标准"))


class InviteForm(FlaskForm):
    expert_id = SelectField(_l("评审专家"), coerce=str, validate_choice=False)
    submit = SubmitField(_l("邀请评审"))


class ActionForm(FlaskForm):
    """A button that posts (CSRF only)."""

    submit = SubmitField(_l("确定"))


class DeclarationForm(FlaskForm):
    confirm = BooleanField(_l("本人承诺：与本场景揭榜企业不存在利益关系，将独立、客观、公正地评审，并对评审内容保密。"))
    declare = SubmitField(_l("声明无利益冲突"))
    recuse = SubmitField(_l("存在利益冲突，申请回避"))


def score_form_class(criteria: list[EvaluationCriterion]) -> type[FlaskForm]:
    """A form with a 0–100 score and a comment for each criterion (fields ``c_<id>`` and ``comment_<id>``)."""

    class ScoreForm(FlaskForm):
        submit = SubmitField(_l("保存评分"))

    for criterion in criteria:
        setattr(ScoreForm, f"c_{criterion.id}", StringField(
            f"{criterion.name}（{plain_number(criterion.weight)}%）", validators=[Optional()],
            render_kw={"type": "number", "min": 0, "max": 100, "step": "0.01", "inputmode": "decimal"}))
        setattr(ScoreForm, f"comment_{criterion.id}", TextAreaField(
            _("%(name)s：评语", name=criterion.name), validators=[Optional(), Length(max=2000, message=_l("评语不能超过 2000 个字。"))]))
    return ScoreForm


class AwardForm(FlaskForm):
    application_id = RadioField(_l("揭榜单位"), coerce=str, validate_choice=False)
    note = TextAreaField(_l("评审结论（可选）"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("确定揭榜单位"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RaceForm(FlaskForm):
    application_ids = MultiCheckboxField(_l("参赛团队"), coerce=str, validate_choice=False)
    submit = SubmitField(_l("进入赛马阶段"))


class StageForm(FlaskForm):
    stage = StringField(_l("阶段"), validators=[Optional(), Length(max=100)],
                        render_kw={"placeholder": "第一阶段：原型验证"})
    score = StringField(_l("阶段得分（0–100，可选）"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    result = TextAreaField(_l("评估结论"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("记录阶段评估"))


class FinalForm(FlaskForm):
    application_ids = MultiCheckboxField(_l("最终揭榜单位"), coerce=str, validate_choice=False)
    note = TextAreaField(_l("评审结论（可选）"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("确定最终揭榜单位"))


class RemoveExpertForm(FlaskForm):
    """The owner removes an unresponsive expert from the panel (the reason is told to the expert)."""

    reason = TextAreaField(_l("移除原因（将告知该专家并记入审计日志）"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("移出专家组"))


class UnsuccessfulForm(FlaskForm):
    reason = TextAreaField(_l("流榜原因（将在场景页面公开）"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("确认流榜"))


# ------------------------------------------------------------------ delivery and acceptance


class ContractForm(FlaskForm):
    application_id = SelectField(_l("揭榜单位"), coerce=str, validate_choice=False)
    amount_wan = StringField(_l("合同金额（万元）"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    signed_on = DateField(_l("签订日期"), validators=[InputRequired(_l("请填写合同签订日期。"))])
    plan_milestones = BooleanField(_l("按揭榜申请中的实施计划生成里程碑"), default=True)
    submit = SubmitField(_l("登记合同"))


class MilestoneForm(FlaskForm):
    title = StringField(_l("里程碑"), validators=[InputRequired(_l("请填写里程碑名称。")), Length(max=200)])
    due_on = DateField(_l("计划完成日期"), validators=[InputRequired(_l("请填写计划完成日期。"))])
    submit = SubmitField(_l("添加里程碑"))


class MilestoneRecordForm(FlaskForm):
    status = RadioField(_l("结果"), choices=options([(MilestoneStatus.MET.value, MilestoneStatus.MET.lazy_label),
                                                     (MilestoneStatus.NOT_MET.value, MilestoneStatus.NOT_MET.lazy_label)]),
                        validate_choice=False)
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("记录"))


class ProgressForm(FlaskForm):
    text = TextAreaField(_l("进度说明"), validators=[Optional(), Length(max=4000)])
    percent = StringField(_l("完成比例（%，可选）"), validators=[Optional()], render_kw={"inputmode": "numeric"})
    submit = SubmitField(_l("记录进度"))


class AcceptanceForm(FlaskForm):
    accepted_on = DateField(_l("验收日期"), validators=[InputRequired(_l("请填写验收日期。"))])
    result = RadioField(_l("验收结论"), choices=options(AcceptanceResult.choices()), validate_choice=False)
    report = FileField(_l("验收报告"), description=_l("PDF 或 DOCX，不超过 20 MB；验收通过时必须上传"))
    note = TextAreaField(_l("验收意见"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("登记验收"))
