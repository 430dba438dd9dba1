"""Flask blueprints: thin adapters from HTTP to the protocol and identity layers."""

from __future__ import annotations

from flask import Flask

from idp.oauth.provider import Provider


def init_app(app: Flask, provider: Provider) -> None:
    from idp.views import (
        account,
        agreements,
        authorize,
        discovery,
        health,
        interaction,
        introspection,
        logout,
        revocation,
        token,
        userinfo,
        web,
    )

    web.init_app(app, provider)
    for module in (
        discovery,
        authorize,
        token,
        userinfo,
        revocation,
        introspection,
        interaction,
        logout,
        health,
        agreements,
        account,  # the user space (/account)
    ):
        app.register_blueprint(module.bp)
    # Back-channel endpoints authenticate the client instead; /authorize may be POSTed by portals.
    for module in (token, userinfo, revocation, introspection, authorize):
        web.csrf.exempt(module.bp)
