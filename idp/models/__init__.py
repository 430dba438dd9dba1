"""Durable data: SQLAlchemy 2 typed models, one module per aggregate, migrated by Alembic."""

from idp.models.account import Account
from idp.models.agreement import AgreementAcceptance, AgreementKind, AgreementVersion
from idp.models.audit import AuditEvent
from idp.models.base import Base, Database
from idp.models.client import Client
from idp.models.consent import Consent
from idp.models.disclosure import DisclosureChainHead, DisclosureRecord
from idp.models.grant import Grant, Token
from idp.models.logout import LogoutDelivery

__all__ = [
    "Account",
    "AgreementAcceptance",
    "AgreementKind",
    "AgreementVersion",
    "AuditEvent",
    "Base",
    "Client",
    "Consent",
    "Database",
    "DisclosureChainHead",
    "DisclosureRecord",
    "Grant",
    "LogoutDelivery",
    "Token",
]
