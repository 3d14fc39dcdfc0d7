# maintbot: the Slack app and its window clock (`maintbot serve`).
# Mount the scheduler config at /config/maintbot.toml (MAINTBOT_CONFIG below): without it
# serve exits 2 naming the file, it never falls back to the simulators. For a demo, run
# `maintbot serve --sandbox --host 0.0.0.0 --port 3000` instead of the default command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MAINTBOT_DB=/data/maintbot.db \
    MAINTBOT_CONFIG=/config/maintbot.toml

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data maintbot \
    && mkdir -p /data /config \
    && chown maintbot /data

USER maintbot
VOLUME ["/data"]
EXPOSE 3000

# slim images have no curl; the standard library is enough to probe /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"]

CMD ["maintbot", "serve", "--host", "0.0.0.0", "--port", "3000"]
