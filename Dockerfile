# syntax=docker/dockerfile:1
# One parametrised image build for every domain (deploy/images.sh runs it once per domain):
#   docker build --build-arg DOMAIN=catalog -t kind.local/acougue/catalog:TAG .
# DOMAIN is a folder under functions/ (auth, catalog, platform, gateway, ...), or `all`:
# every domain plus knative/, eventing/ and tooling/, for the migration Job (python -m tooling.provision).
# The default command serves FUNCTION_TARGET from FUNCTION_SOURCE on $PORT (Knative sets
# PORT; the Knative Service sets the other two); the gateway's Service overrides it.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# Dependencies: a layer that changes only when requirements.lock does.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
# pgserver (the embedded PostgreSQL of `make run`) is never used in the cluster: awk drops its
# entry (the `pgserver==` line with its `--hash` and `# via` lines). Every other file pip
# fetches must match a sha256 in the lock (--require-hashes).
RUN python -m venv /opt/venv \
 && awk '/^[a-z0-9]/ { skip = ($0 ~ /^pgserver==/) } !skip' /tmp/requirements.lock > /tmp/requirements.txt \
 && /opt/venv/bin/pip install --no-compile --require-hashes -r /tmp/requirements.txt \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# The project's code for one domain: its functions, the shared library.
FROM ${PYTHON_IMAGE} AS source
ARG DOMAIN
WORKDIR /app
COPY shared/ shared/
COPY tooling/ tooling/
COPY functions/ functions/
COPY knative/ knative/
COPY eventing/ eventing/
RUN test -n "${DOMAIN}" || { echo "build with --build-arg DOMAIN=<functions/ folder or all>" >&2; exit 1; } \
 && if [ "${DOMAIN}" != "all" ]; then \
      test -d "functions/${DOMAIN}" || { echo "no functions/${DOMAIN}" >&2; exit 1; }; \
      find functions -mindepth 1 -maxdepth 1 -type d ! -name "${DOMAIN}" -exec rm -rf {} +; \
      rm -rf knative eventing tooling; \
    fi \
 && find . -name '__pycache__' -type d -prune -exec rm -rf {} + \
 && python -m compileall -q .

FROM ${PYTHON_IMAGE}
ARG DOMAIN
LABEL org.opencontainers.image.title="acougue-${DOMAIN}"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=deps /opt/venv /opt/venv
COPY --from=source /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 8080
# One process per pod: functions-framework's app under uvicorn (shared/server.py).
CMD ["python", "-m", "shared.server"]
