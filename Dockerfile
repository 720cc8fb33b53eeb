# monitor: a first working image (the scheduler, health check and compose file come later).
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MONITOR_CONFIG=/config/monitor.toml \
    MONITOR_DB=/data/monitor.db

WORKDIR /src
COPY pyproject.toml README.md ./
COPY config ./config
COPY monitor ./monitor
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir . \
    && mkdir -p /config /data \
    && cp config/monitor.toml /config/monitor.toml \
    && useradd --system --uid 10001 --home-dir /data monitor \
    && chown monitor /data

USER monitor
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["monitor"]
CMD ["once"]
