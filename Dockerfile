# careclock's production image: the worker and starter (listener, setup, codec server, secrets,
# operators' CLI) as static binaries on an empty base, run as a non-root user. The dev stack
# (in-process Temporal and NATS) is not in it. The target temporal is the Temporal server with
# careclock's authorization (./temporal-server), built in a stage of its own so that building
# careclock's image does not build it.
#
#   docker build -t careclock:$(git describe --always) .
#   docker build --target temporal -t careclock-temporal:$(git describe --always) .
#
# Both stages are pinned: the Go toolchain careclock is tested with, and scratch.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/bin/worker ./worker && \
    go build -ldflags="-s -w" -o /out/bin/starter ./starter && \
    echo "careclock:x:65532:65532:careclock:/nonexistent:/sbin/nologin" > /out/passwd && \
    echo "careclock:x:65532:" > /out/group && \
    mkdir -p /out/secrets /out/nats-auth

FROM golang:1.26.8-bookworm AS build-temporal
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-trimpath
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags="-s -w" -o /out/bin/temporal-server ./temporal-server && \
    echo "careclock:x:65532:65532:careclock:/nonexistent:/sbin/nologin" > /out/passwd && \
    echo "careclock:x:65532:" > /out/group

FROM scratch AS temporal
COPY --from=build-temporal /out/passwd /etc/passwd
COPY --from=build-temporal /out/group /etc/group
COPY --from=build-temporal /out/bin/ /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/temporal-server"]
CMD ["start"]

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build /out/bin/ /usr/local/bin/
# Mount points owned by the service user: a named volume mounted here starts with this owner,
# so `starter secrets` can write into it without root.
COPY --from=build --chown=65532:65532 /out/secrets /secrets
COPY --from=build --chown=65532:65532 /out/nats-auth /nats-auth
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/worker"]
