"""idp: an OpenID Connect identity provider for government service portals."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from idp.config import MAX_REQUEST_BYTES, PROJECT_ROOT, Config, load_config
from idp.observability import logs, traces

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | Config | None = None) -> Flask:
    """The application factory. ``config`` overrides ``IDP_*`` settings (names without prefix)."""
    from idp.services import Services
    from idp.views import init_app

    settings = config if isinstance(config, Config) else load_config(config)
    # One event a line, JSON or text (docs/operations.md, "Logs").
    logs.configure(settings.LOG_FORMAT, settings.LOG_LEVEL)

    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=None,
        instance_path=settings.INSTANCE_DIR,
    )
    app.config.update(
        SECRET_KEY=settings.SECRET_KEY,
        SESSION_COOKIE_NAME="idp_csrf",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PREFERRED_URL_SCHEME="https" if settings.secure_cookies else "http",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        WTF_CSRF_TIME_LIMIT=settings.INTERACTION_TTL,
        WTF_CSRF_SSL_STRICT=False,  # Referer is suppressed by our own no-referrer policy
        BABEL_DEFAULT_LOCALE=settings.DEFAULT_LOCALE,
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "idp" / "translations"),
        JSON_SORT_KEYS=False,
    )
    settings.instance_path.mkdir(parents=True, exist_ok=True)

    services = Services(settings).warm()
    # Traces when the OTEL_* variables ask for them (docs/operations.md, "Traces"): one
    # provider per worker process, since each worker runs this factory.
    tracer_provider = traces.tracer_provider(os.environ, settings.extra.get("span_exporter"))
    if tracer_provider is not None:
        traces.instrument_stores(tracer_provider, [services.db.engine], services.redis)
    services.keys.ensure()
    if settings.BACKCHANNEL_DISPATCHER:
        services.backchannel.start()
    if settings.DISCLOSURE_CHAIN_INTERVAL:
        # Started by the first request: in each worker process, never in a master that forks.
        app.before_request(services.disclosure_chainer.ensure_running)
    if settings.SMS_OUTBOX_INTERVAL:
        # Likewise: the SMS outbox's sender, in each worker process (docs/sms.md).
        app.before_request(services.sms_sender.ensure_running)

    if settings.PROXY_COUNT:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.PROXY_COUNT
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    if settings.development and settings.ISSUER.startswith("http://"):
        # Authlib refuses plain-http request URLs except on loopback; development may use any host.
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

    app.extensions["idp"] = services
    app.extensions["idp.tracer_provider"] = tracer_provider
    app.extensions["idp.config"] = settings
    init_app(app, services)
    return app
