"""Rules of the 用户协议 and 隐私政策: the current versions, publishing a new one, recording consent.

Version 1 of each document is loaded by the migration; when the table holds no row of a kind (a
database emptied by hand, the test suite) the text of :mod:`marketplace.legal.initial` stands in
as version 1, so there is always a current version to show and to consent to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace import audit, clock
from marketplace.errors import PermissionDenied, ValidationFailed
from marketplace.legal.initial import INITIAL
from marketplace.models import Consent, LegalDocument, LegalKind, Role, User
from marketplace.models.base import insert_or_ignore

#: Shortest body a published version may have (a real text, not a placeholder).
MIN_BODY = 50
MAX_BODY = 50_000
MAX_TITLE = 128


@dataclass(frozen=True)
class InitialDocument:
    """Version 1 from :mod:`marketplace.legal.initial`, standing in when the table holds no row."""

    kind: LegalKind
    title: str
    body: str
    version: int = 1
    published_at: datetime | None = None
    published_by: User | None = None


def initial(kind: LegalKind) -> InitialDocument:
    title, body = INITIAL[kind.value]
    return InitialDocument(kind, title, body)


def current(session: Session, kind: LegalKind) -> LegalDocument | InitialDocument:
    """The version in force of *kind* (the highest version)."""
    found = session.execute(sa.select(LegalDocument).where(LegalDocument.kind == kind)
                            .order_by(LegalDocument.version.desc()).limit(1)).scalar_one_or_none()
    return found or initial(kind)


def history(session: Session, kind: LegalKind) -> list[LegalDocument]:
    """Every stored version of *kind*, newest first."""
    return list(session.execute(sa.select(LegalDocument).where(LegalDocument.kind == kind)
                                .order_by(LegalDocument.version.desc())).scalars())


def version_of(session: Session, kind: LegalKind, version: int) -> LegalDocument | InitialDocument | None:
    """One version of *kind* (version 1 falls back to the initial text), or None."""
    found = session.execute(sa.select(LegalDocument).where(LegalDocument.kind == kind,
                                                           LegalDocument.version == version)).scalar_one_or_none()
    if found is None and version == 1:
        return initial(kind)
    return found


def current_versions(session: Session) -> dict[LegalKind, int]:
    """kind → version in force (one grouped query)."""
    versions = dict.fromkeys(LegalKind, 1)
    for kind, version in session.execute(sa.select(LegalDocument.kind, sa.func.max(LegalDocument.version))
                                         .group_by(LegalDocument.kind)):
        versions[kind] = max(version, 1)
    return versions


def publish(session: Session, actor: User, kind: LegalKind, title: str, body: str, ip: str | None) -> LegalDocument:
    """Publish version n + 1 of *kind* (city staff only); users who accepted an older version are asked again."""
    if actor.role != Role.CITY_STAFF:
        raise PermissionDenied(_("只有市级工作人员可以修改用户协议和隐私政策。"))
    title = (title or "").strip()
    body = (body or "").replace("\r\n", "\n").strip()
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("请输入标题。")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [_("标题不能超过 %(n)d 个字。", n=MAX_TITLE)]
    if len(body) < MIN_BODY:
        errors["body"] = [_("正文至少 %(n)d 个字（当前 %(m)d 个字）。", n=MIN_BODY, m=len(body))]
    elif len(body) > MAX_BODY:
        errors["body"] = [_("正文不能超过 %(n)d 个字。", n=MAX_BODY)]
    previous = current(session, kind)
    if not errors and title == previous.title and body == previous.body:
        errors["body"] = [_("内容与现行版本相同，无需发布新版本。")]
    if errors:
        raise ValidationFailed(_("请检查标记的项目。"), errors)
    document = LegalDocument(kind=kind, version=previous.version + 1, title=title, body=body,
                             published_at=clock.now(), published_by=actor)
    session.add(document)
    session.flush()
    audit.record(session, actor=actor, action="legal.publish", object_type="legal_document", object_id=document.id,
                 before={"kind": kind.value, "version": previous.version},
                 after={"kind": kind.value, "version": document.version, "title": title}, ip=ip)
    return document


def require_consent(accepted: bool) -> None:
    """Registration is refused unless both documents were accepted (the form's checkbox)."""
    if not accepted:
        message = _("请阅读并同意《用户协议》和《隐私政策》。")
        raise ValidationFailed(message, {"consent": [message]})


def record_consent(session: Session, user: User, ip: str | None,
                   kinds: tuple[LegalKind, ...] | list[LegalKind] = tuple(LegalKind)) -> dict[LegalKind, int]:
    """Record that *user* accepted the versions in force of *kinds* now; returns kind → version accepted.

    Accepting the same version twice (a double click) records it once.
    """
    versions = current_versions(session)
    now = clock.now()
    rows = [{"user_id": user.id, "kind": kind.value, "version": versions[kind], "accepted_at": now, "ip": ip}
            for kind in kinds]
    insert_or_ignore(session, Consent, rows, ("user_id", "kind", "version"))
    return {kind: versions[kind] for kind in kinds}


def outstanding(session: Session, user: User) -> list[tuple[LegalKind, int]]:
    """(kind, version in force) of each document whose version in force *user* has not accepted (one query)."""
    docs = sa.select(sa.literal("doc").label("source"), LegalDocument.kind.label("kind"),
                     sa.func.max(LegalDocument.version).label("version")).group_by(LegalDocument.kind)
    accepted = sa.select(sa.literal("consent").label("source"), Consent.kind.label("kind"),
                         sa.func.max(Consent.version).label("version")).where(Consent.user_id == user.id) \
        .group_by(Consent.kind)
    in_force = dict.fromkeys(LegalKind, 1)
    mine: dict[LegalKind, int] = {}
    for source, kind, version in session.execute(sa.union_all(docs, accepted)):
        kind = LegalKind(kind)
        if source == "doc":
            in_force[kind] = max(version, 1)
        else:
            mine[kind] = version
    return [(kind, version) for kind, version in in_force.items() if mine.get(kind, 0) < version]


def accept_outstanding(session: Session, user: User, ip: str | None) -> dict[LegalKind, int]:
    """The banner's 同意 button: record consent to every version in force the user has not accepted yet."""
    kinds = [kind for kind, _version in outstanding(session, user)]
    if not kinds:
        return {}
    versions = record_consent(session, user, ip, kinds)
    audit.record(session, actor=user, action="legal.accept", object_type="user", object_id=user.id,
                 after={kind.value: version for kind, version in versions.items()}, ip=ip)
    return versions
