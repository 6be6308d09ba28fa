"""All models, imported here so that Alembic and the app see one metadata."""

from marketplace.models.accounts import (
    ApprovalStatus,
    LoginAttempt,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from marketplace.models.applications import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    EvaluationCriterion,
    ExpertAssignment,
    Score,
    StageAssessment,
)
from marketplace.models.attachments import Attachment, AttachmentPurpose
from marketplace.models.audit import AuditEvent
from marketplace.models.base import Base
from marketplace.models.delivery import (
    Acceptance,
    AcceptanceResult,
    Contract,
    Milestone,
    MilestoneStatus,
    ProgressNote,
)
from marketplace.models.enterprises import (
    EnterpriseProfile,
    ProfileCase,
    Qualification,
    QualificationKind,
    RevenueBand,
    VerificationStatus,
    profile_domains,
)
from marketplace.models.mail import OutboxMessage, OutboxStatus
from marketplace.models.notifications import Follow, Notification, SavedSearch
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
    "Acceptance",
    "AcceptanceResult",
    "Application",
    "ApplicationDocument",
    "ApplicationStatus",
    "Contract",
    "EnterpriseProfile",
    "EvaluationCriterion",
    "ExpertAssignment",
    "Follow",
    "Milestone",
    "MilestoneStatus",
    "Notification",
    "ProfileCase",
    "ProgressNote",
    "Qualification",
    "QualificationKind",
    "RevenueBand",
    "SavedSearch",
    "Score",
    "StageAssessment",
    "VerificationStatus",
    "profile_domains",
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
