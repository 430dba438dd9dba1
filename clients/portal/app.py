"""The example portal: a confidential OpenID Connect relying party on Authlib's Flask client.

Pages:
  ``/``                    home: a login button, or who is logged in and how
  ``/login``               the authorization code flow with PKCE S256, state and nonce
  ``/callback``            code exchange; the ID token is validated by Authlib (OIDC Core 3.1.3.7)
  ``/secure``              needs level L3: asks for it with acr_values and an essential ``acr``
                           claim (OIDC Core 5.5.1.1); explains unmet_authentication_requirements
  ``/logout``              RP-Initiated Logout 1.0: the local session ends, then the provider's
  ``/backchannel-logout``  Back-Channel Logout 1.0: the provider ends this portal's session
  ``/healthz``             liveness, for scripts

Every request first checks the portal session against the back-channel logouts received
(``clients.portal.store``); an ended session is cleared and the person sees the logged-out home.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import (
    Flask,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from joserfc.errors import JoseError

from clients.portal.logout_token import InvalidLogoutToken, validate_logout_token
from clients.portal.settings import PortalSettings
from clients.portal.store import LogoutStore

log = logging.getLogger(__name__)

# How long a portal session lasts at most, whatever the provider's session does.
SESSION_LIFETIME = timedelta(hours=12)
# /secure needs verification level L3 or better (the provider's acr values urn:idp:loa:L0..L4).
REQUIRED_LEVEL = "urn:idp:loa:L3"
ACCEPTED_LEVELS = ["urn:idp:loa:L3", "urn:idp:loa:L4"]
# Endpoints the portal calls itself; rewritten to PORTAL_PROVIDER_URL when that is set.
BACK_CHANNEL_ENDPOINTS = (
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
)
USER_TYPES = {"natural_person": "自然人 natural person", "legal_person": "法人 legal person"}


class ProviderUnavailable(RuntimeError):
    """Discovery failed or answered for another issuer."""


class ProviderClient(FlaskOAuth2App):
    """Authlib's Flask client, plus two things a relying party must do with discovery:

    * the document's ``issuer`` must be exactly the configured one (Discovery 1.0 section 4.3);
    * with ``provider_url`` set, the endpoints the portal calls itself are reached there, while the
      browser keeps the public ones (a portal in a container reaches the provider by another name).
    """

    def __init__(
        self, framework: Any, name: str | None = None, *, settings: PortalSettings, **kwargs: Any
    ) -> None:
        super().__init__(framework, name, **kwargs)
        self.settings = settings

    def load_server_metadata(self) -> dict[str, Any]:
        if "_loaded_at" in self.server_metadata:
            return self.server_metadata  # type: ignore[no-any-return]
        try:
            with self._get_session() as http:
                response = http.request(
                    "GET", self._server_metadata_url, withhold_token=True, timeout=10
                )
                response.raise_for_status()
                metadata = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"discovery failed: {exc}") from None
        if not isinstance(metadata, dict) or metadata.get("issuer") != self.settings.issuer:
            raise ProviderUnavailable("discovery answered for another issuer")
        if self.settings.provider_url:
            for name in BACK_CHANNEL_ENDPOINTS:
                url = metadata.get(name)
                if isinstance(url, str) and url.startswith(self.settings.issuer + "/"):
                    metadata[name] = self.settings.provider_url + url[len(self.settings.issuer) :]
        metadata["_loaded_at"] = time.time()
        self.server_metadata.update(metadata)
        return self.server_metadata  # type: ignore[no-any-return]


def create_portal(settings: PortalSettings) -> Flask:
    """The application factory."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME=settings.cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["portal.settings"] = settings
    store = LogoutStore(settings.state_dir / f"{settings.cookie_name}.sqlite3")
    provider_origin = "{0.scheme}://{0.netloc}".format(urlsplit(settings.issuer))
    discovery_base = settings.provider_url or settings.issuer

    oauth = OAuth(app)
    client: ProviderClient = oauth.register(
        "idp",
        client_cls=ProviderClient,
        settings=settings,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=f"{discovery_base}/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.scope,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "timeout": 10,
        },
    )

    # -- every request -------------------------------------------------------------------------
    @app.before_request
    def _end_sessions_logged_out_elsewhere() -> Response | None:
        g.csp_nonce = secrets.token_urlsafe(16)
        user = session.get("user")
        if not user:
            return None
        too_old = time.time() - user["logged_in_at"] > SESSION_LIFETIME.total_seconds()
        ended = store.is_ended(
            sid=user.get("sid"), sub=user.get("sub"), logged_in_at=user["logged_in_at"]
        )
        if not (too_old or ended):
            return None
        session.clear()
        session["notice"] = "ended" if ended else "expired"
        # The person sees the logged-out home page, unless they were asking to log in anyway.
        if request.endpoint in {"home", "login", "backchannel_logout", "healthz"}:
            return None
        return redirect(url_for("home"), 303)

    @app.after_request
    def _headers(response: Response) -> Response:
        nonce = g.get("csp_nonce", "")
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'nonce-{nonce}'; "
            f"form-action 'self' {provider_origin}; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        # Pages show personal data: never kept in a shared or browser cache.
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        return {
            "portal_name": settings.name,
            "csp_nonce": g.get("csp_nonce", ""),
            "account_url": f"{settings.issuer}/account",
        }

    @app.errorhandler(ProviderUnavailable)
    @app.errorhandler(requests.RequestException)
    def _provider_down(error: Exception) -> tuple[str, int]:
        log.warning("provider unreachable: %s", error)
        return _message(
            502,
            "统一身份认证平台暂时无法访问 The identity provider cannot be reached",
            "请稍后再试。Please try again in a moment.",
        )

    # -- pages ---------------------------------------------------------------------------------
    @app.get("/")
    def home() -> str:
        notice = session.pop("notice", None)
        state = request.args.get("state")
        if state and client.framework.get_state_data(session, state) is not None:
            # Back from the provider's end_session endpoint (RP-Initiated Logout 1.0 section 3).
            client.validate_logout_response()
            notice = "logged_out"
        user = session.get("user")
        if not user:
            return render_template("home.html", user=None, notice=notice)
        return render_template(
            "home.html",
            user=user,
            rows=_claim_rows(user["claims"]),
            csrf_token=_csrf_token(),
            notice=notice,
        )

    @app.get("/login")
    def login() -> Response:
        return _authorize(next_path="/")

    @app.get("/secure")
    def secure() -> Response | str:
        user = session.get("user")
        if user and user["claims"].get("acr") in ACCEPTED_LEVELS:
            return render_template("secure.html", user=user, rows=_claim_rows(user["claims"]))
        # Ask for the level (OIDC Core 3.1.2.1 acr_values) and demand it (5.5.1.1: an essential
        # acr claim, which the provider must meet or answer unmet_authentication_requirements).
        return _authorize(
            next_path="/secure",
            required_acr=ACCEPTED_LEVELS,
            acr_values=REQUIRED_LEVEL,
            claims=json.dumps(
                {"id_token": {"acr": {"essential": True, "values": ACCEPTED_LEVELS}}},
                separators=(",", ":"),
            ),
        )

    def _authorize(
        next_path: str, required_acr: list[str] | None = None, **params: str
    ) -> Response:
        rv = client.create_authorization_url(settings.redirect_uri, **params)
        client.save_authorize_data(redirect_uri=settings.redirect_uri, **rv)
        pending = dict(session.get("pending", {}))
        pending[rv["state"]] = {"next": next_path, "acr": required_acr}
        session["pending"] = dict(list(pending.items())[-5:])  # a few tabs at most
        return redirect(rv["url"], 303)

    @app.get("/callback")
    def callback() -> Response | tuple[str, int]:
        state = request.args.get("state", "")
        pending = dict(session.get("pending", {}))
        wanted = pending.pop(state, None)
        session["pending"] = pending
        if wanted is None:
            return _message(
                400,
                "登录请求已失效 The login request has expired",
                "请返回首页重新登录。Go back to the home page and log in again.",
            )
        error = request.args.get("error")
        if error:
            client.framework.clear_state_data(session, state)
            return _authorization_error(error)
        # RFC 9207 section 2.4: the response names the issuer it came from.
        metadata = client.load_server_metadata()
        if metadata.get("authorization_response_iss_parameter_supported") or "iss" in request.args:
            if request.args.get("iss") != settings.issuer:
                client.framework.clear_state_data(session, state)
                return _message(400, "登录失败 Login failed", "iss 参数不符 (RFC 9207).")
        try:
            token = client.authorize_access_token()
        except (OAuthError, JoseError, ValueError) as exc:
            log.warning("code exchange or ID token validation failed: %s", exc)
            return _message(
                400,
                "登录失败 Login failed",
                "统一身份认证平台的应答未通过校验。The provider's answer did not validate.",
            )
        claims = dict(token["userinfo"])
        if "address" in settings.scope.split() and "address" not in claims:
            # The address travels in the UserInfo answer (OIDC Core 5.4), not the ID token.
            answer = client.userinfo(token=token)
            if answer.get("sub") == claims["sub"]:
                claims.update({k: v for k, v in answer.items() if k not in claims})
        # OIDC Core 5.5.1.1: the portal itself checks that the acr it demanded was met.
        if wanted["acr"] and claims.get("acr") not in wanted["acr"]:
            return _step_up_refused()
        received = (
            _fetch_materials(settings, token["access_token"])
            if "materials" in settings.scope.split()
            else []
        )
        session.clear()
        session.permanent = True
        session["user"] = {
            "materials": received,
            "claims": claims,
            "id_token": token["id_token"],  # for id_token_hint at logout
            "sid": claims.get("sid"),
            "sub": claims["sub"],
            "logged_in_at": time.time(),
        }
        return redirect(wanted["next"], 303)

    @app.post("/logout")
    def logout() -> Response:
        user = session.get("user")
        if not user:
            return redirect(url_for("home"), 303)
        if not secrets.compare_digest(request.form.get("csrf_token", ""), _csrf_token()):
            abort(400)
        session.clear()
        try:
            # RP-Initiated Logout 1.0 section 2: id_token_hint, client_id, a registered
            # post_logout_redirect_uri and state (kept in the session, checked on return).
            return client.logout_redirect(
                post_logout_redirect_uri=settings.post_logout_redirect_uri,
                id_token_hint=user["id_token"],
                client_id=settings.client_id,
            )
        except RuntimeError:  # the provider advertises no end_session_endpoint
            session["notice"] = "logged_out_here"
            return redirect(url_for("home"), 303)

    @app.post("/backchannel-logout")
    def backchannel_logout() -> Response:
        """Back-Channel Logout 1.0 sections 2.5 to 2.8."""
        try:
            metadata = client.load_server_metadata()
            result = validate_logout_token(
                request.form.get("logout_token", ""),
                issuer=settings.issuer,
                client_id=settings.client_id,
                fetch_keys=lambda force: client.fetch_jwk_set(force=force),
                algorithms=metadata.get("id_token_signing_alg_values_supported") or ["RS256"],
            )
        except InvalidLogoutToken as exc:
            log.warning("logout token refused: %s", exc)
            return _logout_answer(400)
        except (ProviderUnavailable, requests.RequestException) as exc:
            # Not the token's fault: the provider's keys cannot be had now; it will retry.
            log.warning("logout token not checked, provider unreachable: %s", exc)
            return _logout_answer(503)
        if not store.accept(result.jti, result.exp + 60, sid=result.sid, sub=result.sub):
            log.warning("logout token refused: jti seen before")
            return _logout_answer(400)
        log.info("back-channel logout: sid=%s sub=%s", result.sid, result.sub)
        return _logout_answer(200)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    # -- helpers -------------------------------------------------------------------------------
    def _authorization_error(error: str) -> tuple[str, int]:
        if error == "unmet_authentication_requirements":
            return _step_up_refused()
        if error == "access_denied":
            return _message(
                403,
                "未登录 Not logged in",
                "您在统一身份认证平台取消了登录或拒绝了授权。"
                "You cancelled the login or declined at the identity provider.",
            )
        return _message(
            400,
            "登录失败 Login failed",
            f"统一身份认证平台返回错误 The identity provider answered: {error}",
        )

    def _step_up_refused() -> tuple[str, int]:
        return render_template("step_up_refused.html", required=REQUIRED_LEVEL), 403

    def _message(status: int, title: str, text: str) -> tuple[str, int]:
        return render_template("message.html", title=title, text=text), status

    return app


