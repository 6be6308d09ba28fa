"""The appraisal settings form and the publish button.

Amounts and weights are text fields parsed by :mod:`marketplace.appraisal.services`, so that every
bad value gets the services' Chinese message against its field.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.appraisal.computation import INDICATORS
from marketplace.formfields import options
from marketplace.models import AppraisalPeriod

YEAR_RANGE = NumberRange(min=2000, max=2100, message=_l("请填写 2000–2100 之间的年份。"))


class AppraisalForm(FlaskForm):
    """A draft's settings, plus one weight field per indicator (``w_published`` …, added below)."""

    year = IntegerField(_l("考评年度"), validators=[InputRequired(_l("请填写考评年度。")), YEAR_RANGE])
    period = SelectField(_l("考评周期"), choices=options(AppraisalPeriod.choices()), default="annual")
    name = StringField(_l("名称"), validators=[Optional(), Length(max=128)], description=_l("留空则自动生成"))
    reward_pool_wan = StringField(_l("奖励资金总额（万元）"), validators=[DataRequired(_l("请填写奖励资金总额。")),
                                                                Length(max=20)], render_kw={"inputmode": "decimal"})
    cap_wan = StringField(_l("单个区县奖励上限（万元）"), default="500.00", validators=[Optional(), Length(max=20)],
                          description=_l("默认 500.00 万元"), render_kw={"inputmode": "decimal"})
    top_n = IntegerField(_l("获奖区县数（前 N 名）"), default=5, validators=[
        InputRequired(_l("请填写获奖区县数。")), NumberRange(min=1, max=11, message=_l("获奖区县数应在 1–11 之间。"))])
    note = TextAreaField(_l("说明"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("保存"))


def _add_weight_fields() -> None:
    """One weight field per computable indicator (``w_published`` …), defaulting to its standard weight."""
    for indicator in INDICATORS:
        setattr(AppraisalForm, f"w_{indicator.code}", StringField(
            indicator.name, default=str(indicator.default_weight), validators=[Optional(), Length(max=10)],
            description=indicator.definition))


_add_weight_fields()


class PublishForm(FlaskForm):
    """The CSRF-protected publish button."""

    submit = SubmitField(_l("发布并冻结结果"))
