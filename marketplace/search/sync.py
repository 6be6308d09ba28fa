"""Keep the search index in step with the database, after commit and never before.

Models opt in with :func:`register` (how to turn an object into a
:class:`~marketplace.search.documents.SearchDocument`, and whether it is public at all), and
related models with :func:`register_related` (which searchable objects to re-index when, say, a
batch is renamed).  :func:`attach` hooks a session (class, ``sessionmaker``, ``scoped_session``
such as Flask-SQLAlchemy's ``db.session``) to these session events:

``after_flush``
    records the registered objects that were added, changed or deleted (an over-approximation:
    every flush of the transaction, savepoints included).
``before_commit``
    flushes what is left, then turns every recorded object into its *current* state: a
    document to write when it is persistent and public, a removal otherwise (deleted, rolled
    back by a savepoint, withdrawn, draft…).  Building documents here, while the transaction is
    still open, lets ``to_document`` read relationships.
``after_commit``
    sends the writes and removals to the backend in one call.  Errors are logged, never raised
    into the request: the data is committed and ``flask search check`` / ``reindex`` repair the
    index.
``after_rollback`` / end of the outermost transaction
    drop everything recorded: a rolled-back change never reaches the index.

With search disabled (the backend getter returns ``None`` or a
:class:`~marketplace.search.backend.NullBackend`) nothing is built or sent.

Only ORM unit-of-work changes are seen: a bulk ``update()`` / ``delete()`` statement bypasses
the hooks and must be followed by an explicit ``index`` / ``remove`` (or a reindex).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from marketplace.search.backend import (
    CheckReport,
    NullBackend,
    ProgressCallback,
    SearchBackend,
    SearchUnavailable,
    check_index,
)
from marketplace.search.documents import DocKey, SearchDocument

__all__ = [
    "Registration",
    "SearchSync",
    "attach",
    "check",
    "iter_documents",
    "register",
    "register_related",
    "registry",
    "reindex",
]

log = logging.getLogger("marketplace.search")

#: Key in ``session.info`` holding what the current transaction changed.
_INFO_KEY = "marketplace.search.changes"


def _always(_obj: Any) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Registration:
    """How one model class is indexed."""

    model: type
    doc_type: str
    #: Builds the document of a public object (may read relationships).
    to_document: Callable[[Any], SearchDocument]
    #: ``False`` → the record must not be in the index (draft, withdrawn, …).
    is_public: Callable[[Any], bool] = _always
    #: The object's key; default ``(doc_type, obj.id)``.
    key: Callable[[Any], DocKey] | None = None
    #: The statement loading every candidate record for a reindex (eager loads go here);
    #: default ``select(model)``.
    select: Callable[[], sa.Select[Any]] | None = None

    def key_of(self, obj: Any) -> DocKey:
        """The document key of *obj*."""
        if self.key is not None:
            return self.key(obj)
        return (self.doc_type, int(obj.id))


@dataclass(slots=True)
class _Changes:
    """What one session's transaction touched (kept in ``session.info``)."""

    #: Registered objects seen in a flush, by identity, with the key they had then.
    objects: dict[int, tuple[Any, DocKey]] = field(default_factory=dict)
    #: Objects of related models seen in a flush (their parents are re-indexed).
    related: dict[int, Any] = field(default_factory=dict)
    #: Keys of registered objects deleted in a flush.
    deleted: set[DocKey] = field(default_factory=set)
    #: Built in ``before_commit``: documents to write and keys to remove.
    upserts: dict[DocKey, SearchDocument] = field(default_factory=dict)
    removals: set[DocKey] = field(default_factory=set)


