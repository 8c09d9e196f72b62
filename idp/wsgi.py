"""The WSGI entry point for the production server: ``granian --interface wsgi idp.wsgi:app``."""

from . import create_app

app = create_app()
