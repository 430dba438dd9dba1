"""Durable data: SQLAlchemy 2 typed models, one module per aggregate, migrated by Alembic."""

from idp.models.account import Account
from idp.models.audit import AuditEvent
from idp.models.base import Base, Database
from idp.models.client import Client
from idp.models.consent import Consent
from idp.models.grant import Grant, Token

__all__ = ["Account", "AuditEvent", "Base", "Client", "Consent", "Database", "Grant", "Token"]
