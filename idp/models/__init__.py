"""Durable data: SQLAlchemy 2 typed models, one module per aggregate, migrated by Alembic."""

from idp.models.account import Account
from idp.models.admin import AdminApiToken, Administrator
from idp.models.agreement import AgreementAcceptance, AgreementKind, AgreementVersion
from idp.models.audit import AuditEvent
from idp.models.base import Base, Database
from idp.models.client import Client, ClientName
from idp.models.consent import Consent
from idp.models.disclosure import DisclosureChainHead, DisclosureRecord
from idp.models.entity import EntityRole, HandlerGrant, LegalEntity, MatterClass
from idp.models.factor import RecoveryCode, SecondFactor
from idp.models.grant import Grant, Token
from idp.models.logout import LogoutDelivery
from idp.models.material import Material, MaterialRelease
from idp.models.matter import Matter, MatterStep, PortalSubject
from idp.models.message import Message, MessagePreference
from idp.models.portal_pair import PortalPair
from idp.models.registration import InitialAccessToken
from idp.models.sms import SmsMessage
from idp.models.user_space_security import DeliveryAddress, LoginRecord
from idp.models.verification import Verification

__all__ = [
    "Account",
    "AdminApiToken",
    "Administrator",
    "AgreementAcceptance",
    "AgreementKind",
    "AgreementVersion",
    "AuditEvent",
    "Base",
    "Client",
    "ClientName",
    "Consent",
    "Database",
    "DeliveryAddress",
    "DisclosureChainHead",
    "DisclosureRecord",
    "EntityRole",
    "Grant",
    "HandlerGrant",
    "LegalEntity",
    "InitialAccessToken",
    "LoginRecord",
    "LogoutDelivery",
    "Material",
    "MaterialRelease",
    "Matter",
    "MatterClass",
    "RecoveryCode",
    "SecondFactor",
    "MatterStep",
    "Message",
    "MessagePreference",
    "PortalSubject",
    "PortalPair",
    "SmsMessage",
    "Token",
    "Verification",
]
