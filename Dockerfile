# syntax=docker/dockerfile:1
# Thai Nguyen ID: one image for the provider (idp serve), its jobs (idp db upgrade, key rotation)
# and the demo portal. See README.md, "Production with Docker Compose".
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IDP_INSTANCE_DIR=/var/lib/idp \
    IDP_KEYS_DIR=/var/lib/idp/keys

WORKDIR /app

# The dependencies first, in a layer of their own: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project'] \
        ['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The source tree stays in /app and is installed in place (editable): idp/config.py finds the
# templates and the migrations next to the package (PROJECT_ROOT = the folder above idp/), which
# a plain `pip install .` into site-packages would leave behind.
COPY . .
RUN pip install --no-deps -e . \
    && python -m compileall -q idp examples deploy \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/idp --shell /usr/sbin/nologin idp \
    && mkdir -p /var/lib/idp /var/lib/demo-portal \
    && chown idp:idp /var/lib/idp /var/lib/demo-portal

USER idp
EXPOSE 5000

# Alive, not ready: /healthz answers without the database. compose.yaml checks /readyz instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py", "http://127.0.0.1:5000/healthz"]

# The entrypoint turns IDP_X_FILE (compose secrets) into IDP_X, then runs the idp command:
# `docker run IMAGE keys list` and `docker run IMAGE idp keys list` are the same.
ENTRYPOINT ["/bin/sh", "/app/deploy/entrypoint.sh"]
CMD ["idp", "serve", "--bind", "0.0.0.0:5000"]
