# One image for every part; the command picks the part (see docker-compose.yml).
# Build: docker build -t tessera:dev .

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY libs/shared libs/shared
COPY services services
COPY gateway gateway
RUN python -m venv /opt/tessera \
 && /opt/tessera/bin/pip install ./libs/shared ./services/identity ./services/session \
        ./services/otp-delivery ./gateway

FROM python:3.11.14-slim-bookworm
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin tessera \
 && mkdir /keys && chown tessera /keys  # session signing keys (a volume in docker-compose.yml)
COPY --from=build /opt/tessera /opt/tessera
ENV PATH=/opt/tessera/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER tessera
