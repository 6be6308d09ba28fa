"""All models, imported here so that Alembic and the app see one metadata."""

from marketplace.models.accounts import (
    ApprovalStatus,
    LoginAttempt,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from marketplace.models.attachments import Attachment, AttachmentPurpose
from marketplace.models.audit import AuditEvent
from marketplace.models.base import Base
from marketplace.models.mail import OutboxMessage, OutboxStatus
from marketplace.models.reference import District, Domain, Theme
from marketplace.models.scenarios import (
    Batch,
    BatchLevel,
    BatchStage,
    FundingSource,
    Question,
    Scenario,
    ScenarioDocument,
    ScenarioMode,
    ScenarioStatus,
    batch_scenarios,
)

__all__ = [
    "Attachment",
    "AttachmentPurpose",
    "Batch",
    "BatchLevel",
    "BatchStage",
    "FundingSource",
    "Question",
    "Scenario",
    "ScenarioDocument",
    "ScenarioMode",
    "ScenarioStatus",
    "batch_scenarios",
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
