# syntax=docker/dockerfile:1
# One image recipe for every Aegis service: SERVICE names the service's folder (alert-ingest,
# gateway-feishu, notifier, rca-worker), PORT its HTTP_PORT (/healthz, /readyz, /metrics and its
# API). Build from the repository root, which holds shared/ and constraints.txt, e.g.
#   docker build --build-arg SERVICE=alert-ingest --build-arg PORT=8080 -t aegis-alert-ingest .
# (docker-compose.yml passes both for each service; the chart's values name the images.)
ARG PYTHON_IMAGE=python:3.11-slim

# Build stage: wheels of aegis-shared and the service, then of every third-party dependency at the
# versions in constraints.txt, so the image runs exactly what the tests ran. The second step names
# the local wheel files, not the projects, so a same-named project on an index can never stand in.
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<service folder>" >&2; exit 1; }
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY constraints.txt ./
COPY shared/ shared/
COPY ${SERVICE}/ ${SERVICE}/
RUN pip wheel --no-deps --wheel-dir /wheels ./shared ./${SERVICE} \
 && pip wheel --wheel-dir /wheels -c constraints.txt /wheels/aegis_*.whl

# Final stage: the distribution and its dependencies only, installed offline from the wheelhouse;
# pip, setuptools and wheel go too, so nothing else can be installed at run time. The service's
# console script is linked as aegis-service, the one ENTRYPOINT of every image.
FROM ${PYTHON_IMAGE}
ARG SERVICE
ARG PORT=8080
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore HTTP_PORT=${PORT}
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,from=build,source=/src/constraints.txt,target=/constraints.txt \
    pip install --no-index --find-links /wheels -c /constraints.txt aegis-${SERVICE} \
 && ln -s /usr/local/bin/aegis-${SERVICE} /usr/local/bin/aegis-service \
 && pip uninstall --yes pip setuptools wheel \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin aegis
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE ${PORT}
# /healthz fails only when a restart helps (e.g. a consumer loop died or NATS closed for good).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['HTTP_PORT'] + '/healthz', timeout=2)"]
ENTRYPOINT ["aegis-service"]
