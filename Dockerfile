# MaintainX's one image, for every process of docker-compose.yml: the web server by default, the
# listener, predictor, simulator and one-shot steps by their compose command. The build steps are
# the Makefile's (maintainx/tests/test_deployment.py keeps them the same).

# --- The dashboard, built with the commands of `make frontend` ----------------------------------
FROM node:20-bookworm-slim AS frontend
WORKDIR /app/frontend
# The lock file alone first: dependencies are reinstalled only when it changes.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# --- The application: the pinned runtime requirements on a slim Python -------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install -r requirements.txt
# pysparkplug's payload codec without its paho-mqtt<2 pin (see requirements-nodeps.txt).
RUN pip install --no-deps -r requirements-nodeps.txt
# A home of its own: Keras and Matplotlib keep their configuration there.
RUN useradd --create-home --uid 10001 --user-group maintainx
COPY . .
COPY --from=frontend /app/frontend/dist frontend/dist
# DEBUG off serves static files from STATIC_ROOT with hashed names (ServeStatic), so they are
# collected here; the key only lets the settings load for this step and is in no running container.
# var/ holds model versions and ticket photos (volumes in compose) and the simulator's ground truth:
# the app's user writes there and nowhere else.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
    && mkdir -p var/models var/private-media var/simulator \
    && chown -R maintainx:maintainx var
USER maintainx
EXPOSE 8000
# `make serve` on all interfaces of the container.
CMD ["uvicorn", "maintainx.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--lifespan", "off"]
