# syntax=docker/dockerfile:1

# innkeep: build the release binary, then run it on a slim Debian as a
# non-root user. Needs BuildKit (the default builder of current Docker).
#
#   docker build -t innkeep .
#   docker run -p 8080:8080 -v innkeep-data:/data innkeep      # SQLite in /data
#   JWT_SECRET=... docker compose up                           # PostgreSQL + Redis

############################################################################
# Builder
############################################################################
FROM rust:1.95-bookworm AS builder

WORKDIR /app

# The whole workspace (filtered by .dockerignore): the manifests of every
# member (`actors/`, and `loadtests/` once it exists), the sources, the
# migrations (embedded at compile time by `sqlx::migrate!("migrations/...")`)
# and `benches/` (Cargo.toml declares the `calendar` bench, and Cargo refuses
# a manifest whose declared targets are missing).
COPY . .

# Dependencies are cached across builds by the cache mounts rather than
# by a separate layer, so adding a workspace member needs no change here.
#
# The binary is copied out because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/app/target,sharing=locked \
    cargo build --release --locked --package innkeep --bin innkeep \
    && cp target/release/innkeep /usr/local/bin/innkeep

############################################################################
# Runtime
############################################################################
FROM debian:bookworm-slim AS runtime

# SQLite is bundled into the binary and the PostgreSQL and Redis clients are
# pure Rust, so the runtime needs only CA certificates (for Stripe). Not
# pinned: the bookworm version is whatever its security updates make it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 innkeep \
    && useradd --system --uid 10001 --gid innkeep --home-dir /data \
       --no-create-home --shell /usr/sbin/nologin innkeep \
    && mkdir /data \
    && chown innkeep:innkeep /data

COPY --from=builder /usr/local/bin/innkeep /usr/local/bin/innkeep

# Listen on every interface inside the container (the default is
# 127.0.0.1:8080, unreachable through a published port). With no other
# DATABASE_URL the SQLite file, and its generated `innkeep.jwt-secret`
# beside it, live in /data: mount a volume there to keep them.
ENV INNKEEP_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/innkeep.db \
    RUST_LOG=info

# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /data
EXPOSE 8080

# No HEALTHCHECK: the slim image has no HTTP client. Orchestrators should
# probe GET /healthz (liveness) and GET /readyz (readiness) on port 8080.
#
# innkeep shuts down gracefully on SIGTERM (up to 30 s for open requests):
# give `docker stop` a matching --time / stop_grace_period.
ENTRYPOINT ["innkeep"]
CMD ["serve"]
