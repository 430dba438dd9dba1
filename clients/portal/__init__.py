"""An example government service portal: an OpenID Connect relying party built on Authlib's
Flask client. It depends on nothing of the provider's code, only on its published interface
(discovery, the authorization and token endpoints, the JWKS, end_session and back-channel logout).

``create_portal(settings)`` (in ``clients.portal.app``) builds the Flask app;
``python -m clients.portal`` serves it under gunicorn, configured by ``PORTAL_*`` variables.
"""
