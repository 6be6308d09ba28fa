"""All models, imported here so that Alembic and the app see one metadata."""

from marketplace.models.accounts import (
    ApprovalStatus,
    LoginAttempt,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from marketplace.models.audit import AuditEvent
from marketplace.models.base import Base
from marketplace.models.mail import OutboxMessage, OutboxStatus
from marketplace.models.reference import District, Domain, Theme

__all__ = [
    "ApprovalStatus",
    "AuditEvent",
    "Base",
    "District",
    "Domain",
    "LoginAttempt",
    "Organisation",
    "OrganisationKind",
    "OutboxMessage",
    "OutboxStatus",
    "Role",
    "Theme",
    "User",
]
