"""The step engine of the interaction: one ordered table of steps, one place that completes
them (STYLE.md 7; node-oidc-provider's prompts).

Each step (``login``, ``agreement``, ``verify``, ``choose``, ``consent``) is a small handler
whose ``submit`` turns the values a form carried into an *outcome*: it decides, and writes
nothing. :meth:`StepEngine.submit` then does, in this order and for every step alike:

1. checks that the interaction is at this step (else the form is stale: ``Expired``);
2. for an outcome that ends the step, **claims** the interaction (atomic, single use), so a
   form replayed or submitted twice at once is refused instead of recorded twice;
3. starts the SSO session a login step asks for (the browser's previous one ends first);
4. **records** what the step decided (a consent, an agreement acceptance);
5. writes the step's **audit** events, when the record was written;
6. notes the step in the interaction's progress and **continues**: the next step, or the
   response to the portal (``AuthorizationFlow.proceed``).

The current account is carried by the :class:`StepContext`, read once per request from the SSO
session; a step that needs it and finds none sends the person back to the login. Two pages do
something before the step can decide, and it is recorded where it happens: a registration (the
account) and a step-up check (its evidence, ``IdentityChecks``); the step-up page runs its check
under :meth:`StepEngine.exclusive`, so the same form submitted twice at once asks the authority
once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from idp.identity import levels
from idp.identity.agreements import Agreements, Requirement
from idp.identity.audit import Audit
from idp.identity.entities import Option
from idp.identity.factors import SecondFactors
from idp.identity.login import LoginResult, SignIn
from idp.models import Account
from idp.oauth.authorize import AuthorizationRequest
from idp.oauth.claims import COMPANY_CLAIMS, MATERIALS_SCOPE
from idp.oauth.consent import ClaimRequest
from idp.oauth.consents import Consents
from idp.oauth.errors import AccessDeniedError, OAuth2Error, UnmetAuthenticationRequirementsError
from idp.oauth.flow import AuthorizationFlow
from idp.oauth.interaction import Interaction, InteractionStore
from idp.oauth.responses import AuthorizationResponse
from idp.oauth.scan import SCAN_AMR, ScanLogin
from idp.oauth.sso import SingleSignOn


@dataclass
class StepContext:
    """One request to an interaction: the interaction, the browser's SSO session cookie and the
    account of that session while it is current (None otherwise). The account is read once, when
    a step first needs it: the login step never does."""

    interaction: Interaction
    session_id: str | None
    current_account: Callable[[], Account | None]
    ip_address: str | None = None
    user_agent: str | None = None

    @functools.cached_property
    def account(self) -> Account | None:
        return self.current_account()

    @property
    def request(self) -> AuthorizationRequest:
        return self.interaction.request

    @property
    def client_id(self) -> str:
        return self.interaction.request.client_id


# -- outcomes ------------------------------------------------------------------------------------


@dataclass
class NewLogin:
    """Start an SSO session for ``account`` (the step proved who the person is)."""

    account: Account
    amr: list[str]
    via: str | None = None


@dataclass
class Completed:
    """The step is done. The engine claims the interaction, starts ``login``, runs ``record``
    (True when it wrote the evidence; False when what it records no longer holds, e.g. a newer
    agreement version came into force meanwhile: then nothing is audited and the flow asks
    again), writes ``audit`` (action, details) as the account, sets ``progress``, and
    continues."""

    login: NewLogin | None = None
    record: Callable[[], bool] | None = None
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    progress: dict[str, Any] = field(default_factory=dict)


@dataclass
class Declined:
    """The person gave up or refused: ``error`` goes to the portal."""

    error: OAuth2Error


@dataclass
class Retry:
    """The form cannot be accepted as it is: show the step again. ``problem`` names why;
    ``detail`` carries what the message needs (a ``LoginResult``)."""

    problem: str
    detail: Any = None


@dataclass
class Expired:
    """The interaction is gone, used, or not at this step (a stale or forged form)."""


@dataclass
class BackToLogin:
    """The session ended meanwhile: the login comes again."""


Outcome = Completed | Declined | Retry | Expired | BackToLogin


@dataclass
class Continuation:
    """Where the person goes next: the next step, the portal (``AuthorizationResponse``), the
    same page again (``retry``), or nowhere (``None``: expired or replayed). ``session_id``
    is a session the step started, for the SSO cookie."""

    next: AuthorizationResponse | Interaction | None
    session_id: str | None = None
    retry: Retry | None = None


class Step(Protocol):
    name: str

    def submit(self, ctx: StepContext, values: Mapping[str, Any]) -> Outcome: ...


# -- the steps ---------------------------------------------------------------------------------


class LoginStep:
    """Who the person is: a password, an SMS code, a registration just finished, or a QR code
    confirmed on the person's phone (``values["method"]`` = ``password`` | ``sms`` |
    ``registered`` | ``scan``; ``idp.oauth.scan``)."""

    name = "login"

    def __init__(self, sign_in: SignIn, scan: ScanLogin | None = None) -> None:
        self._sign_in = sign_in
        self._scan = scan

    def submit(self, ctx: StepContext, values: Mapping[str, Any]) -> Outcome:
        method = values.get("method")
        address = ctx.ip_address or ""
        result: LoginResult
        if method == "registered":
            return Completed(login=NewLogin(values["account"], ["sms"], via="registration"))
        if method == "scan" and self._scan is not None:
            # Taking the confirmed ticket is its single use (as an SMS code is used up above).
            account = self._scan.take(values.get("ticket", ""), ctx.interaction)
            if account is None:
                return Retry("scan_gone")
            return Completed(login=NewLogin(account, list(SCAN_AMR), via="scan"))
        if method == "password":
            result = self._sign_in.with_password(
                values["username"], values["password"], address, client_id=ctx.client_id
            )
            amr = ["pwd"]
        elif method == "sms":
            result = self._sign_in.with_code(
                values["phone"], values["code"], address, client_id=ctx.client_id
            )
            amr = ["sms"]
        else:
            return Expired()
        if result.account is None:
            return Retry(result.failure or "invalid", result)
        return Completed(login=NewLogin(result.account, amr))


class AgreementStep:
    """Agreement acceptance as part of login; declining ends the login."""

    name = "agreement"

    def __init__(self, agreements: Agreements) -> None:
        self._agreements = agreements

    def show(self, ctx: StepContext) -> Requirement | None:
        assert ctx.account is not None
        return self._agreements.pending(ctx.account.id, ctx.account.user_type)

    def submit(self, ctx: StepContext, values: Mapping[str, Any]) -> Outcome:
        if values.get("decision") == "deny":
            return Declined(AccessDeniedError("The person declined or cancelled the login."))
        if values.get("decision") != "approve":
            return Expired()
        account = ctx.account
        if account is None:
            return BackToLogin()
        requirement = self.show(ctx)
        version_id = values.get("version_id", "")
        if requirement is None or requirement.version.id != version_id:
            # A stale or forged form: the text shown is not what must be accepted now.
            return Expired()
        if requirement.mode == "accept" and not values.get("accepted"):
            return Retry("not_ticked")

        def record() -> bool:
            # The evidence and its audit event (agreement_accepted | agreement_notified), in
            # one transaction.
            recorded = self._agreements.record_pending(
                account.id,
                account.user_type,
                version_id,
                client_id=ctx.client_id,
                ip_address=ctx.ip_address,
                user_agent=ctx.user_agent,
            )
            return recorded is not None

        return Completed(record=record)


class VerifyStep:
    """Step-up: a check that reaches the portal's level continues the login; giving up tells
    the portal ``unmet_authentication_requirements`` (OIDC Core 3.1.2.6). The check itself
    (``Registration.verify_identity``, then ``IdentityChecks``) is the page's, under
    :meth:`StepEngine.exclusive`: it records its own evidence."""

    name = "verify"

    def __init__(self, flow: AuthorizationFlow) -> None:
        self._flow = flow

    def show(self, ctx: StepContext) -> str | None:
        """The level to reach."""
        return self._flow.required_level(ctx.request)

    def submit(self, ctx: StepContext, values: Mapping[str, Any]) -> Outcome:
        if values.get("decision") == "deny":
            return Declined(
                UnmetAuthenticationRequirementsError(
                    "The person could not verify their identity to the level the portal requires."
                )
            )
        if ctx.account is None:
            return BackToLogin()
        reached = values.get("level")
        if reached is None or not levels.at_least(reached, self.show(ctx)):
            return Retry("below_level")
        return Completed()


class SecondFactorStep:
    """A second factor after the first (``idp.identity.factors``): a TOTP or recovery code
    (``method=code``) or a passkey assertion (``method=passkey``). Passing it adds the factor's
    ``amr`` values and ``mfa`` (RFC 8176: the first factor was another) to the SSO session, so
    the login's ID token carries them; a session that already has them is not asked again. A
    person without a factor at a portal that requires one is told to enrol: giving up then
    tells the portal ``unmet_authentication_requirements``."""

    name = "second_factor"

    def __init__(self, factors: SecondFactors, sso: SingleSignOn) -> None:
        self._factors = factors
        self._sso = sso

    @staticmethod
    def binding(ctx: StepContext) -> str:
        """What a passkey challenge is bound to: this interaction, in this browser."""
        return f"interaction:{ctx.interaction.id}:{ctx.interaction.binding}"

    def enrolled(self, ctx: StepContext) -> set[str]:
        """The kinds of factor the person has ("totp", "passkey"); empty: they must enrol."""
        assert ctx.account is not None
        return self._factors.kinds(ctx.account.id)

    def passkey_options(self, ctx: StepContext) -> str | None:
        assert ctx.account is not None
        return self._factors.authentication_options(ctx.account.id, self.binding(ctx))

    def submit(self, ctx: StepContext, values: Mapping[str, Any]) -> Outcome:
        account = ctx.account
        if account is None:
            return BackToLogin()
        if values.get("decision") == "deny":
            if not self._factors.has_any(account.id):
                return Declined(
                    UnmetAuthenticationRequirementsError(
                        "The portal requires a second factor and the person has none."
                    )
                )
            return Declined(AccessDeniedError("The person declined or cancelled the login."))
        method = values.get("method")
        if method == "code":
            check = self._factors.verify_code(account.id, str(values.get("code") or ""))
        elif method == "passkey":
            check = self._factors.verify_passkey(
                account.id, self.binding(ctx), str(values.get("credential") or "")
            )
        else:
            return Retry("invalid")
        if not check.ok:
            return Retry(check.failure or "wrong", check)
        methods = [*check.amr, "mfa"]

        def record() -> bool:
            return self._sso.add_methods(ctx.session_id, methods)

        return Completed(
            record=record,
            audit=[("second_factor_passed", {"method": check.method, "amr": methods})],
        )


class ChooseStep:
    """Whom to act as (scope ``entity``): oneself, or a company where a confirmed grant (or a
    role) covers the portal's matters; ``acting_as`` is ``self`` or the company's id."""

    name = "choose"

    def __init__(self, flow: AuthorizationFlow) -> None:
        self._flow = flow

    def show(self, ctx: StepContext) -> list[Option]:
        assert ctx.account is not None
        return self._flow.acting_options(ctx.request, ctx.account)

    def submit(self, ctx: StepContext, values: Mapping[str, Any]) -> Outcome:
        if ctx.account is None:
            return BackToLogin()
        acting_as = values.get("acting_as", "")
        usable = {option.entity.id for option in self.show(ctx) if option.delegation is not None}
        if acting_as != "self" and acting_as not in usable:
            return Retry("not_offered")
        return Completed(progress={"acting_as": acting_as})


class ConsentStep:
    """Claim-release consent: ordinary claims with the page, sensitive claims each with their
    own tick (PIPL article 29)."""

    name = "consent"

    def __init__(self, consents: Consents) -> None:
        self._consents = consents

    def show(self, ctx: StepContext) -> ClaimRequest:
        return self._consents.claim_request(ctx.request)

    @staticmethod
    def _company(ctx: StepContext) -> dict[str, Any]:
        """In a company login, the company the person consented to act for and the company
        claims the portal receives (``idp.oauth.claims.COMPANY_CLAIMS``)."""
        acting_as = ctx.interaction.progress.acting_as
        if acting_as in (None, "self"):
            return {}
        return {"acting_for": acting_as, "company_claims": list(COMPANY_CLAIMS)}

    def submit(self, ctx: StepContext, values: Mapping[str, Any]) -> Outcome:
        decision = values.get("decision")
        if decision == "deny":
            return Declined(AccessDeniedError("The person declined or cancelled the login."))
        if decision != "approve":
            return Retry("invalid_decision")
        account = ctx.account
        if account is None:
            return BackToLogin()
        claim_request = self.show(ctx)
        ticked = list(values.get("sensitive_claims") or [])
        progress: dict[str, Any] = {"consented_here": True}
        if MATERIALS_SCOPE in claim_request.scopes:
            # The materials ticked for this login: released to its grant when the code is
            # issued (only the person's own count; none ticked is fine).
            progress["released_materials"] = [str(m) for m in values.get("materials") or []]

        def record() -> bool:
            self._consents.record(account.id, ctx.client_id, claim_request, ticked)
            return True

        return Completed(
            record=record,
            audit=[
                (
                    "consent_granted",
                    {
                        "scopes": list(claim_request.scopes),
                        "claims": list(claim_request.ordinary),
                        "sensitive_granted": sorted(set(ticked) & set(claim_request.sensitive)),
                        "sensitive_refused": sorted(set(claim_request.sensitive) - set(ticked)),
                        **self._company(ctx),
                    },
                )
            ],
            progress=progress,
        )


# -- the engine ---------------------------------------------------------------------------------


class StepEngine:
    def __init__(
        self,
        flow: AuthorizationFlow,
        interactions: InteractionStore,
        sso: SingleSignOn,
        audit: Audit,
        steps: list[Step],
    ) -> None:
        self._flow = flow
        self._interactions = interactions
        self._sso = sso
        self._audit = audit
        self.steps: dict[str, Step] = {step.name: step for step in steps}

    def open(
        self,
        interaction_id: str,
        binding: str | None,
        session_id: str | None,
        *,
        ip_address: str | None = None,
        user_agent: str | None = None,
    ) -> StepContext | None:
        """The interaction this browser may continue, with its SSO session; None if there is
        none (expired, used, or started by another browser)."""
        interaction = self._interactions.load(interaction_id, binding)
        if interaction is None:
            return None
        return StepContext(
            interaction,
            session_id,
            lambda: self._sso.current(session_id)[1],
            ip_address=ip_address,
            user_agent=user_agent,
        )

    @contextmanager
    def exclusive(self, ctx: StepContext) -> Iterator[bool]:
        """Hold the interaction while a page does what it records before the step decides (a
        step-up check): True for the one request that holds it, False for a concurrent one."""
        with self._interactions.held(ctx.interaction) as holding:
            yield holding

    def submit(self, ctx: StepContext, name: str, values: Mapping[str, Any]) -> Continuation:
        step = self.steps.get(name)
        if step is None or ctx.interaction.step != name:
            return Continuation(None)
        return self.complete(ctx, step.submit(ctx, values))

    def complete(self, ctx: StepContext, outcome: Outcome) -> Continuation:
        """Claim, record, audit and continue: the one place every step ends."""
        if isinstance(outcome, Retry):
            return Continuation(None, retry=outcome)
        if isinstance(outcome, Expired) or not self._interactions.claim(ctx.interaction):
            return Continuation(None)
        interaction = ctx.interaction
        if isinstance(outcome, Declined):
            return Continuation(self._flow.refuse(interaction, outcome.error))
        if isinstance(outcome, BackToLogin):
            interaction.progress.logged_in_here = False
            return Continuation(self._flow.proceed(interaction, None))
        session_id = ctx.session_id
        new_session: str | None = None
        account: Account | None
        if outcome.login is not None:
            account = outcome.login.account
            new_session = session_id = self._sso.start(
                account,
                outcome.login.amr,
                replacing=ctx.session_id,
                client_id=ctx.client_id,
                via=outcome.login.via,
                ip_address=ctx.ip_address,
                user_agent=ctx.user_agent,
            )
            interaction.progress.logged_in_here = True
        else:
            account = ctx.account
        recorded = outcome.record() if outcome.record is not None else True
        for action, details in outcome.audit if recorded else []:
            assert account is not None
            self._audit(
                action,
                actor=account.id,
                account_id=account.id,
                client_id=ctx.client_id,
                details=details,
            )
        for name, value in outcome.progress.items() if recorded else []:
            setattr(interaction.progress, name, value)
        return Continuation(self._flow.proceed(interaction, session_id), new_session)

    def abort(self, ctx: StepContext) -> Continuation:
        """The person cancelled at any step: ``access_denied`` to the portal."""
        return self.complete(
            ctx, Declined(AccessDeniedError("The person declined or cancelled the login."))
        )
