# The topo image for `topo export kubernetes`: one static binary on
# scratch, run as a non-root user. Build it from the repository root:
#
#   docker build -t topo:latest .
#
# and push it where the cluster pulls from (topo export kubernetes
# -image REGISTRY/topo:TAG). internal/export/kubernetes's tests run the
# go build line below and check that it makes a static binary.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/topo ./cmd/topo
RUN mkdir -p /out/tmp

FROM scratch
COPY --from=build /out/topo /usr/local/bin/topo
COPY --from=build --chown=65532:65532 /out/tmp /tmp
ENV PATH=/usr/local/bin
USER 65532:65532
WORKDIR /etc/topo
ENTRYPOINT ["topo"]
