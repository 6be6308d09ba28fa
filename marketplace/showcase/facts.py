"""What the platform's 揭榜 and delivery records say about a scenario: winner, award date, amounts, acceptance.

Read-only helpers shared by the demonstration pages and the appraisal; one place decides
which record counts when several exist (the earliest contract, the earliest selection).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace import clock
from marketplace.models import (
    Acceptance,
    Application,
    ApplicationStatus,
    Contract,
    Organisation,
)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class DeliveryFacts:
    """The delivery records of one scenario, as the demonstration pages and the appraisal read them."""

    scenario_id: int
    contracts: list[Contract] = field(default_factory=list)
    selected: list[Application] = field(default_factory=list)
    #: The latest acceptance (the earlier ones: ``acceptance.attempts``).
    acceptance: Acceptance | None = None

    @property
    def first_contract(self) -> Contract | None:
        return self.contracts[0] if self.contracts else None

    @property
    def award_date(self) -> date | None:
        """The earliest selection decision (local date); failing that, the earliest contract's signing date."""
        decided = [a.decided_at for a in self.selected if a.decided_at is not None]
        if decided:
            return clock.to_local(min(decided)).date()
        return self.first_contract.signed_on if self.first_contract else None

    @property
    def winner(self) -> Organisation | None:
        """The firm of the earliest contract, else of the earliest selected application."""
        if self.first_contract is not None:
            return self.first_contract.application.organisation
        return self.selected[0].organisation if self.selected else None

    @property
    def contract_amount_wan(self) -> Decimal | None:
        """Sum of the scenario's contract amounts (万元), or None without a contract."""
        if not self.contracts:
            return None
        return sum((c.amount_wan for c in self.contracts), Decimal("0"))

    @property
    def quoted_amount_wan(self) -> Decimal | None:
        """Sum of the selected applications' quoted prices (万元), or None when none quoted."""
        prices = [a.price_wan for a in self.selected if a.price_wan is not None]
        return sum(prices, Decimal("0")) if prices else None


def delivery_facts(session: Session, scenario_ids: Iterable[int]) -> dict[int, DeliveryFacts]:
    """Facts for many scenarios in three queries (scenarios without records get empty facts)."""
    ids = sorted(set(scenario_ids))
    facts: dict[int, DeliveryFacts] = {sid: DeliveryFacts(sid) for sid in ids}
    if not ids:
        return facts
    by_scenario: dict[int, list] = defaultdict(list)
    for contract in session.execute(
        sa.select(Contract).where(Contract.scenario_id.in_(ids)).order_by(Contract.signed_on, Contract.id)
    ).scalars():
        by_scenario[contract.scenario_id].append(contract)
    for sid, contracts in by_scenario.items():
        facts[sid].contracts = contracts
    for application in session.execute(
        sa.select(Application).where(Application.scenario_id.in_(ids),
                                     Application.status == ApplicationStatus.SELECTED)
        .order_by(Application.decided_at.is_(None), Application.decided_at, Application.id)
    ).scalars():
        facts[application.scenario_id].selected.append(application)
    for acceptance in session.execute(  # in order, so that each scenario keeps its latest acceptance
        sa.select(Acceptance).where(Acceptance.scenario_id.in_(ids))
        .order_by(Acceptance.created_at, Acceptance.id)
    ).scalars():
        facts[acceptance.scenario_id].acceptance = acceptance
    return facts


def facts_for(session: Session, scenario_id: int) -> DeliveryFacts:
    """The facts of one scenario."""
    return delivery_facts(session, [scenario_id])[scenario_id]
