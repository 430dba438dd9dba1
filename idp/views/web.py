"""What every page and endpoint shares: language, CSRF, security headers, errors, conversions."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import redis
from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from idp.errors import IdpError
from idp.oauth.requests import ProtocolRequest, ProtocolResponse
from idp.oauth.responses import AuthorizationResponse
from idp.observability import metrics
from idp.services import Services
from idp.store import StoreUnavailable

log = logging.getLogger(__name__)

csrf = CSRFProtect()
babel = Babel()

LOCALES = {"zh_Hans_CN": "zh-CN", "en": "en"}
LANGUAGE_LABELS = {"zh_Hans_CN": "中文", "en": "English"}
LANG_COOKIE = "idp_lang"
# Back-channel endpoints answer JSON, never pages.
JSON_ENDPOINTS = (
    "/token",
    "/par",  # pushed authorization requests (RFC 9126)
    "/userinfo",
    "/revoke",
    "/introspect",
    "/.well-known/",
    "/jwks.json",
    "/admin/api/",
    "/register-client",
    "/api/materials",  # the portals' materials API (idp.views.materials_api)
    "/api/matters",  # the portal API (idp.views.portal_api)
    "/api/messages",
)
STORE_ERRORS = (*StoreUnavailable, OperationalError)
# Query parameters the language links repeat: the pages' own (the console's audit filters, the
# notices after a change, where the login returns to), never the protocol's.
LINK_PARAMETERS = frozenset(
    {"next", "logged_out", "withdrawn", "done", "status", "log", "account", "portal", "action"}
    | {"from", "to", "page"}
)


def services() -> Services:
    """The application's services (the composition root, ``idp.services``)."""
    return current_app.extensions["idp"]  # type: ignore[no-any-return]


def match_locale(tag: str | None) -> str | None:
    """Map a BCP 47 tag (``zh-CN``, ``zh-Hans``, ``en-US``) or a locale name to ours."""
    if not tag:
        return None
    tag = tag.replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh_Hans_CN"
    if tag.startswith("en"):
        return "en"
    return None


def select_locale() -> str:
    chosen = match_locale(request.args.get("lang"))
    if chosen:
        return chosen
    for tag in getattr(g, "ui_locales", None) or []:
        chosen = match_locale(tag)
        if chosen:
            return chosen
    chosen = match_locale(request.cookies.get(LANG_COOKIE))
    if chosen:
        return chosen
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return match_locale(best) or current_app.config["BABEL_DEFAULT_LOCALE"]


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON through orjson (several times faster on every protocol answer). What orjson
    cannot encode, and dates, go to Flask's own encoder, so the output means the same."""

    _OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default, option=self._OPTIONS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=self.default, option=self._OPTIONS)
        return Response(body, mimetype=self.mimetype)


@dataclass(frozen=True)
class Logo:
    """The authority's emblem (``IDP_LOGO_PATH``), read once at start-up: its bytes, media type
    and a short digest that the pages' links carry, so that a new file is fetched at once."""

    data: bytes
    media_type: str
    version: str


def logo() -> Logo | None:
    return current_app.extensions.get("idp.logo")  # type: ignore[no-any-return]


def _read_logo(app_services: Services) -> Logo | None:
    config = app_services.config
    if not config.LOGO_PATH or config.logo_media_type is None:
        return None
    data = Path(config.LOGO_PATH).read_bytes()
    return Logo(data, config.logo_media_type, hashlib.sha256(data).hexdigest()[:16])


