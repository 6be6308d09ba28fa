"""code health

Timestamps where rows change, review and 流榜 notes, acceptance history, a profile for every firm:

- ``created_at``/``updated_at`` on rows that change after they are written (qualifications, profile
  cases, expert assignments and scores, milestones, questions, notifications, follows, saved searches,
  outbox messages, selection criteria, appraisal indicators …) and ``created_at`` on rows written once
  (evaluation criteria, appraisal results). Existing rows get the best time the database already
  knows (the row's own dated columns, its parent's timestamps, the audit log), else the migration's time.
- ``qualifications.review_note`` and ``scenarios.unsuccessful_reason``, filled from the audit log
  (and, for 流榜, from the applications' decision note) where it holds them.
- ``acceptances``: one row per acceptance (``scenario_id`` no longer unique) with ``recorded_by_id``;
  earlier acceptances that were overwritten are restored from the audit log.
- An ``enterprise_profiles`` row (unverified, empty) for every software firm that has none, since
  ``GET /my/profile`` no longer creates it.

Downgrade keeps only each scenario's latest acceptance (the audit log still has the others) and keeps
the profiles (valid rows before this revision too).

Revision ID: 0007_code_health
Revises: 0006_matching
Create Date: 2026-12-04 12:00:00.000000

"""
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_code_health'
down_revision = '0006_matching'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)

#: table → (adds created_at, adds updated_at)
TIMESTAMPS = {
    'appraisal_indicators': (True, True),
    'appraisal_results': (True, False),
    'evaluation_criteria': (True, False),
    'expert_assignments': (True, True),
    'follows': (False, True),
    'milestones': (True, True),
    'nomination_experts': (True, True),
    'nomination_scores': (True, True),
    'notifications': (False, True),
    'outbox_messages': (False, True),
    'profile_cases': (True, True),
    'qualifications': (True, True),
    'questions': (False, True),
    'saved_searches': (False, True),
    'scores': (True, True),
    'selection_criteria': (True, True),
}


def _table(name, *columns):
    """A lightweight table for data statements (the migration never imports the app's models)."""
    return sa.table(name, *(sa.column(c) if isinstance(c, str) else c for c in columns))


def _ts(name):
    return sa.column(name, TIMESTAMP)


def _latest(first, *others):
    """The latest of non-null ``first`` and possibly-null ``others``."""
    if op.get_bind().dialect.name == 'postgresql':
        return sa.func.greatest(first, *others)  # ignores NULLs
    return sa.func.max(first, *(sa.func.coalesce(o, first) for o in others))  # SQLite's scalar max()


def _parent(table, column, key):
    """Correlated ``(SELECT table.column FROM table WHERE table.id = key)``."""
    parent = _table(table, 'id', _ts(column))
    return sa.select(parent.c[column]).where(parent.c.id == key).scalar_subquery()


def _set(table, **values):
    op.execute(table.update().values(**values))


def upgrade():
    for name, (created, updated) in TIMESTAMPS.items():
        with op.batch_alter_table(name, schema=None) as batch_op:
            if created:
                batch_op.add_column(sa.Column('created_at', TIMESTAMP, nullable=True))
            if updated:
                batch_op.add_column(sa.Column('updated_at', TIMESTAMP, nullable=True))
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsuccessful_reason', sa.Text(), nullable=True))

    _backfill_timestamps()

    for name, (created, updated) in TIMESTAMPS.items():
        with op.batch_alter_table(name, schema=None) as batch_op:
            if created:
                batch_op.alter_column('created_at', existing_type=TIMESTAMP, nullable=False)
            if updated:
                batch_op.alter_column('updated_at', existing_type=TIMESTAMP, nullable=False)

    with op.batch_alter_table('acceptances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_acceptances_scenario_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_acceptances_scenario_id'), ['scenario_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_acceptances_recorded_by_id_users'), 'users',
                                    ['recorded_by_id'], ['id'])

    audit = _table('audit_events', 'id', _ts('created_at'), 'actor_id', 'action', 'object_type', 'object_id',
                   sa.column('after', sa.JSON))
    _backfill_review_notes(audit)
    _backfill_unsuccessful_reasons(audit)
    _backfill_acceptance_history(audit)
    _backfill_enterprise_profiles()


