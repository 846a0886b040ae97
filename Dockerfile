# Tessera's image. One build; the stages after `build` add no files, only metadata:
#
#   tessera        every part, chosen by the command (`python -m tessera_<part> ...`); for
#                  orchestrators that give the command and probe the parts themselves (the
#                  Kubernetes manifests in deploy/):  docker build --target tessera -t tessera .
#   identity, session, otp-delivery, gateway
#                  the same files plus that part's command, port and HEALTHCHECK, for Docker and
#                  docker-compose.yml:  docker build --target session -t tessera/session:local .
#                  (gateway is last, so also what a plain `docker build .` gives)
#
# All five share every file layer: the extra tags cost no disk. A part target knows its part
# from its own CMD and port variable, so no run-time guessing is needed for the health check.
# The identity image also runs the migrations (`python -m tessera_identity migrate`), the session
# image `keys rotate`, the gateway image `api-keys`.
#
# argon2-cffi-bindings is compiled here with CFLAGS="-O3 -march=x86-64-v3" (AVX2): 100 password
# hashes per second and core against 55 with the portable wheel, same hashes (shared/DESIGN.md).
# Such an image stops identity with "illegal instruction" on a CPU below x86-64-v3 (AVX2: Intel
# Haswell and AMD Zen or newer, but not every Atom, Celeron or Pentium; `grep -m1 -ow avx2
# /proc/cpuinfo` prints avx2 on a capable host). For such hosts build the portable wheel instead:
#   docker build --build-arg ARGON2_MARCH= ...
# Builds for other architectures (arm64) always take the portable wheel.
#
# Base image pinned by tag. A multi-architecture index digest seen for this tag in public
# Dockerfiles (not checked against the registry here; confirm with
# `docker buildx imagetools inspect python:3.11.14-slim-bookworm` before pinning FROM by digest):
#   sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

FROM python:3.11.14-slim-bookworm AS build
# Empty: the portable argon2-cffi-bindings wheel from PyPI instead of a build from source.
ARG ARGON2_MARCH=x86-64-v3
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
# A C compiler for argon2; cmake, ninja and the build backends come pinned from PyPI.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install scikit-build-core==1.1.2 setuptools-scm==10.3.4 \
        hatchling==1.33.0 cmake==4.4.4 ninja==1.13.2
ENV PATH=/opt/build/bin:$PATH
WORKDIR /src
COPY libs/verify/ libs/verify/
COPY libs/shared/ libs/shared/
COPY services/identity/ services/identity/
COPY services/session/ services/session/
COPY services/otp-delivery/ services/otp-delivery/
COPY gateway/ gateway/
# Wheels of the six packages (no extras: neither `testing` nor `devservers`) and of every
# dependency at the versions their pyproject.toml pin. Only published wheels are accepted, except
# argon2-cffi-bindings, built from source with the CFLAGS above.
RUN set -eu; \
    from_source=""; \
    if [ -n "$ARGON2_MARCH" ] && [ "$(uname -m)" = "x86_64" ]; then \
        export CFLAGS="-O3 -march=$ARGON2_MARCH"; \
        from_source="--no-binary=argon2-cffi-bindings"; \
        echo "argon2-cffi-bindings: from source, CFLAGS=$CFLAGS"; \
    else \
        echo "argon2-cffi-bindings: portable wheel"; \
    fi; \
    pip wheel --no-build-isolation --only-binary=:all: $from_source --wheel-dir /wheels \
        ./libs/verify ./libs/shared ./services/identity ./services/session \
        ./services/otp-delivery ./gateway
# The run-time environment: those wheels only (no index), no pip, no byte-code files.
RUN python -m venv --without-pip /opt/tessera \
 && pip --python /opt/tessera/bin/python install --no-index --find-links /wheels --no-compile \
        tessera-identity==0.1.0 tessera-session==0.1.0 tessera-otp-delivery==0.1.0 \
        tessera-gateway==0.1.0 \
 && find /opt/tessera -depth -name __pycache__ -type d -exec rm -rf {} +

FROM python:3.11.14-slim-bookworm AS tessera
# Nothing is installed at run time, so the base image's pip, setuptools and wheel go too (fewer
# tools for an intruder; the image does not get smaller, their files stay in the base layer).
RUN python -m pip uninstall --yes --no-cache-dir pip setuptools wheel \
 && groupadd --system --gid 10001 tessera \
 && useradd --system --uid 10001 --gid tessera --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin tessera \
 && install -d -o tessera -g tessera -m 0700 /keys
COPY --from=build /opt/tessera /opt/tessera
ENV PATH=/opt/tessera/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# Numeric, so orchestrators can verify "not root" (runAsNonRoot) without reading /etc/passwd.
USER 10001:10001
CMD ["python", "-c", "raise SystemExit('give a command: python -m tessera_identity [migrate], tessera_session [keys rotate|list], tessera_otp_delivery or tessera_gateway [api-keys ...]')"]

# Each part's health check asks its own /health/live on the port its settings use
# (TESSERA_<PART>_PORT, else the default), with the standard library: the image has no curl.
FROM tessera AS identity
ENV TESSERA_IDENTITY_HOST=0.0.0.0
EXPOSE 8001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:' + os.environ.get('TESSERA_IDENTITY_PORT', '8001') + '/health/live', timeout=2)"]
CMD ["python", "-m", "tessera_identity"]

FROM tessera AS session
# /keys: the Ed25519 signing keys (a volume in docker-compose.yml, owned by the tessera user).
ENV TESSERA_SESSION_HOST=0.0.0.0 TESSERA_SESSION_SIGNING_KEYS_DIR=/keys
EXPOSE 8002
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:' + os.environ.get('TESSERA_SESSION_PORT', '8002') + '/health/live', timeout=2)"]
CMD ["python", "-m", "tessera_session"]

FROM tessera AS otp-delivery
ENV TESSERA_OTP_HOST=0.0.0.0
EXPOSE 8003
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:' + os.environ.get('TESSERA_OTP_PORT', '8003') + '/health/live', timeout=2)"]
CMD ["python", "-m", "tessera_otp_delivery"]

# Last, so a plain `docker build .` gives the gateway. With TLS_CERT_FILE set it serves HTTPS
# itself: the check then speaks TLS to 127.0.0.1 without verifying the (public) certificate.
FROM tessera AS gateway
ENV TESSERA_GATEWAY_HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, ssl, urllib.request as r; e = os.environ.get; tls = bool(e('TESSERA_GATEWAY_TLS_CERT_FILE')); r.urlopen(('https' if tls else 'http') + '://127.0.0.1:' + e('TESSERA_GATEWAY_PORT', '8080') + '/health/live', timeout=2, context=ssl._create_unverified_context() if tls else None)"]
CMD ["python", "-m", "tessera_gateway"]
