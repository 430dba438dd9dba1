"""Flask blueprints: thin adapters from HTTP to the protocol and identity layers."""

from __future__ import annotations

from flask import Flask

from idp.services import Services


def init_app(app: Flask, services: Services) -> None:
    from idp.views import (
        account,
        agreements,
        authorize,
        boundary,
        branding,
        companies,
        discovery,
        health,
        interaction,
        introspection,
        logout,
        par,
        revocation,
        scan,
        token,
        userinfo,
        web,
    )

    web.init_app(app, services)
    from idp.views import replica

    replica.init_app(app, services)  # read-your-writes with a database replica

    def published(path: str) -> tuple[bytes, str]:
        return services.keys.jwks_document() if path == "/jwks.json" else services.metadata_document

    app.wsgi_app = discovery.PublishedDocuments(  # type: ignore[method-assign]
        app.wsgi_app, published, hsts=services.config.secure_cookies
    )
    boundary.init_app(app)  # the first check of every request: hostile input (issue 17)
    from idp.views import metrics as metrics_view

    metrics_view.init_app(app, services)  # request counts and /metrics (docs/operations.md)
    app.register_blueprint(metrics_view.bp)
    from idp.views import observe

    # The request id, the access log and Flask's spans, around everything (docs/operations.md).
    observe.init_app(
        app, app.extensions.get("idp.tracer_provider"), access_log=services.config.ACCESS_LOG
    )
    # Every step of the engine has its page, and every page its step.
    if set(interaction.PAGES) != set(services.steps.steps):
        raise RuntimeError(
            f"interaction pages {sorted(interaction.PAGES)} do not match the steps "
            f"{sorted(services.steps.steps)}"
        )
    for module in (
        discovery,
        authorize,
        token,
        par,  # pushed authorization requests (RFC 9126)
        userinfo,
        revocation,
        introspection,
        interaction,
        logout,
        health,
        branding,  # the favicon and the emblem (IDP_LOGO_PATH)
        agreements,
        account,  # the user space (/account)
        companies,  # legal persons in the user space (/account/companies)
        scan,  # the phone's side of the scan-to-log-in (/scan/<ticket>)
    ):
        app.register_blueprint(module.bp)
    # The administration console (/admin, docs/administration.md).
    from idp.views.admin import accounts as admin_accounts
    from idp.views.admin import agreements as admin_agreements
    from idp.views.admin import audit as admin_audit
    from idp.views.admin import console as admin_console

    for module in (admin_console, admin_accounts, admin_agreements, admin_audit):
        app.register_blueprint(module.bp)
    # Back-channel endpoints authenticate the client instead; /authorize may be POSTed by portals.
    for module in (token, par, userinfo, revocation, introspection, authorize):
        web.csrf.exempt(module.bp)

    # Portals (docs/portals.md). Dynamic registration (RFC 7591/7592) and the admin JSON API
    # authenticate with bearer tokens, never cookies, so they need no CSRF token.
    from idp.views import registration
    from idp.views.admin import api as admin_api
    from idp.views.admin import portals as admin_portals

    app.register_blueprint(admin_portals.bp)  # the console pages (/admin/portals)
    for module in (registration, admin_api):
        app.register_blueprint(module.bp)
        web.csrf.exempt(module.bp)

    # The portals' materials API (docs/user-space.md, "Materials"): bearer tokens, no cookies.
    from idp.views import materials_api

    app.register_blueprint(materials_api.bp)
    web.csrf.exempt(materials_api.bp)

    # The portal API: matters and messages (docs/user-space.md), with the portal's own token.
    from idp.views import portal_api

    app.register_blueprint(portal_api.bp)
    web.csrf.exempt(portal_api.bp)
