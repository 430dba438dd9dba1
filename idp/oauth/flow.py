"""The authorization flow: validate, answer at once or park, continue, issue the code.

An authorization request is validated by the check table (``idp.oauth.authorize.validate``),
then either answered at once (a live session, a remembered consent, nothing else to do) or
*parked* as an interaction (``idp.oauth.interaction``) at the step ``authorize.next_step``
names. The person walks the steps (``idp.oauth.steps``); each completed step comes back here
through :meth:`AuthorizationFlow.proceed`, which decides the next step or issues the code
(RFC 6749 4.1.2, with ``iss``: RFC 9207) and so ends the interaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from idp.identity import levels
from idp.identity.agreements import Agreements
from idp.identity.audit import Audit
from idp.identity.entities import Option
from idp.identity.factors import SecondFactors
from idp.identity.people import People
from idp.models import Account, Client, Grant, PortalSubject
from idp.oauth import authorization_details, authorize, responses
from idp.oauth import claims as claims_module
from idp.oauth import consent as consent_policy
from idp.oauth.authorize import AuthorizationRequest, Progress
from idp.oauth.claims import MATERIALS_SCOPE
from idp.oauth.codes import AuthorizationCodes
from idp.oauth.company_logins import CompanyLogins, required_matters
from idp.oauth.consents import Consents
from idp.oauth.errors import AccessDeniedError, OAuth2Error
from idp.oauth.interaction import Interaction, InteractionStore
from idp.oauth.keys import KeyRing
from idp.oauth.portals import Portals
from idp.oauth.responses import AuthorizationResponse
from idp.oauth.sso import SingleSignOn
from idp.oauth.subjects import Subjects
from idp.oauth.tokens import TokenService
from idp.store.sessions import LoginSession


def login_acr(request: AuthorizationRequest, account: Account) -> str:
    """The ``acr`` of a login: the level the account reached. When the portal demanded an
    essential ``acr`` with values, the highest of those values the level meets (OIDC Core
    5.5.1.1: the value returned must be one of those requested)."""
    demanded = claims_module.essential_acr_values(request.claims) or []
    met = [
        (levels.rank(level), value)
        for value in demanded
        if (level := levels.from_acr(value)) and levels.at_least(account.verification_level, level)
    ]
    return max(met)[1] if met else account.acr


def granted_details(
    request: AuthorizationRequest, acting: Option | None
) -> list[dict[str, Any]] | None:
    """RFC 9396: the details granted in this login, narrowed to the handler's grant when the
    person acts for a company (``idp.oauth.authorization_details.narrow``; raises
    ``invalid_authorization_details``)."""
    company = acting if acting is not None and acting.delegation is not None else None
    return authorization_details.narrow(
        request.authorization_details,
        scope=company.delegation.scope if company and company.delegation else None,
        uscc=company.entity.uscc if company else None,
    )


class AuthorizationFlow:
    def __init__(
        self,
        *,
        issuer: str,
        scopes_supported: tuple[str, ...],
        portals: Portals,
        keys: KeyRing,
        sso: SingleSignOn,
        subjects: Subjects,
        consents: Consents,
        agreements: Agreements,
        people: People,
        company_logins: CompanyLogins,
        tokens: TokenService,
        codes: AuthorizationCodes,
        interactions: InteractionStore,
        audit: Audit,
        release_materials: Callable[[Grant, list[str]], int] | None = None,
        factors: SecondFactors | None = None,
        take_pushed: Callable[[str], dict[str, Any] | None] | None = None,
        open_request_object: Callable[[Client, str], dict[str, list[str]]] | None = None,
        require_par: bool = False,
        jarm_lifetime: int = 60,
    ) -> None:
        self.issuer = issuer
        self._scopes_supported = scopes_supported
        self._portals = portals
        self._keys = keys
        self._sso = sso
        self._subjects = subjects
        self._consents = consents
        self._agreements = agreements
        self._people = people
        self._company_logins = company_logins
        self._tokens = tokens
        self._codes = codes
        self._interactions = interactions
        self._audit = audit
        # The materials the person ticked on the consent page, released to the new grant
        # (``idp.identity.materials.Materials.release``).
        self._release_materials = release_materials
        # People's second factors (``idp.identity.factors``): the ``second_factor`` step.
        self._factors = factors
        # FAPI 2.0 (docs/portals.md): pushed requests (RFC 9126), request objects (RFC 9101),
        # IDP_REQUIRE_PAR, and the lifetime of signed responses (JARM).
        self._take_pushed = take_pushed
        self._open_request_object = open_request_object
        self._require_par = require_par
        self._jarm_lifetime = jarm_lifetime

    # -- the authorization endpoint ----------------------------------------------------------
    def _context(self, params: dict[str, list[str]], pushing: bool) -> authorize.CheckContext:
        return authorize.CheckContext(
            params=params,
            find_client=self._portals.find,
            verify_own_jwt=lambda token: self._keys.verify(token)[1],
            issuer=self.issuer,
            scopes_supported=self._scopes_supported,
            take_pushed=self._take_pushed,
            require_par=self._require_par,
            pushing=pushing,
            open_request_object=self._open_request_object,
        )

    def validate(self, params: dict[str, list[str]]) -> AuthorizationRequest:
        """Raises UntrustedRedirectError (show a page) or RedirectableError (tell the portal)."""
        return authorize.validate(self._context(params, pushing=False))

    def validate_push(self, params: dict[str, list[str]]) -> dict[str, list[str]]:
        """A pushed authorization request (RFC 9126 2.1) checked as /authorize would check it;
        the parameters to keep (a request object's, once verified). Raises
        UntrustedRedirectError or the OAuth error (answered as JSON, RFC 9126 2.3)."""
        ctx = self._context(params, pushing=True)
        try:
            authorize.validate(ctx)
        except authorize.RedirectableError as error:
            raise error.error from None
        return ctx.params

    def error_response(
        self, request_data: dict[str, Any], error: OAuth2Error
    ) -> AuthorizationResponse:
        return self._secured(
            responses.error(
                request_data["redirect_uri"],
                request_data.get("response_mode", "query"),
                error,
                request_data.get("state"),
                self.issuer,
            ),
            request_data["client_id"],
        )

    def _secured(self, response: AuthorizationResponse, client_id: str) -> AuthorizationResponse:
        """JARM: a JWT response mode's response signed with the portal's
        ``authorization_signed_response_alg`` (RS256 by default)."""
        if response.response_mode not in responses.JWT_RESPONSE_MODES:
            return response
        client = self._portals.find(client_id)
        alg = (client.authorization_signed_response_alg if client else None) or "RS256"
        return responses.secured(
            response,
            client_id,
            self.issuer,
            lambda claims: self._keys.sign(claims, alg),
            self._jarm_lifetime,
        )

    def authorize(
        self,
        request: AuthorizationRequest,
        session_id: str | None,
        binding: str,
        progress: Progress | None = None,
    ) -> AuthorizationResponse | Interaction:
        """Answer at once, or park the request as an interaction for the person to complete."""
        progress = progress or Progress()
        session, account = self._sso.current(session_id)
        client = self._portals.find(request.client_id)
        if client is None:
            return self.error_response(
                request.to_dict(), AccessDeniedError("The portal is no longer registered.")
            )
        claim_request = self._consents.claim_request(request)
        consent = self._consents.find(account.id, client.client_id) if account else None
        if session is not None:
            # The portal knows the person by its own (possibly pairwise) ``sub``: compare the
            # id_token_hint with that.
            session = replace(session, subject=self._subjects.for_client(client, session.subject))
        requirement = self._agreements.pending(account.id, account.user_type) if account else None
        try:
            step = authorize.next_step(
                request,
                session,
                account,
                progress,
                agreement=requirement.mode if requirement else None,
                consent_needed=consent_policy.needs_page(
                    claim_request,
                    consent,
                    trusted=client.trusted,
                    # RFC 9396: details are asked for one transaction; each is consented to.
                    forced="consent" in request.prompt or bool(request.authorization_details),
                ),
                required=authorize.required_level(request, client),
                reachable=self._people.reachable(account) if account else None,
                second_factor=self._second_factor(account, session, client),
            )
        except OAuth2Error as error:
            return self.error_response(request.to_dict(), error)
        if step != "issue":
            return self._interactions.park(request, step, progress, client.name, binding)
        assert session is not None and account is not None and session_id is not None
        acting: Option | None = None
        if progress.acting_as not in (None, "self"):
            assert progress.acting_as is not None
            acting = self._company_logins.usable(request, client, account, progress.acting_as)
            if acting is None:
                return self.error_response(
                    request.to_dict(),
                    AccessDeniedError("The person may no longer act for this company."),
                )
        if consent_policy.implication_needed(claim_request, consent, trusted=client.trusted):
            self._consents.imply(account.id, client.client_id, claim_request)
        released = consent_policy.released_claims(claim_request, consent)
        materials = progress.released_materials if MATERIALS_SCOPE in request.scopes else None
        try:
            details = granted_details(request, acting)
        except OAuth2Error as error:
            return self.error_response(request.to_dict(), error)
        return self._issue_code(
            request, session_id, session, account, client, released, acting, materials, details
        )

    def _second_factor(
        self, account: Account | None, session: LoginSession | None, client: Client
    ) -> str | None:
        """``ask`` when the person has a second factor the session has not seen (once enrolled,
        it is used at every login; and as a step-up of an older session), ``enrol`` when the
        portal requires one (``require_mfa``) and the person has none, else None."""
        if self._factors is None or account is None or session is None:
            return None
        if self._factors.satisfied(session.amr):
            return None
        if self._factors.enrolled(account):
            return "ask"
        return "enrol" if client.require_mfa else None

    def proceed(
        self, interaction: Interaction, session_id: str | None
    ) -> AuthorizationResponse | Interaction:
        """The next step (or the portal's response) after a step that was claimed."""
        return self.authorize(
            interaction.request, session_id, interaction.binding, interaction.progress
        )

    def refuse(self, interaction: Interaction, error: OAuth2Error) -> AuthorizationResponse:
        """End the login with ``error`` at the portal (after the step was claimed)."""
        return self.error_response(interaction.request.to_dict(), error)

    # -- what the steps need to know ---------------------------------------------------------
    def required_level(self, request: AuthorizationRequest) -> str | None:
        """The verification level the login must reach (step-up), or None."""
        client = self._portals.find(request.client_id)
        if client is None:
            return None
        try:
            return authorize.required_level(request, client)
        except OAuth2Error:
            return None

    def acting_options(self, request: AuthorizationRequest, account: Account) -> list[Option]:
        """Whom the person may act as in this login (scope ``entity``)."""
        client = self._portals.find(request.client_id)
        if client is None:
            return []
        return self._company_logins.options(request, client, account)

    def claim_request(self, request: AuthorizationRequest) -> consent_policy.ClaimRequest:
        return self._consents.claim_request(request)

    # -- the code ----------------------------------------------------------------------------
    def _issue_code(
        self,
        request: AuthorizationRequest,
        session_id: str,
        session: LoginSession,
        account: Account,
        client: Client,
        released_claims: list[str],
        acting: Option | None = None,
        materials: list[str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> AuthorizationResponse:
        company: dict[str, Any] = {}
        if acting is not None and acting.delegation is not None:
            snapshot = {
                **acting.delegation.claim(),
                "requested_matters": required_matters(request, client),
                "region": client.region,
            }
            company = {
                "entity_id": acting.entity.id,
                "delegation_source": acting.delegation.source,
                "delegation": snapshot,
            }
        acr = login_acr(request, account)
        # The sub(s) this portal sees: the evidence of a login for the portal API (issue 12).
        seen_as = [
            PortalSubject(
                client_id=client.client_id,
                subject=self._subjects.for_client(client, account.subject),
                account_id=account.id,
            )
        ]
        if acting is not None and acting.delegation is not None:
            seen_as.append(
                PortalSubject(
                    client_id=client.client_id,
                    subject=self._subjects.for_client(client, acting.entity.subject),
                    entity_id=acting.entity.id,
                )
            )
        grant = self._tokens.create_grant(
            account=account,
            client=client,
            scope=request.scope,
            claims=request.claims,
            released_claims=released_claims,
            sid=session.sid,
            auth_time=session.auth_time,
            acr=acr,
            amr=session.amr,
            seen_as=seen_as,
            authorization_details=details,
            **company,
        )
        if materials and self._release_materials is not None:
            self._release_materials(grant, materials)
        if company:
            self._audit(
                "company_login",
                actor=account.id,
                account_id=account.id,
                client_id=client.client_id,
                entity_id=company["entity_id"],
                details={"role": company["delegation"]["role"], "grant_id": grant.id},
            )
        code = self._codes.issue(
            {
                "grant_id": grant.id,
                "client_id": client.client_id,
                "redirect_uri": request.redirect_uri,
                "scope": request.scope,
                "nonce": request.nonce,
                "code_challenge": request.code_challenge,
                "code_challenge_method": request.code_challenge_method,
                "dpop_jkt": request.dpop_jkt,
                "auth_time": session.auth_time,
                "acr": acr,
                "amr": session.amr,
            }
        )
        self._sso.add_client(session_id, session, client.client_id)
        return self._secured(
            responses.success(
                request.redirect_uri, request.response_mode, code, request.state, self.issuer
            ),
            client.client_id,
        )
