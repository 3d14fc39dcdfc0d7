# maintbot: the Slack app and its window clock (`maintbot serve`).
#
# Build from the repository root: `docker build -t maintbot .`. Dependencies come from
# requirements.lock (every package pinned, with its hashes: pip refuses anything else), so
# two builds of one commit install the same code. The lock holds runtime dependencies only;
# the test extra (pytest, linters, openapi-core for the Talend simulator's request
# validation, PyYAML) is never installed here. Regenerate the lock after changing
# pyproject's dependencies (the command is in its header; tests/test_deploy.py checks that
# the two agree).
#
# Mount the scheduler config at /config/maintbot.toml (MAINTBOT_CONFIG below): without it
# serve exits 2 naming the file, it never falls back to the simulators. For a demo, run
# `maintbot serve --sandbox --host 0.0.0.0 --port 3000` instead of the default command.
# MAINTBOT_DB defaults to a SQLite file in the /data volume (one replica); for two or more
# replicas set it to a postgresql:// URL (README, "Running in production").

# The base image, by tag. A release build pins it by digest so that a rebuild months later gets
# the same system libraries: `--build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest>`
# (`docker buildx imagetools inspect python:3.11-slim` prints it). The digest is not written
# here because no machine this project is developed on can reach a container registry to
# read it; a wrong digest would fail every build.
ARG PYTHON_IMAGE=python:3.11-slim

# -- build: a virtual environment with the locked dependencies and maintbot itself ----------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/maintbot
COPY requirements.lock /tmp/requirements.lock
# --require-hashes: every package, dependencies of dependencies included, must be in the lock
# with a matching hash; --no-deps: nothing is resolved here, the lock is the resolution.
RUN /opt/maintbot/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
# maintbot itself, without dependencies (they are all in place from the lock); pip check then
# fails the build if the lock does not satisfy pyproject's requirements.
RUN /opt/maintbot/bin/pip install --no-deps . \
    && /opt/maintbot/bin/pip check

# -- runtime: the environment alone, run by a numeric non-root user ------------------------
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/maintbot/bin:$PATH \
    MAINTBOT_DB=/data/maintbot.db \
    MAINTBOT_CONFIG=/config/maintbot.toml

COPY --from=build /opt/maintbot /opt/maintbot
RUN groupadd --system --gid 10001 maintbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin maintbot \
    && mkdir -p /data /config \
    && chown 10001:10001 /data

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000

# slim images have no curl; the standard library is enough to probe /healthz (alive).
# Readiness (/readyz) is for orchestrators that route traffic, not for this check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"]

# serve stops on SIGTERM (the default stop signal): it stops taking requests, gives the window
# clock up to 10 s to finish its tick and acknowledged work up to 10 s more, inside the 30 s
# the deploy files grant before SIGKILL.
CMD ["maintbot", "serve", "--host", "0.0.0.0", "--port", "3000"]
