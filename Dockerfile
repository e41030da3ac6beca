# Baove container image: multi-stage so that compilers and -dev packages stay
# out of the runtime image.  Build:  docker build -t baove .
# One image serves all three binaries; the default command is the API
# (docker-compose.yml runs baove-worker and baove-admin from it too).

# ---- build stage -------------------------------------------------------------
FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libmicrohttpd-dev libpq-dev libjansson-dev libuv1-dev libcurl4-openssl-dev \
      libsodium-dev libssl-dev libcmocka-dev libxlsxwriter-dev \
 && rm -rf /var/lib/apt/lists/*
# libcmocka-dev only so that configuring succeeds if CMakeLists.txt looks for it
# unconditionally; the tests themselves are neither built nor run here.
WORKDIR /src
COPY . .
# Out-of-tree build dir: a stray build/ from the host (if .dockerignore is
# bypassed) can then never clash with this configure.
RUN cmake -S /src -B /tmp/build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && cmake --build /tmp/build -j"$(nproc)" --target baove-api baove-worker baove-admin \
 && install -d /out/bin \
 && install -m 0755 /tmp/build/baove-api /tmp/build/baove-worker /tmp/build/baove-admin /out/bin/

# ---- runtime stage -------------------------------------------------------------
FROM debian:12-slim
# Shared libraries of the binaries; curl for the compose healthcheck (GET /healthz).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libpq5 libjansson4 libuv1 libcurl4 libsodium23 libssl3 \
      libxlsxwriter4 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/bin/ /usr/local/bin/
COPY sql/ /usr/share/baove/sql/
# Never run as root; a fixed uid makes volume permissions predictable.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin baove
USER baove
ENV BAOVE_SQL_DIR=/usr/share/baove/sql \
    BAOVE_HTTP_ADDR=0.0.0.0 \
    BAOVE_HTTP_PORT=8080
EXPOSE 8080
CMD ["baove-api"]
