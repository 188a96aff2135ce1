# syntax=docker/dockerfile:1
# One static (musl) binary serves both ways of running Hoist:
#   docker build -t hoist .                                    # the container (EKS, anywhere)
#   docker build --target lambda --output build/lambda .       # bootstrap for AWS Lambda
FROM rust:1.95-alpine3.22 AS build
RUN apk add --no-cache musl-dev gcc g++ make cmake perl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin hoist
# The store's directory, owned by Hoist's user: a volume mounted there starts out with
# that owner, so the server can write its store (the image has no shell to make it later).
RUN mkdir -p /out/var/lib/hoist

# Lambda's provided.al2023 runtime runs a file named bootstrap.
FROM scratch AS lambda
COPY --from=build /src/target/release/hoist /bootstrap

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/target/release/hoist /usr/local/bin/hoist
COPY --from=build --chown=65532:65532 /out/var/lib/hoist /var/lib/hoist
USER 65532:65532
EXPOSE 8080
# Kubernetes probes /healthz and /readyz; the image has no shell or client to probe with.
# checkov:skip=CKV_DOCKER_2: probes are the orchestrator's (/healthz, /readyz)
ENTRYPOINT ["/usr/local/bin/hoist"]
CMD ["serve", "--config", "/etc/hoist/hoist.yaml", "--db", "/var/lib/hoist/hoist.db", "--listen", "0.0.0.0:8080", "--log-format", "json"]