def _backfill_timestamps():
    now = sa.bindparam('now', datetime.now(UTC), type_=TIMESTAMP)

    t = _table('qualifications', 'profile_id', 'evidence_id', _ts('created_at'), _ts('updated_at'), _ts('verified_at'))
    _set(t, created_at=sa.func.coalesce(_parent('attachments', 'created_at', t.c.evidence_id),
                                        _parent('enterprise_profiles', 'created_at', t.c.profile_id)))
    _set(t, updated_at=_latest(t.c.created_at, t.c.verified_at))

    t = _table('profile_cases', 'profile_id', _ts('created_at'), _ts('updated_at'))
    _set(t, created_at=_parent('enterprise_profiles', 'created_at', t.c.profile_id))
    _set(t, updated_at=_latest(t.c.created_at, _parent('enterprise_profiles', 'updated_at', t.c.profile_id)))

    for name in ('expert_assignments', 'nomination_experts'):
        t = _table(name, _ts('invited_at'), _ts('declared_at'), _ts('created_at'), _ts('updated_at'))
        _set(t, created_at=t.c.invited_at, updated_at=_latest(t.c.invited_at, t.c.declared_at))

    for name in ('scores', 'nomination_scores'):
        t = _table(name, _ts('scored_at'), _ts('created_at'), _ts('updated_at'))
        _set(t, created_at=t.c.scored_at, updated_at=t.c.scored_at)

    t = _table('milestones', 'contract_id', _ts('recorded_at'), _ts('created_at'), _ts('updated_at'))
    _set(t, created_at=_parent('contracts', 'created_at', t.c.contract_id))
    _set(t, updated_at=_latest(t.c.created_at, t.c.recorded_at))

    # Criteria are replaced as a set, audited on the scenario as "evaluation.criteria".
    t = _table('evaluation_criteria', 'scenario_id', _ts('created_at'))
    audit = _table('audit_events', _ts('created_at'), 'action', 'object_type', 'object_id')
    set_at = (sa.select(sa.func.max(audit.c.created_at))
              .where(audit.c.action == 'evaluation.criteria', audit.c.object_type == 'scenario',
                     audit.c.object_id == sa.cast(t.c.scenario_id, sa.String)).scalar_subquery())
    _set(t, created_at=sa.func.coalesce(set_at, _parent('scenarios', 'updated_at', t.c.scenario_id)))

    t = _table('selection_criteria', 'round_id', _ts('created_at'), _ts('updated_at'))
    _set(t, created_at=_parent('selection_rounds', 'created_at', t.c.round_id),
         updated_at=_parent('selection_rounds', 'updated_at', t.c.round_id))

    t = _table('appraisal_indicators', 'appraisal_id', _ts('created_at'), _ts('updated_at'))
    _set(t, created_at=_parent('appraisals', 'created_at', t.c.appraisal_id),
         updated_at=_parent('appraisals', 'updated_at', t.c.appraisal_id))

    t = _table('appraisal_results', 'appraisal_id', _ts('created_at'))
    _set(t, created_at=sa.func.coalesce(_parent('appraisals', 'published_at', t.c.appraisal_id),
                                        _parent('appraisals', 'updated_at', t.c.appraisal_id)))

    for name, dated in (('follows', ('reminded_at',)), ('notifications', ('read_at', 'emailed_at')),
                        ('outbox_messages', ('sent_at',)), ('questions', ('answered_at',)),
                        ('saved_searches', ('last_checked_at',))):
        t = _table(name, _ts('created_at'), _ts('updated_at'), *(_ts(c) for c in dated))
        _set(t, updated_at=_latest(t.c.created_at, *(t.c[c] for c in dated)))

    # Whatever the database could not date (none expected: every parent above exists) gets "now".
    for name, (created, updated) in TIMESTAMPS.items():
        for column, added in (('created_at', created), ('updated_at', updated)):
            if added:
                t = _table(name, _ts(column))
                op.execute(t.update().where(t.c[column].is_(None)).values({column: now}))


def _latest_by_object(audit, object_type, actions):
    """``{object_id: (after, actor_id, created_at)}`` of the latest event per object among ``actions``."""
    rows = op.get_bind().execute(
        sa.select(audit.c.object_id, audit.c.after, audit.c.actor_id, audit.c.created_at)
        .where(audit.c.object_type == object_type, audit.c.action.in_(actions)).order_by(audit.c.id))
    return {object_id: (after or {}, actor, at) for object_id, after, actor, at in rows}


def _backfill_review_notes(audit):
    """The reason given with each qualification's latest verify/reject decision."""
    latest = _latest_by_object(audit, 'qualification', ('qualification.verify', 'qualification.reject'))
    notes = [{'qid': int(object_id), 'note': after['reason']} for object_id, (after, _actor, _at) in latest.items()
             if after.get('reason')]
    if notes:
        t = _table('qualifications', 'id', 'review_note')
        op.get_bind().execute(t.update().where(t.c.id == sa.bindparam('qid')).values(review_note=sa.bindparam('note')),
                              notes)


def _backfill_unsuccessful_reasons(audit):
    """流榜 reasons: from the transition's audit event, else from the applications' decision note."""
    bind = op.get_bind()
    scenarios = _table('scenarios', 'id', 'status', 'unsuccessful_reason')
    applications = _table('applications', 'id', 'scenario_id', 'status', 'decision_note')
    latest = _latest_by_object(audit, 'scenario', ('scenario.unsuccessful',))
    reasons = []
    for (scenario_id,) in bind.execute(sa.select(scenarios.c.id).where(scenarios.c.status == 'unsuccessful')):
        reason = latest.get(str(scenario_id), ({}, None, None))[0].get('reason') or bind.execute(
            sa.select(applications.c.decision_note)
            .where(applications.c.scenario_id == scenario_id, applications.c.status == 'not_selected',
                   applications.c.decision_note.is_not(None))
            .order_by(applications.c.id).limit(1)).scalar()
        if reason:
            reasons.append({'sid': scenario_id, 'reason': reason})
    if reasons:
        bind.execute(scenarios.update().where(scenarios.c.id == sa.bindparam('sid'))
                     .values(unsuccessful_reason=sa.bindparam('reason')), reasons)


