# monitor as a service: `monitor run` polls on schedule, delivers alerts and sends the digest.
#
#   docker build -t monitor .
#   docker run -d --name monitor -v monitor-data:/data \
#       -v "$PWD/config/monitor.toml:/config/monitor.toml:ro" \
#       -e MONITOR_SMTP_USER -e MONITOR_SMTP_PASSWORD monitor
#
# BASE is any Debian-like image with Python 3.11+ as `python3` and its venv module: the official
# slim image by default (tests build it on a local Debian bookworm image instead).
ARG BASE=python:3.11-slim

# ---- build: a virtual environment with monitor and its dependencies ---------------------------
FROM ${BASE} AS build
WORKDIR /src
# The dependencies first, from pyproject.toml alone, so editing the sources reuses this layer.
COPY pyproject.toml ./
RUN python3 -m venv /opt/venv \
    && python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt
# Then monitor itself, installed (not editable) into the same environment.
COPY README.md LICENSE ./
COPY config ./config
COPY monitor ./monitor
# pip and setuptools are not needed to run it: they stay behind in this stage.
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check . \
    && /opt/venv/bin/pip uninstall --yes --disable-pip-version-check pip setuptools \
    && /opt/venv/bin/monitor --help > /dev/null

# ---- run: the environment, the example config and a non-root user --------------------------
FROM ${BASE}
LABEL org.opencontainers.image.title="monitor" \
      org.opencontainers.image.description="Watch Korea-policy feeds and documents and notice when their wording changes." \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --gid 10001 monitor \
    && useradd --uid 10001 --gid monitor --home-dir /data --no-create-home --no-log-init \
        --shell /usr/sbin/nologin monitor \
    && mkdir -p /data /config \
    && chown monitor:monitor /data

# Logs go to stdout and stderr unbuffered; the database lives on the /data volume; the config is
# /config/monitor.toml (the shipped example until one is mounted there, or MONITOR_CONFIG points
# elsewhere). Secrets (SMTP login, webhook tokens) come from the environment at run time only.
# MONITOR_IN_CONTAINER: a /data the service's user (uid 10001) cannot write ends the command with
# one line naming the fix here (`chown -R 10001 DIR` on the host, or `--user`), not a traceback.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MONITOR_CONFIG=/config/monitor.toml \
    MONITOR_DB=/data/monitor.db \
    MONITOR_IN_CONTAINER=1 \
    MONITOR_WEB_HOST=0.0.0.0

COPY --from=build /opt/venv /opt/venv
COPY config/monitor.toml /config/monitor.toml

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]

# The web view, when the config's [web] is enabled: it listens on 0.0.0.0 inside the container
# (MONITOR_WEB_HOST above), so it needs MONITOR_WEB_TOKEN (or MONITOR_WEB_USER and
# MONITOR_WEB_PASSWORD) at run time, else `monitor run` stops at start naming them.
EXPOSE 8470

# `monitor health` exits 0 while the heartbeat in the database is fresh and the database writable.
HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 CMD ["monitor", "health"]

# Exec form: monitor is PID 1 and gets SIGTERM itself; it finishes the document in hand and
# exits 0 within 10 s (give `docker stop` at least 15 s: `-t 15`, compose's stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["monitor"]
CMD ["run"]
