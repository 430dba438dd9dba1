"""The protocol layer: OpenID Connect and OAuth 2.0 on Authlib, free of Flask and templates.

Views hand in a :class:`~idp.oauth.requests.ProtocolRequest` and get back plain data or a
:class:`~idp.oauth.responses.ProtocolResponse` to render.
"""
