"""WSGI entry point: ``granian --interface wsgi idp.wsgi:app`` (what ``idp serve`` runs), or any
WSGI server."""

from idp import create_app

app = create_app()
