# userd in a container: a static binary on distroless, run as non-root.
#
#   docker build -t userd --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#   docker compose up        # userd + PostgreSQL 15 + mailpit (compose.yaml)
#
# No HEALTHCHECK: the final image has no shell or curl. Probe GET /healthz
# (alive) and GET /readyz (database reachable, schema current) from the
# orchestrator instead.

FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${DATE}" \
      -o /out/userd ./cmd/userd \
 && mkdir -p /out/data

# distroless/static: CA certificates, tzdata and /etc/passwd, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/userd /usr/local/bin/userd
# USERD_DATA_DIR (dev keys, dev IdP secret), owned by the nonroot user.
COPY --from=build --chown=65532:65532 /out/data /var/lib/userd
ENV USERD_DATA_DIR=/var/lib/userd
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/userd"]
CMD ["serve"]