def _fetch_materials(settings: PortalSettings, access_token: str) -> list[dict[str, Any]]:
    """The materials the person released to this login, each fetched once (GET /api/materials,
    then each item; docs/user-space.md "Materials"), kept in the state folder; what the home
    page shows of them (title, type, size, SHA-256)."""
    base = settings.provider_url or settings.issuer
    headers = {"Authorization": f"Bearer {access_token}"}
    listed = requests.get(f"{base}/api/materials", headers=headers, timeout=10)
    if listed.status_code != 200:
        log.warning("materials list refused: %s", listed.status_code)
        return []
    received = []
    folder = settings.state_dir / "materials"
    folder.mkdir(parents=True, exist_ok=True)
    for item in listed.json().get("items", []):
        if item.get("fetched") or not item.get("available", True):
            continue
        fetched = requests.get(f"{base}/api/materials/{item['id']}", headers=headers, timeout=30)
        if fetched.status_code != 200:
            log.warning("material %s refused: %s", item["id"], fetched.status_code)
            continue
        digest = hashlib.sha256(fetched.content).hexdigest()
        (folder / f"{digest}.bin").write_bytes(fetched.content)
        received.append(
            {
                "title": item.get("title", ""),
                "type_name": item.get("type_name", ""),
                "size": len(fetched.content),
                "sha256": digest,
            }
        )
    return received