class SearchSync:
    """A registry of searchable models and the session hooks that keep the index in sync.

    *get_backend* returns the backend to write to (or ``None`` when search is off); it is
    called in ``before_commit`` and ``after_commit``.
    """

    def __init__(self, get_backend: Callable[[], SearchBackend | None] | None = None) -> None:
        self.get_backend = get_backend
        self._models: dict[type, Registration] = {}
        self._related: dict[type, Callable[[Any], Iterable[Any]]] = {}
        self._attached: list[Any] = []

    # -- registration ---------------------------------------------------------------------
    def register(
        self,
        model: type,
        *,
        doc_type: str,
        to_document: Callable[[Any], SearchDocument],
        is_public: Callable[[Any], bool] | None = None,
        key: Callable[[Any], DocKey] | None = None,
        select: Callable[[], sa.Select[Any]] | None = None,
    ) -> Registration:
        """Make *model* searchable (subclasses included); see :class:`Registration`."""
        registration = Registration(model, doc_type, to_document, is_public or _always, key, select)
        self._models[model] = registration
        return registration

    def register_related(self, model: type, parents: Callable[[Any], Iterable[Any]]) -> None:
        """When an object of *model* changes, re-index the searchable objects ``parents(obj)``
        returns (e.g. a renamed batch → its scenarios).  Called inside the transaction."""
        self._related[model] = parents

    def registration_for(self, obj: Any) -> Registration | None:
        """The registration covering *obj*'s class, if any."""
        for cls in type(obj).__mro__:
            found = self._models.get(cls)
            if found is not None:
                return found
        return None

    def _related_hook(self, obj: Any) -> Callable[[Any], Iterable[Any]] | None:
        for cls in type(obj).__mro__:
            found = self._related.get(cls)
            if found is not None:
                return found
        return None

    @property
    def registrations(self) -> list[Registration]:
        """Every registered model."""
        return list(self._models.values())

    # -- session hooks --------------------------------------------------------------------
    def attach(self, target: Any) -> None:
        """Listen to the session events of *target* (a ``Session`` class or instance, a
        ``sessionmaker`` or a ``scoped_session``).  Attaching twice is a no-op."""
        if any(t is target for t in self._attached):
            return
        event.listen(target, "after_flush", self._after_flush)
        event.listen(target, "before_commit", self._before_commit)
        event.listen(target, "after_commit", self._after_commit)
        event.listen(target, "after_rollback", self._after_rollback)
        event.listen(target, "after_transaction_end", self._after_transaction_end)
        self._attached.append(target)

    def detach(self) -> None:
        """Remove every listener added by :meth:`attach`."""
        for target in self._attached:
            event.remove(target, "after_flush", self._after_flush)
            event.remove(target, "before_commit", self._before_commit)
            event.remove(target, "after_commit", self._after_commit)
            event.remove(target, "after_rollback", self._after_rollback)
            event.remove(target, "after_transaction_end", self._after_transaction_end)
        self._attached = []

    def _backend(self) -> SearchBackend | None:
        if self.get_backend is None:
            return None
        try:
            backend = self.get_backend()
        except Exception:  # no app context, misconfiguration: never break the commit
            log.exception("search: no backend available; index not updated")
            return None
        if backend is None or isinstance(backend, NullBackend):
            return None
        return backend

    @staticmethod
    def _changes(session: Session, create: bool = True) -> _Changes | None:
        changes = session.info.get(_INFO_KEY)
        if changes is None and create:
            changes = session.info[_INFO_KEY] = _Changes()
        return changes

    def _after_flush(self, session: Session, _flush_context: Any) -> None:
        if not self._models:
            return
        changes: _Changes | None = None
        for obj in (*session.new, *session.dirty):
            registration = self.registration_for(obj)
            if registration is not None:
                changes = changes or self._changes(session)
                assert changes is not None
                changes.objects[id(obj)] = (obj, registration.key_of(obj))
            elif self._related_hook(obj) is not None:
                changes = changes or self._changes(session)
                assert changes is not None
                changes.related[id(obj)] = obj
        for obj in session.deleted:
            registration = self.registration_for(obj)
            if registration is not None:
                changes = changes or self._changes(session)
                assert changes is not None
                changes.deleted.add(registration.key_of(obj))
                changes.objects.pop(id(obj), None)
            else:
                hook = self._related_hook(obj)
                if hook is not None:
                    # The parents must be found now, while the deleted object still has them.
                    changes = changes or self._changes(session)
                    assert changes is not None
                    for parent in hook(obj):
                        parent_reg = self.registration_for(parent)
                        if parent_reg is not None:
                            changes.objects[id(parent)] = (parent, parent_reg.key_of(parent))

    def _before_commit(self, session: Session) -> None:
        changes = self._changes(session, create=False)
        if changes is None:
            if not self._models or not (session.new or session.dirty or session.deleted):
                return
            # Unflushed changes only: flush now so after_flush records them.
            session.flush()
            changes = self._changes(session, create=False)
            if changes is None:
                return
        if self._backend() is None:
            session.info.pop(_INFO_KEY, None)
            return
        session.flush()
        for obj in list(changes.related.values()):
            hook = self._related_hook(obj)
            if hook is None or sa.inspect(obj).deleted or sa.inspect(obj).detached:
                continue
            for parent in hook(obj):
                registration = self.registration_for(parent)
                if registration is not None:
                    changes.objects[id(parent)] = (parent, registration.key_of(parent))
        removals = set(changes.deleted)
        upserts: dict[DocKey, SearchDocument] = {}
        for obj, old_key in changes.objects.values():
            registration = self.registration_for(obj)
            assert registration is not None
            state = sa.inspect(obj)
            if not state.persistent:  # deleted, or its insert was rolled back by a savepoint
                removals.add(old_key)
                continue
            key = registration.key_of(obj)
            if key != old_key:
                removals.add(old_key)
            try:
                if registration.is_public(obj):
                    document = registration.to_document(obj)
                    upserts[document.key] = document
                    removals.discard(document.key)
                else:
                    removals.add(key)
            except Exception:
                log.exception("search: could not build the document of %r; not indexed", obj)
        for key in upserts:
            removals.discard(key)
        changes.upserts, changes.removals = upserts, removals

    def _after_commit(self, session: Session) -> None:
        changes = session.info.pop(_INFO_KEY, None)
        if changes is None or (not changes.upserts and not changes.removals):
            return
        backend = self._backend()
        if backend is None:
            return
        try:
            backend.apply(list(changes.upserts.values()), sorted(changes.removals))
        except SearchUnavailable as error:
            # A known state (missing, rebuilding, corrupt index): the pages fall back and /readyz says so;
            # the next `flask search reindex` (or repair job) indexes these records from the database.
            log.warning("search: index unavailable, %d writes and %d removals left to the next reindex: %s",
                        len(changes.upserts), len(changes.removals), error)
        except Exception:
            log.exception(
                "search: index update failed after commit (%d writes, %d removals); run `flask search check`",
                len(changes.upserts),
                len(changes.removals),
            )

    def _after_rollback(self, session: Session) -> None:
        # Fired for the outermost transaction and for savepoints alike.  Recorded objects are
        # re-read in before_commit, so a savepoint rollback loses nothing by keeping them; only
        # a rollback of the whole transaction drops them.
        if not session.in_nested_transaction():
            session.info.pop(_INFO_KEY, None)

    def _after_transaction_end(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            session.info.pop(_INFO_KEY, None)

    # -- bulk helpers for the CLI ---------------------------------------------------------
    def iter_documents(self, session: Session, batch_size: int = 500) -> Iterator[SearchDocument]:
        """Documents of every public record of every registered model (for a reindex)."""
        for registration in self._models.values():
            stmt = registration.select() if registration.select else sa.select(registration.model)
            for obj in session.scalars(stmt.execution_options(yield_per=batch_size)):
                if registration.is_public(obj):
                    yield registration.to_document(obj)

    def reindex(
        self, session: Session, backend: SearchBackend, progress: ProgressCallback | None = None
    ) -> int:
        """Rebuild *backend* from the database; returns the number of documents."""
        return backend.rebuild(self.iter_documents(session), progress=progress)

    def check(self, session: Session, backend: SearchBackend) -> CheckReport:
        """Records missing from the index, stale in it, or in it but no longer public."""
        return check_index(backend, self.iter_documents(session))


#: The application's registry (models register here; ``init_app`` attaches it).
registry = SearchSync()


def register(
    model: type,
    *,
    doc_type: str,
    to_document: Callable[[Any], SearchDocument],
    is_public: Callable[[Any], bool] | None = None,
    key: Callable[[Any], DocKey] | None = None,
    select: Callable[[], sa.Select[Any]] | None = None,
) -> Registration:
    """Register *model* in the application registry (see :meth:`SearchSync.register`)."""
    return registry.register(
        model, doc_type=doc_type, to_document=to_document, is_public=is_public, key=key, select=select
    )


def register_related(model: type, parents: Callable[[Any], Iterable[Any]]) -> None:
    """See :meth:`SearchSync.register_related`."""
    registry.register_related(model, parents)


def attach(target: Any, get_backend: Callable[[], SearchBackend | None] | None = None) -> None:
    """Hook the application registry to *target*'s session events."""
    if get_backend is not None:
        registry.get_backend = get_backend
    registry.attach(target)


def iter_documents(session: Session) -> Iterator[SearchDocument]:
    """See :meth:`SearchSync.iter_documents`."""
    return registry.iter_documents(session)


def reindex(session: Session, backend: SearchBackend, progress: ProgressCallback | None = None) -> int:
    """See :meth:`SearchSync.reindex`."""
    return registry.reindex(session, backend, progress)


def check(session: Session, backend: SearchBackend) -> CheckReport:
    """See :meth:`SearchSync.check`."""
    return registry.check(session, backend)
