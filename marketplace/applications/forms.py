"""Forms for applying (揭榜), withdrawing and re-confirming.

The form only carries text; the rules (team and milestone lines, the price, what a
submission needs) live in :mod:`marketplace.applications.submission`.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class ApplicationForm(FlaskForm):
    """Create or edit the firm's application; "保存草稿" keeps it private, "提交" submits it."""

    summary = TextAreaField(_l("方案摘要"), validators=[Optional(), Length(max=2000, message=_l("方案摘要不超过 2000 字。"))],
                            description=_l("用几句话说明方案要点和预期效果（至少 10 个字）"))
    approach = TextAreaField(_l("技术方案"), validators=[Optional(), Length(max=20000, message=_l("技术方案不超过 20000 字。"))],
                             description=_l("总体架构、关键技术、如何满足技术要求和验收标准"))
    team = TextAreaField(_l("项目团队"), validators=[Optional(), Length(max=10000)],
                         description=_l("每行一人，格式：姓名｜角色｜专长，例如“王磊｜项目经理｜智慧交通、信号控制”"))
    price_wan = StringField(_l("报价（万元）"), validators=[Optional(), Length(max=32)],
                            description=_l("含税总价，单位万元，最多两位小数，例如 298.50"))
    plan = TextAreaField(_l("实施计划"), validators=[Optional(), Length(max=20000, message=_l("实施计划不超过 20000 字。"))],
                         description=_l("阶段划分、进度安排、人员投入和质量保障"))
    milestones = TextAreaField(_l("里程碑"), validators=[Optional(), Length(max=10000)],
                               description=_l("每行一个，格式：月份｜里程碑，例如“3｜完成系统上线试运行”"))
    documents = MultipleFileField(_l("附件"), description=_l("PDF、DOCX 或 XLSX，每个不超过 20 MB，最多 10 个"))
    remove_documents = SelectMultipleField(_l("删除已上传的附件"), coerce=int, choices=[], validate_choice=False,
                                           widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    declares_meets_requirements = BooleanField(_l("我单位确认：本方案满足场景的建设边界、技术要求和验收标准"))
    declares_no_conflict = BooleanField(_l("我单位声明：与业主单位及本场景不存在利益冲突"))
    save_draft = SubmitField(_l("保存草稿"))
    submit = SubmitField(_l("提交揭榜申请"))

    def data_for_service(self) -> dict:
        """The fields the service checks, as plain values."""
        return {name: self[name].data for name in (
            "summary", "approach", "team", "price_wan", "plan", "milestones",
            "declares_meets_requirements", "declares_no_conflict")}


class WithdrawForm(FlaskForm):
    submit = SubmitField(_l("撤回申请"))


class ReconfirmForm(FlaskForm):
    confirm = BooleanField(_l("我已阅读修改后的场景内容，确认本申请仍然有效并满足需求"),
                           validators=[DataRequired(_l("请勾选确认。"))])
    submit = SubmitField(_l("重新确认"))
