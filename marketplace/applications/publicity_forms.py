"""Forms of the 公示 and 异议 pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from marketplace.formfields import options
from marketplace.models import ObjectionDecision


class ObjectionForm(FlaskForm):
    grounds = TextAreaField(_l("异议理由"), validators=[Optional(), Length(max=5000)],
                            description=_l("不少于 20 个字；请写明事实、理由和依据。异议人身份仅业主单位和主管部门可见。"))
    evidence = MultipleFileField(_l("证明材料"), description=_l("可选；PDF、Word 或图片，每个不超过 20 MB，最多 5 个"))
    submit = SubmitField(_l("提交异议"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("答复"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("提交答复"))


class DecisionForm(FlaskForm):
    decision = RadioField(_l("处理结果"), choices=options(
        [c for c in ObjectionDecision.choices() if c[0] in ObjectionDecision.staff_choices()]), validate_choice=False)
    reason = TextAreaField(_l("处理理由"), validators=[Optional(), Length(max=5000)],
                           description=_l("异议成立时，理由将作为公示撤销原因公开。"))
    submit = SubmitField(_l("提交处理结果"))
