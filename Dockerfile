# syntax=docker/dockerfile:1
#
# One image for every process of the app:
#   web (default):  daphne on 8000 (pages, API, WebSockets) and 9102 (/metrics alone),
#                   the command the chart's web Deployment runs
#   worker:         python manage.py worker           (override the args)
#   migrations:     python manage.py migrate --noinput
#
# Build:  docker build -t todo:0.1.0 .      (Minikube: minikube image build -t todo:0.1.0 .)

ARG PYTHON_VERSION=3.11
ARG NODE_VERSION=22

# ---------------------------------------------------------------- front-end packages
FROM node:${NODE_VERSION}-bookworm-slim AS frontend
WORKDIR /src
COPY static/package.json static/package-lock.json static/.npmrc static/
RUN npm ci --prefix static --omit=dev --ignore-scripts --no-audit --no-fund

# ---------------------------------------------------------------- Python dependencies
FROM python:${PYTHON_VERSION}-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies get their own layer, rebuilt only when pyproject.toml changes. The project
# itself is not installed as a distribution: it runs from the source tree.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('requirements.txt', 'w').write(chr(10).join(deps) + chr(10))" \
 && pip install --upgrade pip \
 && pip install -r requirements.txt

# ---------------------------------------------------------------- static files
FROM builder AS static
COPY . .
COPY --from=frontend /src/static/node_modules static/node_modules
# collectstatic only imports settings; a throw-away key satisfies the production check
# (DEBUG off refuses the development key) and produces the hashed manifest whitenoise serves.
RUN SECRET_KEY=collectstatic-only-not-a-secret \
    DEBUG=false \
    RUN_EMBEDDED_WORKER=false \
    DATA_DIR=/tmp/build-data \
    STATIC_ROOT=/src/staticfiles \
    python manage.py collectstatic --noinput

# ---------------------------------------------------------------- runtime
FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=todo_project.settings \
    STATIC_ROOT=/app/staticfiles \
    DATA_DIR=/tmp/data \
    DEBUG=false \
    METRICS_PORT=9102
# tini as PID 1 forwards SIGTERM to the app and reaps children; no compilers here.
RUN apt-get update \
 && apt-get install --yes --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Source and collected static files stay owned by root: the app user can read, not write.
COPY . .
COPY --from=static /src/staticfiles /app/staticfiles
# Bytecode compiled at build time: the root filesystem is read-only at runtime.
RUN python -m compileall -q /app /opt/venv/lib
USER 10001:10001
EXPOSE 8000 8001 9102
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "--endpoint", "tcp:port=9102:interface=0.0.0.0", "--proxy-headers", "todo_project.asgi:application"]
