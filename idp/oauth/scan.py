"""Scan-to-log-in (扫码登录, docs/scan-login.md): a person already logged in on their phone logs a
computer's browser in by scanning a QR code and confirming.

1. The login step of an interaction asks for a *ticket* (:meth:`ScanLogin.issue`): random,
   short-lived (``IDP_SCAN_TICKET_TTL``), bound to the interaction and to the browser that shows
   it (the interaction's ``idp_browser`` binding); a browser may ask for at most
   ``IDP_SCAN_TICKETS_PER_HOUR`` an hour. Its QR code holds ``<issuer>/scan/<ticket>``.
2. The phone, with an SSO session of this provider, is shown which portal and which device asks
   (:func:`device_summary`, :func:`masked_address`, the time) and confirms or refuses
   (:meth:`ScanLogin.decide`: once, atomically; audited ``scan_confirmed`` / ``scan_refused``).
3. The computer's page refreshes itself (no JavaScript); once the ticket is confirmed its next
   refresh *takes* it (:meth:`ScanLogin.take`: once, only by the browser and interaction it was
   made for; audited ``scan_used``) and the login step starts the computer's SSO session for the
   confirming account with :data:`SCAN_AMR`; the interaction goes on as after a password.

``amr`` (RFC 8176): ``mca``, "multiple-channel authentication", is the registered value that
describes what happened: the login involved two distinct channels, the computer's browser and
the phone's own session. ``qr`` is our documented, unregistered value (RFC 8176 section 1 lets
parties agree on others), so a portal can tell a scan from any other two-channel login.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from idp.identity.audit import Audit
from idp.models import Account
from idp.models.base import Database
from idp.oauth.interaction import Interaction
from idp.observability import metrics
from idp.store.ratelimit import HourlyLimit
from idp.store.scan import CONFIRMED, PENDING, REFUSED, ScanTicket, ScanTickets

SCAN_AMR = ["mca", "qr"]

# What a status request finds: the ticket still waits, was confirmed, refused, or is gone
# (expired, used, or not this browser's).
WAITING, READY, DECLINED, GONE = "waiting", "ready", "declined", "gone"


@dataclass(frozen=True)
class Device:
    """What the phone is told about the computer that asks (RFC 8176 leaves this to us)."""

    browser: str
    system: str
    address: str


# Most specific first: Edge and Opera say "Chrome", Chrome says "Safari".
_BROWSERS = [
    ("MicroMessenger", "WeChat"),
    ("Edg", "Edge"),
    ("OPR", "Opera"),
    ("Firefox", "Firefox"),
    ("QQBrowser", "QQ Browser"),
    ("UCBrowser", "UC Browser"),
    ("Chrome", "Chrome"),
    ("Safari", "Safari"),
]
_SYSTEMS = [
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("HarmonyOS", "HarmonyOS"),
    ("Linux", "Linux"),
]


def device_summary(user_agent: str) -> tuple[str, str]:
    """(browser, operating system) of a ``User-Agent`` header, or empty strings when unknown.
    A summary only: the header is the browser's own claim."""
    browser = next((name for token, name in _BROWSERS if re.search(rf"\b{token}/", user_agent)), "")
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    return browser, system


def masked_address(address: str) -> str:
    """An IP address with its last part hidden: ``203.0.113.*``, ``2001:db8:85a3:*``."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if isinstance(parsed, ipaddress.IPv4Address):
        return ".".join(str(parsed).split(".")[:3]) + ".*"
    return ":".join(parsed.exploded.split(":")[:3]) + ":*"


class ScanLogin:
    def __init__(
        self,
        tickets: ScanTickets,
        issued: HourlyLimit,
        db: Database,
        audit: Audit,
        issuer: str,
    ) -> None:
        self._tickets = tickets
        self._issued = issued
        self._db = db
        self._audit = audit
        self._issuer = issuer

    @property
    def ttl(self) -> int:
        return self._tickets.ttl

    def url(self, ticket: ScanTicket) -> str:
        """What the QR code holds: the phone's page at this provider."""
        return f"{self._issuer}/scan/{ticket.id}"

    # -- the computer --------------------------------------------------------------------------
    def issue(
        self, interaction: Interaction, ip_address: str | None, user_agent: str | None
    ) -> ScanTicket | None:
        """A new ticket for the browser of ``interaction``; None when this browser has asked for
        too many this hour."""
        if self._issued.exceeded(interaction.binding):
            return None
        self._issued.count(interaction.binding)
        return self._tickets.create(
            interaction_id=interaction.id,
            binding=interaction.binding,
            client_id=interaction.request.client_id,
            client_name=interaction.client_name,
            ip_address=ip_address or "",
            user_agent=(user_agent or "")[:512],
        )

    def status(self, ticket_id: str, interaction: Interaction) -> tuple[str, ScanTicket | None]:
        """Where the ticket of this browser's interaction is."""
        ticket = self._tickets.get(ticket_id)
        if (
            ticket is None
            or ticket.interaction_id != interaction.id
            or ticket.binding != interaction.binding
        ):
            return GONE, None
        if ticket.status == CONFIRMED:
            return READY, ticket
        if ticket.status == REFUSED:
            return DECLINED, ticket
        return WAITING, ticket

    def take(self, ticket_id: str, interaction: Interaction) -> Account | None:
        """The account that confirmed the ticket, the ticket used up; None when it is not
        confirmed, not this browser's, already used, or the account is no longer active."""
        ticket = self._tickets.take(ticket_id, interaction.binding, interaction.id)
        if ticket is None:
            return None
        account = self._db.session.get(Account, ticket.account_id)
        if account is None or not account.active:
            return None
        self._audit(
            "scan_used",
            actor=account.id,
            account_id=account.id,
            client_id=ticket.client_id,
            ip_address=ticket.ip_address or None,
        )
        metrics.count_login("scan", "success")
        return account

    # -- the phone -----------------------------------------------------------------------------
    def pending(self, ticket_id: str) -> ScanTicket | None:
        """The ticket, while it waits for a decision."""
        ticket = self._tickets.get(ticket_id)
        return ticket if ticket is not None and ticket.status == PENDING else None

    def device(self, ticket: ScanTicket) -> Device:
        browser, system = device_summary(ticket.user_agent)
        return Device(browser, system, masked_address(ticket.ip_address))

    def decide(
        self, ticket_id: str, account: Account, confirmed: bool, ip_address: str | None
    ) -> bool:
        """Confirm or refuse the ticket as ``account`` (once); False when it is gone or was
        decided already."""
        ticket = self.pending(ticket_id)
        if ticket is None:
            return False
        if not self._tickets.decide(ticket_id, CONFIRMED if confirmed else REFUSED, account.id):
            return False
        self._audit(
            "scan_confirmed" if confirmed else "scan_refused",
            actor=account.id,
            account_id=account.id,
            client_id=ticket.client_id,
            ip_address=ip_address,
        )
        if not confirmed:
            metrics.count_login("scan", "refused")
        return True
