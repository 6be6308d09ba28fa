"""Public scenario lists: one filter object shared by the list page, the exports and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session, defer, joinedload, selectinload
from werkzeug.datastructures import MultiDict

from marketplace import clock, pagecache, search
from marketplace.extensions import db
from marketplace.i18n import request_language
from marketplace.models import (
    Batch,
    District,
    Domain,
    Organisation,
    Scenario,
    ScenarioStatus,
    Theme,
    batch_scenarios,
)
from marketplace.models.publicity import AWARDED_OR_LATER, PublicityNotice, pending_notice_clause
from marketplace.queryargs import decimal_arg, int_arg, raise_if_errors

#: Status filter values: the derived open/closed plus the later stored statuses, an award whose 公示 notice is
#: pending (``publicity``, 公示中) apart from a final one (``awarded``, 已揭榜) as the badges show them.
STATUS_FILTERS = ("open", "closed", "publicity", "awarded", "in_delivery", "accepted", "unsuccessful")
SORTS = ("newest", "deadline", "budget")
MAX_PER_PAGE = 100

@dataclass
class ScenarioFilters:
    """Parsed and validated list parameters."""

    districts: list[str] = field(default_factory=list)
    domain: str | None = None
    theme: str | None = None
    status: str | None = None
    budget_min: Decimal | None = None
    budget_max: Decimal | None = None
    due_within: int | None = None
    batch: int | None = None
    q: str | None = None
    sort: str = "newest"
    page: int = 1
    per_page: int = 20

    def args(self, **changes) -> dict[str, object]:
        """Query-string arguments that reproduce these filters (for links and exports)."""
        data: dict[str, object] = {
            "district": self.districts, "domain": self.domain, "theme": self.theme, "status": self.status,
            "budget_min": self.budget_min, "budget_max": self.budget_max, "due_within": self.due_within,
            "batch": self.batch, "q": self.q, "sort": self.sort if self.sort != "newest" else None,
        }
        data.update(changes)
        return {k: v for k, v in data.items() if v not in (None, "", [])}


def unknown_codes(session: Session, model, name: str, values: list[str], label: str,
                   errors: dict[str, list[str]]) -> None:
    """Record an error naming every unknown code and listing the accepted ones (a name gets a hint)."""
    rows = session.execute(sa.select(model.code, model.name).order_by(model.sort_order)).all()
    codes = {code for code, _name in rows}
    unknown = [v for v in values if v not in codes]
    if not unknown:
        return
    by_name = {row_name: code for code, row_name in rows}
    hints = [_("“%(v)s”是名称，请使用代码 %(code)s", v=v, code=by_name[v]) for v in unknown if v in by_name]
    accepted = "、".join(f"{code}（{row_name}）" for code, row_name in rows)
    message = _("未知的%(what)s：%(v)s。", what=label, v="、".join(v[:40] for v in unknown))
    errors[name] = [message + "".join(f"{h}。" for h in hints) + _("可用的代码：%(codes)s", codes=accepted)]


def parse_filters(args: MultiDict, default_per_page: int = 20, session: Session | None = None) -> ScenarioFilters:
    """Read filters from a query string; bad values raise :class:`ValidationFailed` naming the parameter.

    ``district``, ``domain`` and ``theme`` take the reference lists' codes (``yuzhong``, ``ai``,
    ``smart_city``), never their names; an unknown value is refused with the list of accepted codes,
    like an unknown ``status`` or ``sort``.
    """
    session = session or db.session
    errors: dict[str, list[str]] = {}

    def integer(name: str, minimum: int, maximum: int | None = None) -> int | None:
        return int_arg(args, name, errors, minimum, maximum)

    def decimal(name: str) -> Decimal | None:
        return decimal_arg(args, name, errors)

    filters = ScenarioFilters(
        districts=list(dict.fromkeys(d.strip() for d in args.getlist("district") if d and d.strip())),
        domain=(args.get("domain") or "").strip() or None,
        theme=(args.get("theme") or "").strip() or None,
        status=(args.get("status") or "").strip() or None,
        budget_min=decimal("budget_min"),
        budget_max=decimal("budget_max"),
        due_within=integer("due_within", 1, 3650),
        batch=integer("batch", 1, 2_147_483_647),
        q=(args.get("q") or "").strip()[:100] or None,
        sort=(args.get("sort") or "").strip() or "newest",
        page=integer("page", 1, 100_000) or 1,
        per_page=integer("per_page", 1, MAX_PER_PAGE) or default_per_page,
    )
    if filters.districts:
        unknown_codes(session, District, "district", filters.districts, _("区县"), errors)
    if filters.domain:
        unknown_codes(session, Domain, "domain", [filters.domain], _("产业领域"), errors)
    if filters.theme:
        unknown_codes(session, Theme, "theme", [filters.theme], _("应用主题"), errors)
    if filters.status and filters.status not in STATUS_FILTERS:
        errors["status"] = [_("未知的状态：%(v)s。可用的取值：%(values)s", v=filters.status[:40],
                              values="、".join(STATUS_FILTERS))]
    if filters.sort not in SORTS:
        errors["sort"] = [_("未知的排序方式：%(v)s。可用的取值：%(values)s", v=filters.sort[:40],
                            values="、".join(SORTS))]
    raise_if_errors(errors)
    return filters


def _status_clause(status: str, now) -> sa.ColumnElement[bool]:
    if status == "open":
        return sa.and_(Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline > now)
    if status == "closed":
        return sa.and_(Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline <= now)
    if status == "publicity":
        return sa.and_(Scenario.status == ScenarioStatus.AWARDED, pending_notice_clause(now))
    if status == "awarded":
        return sa.and_(Scenario.status == ScenarioStatus.AWARDED, ~pending_notice_clause(now))
    return Scenario.status == ScenarioStatus(status)


def filtered_query(session: Session, filters: ScenarioFilters, include_status: bool = True,
                   now: Any = None) -> sa.Select:
    """SELECT of public scenarios matching the filters (no ordering, no paging).

    *now*: the moment open/closed is judged at (default: the clock; :data:`NOW` keeps it a parameter
    of the statement, given at execution).
    """
    now = clock.now() if now is None else now
    query = sa.select(Scenario).where(_public_clause())
    if filters.districts:
        query = query.where(Scenario.district_id.in_(
            sa.select(District.id).where(District.code.in_(filters.districts))))
    if filters.domain:
        query = query.where(Scenario.domain_id.in_(sa.select(Domain.id).where(Domain.code == filters.domain)))
    if filters.theme:
        query = query.where(Scenario.theme_id.in_(sa.select(Theme.id).where(Theme.code == filters.theme)))
    if include_status and filters.status:
        query = query.where(_status_clause(filters.status, now))
    if filters.budget_min is not None:
        query = query.where(Scenario.budget_wan >= filters.budget_min)
    if filters.budget_max is not None:
        query = query.where(Scenario.budget_wan <= filters.budget_max)
    if filters.due_within:
        query = query.where(Scenario.status == ScenarioStatus.PUBLISHED, Scenario.deadline > now,
                            Scenario.deadline <= now + timedelta(days=filters.due_within))
    if filters.batch:
        query = query.where(Scenario.id.in_(
            sa.select(batch_scenarios.c.scenario_id).where(batch_scenarios.c.batch_id == filters.batch)))
    if filters.q:
        ids = search.keyword_ids("scenario", filters.q)
        if ids is not None:
            query = query.where(Scenario.id.in_(ids))
        else:
            for term in filters.q.split():
                like = f"%{term}%"
                query = query.where(sa.or_(Scenario.title.ilike(like), Scenario.summary.ilike(like),
                                           Scenario.description.ilike(like)))
    return query


def _public_clause() -> sa.ColumnElement[bool]:
    """:func:`~marketplace.scenarios.policy.public_clause` with one bound parameter per status: an "expanding"
    ``IN`` list is written into the SQL anew on every execution, and these statements run on every request."""
    public = [sa.bindparam(None, status, type_=Scenario.status.type) for status in ScenarioStatus.public()]
    return Scenario.status.in_(public)


def ordered(query: sa.Select, sort: str) -> sa.Select:
    if sort == "deadline":
        return query.order_by(Scenario.deadline.asc(), Scenario.id.desc())
    if sort == "budget":
        return query.order_by(Scenario.budget_wan.desc(), Scenario.id.desc())
    return query.order_by(Scenario.published_at.desc(), Scenario.id.desc())


def with_relations(query: sa.Select) -> sa.Select:
    """Load what a list item shows in the same query (the many-to-one rows joined) plus one for the batches."""
    return query.options(joinedload(Scenario.owner), joinedload(Scenario.district),
                         joinedload(Scenario.domain), joinedload(Scenario.theme),
                         selectinload(Scenario.batches))


#: Long texts a list item never shows (loaded only if something asks for them).
_LIST_DEFERRED = (Scenario.description, Scenario.boundary, Scenario.requirements, Scenario.acceptance,
                  Scenario.outcomes, Scenario.return_reason, Scenario.unsuccessful_reason)


@dataclass
class ScenarioPage:
    items: list[Scenario]
    total: int
    page: int
    per_page: int
    status_counts: dict[str, int]
    #: Ids of the page's scenarios whose award is in 公示 (their badge says 公示中).
    publicity: frozenset[int] = frozenset()

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def status_counts(session: Session, filters: ScenarioFilters) -> dict[str, int]:
    """How many scenarios each status filter would give with the other filters unchanged (one grouped query)."""
    rows = session.execute(_status_counts_query(session, filters, clock.now())).all()
    counts = dict.fromkeys(STATUS_FILTERS, 0)
    counts.update(dict(rows))
    return counts


def _status_counts_query(session: Session, filters: ScenarioFilters, now: Any,
                         next_deadline: bool = False) -> sa.Select:
    """``(label, count)`` per status; with *next_deadline* also each group's earliest deadline after *now*
    among published scenarios, or end of a running 公示 notice (when the counts next change by the clock alone)."""
    awarded = Scenario.status == ScenarioStatus.AWARDED
    notice_end = (sa.select(sa.func.min(PublicityNotice.ends_at))
                  .where(PublicityNotice.scenario_id == Scenario.id, PublicityNotice.withdrawn_at.is_(None),
                         PublicityNotice.ends_at > now).scalar_subquery())
    base = filtered_query(session, filters, include_status=False, now=now).with_only_columns(
        Scenario.status, Scenario.deadline, sa.and_(awarded, pending_notice_clause(now)).label("pending"),
        *([sa.case((awarded, notice_end)).label("notice_end")] if next_deadline else [])).subquery()
    status, deadline = base.c.status, base.c.deadline
    label = sa.case(
        (sa.and_(status == ScenarioStatus.PUBLISHED.value, deadline > now), "open"),
        (status == ScenarioStatus.PUBLISHED.value, "closed"),
        (base.c.pending, "publicity"),
        else_=status,
    )
    columns = [label, sa.func.count()]
    if next_deadline:
        columns.append(sa.func.min(sa.case(
            (sa.and_(status == ScenarioStatus.PUBLISHED.value, deadline > now), deadline),
            else_=base.c.notice_end)))
    return sa.select(*columns).group_by(label)


def page_of(session: Session, filters: ScenarioFilters) -> ScenarioPage:
    """One page of the public list with the total and per-status counts (three queries).

    The total is read off the per-status counts (the status filter is one of their groups), so no
    separate ``count(*)`` runs.
    """
    query = filtered_query(session, filters)
    counts = status_counts(session, filters)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    items = session.execute(
        with_relations(ordered(query, filters.sort)).options(*(defer(c) for c in _LIST_DEFERRED))
        .limit(filters.per_page).offset((filters.page - 1) * filters.per_page)
    ).unique().scalars().all()
    return ScenarioPage(list(items), total, filters.page, filters.per_page, counts)


class ScenarioCard:
    """What a list card shows of a scenario, read as plain columns (no ORM objects, no identity map).

    Offers the attributes the card macro reads of a :class:`Scenario` (``owner.name``, ``district``,
    ``domain``, ``theme``, ``batches``, ``display_status()`` …), so the same macro renders both.
    """

    __slots__ = ("id", "title", "summary", "status", "deadline", "budget_wan", "mode", "owner", "district",
                 "domain", "theme", "batches")

    def __init__(self, row: sa.Row, refs: dict[str, dict[int, object]]) -> None:
        (self.id, self.title, self.summary, self.status, self.deadline, self.budget_wan, self.mode, district_id,
         domain_id, theme_id, owner_name) = row[:11]
        self.owner = _Named(owner_name)
        self.district = refs["districts"].get(district_id)
        self.domain = refs["domains"].get(domain_id)
        self.theme = refs["themes"].get(theme_id)
        self.batches: list[_Batch] = []

    display_status = Scenario.display_status


class _Named:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _Batch:
    __slots__ = ("id", "name")

    def __init__(self, id: int, name: str) -> None:
        self.id = id
        self.name = name


def card_page(session: Session, filters: ScenarioFilters, choices: dict[str, list]) -> ScenarioPage:
    """:func:`page_of` for the HTML list: the page's rows as :class:`ScenarioCard` (two queries, one when
    the counts are kept).

    The district, domain and theme come from *choices* (:func:`filter_choices`, which the page reads
    anyway); the owner's name and the batches come with the page's rows (:func:`_card_statements`).
    """
    if _may_remember():
        # A GET never writes, so it reads committed rows only: on a pooled connection of its own, without
        # beginning (and at the request's end rolling back) a session transaction.
        with session.get_bind().connect() as connection:
            return _card_page(connection, session, filters, choices)
    return _card_page(session.connection(), session, filters, choices)


def _card_page(connection: sa.Connection, session: Session, filters: ScenarioFilters,
               choices: dict[str, list]) -> ScenarioPage:
    key, counts_query, list_query = _card_statements(session, filters)
    # Plain rows: the statements are built once per filter combination in each process (the clock, page
    # size and offset are parameters), so a request neither rebuilds nor re-keys them, and no ORM result
    # processing runs.
    now = clock.now()
    params = {"list_now": now}
    counts = _remembered_counts(session, key, now)
    if counts is None:
        counts = dict.fromkeys(STATUS_FILTERS, 0)
        next_change = None
        for label, count, next_deadline in connection.execute(counts_query, params):
            counts[label] = count
            if next_deadline is not None and (next_change is None or next_deadline < next_change):
                next_change = next_deadline
        _remember_counts(session, key, counts, next_change)
    total = counts.get(filters.status, 0) if filters.status else sum(counts.values())
    rows = connection.execute(list_query, {**params, "list_limit": filters.per_page,
                                           "list_offset": (filters.page - 1) * filters.per_page})
    refs = choices["labels"].get(_REFS)  # kept with the labels: one dict per data version and language
    if refs is None:
        refs = choices["labels"][_REFS] = {kind: {row.id: row for row in choices[kind]}
                                           for kind in ("districts", "domains", "themes")}
    cards: list[ScenarioCard] = []
    card = None
    for row in rows:  # one row per scenario and batch, in the page's order
        if card is None or card.id != row[0]:
            card = ScenarioCard(row, refs)
            cards.append(card)
        if row[11] is not None:
            card.batches.append(_Batch(row[11], row[12]))
    return ScenarioPage(cards, total, filters.page, filters.per_page, counts,  # type: ignore[arg-type]
                        in_publicity(connection, cards))


def in_publicity(session: Session | sa.Connection, scenarios, now=None) -> frozenset[int]:
    """Ids of those *scenarios* (rows with ``id`` and ``status``) that are awarded with a pending 公示 notice.

    One query, and none when no scenario is awarded (most list pages).
    """
    ids = [s.id for s in scenarios if s.status in AWARDED_OR_LATER]
    if not ids:
        return frozenset()
    now = now or clock.now()
    return frozenset(session.execute(sa.select(Scenario.id).where(
        Scenario.id.in_(ids), Scenario.status == ScenarioStatus.AWARDED, pending_notice_clause(now))).scalars())


#: The moment open/closed is judged at, as a statement parameter (``list_now``).
NOW = sa.bindparam("list_now", type_=Scenario.__table__.c.deadline.type)
_STATEMENTS: dict[tuple, tuple[sa.Select, sa.Select]] = {}
_STATEMENTS_KEPT = 256
_COUNTS = "marketplace.scenarios.status_counts"
_REFS = "marketplace.scenarios.refs"


def _remembered_counts(session: Session, key: tuple | None, now: Any) -> dict[str, int] | None:
    """The per-status counts kept for this filter combination at the current data version, while no
    published deadline has passed since (open/closed moves with the clock), for a ``GET`` only.

    The version is read from the database in every request (:func:`pagecache.request_data_version`), and
    every commit that changes public data bumps it, so a count kept here is never older than the last
    commit of any process.
    """
    if key is None or not _may_remember():
        return None
    memo = current_app.extensions.get(_COUNTS)
    if memo is None or memo[0] != pagecache.request_data_version(session):
        return None
    found = memo[1].get(key)
    if found is None or (found[1] is not None and found[1] <= now):
        return None
    return dict(found[0])


def _remember_counts(session: Session, key: tuple | None, counts: dict[str, int], next_change: Any) -> None:
    if key is None or not _may_remember():
        return
    version = pagecache.request_data_version(session)
    if version == "v0":  # no stamp yet (a new or emptied database): nothing tells its states apart
        return
    memo = current_app.extensions.get(_COUNTS)
    if memo is None or memo[0] != version or len(memo[1]) >= _STATEMENTS_KEPT:
        memo = current_app.extensions[_COUNTS] = (version, {})
    memo[1][key] = (dict(counts), next_change)


def _may_remember() -> bool:
    # A GET never writes, so its session sees exactly the committed data of that version.
    return has_request_context() and request.method == "GET"


def _card_statements(session: Session, filters: ScenarioFilters) -> tuple[tuple | None, sa.Select, sa.Select]:
    """The per-status counts and the page's rows, as statements taking ``list_now``, ``list_limit`` and
    ``list_offset``; kept per filter combination except for a keyword (the search index answers it
    anew) and ``due_within`` (a window computed from the clock)."""
    key = None
    if not filters.q and not filters.due_within:
        key = (tuple(filters.districts), filters.domain, filters.theme, filters.status, filters.budget_min,
               filters.budget_max, filters.batch, filters.sort)
        found = _STATEMENTS.get(key)
        if found is not None:
            return (key, *found)
    now = NOW if key is not None else clock.now()
    counts_query = _status_counts_query(session, filters, now, next_deadline=True)
    # The page's ids first (filtered, sorted, limited: no wide rows carried through the sort), then their
    # columns, the owner's name and the batches joined to those few: one statement, one row per scenario
    # and batch, in the page's order and then the batches' (published_on, id).
    page = ordered(filtered_query(session, filters, now=now), filters.sort).with_only_columns(Scenario.id).limit(
        sa.bindparam("list_limit", type_=sa.Integer)).offset(
        sa.bindparam("list_offset", type_=sa.Integer)).subquery("page")
    list_query = ordered(sa.select(
        Scenario.id, Scenario.title, Scenario.summary, Scenario.status, Scenario.deadline, Scenario.budget_wan,
        Scenario.mode, Scenario.district_id, Scenario.domain_id, Scenario.theme_id,
        Organisation.name.label("owner_name"), Batch.id.label("batch_id"), Batch.name.label("batch_name"),
    ).select_from(page).join(Scenario, Scenario.id == page.c.id).join(
        Organisation, Organisation.id == Scenario.owner_id).outerjoin(
        batch_scenarios, batch_scenarios.c.scenario_id == Scenario.id).outerjoin(
        Batch, Batch.id == batch_scenarios.c.batch_id), filters.sort).order_by(Batch.published_on, Batch.id)
    if key is not None:
        if len(_STATEMENTS) >= _STATEMENTS_KEPT:
            _STATEMENTS.clear()
        _STATEMENTS[key] = (counts_query, list_query)
    return key, counts_query, list_query


def all_matching(session: Session, filters: ScenarioFilters, limit: int = 10000) -> list[Scenario]:
    """Every matching scenario, for exports."""
    query = with_relations(ordered(filtered_query(session, filters), filters.sort)).limit(limit)
    return list(session.execute(query).unique().scalars())


_CHOICES = "marketplace.scenarios.filter_choices"


def cached_filter_choices(session: Session) -> dict[str, list]:
    """:func:`filter_choices`, read once per data version in each process (one small version read instead
    of two queries: reference lists and batches change only with a commit, which bumps the version).

    Also carries ``labels``: the districts', domains' and themes' ``(code, name in the request's
    language)`` pairs, so the filter form does not look the language up once per checkbox.
    """
    version = pagecache.request_data_version(session)
    memo = current_app.extensions.get(_CHOICES)
    if memo is None or memo[0] != version:
        memo = current_app.extensions[_CHOICES] = (version, filter_choices(session), {})
    _version, choices, by_language = memo
    language = request_language()
    labels = by_language.get(language)
    if labels is None:
        english = language == "en"
        labels = by_language[language] = {
            kind: [(row.code, row.name_en if english and row.name_en else row.name) for row in choices[kind]]
            for kind in ("districts", "domains", "themes")}
    return {**choices, "labels": labels}


def filter_choices(session: Session) -> dict[str, list]:
    """Reference rows for the filter form: the three code lists in one query, the batches in another.

    The code lists come back as rows with ``id``, ``code``, ``name`` and ``name_en`` (what the form and
    the ``lname`` filter read), the batches as rows with ``id`` and ``name``.
    """
    kinds = {"districts": District, "domains": Domain, "themes": Theme}
    union = sa.union_all(*(
        sa.select(sa.literal(kind).label("kind"), model.id, model.code, model.name, model.name_en,
                  model.sort_order)
        for kind, model in kinds.items()
    )).subquery()
    choices: dict[str, list] = {kind: [] for kind in kinds}
    for row in session.execute(sa.select(union).order_by(union.c.kind, union.c.sort_order, union.c.id)):
        choices[row.kind].append(row)
    choices["batches"] = list(session.execute(
        sa.select(Batch.id, Batch.name).order_by(Batch.published_on.desc(), Batch.id.desc())))
    return choices
