"""The data model of the whole product; each concept in its own module."""

from alumni.models.address import AddressChange
from alumni.models.alumnus import PERSONAL_FIELDS, Alumnus, AlumnusStatus, Gender
from alumni.models.base import LOCAL_TIME, InvalidTransition, utcnow
from alumni.models.campaign import (
    Campaign,
    CampaignBatch,
    CampaignKind,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    DeliveryTotal,
    FailReason,
    SkipReason,
    WaitingReason,
    reason_label,
)
from alumni.models.consent import (
    AppendOnlyViolation,
    Consent,
    ConsentEvidence,
    ConsentState,
    EvidenceChannel,
)
from alumni.models.erasure import ErasureRequest, ErasureState
from alumni.models.join import JoinRequest, JoinRequestStatus
from alumni.models.notice import PrivacyNotice, PublishedNoticeChanged
from alumni.models.opens import OpenCount, OpenedToken, OpenFlush
from alumni.models.staff import ApiToken, AuditEntry, Passkey, RecoveryCode, Role, StaffUser
from alumni.models.suppression import Suppression, SuppressionReason

__all__ = [
    "LOCAL_TIME",
    "PERSONAL_FIELDS",
    "AddressChange",
    "Alumnus",
    "AlumnusStatus",
    "ApiToken",
    "AppendOnlyViolation",
    "AuditEntry",
    "Campaign",
    "CampaignBatch",
    "CampaignKind",
    "CampaignStatus",
    "Consent",
    "ConsentEvidence",
    "ConsentState",
    "Delivery",
    "DeliveryStatus",
    "DeliveryTotal",
    "ErasureRequest",
    "ErasureState",
    "EvidenceChannel",
    "FailReason",
    "Gender",
    "InvalidTransition",
    "JoinRequest",
    "JoinRequestStatus",
    "OpenCount",
    "OpenFlush",
    "OpenedToken",
    "Passkey",
    "PrivacyNotice",
    "PublishedNoticeChanged",
    "RecoveryCode",
    "Role",
    "SkipReason",
    "StaffUser",
    "Suppression",
    "SuppressionReason",
    "WaitingReason",
    "reason_label",
    "utcnow",
]