def init_app(app: Flask, app_services: Services) -> None:
    app.json = OrjsonProvider(app)
    emblem = app.extensions["idp.logo"] = _read_logo(app_services)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)
        g.form_action = []
        # Cache versions are read once per request (idp.store.versions).
        app_services.cache_versions.begin()

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        locale = str(get_locale() or "zh_Hans_CN")
        links = []
        if request.method == "GET":
            for name, label in LANGUAGE_LABELS.items():
                # Only what the page reads to show itself: never a hint, a token or personal
                # data (an id_token_hint after a refused logout, say; issue 17).
                args = {
                    key: values
                    for key, values in request.args.to_dict(flat=False).items()
                    if key in LINK_PARAMETERS
                }
                args["lang"] = [name]
                links.append(
                    {
                        "href": request.path + "?" + _urlencode(args),
                        "label": label,
                        "current": name == locale,
                        "lang": LOCALES[name],
                    }
                )
        return {
            "csp_nonce": g.get("csp_nonce", ""),
            "html_lang": LOCALES.get(locale, "zh-CN"),
            "service_name": app_services.config.SERVICE_NAME
            or _("Unified identity authentication"),
            "configured_service_name": app_services.config.SERVICE_NAME or None,
            "logo_version": emblem.version if emblem else None,
            "authority_name": None,
            "language_links": g.get("language_links", links),
        }

    @app.after_request
    def _headers(response: Response) -> Response:
        nonce = g.get("csp_nonce", "")
        form_action = " ".join(["'self'", *g.get("form_action", [])])
        # The login page frames its own QR code (idp.views.interaction.scan); nothing else frames
        # or is framed.
        frame_src = "; frame-src 'self'" if g.get("frame_src_self") else ""
        # Only the passkey pages run a script, their own nonce'd one (idp.views.factor_pages).
        if g.get("script_allowed"):
            frame_src += f"; script-src 'nonce-{nonce}'"
        framed_by_self = g.get("frame_ancestors_self", False)
        ancestors = "'self'" if framed_by_self else "'none'"
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:{frame_src}; "
            f"form-action {form_action}; frame-ancestors {ancestors}; base-uri 'none'"
        )
        response.headers["X-Frame-Options"] = "SAMEORIGIN" if framed_by_self else "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if app_services.config.secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.path.startswith(
            ("/token", "/userinfo", "/introspect", "/revoke", "/interaction", "/logout")
        ):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        chosen = match_locale(request.args.get("lang"))
        if chosen:
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="Lax",
                secure=app_services.config.secure_cookies,
            )
        return response

    @app.teardown_appcontext
    def _release(_exc: BaseException | None) -> None:
        app_services.cache_versions.end()
        app_services.db.remove()

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> tuple[str, int]:
        return error_page(
            400,
            _("Something is wrong with the request"),
            _(
                "Your session has expired or the form was already used. "  # one msgid
                "Start again from the portal."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        if wants_json():
            # Keep werkzeug's headers, e.g. Allow on 405 (RFC 9110 section 15.5.6).
            headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
            return (
                jsonify(error=_http_error_code(error.code), error_description=error.description),
                error.code,
                headers,
            )
        title = _("Page not found") if error.code == 404 else _("Error")
        if error.code == 405:
            title = _("Method not allowed")
        return error_page(error.code or 400, title, title)

    @app.errorhandler(IdpError)
    def _refused(error: IdpError) -> Any:
        """The one mapping of a refusal no view answered itself: its code and public message
        (never the internal detail, which is logged), in the form the caller reads."""
        status = error.status if 400 <= error.status < 600 else 400
        if status >= 500:
            # The provider's own failure (a key, a gateway): detail for the log only.
            log.error(
                "%s on %s %s: %s",
                error.code,
                request.method,
                _route(),
                error,
                exc_info=error,
            )
            if status == 503:
                return unavailable()
            if wants_json():
                return jsonify(error="server_error"), 500
            return error_page(500, _("Error"), _("Something went wrong. Please try again."))
        log.info("refused on %s %s: %s (%s)", request.method, _route(), error.code, error)
        if request.path.startswith("/admin/api/"):
            return problem_response(status, error)
        if wants_json():
            body = {"error": error.code}
            if error.public_message:
                body["error_description"] = error.public_message
            return jsonify(body), status
        message = error.public_message or _("The request cannot be completed.")
        return error_page(status, _("Something is wrong with the request"), message, error.code)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        # A defect, not bad input: log it with its traceback, answer without internal detail.
        log.exception("unhandled error on %s %s", request.method, _route())
        if wants_json():
            return jsonify(error="server_error"), 500
        return error_page(500, _("Error"), _("Something went wrong. Please try again."))

    @app.errorhandler(SQLAlchemyError)
    @app.errorhandler(redis.exceptions.RedisError)
    def _store(error: Exception) -> Any:
        """A store outage fails closed with 503; the transaction is rolled back (nothing half
        written), and the next request reconnects by itself (pool pre-ping, redis retries)."""
        app_services.db.recover()
        metrics.count_store_error(
            "redis" if isinstance(error, redis.exceptions.RedisError) else "database"
        )
        if isinstance(error, STORE_ERRORS):
            log.error("store unavailable: %s", type(error).__name__)
        else:
            log.exception("store error")
        return unavailable()


def _route() -> str:
    """The URL rule (``/interaction/<interaction_id>/login``) for a log line, never the path
    with its ids (docs/operations.md, "Logs")."""
    return request.url_rule.rule if request.url_rule is not None else "-"


def _http_error_code(status: int | None) -> str:
    return {405: "invalid_request", 404: "not_found", 413: "invalid_request"}.get(
        status or 400, "invalid_request"
    )


def _urlencode(args: dict[str, list[str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(args, doseq=True)


def problem(status: int, title: str, detail: str, **members: Any) -> Response:
    """RFC 9457 problem details (``application/problem+json``), never cached: every answer of
    the admin API that is not a success."""
    response = jsonify(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, **members}
    )
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def problem_response(status: int, error: IdpError) -> Response:
    """A refusal on the admin API as problem details: the HTTP status phrase as the title, the
    public message as the detail, and the error's ``code`` (and ``field``) as in the API's
    field errors."""
    detail = error.public_message or error.code
    members: dict[str, Any] = {"code": error.code}
    if error.field:
        members["errors"] = [
            {"field": error.field, "code": error.code, "message": detail, "pointer": None}
        ]
    return problem(status, HTTPStatus(status).phrase, detail, **members)


def wants_json() -> bool:
    return request.path.startswith(JSON_ENDPOINTS)


def unavailable() -> Any:
    if wants_json():
        response = jsonify(
            error="temporarily_unavailable",
            error_description="The service is temporarily unavailable.",
        )
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    body, status = error_page(
        503,
        _("Service temporarily unavailable"),
        _("The service is temporarily unavailable. Please try again shortly."),
    )
    return Response(body, status, headers={"Retry-After": "5"})


def error_page(status: int, title: str, message: str, code: str | None = None) -> tuple[str, int]:
    return render_template("error.html", title=title, message=message, error_code=code), status


def protocol_request() -> ProtocolRequest:
    """The request as the protocol layer sees it, addressed by our public URL (the issuer), not by
    whatever host and scheme reached the process behind a proxy."""
    form = list(request.form.items(multi=True)) if request.method == "POST" else []
    query = request.query_string.decode("latin-1")
    return ProtocolRequest(
        request.method,
        services().issuer + request.path + (f"?{query}" if query else ""),
        dict(request.headers),
        form=form,
        args=list(request.args.items(multi=True)),
        remote_addr=request.remote_addr,
    )


def protocol_response(result: ProtocolResponse) -> Response:
    if isinstance(result.body, dict | list):
        response = jsonify(result.body)
    else:
        body = result.body
        response = Response(body if isinstance(body, str | bytes) else "")
    response.status_code = result.status
    for name, value in result.headers:
        if name.lower() != "content-type" or not isinstance(result.body, dict | list):
            response.headers[name] = value
    return response


def authorization_response(result: AuthorizationResponse) -> Response:
    """303 to the portal (RFC 9700 4.12), or the form_post page."""
    allow_form_redirect_to(result.redirect_uri)
    if result.response_mode == "form_post":
        g.language_links = []
        body = render_template(
            "form_post.html", redirect_uri=result.redirect_uri, params=result.params
        )
        response = Response(body, 200)
        response.headers["Cache-Control"] = "no-store"
        return response
    response = Response(status=303)
    response.headers["Location"] = result.location
    return response


def allow_form_redirect_to(uri: str) -> None:
    """Let this page's forms end in a 303 to ``uri``: browsers apply CSP ``form-action`` to the
    redirect that follows a form post, so the portal's origin must be listed."""
    origin = _origin(uri)
    if origin not in g.form_action:
        g.form_action = [*g.form_action, origin]


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