def _csrf_token() -> str:
    token = session.get("csrf_token")
    if not token:
        token = session["csrf_token"] = secrets.token_urlsafe(24)
    return str(token)


def _logout_answer(status: int) -> Response:
    """Section 2.8: 200 on success, 400 with error invalid_request otherwise; no-store.
    503 (temporarily_unavailable) when the provider's keys cannot be fetched to check it."""
    if status == 400:
        response = jsonify(error="invalid_request")
    elif status == 503:
        response = jsonify(error="temporarily_unavailable")
    else:
        response = Response("", status)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _claim_rows(claims: dict[str, Any]) -> list[tuple[str, str]]:
    """What the home page shows, with "—" for a claim the provider has not sent (yet)."""

    def shown(value: Any) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    user_type = claims.get("user_type")
    rows = [
        ("姓名 Name", shown(claims.get("name"))),
        ("用户类型 User type", USER_TYPES.get(user_type, shown(user_type))),
        ("实名等级 Verification level", shown(claims.get("verification_level"))),
        ("认证级别 acr", shown(claims.get("acr"))),
        ("认证方式 amr", shown(claims.get("amr"))),
        ("会话 sid", shown(claims.get("sid"))),
        ("用户标识 sub", shown(claims.get("sub"))),
    ]
    if claims.get("address") is not None:
        rows.append(("地址 Address", shown(claims["address"].get("formatted"))))
    # Acting for a company: whom, and under which delegation.
    if claims.get("entity") is not None:
        rows.append(("办事单位 Entity", shown(claims.get("entity"))))
    if claims.get("delegation") is not None:
        rows.append(("委托授权 Delegation", shown(claims.get("delegation"))))
    return rows