def _backfill_acceptance_history(audit):
    """Each acceptance row held the latest of its scenario's acceptances; the audit log has all of them
    ("acceptance.record" on the row's id, one event per acceptance). Restore the earlier ones as rows."""
    bind = op.get_bind()
    acceptances = _table('acceptances', 'id', 'scenario_id', 'accepted_on', 'result', 'report_id', 'note',
                         'recorded_by_id', _ts('created_at'))
    attachments = _table('attachments', 'id')
    events: dict[str, list] = {}
    for object_id, after, actor_id, created_at in bind.execute(
            sa.select(audit.c.object_id, audit.c.after, audit.c.actor_id, audit.c.created_at)
            .where(audit.c.object_type == 'acceptance', audit.c.action == 'acceptance.record')
            .order_by(audit.c.id)):
        events.setdefault(object_id, []).append((after or {}, actor_id, created_at))
    known_files = set(bind.execute(sa.select(attachments.c.id)).scalars())
    rows = bind.execute(sa.select(acceptances.c.id, acceptances.c.scenario_id, acceptances.c.created_at)).all()
    for acceptance_id, scenario_id, current_at in rows:
        history = events.get(str(acceptance_id))
        if not history:
            continue
        bind.execute(acceptances.update().where(acceptances.c.id == acceptance_id)
                     .values(recorded_by_id=history[-1][1]))
        for back, (after, actor_id, created_at) in enumerate(reversed(history[:-1]), start=1):
            # The row's acceptance is the latest: an earlier one is dated before it even if the log disagrees.
            created_at = min(created_at, current_at - timedelta(microseconds=back))
            try:
                accepted_on = date.fromisoformat(after['accepted_on'])
                result = after['result']
            except (KeyError, TypeError, ValueError):
                continue
            report_id = after.get('report')
            bind.execute(acceptances.insert().values(
                scenario_id=scenario_id, accepted_on=accepted_on, result=result,
                report_id=report_id if report_id in known_files else None, note=after.get('note') or '',
                recorded_by_id=actor_id, created_at=created_at))


def _backfill_enterprise_profiles():
    """An empty, unverified profile for every software firm without one (defaults as the model gives)."""
    organisations = _table('organisations', 'id', 'kind')
    profiles = _table('enterprise_profiles', 'organisation_id', 'address', 'building', 'business_scope',
                      'capabilities', 'tags', 'contact_name', 'contact_phone', 'contact_email', 'status',
                      _ts('created_at'), _ts('updated_at'))
    now = datetime.now(UTC)
    # Distinct literal objects: select() would fold a repeated one into a single column.
    missing = (sa.select(organisations.c.id, *(sa.literal('') for _ in range(8)), sa.literal('unverified'),
                         sa.literal(now, TIMESTAMP), sa.literal(now, TIMESTAMP))
               .where(organisations.c.kind == 'software_enterprise',
                      ~sa.exists().where(profiles.c.organisation_id == organisations.c.id))
               .order_by(organisations.c.id))
    op.execute(profiles.insert().from_select(
        ['organisation_id', 'address', 'building', 'business_scope', 'capabilities', 'tags', 'contact_name',
         'contact_phone', 'contact_email', 'status', 'created_at', 'updated_at'], missing))


def downgrade():
    # One acceptance per scenario again: keep the latest (the audit log keeps the others).
    bind = op.get_bind()
    acceptances = _table('acceptances', 'id', 'scenario_id', _ts('created_at'))
    latest: dict[int, int] = {}
    for acceptance_id, scenario_id in bind.execute(
            sa.select(acceptances.c.id, acceptances.c.scenario_id)
            .order_by(acceptances.c.created_at, acceptances.c.id)):
        latest[scenario_id] = acceptance_id
    if latest:
        bind.execute(acceptances.delete().where(acceptances.c.id.not_in(list(latest.values()))))
    with op.batch_alter_table('acceptances', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_acceptances_recorded_by_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_acceptances_scenario_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_acceptances_scenario_id'), ['scenario_id'])
        batch_op.drop_column('recorded_by_id')

    with op.batch_alter_table('scenarios', schema=None) as batch_op:
        batch_op.drop_column('unsuccessful_reason')
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_column('review_note')
    for name, (created, updated) in TIMESTAMPS.items():
        with op.batch_alter_table(name, schema=None) as batch_op:
            if updated:
                batch_op.drop_column('updated_at')
            if created:
                batch_op.drop_column('created_at')
