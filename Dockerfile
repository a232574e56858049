# The dataops image: the locked environment (uv.lock, no dev tools), the dbt
# project parsed at build time, run as a non-root user. The warehouse lives on
# a volume at /data (DATAOPS_WAREHOUSE), so the container itself keeps nothing.
#
#   podman build -t dataops:0.1.0 .            (or docker build)
#   podman run --rm -v dataops-data:/data dataops:0.1.0 build
#
# BASE: any Debian-based image with Python 3.11 or 3.12 and its venv module.
ARG BASE=python:3.12-slim-bookworm

# --- build: resolve nothing, install exactly uv.lock into /app/.venv ---------
FROM ${BASE} AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_SYSTEM_CERTS=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false
# The same pinned uv as ci/bootstrap.sh, in a venv of its own.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
# Dependencies first (a layer that changes only with the lock), then the project.
COPY pyproject.toml uv.lock README.md ./
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-install-project
COPY ingestion ingestion
COPY tooling tooling
COPY dbt_project dbt_project
COPY data/sample data/sample
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-editable
# Parse the dbt project now: the image carries target/manifest.json and the
# partial-parse file, so a run starts without a full parse.
RUN DATAOPS_WAREHOUSE=/tmp/parse.duckdb /app/.venv/bin/dbt parse \
        --project-dir dbt_project --profiles-dir dbt_project \
    && rm -rf /tmp/parse.duckdb dbt_project/logs

# --- runtime: the environment and the project, nothing else -----------------
FROM ${BASE} AS runtime
RUN groupadd --system --gid 10001 dataops \
    && useradd --system --uid 10001 --gid dataops --home-dir /app --shell /usr/sbin/nologin dataops \
    && mkdir -p /data \
    && chown dataops:dataops /data
WORKDIR /app
COPY --from=build --chown=dataops:dataops /app /app
ENV PATH=/app/.venv/bin:$PATH \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DATAOPS_WAREHOUSE=/data/warehouse/dataops.duckdb \
    DATAOPS_LANDING_ROOT=/app/data/sample
VOLUME ["/data"]
USER 10001:10001
ENTRYPOINT ["dataops"]
CMD ["build"]
