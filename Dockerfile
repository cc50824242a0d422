# The control-plane image: the gateway, the ops API and the watcher (`deployer k8s render`
# runs all three from it), and the Ray nodes when built with INSTALL_RAY=true.
#   docker build -t model-deployer:0.1.0 .
#   docker build --build-arg INSTALL_RAY=true -t model-deployer:0.1.0-ray .
# Everything is installed at build time; nothing is fetched when a container runs.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG INSTALL_RAY=false
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/deployer \
 && if [ "$INSTALL_RAY" = "true" ]; then target=".[ray]"; else target="."; fi \
 && /opt/deployer/bin/pip install "$target" \
 && /opt/deployer/bin/python -m compileall -q /opt/deployer

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 deployer \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/deployer --no-create-home \
      --shell /usr/sbin/nologin deployer \
 && mkdir -p /var/lib/deployer \
 && chown 10001:10001 /var/lib/deployer
COPY --from=build /opt/deployer /opt/deployer
ENV PATH=/opt/deployer/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/deployer \
    DEPLOYER_HOME=/var/lib/deployer/home \
    MLFLOW_DISABLE_TELEMETRY=true \
    BENTOML_DO_NOT_TRACK=true \
    DO_NOT_TRACK=1 \
    RAY_USAGE_STATS_ENABLED=0
USER 10001:10001
WORKDIR /var/lib/deployer
EXPOSE 8080 8000
CMD ["deployer", "--help"]
