# syntax=docker/dockerfile:1
#
# callbacksim's container image: a static binary on a small non-root base.
#   docker build -t callbacksim --build-arg VERSION=$(git describe --always) .
# docker-compose.yml builds it for the api, worker and merchant services.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# Modules first: a change to the code alone reuses this layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X github.com/callbacksim/callbacksim/internal/buildinfo.Version=${VERSION}" \
      -o /out/callbacksim ./cmd/callbacksim

# Alpine rather than distroless: compose healthchecks need busybox's wget
# and nc inside the container. The binary itself needs nothing from it but
# CA certificates (callbacks to https merchants).
FROM alpine:3.22
RUN apk add --no-cache ca-certificates \
 && addgroup -S -g 10001 callbacksim \
 && adduser -S -D -H -u 10001 -G callbacksim callbacksim
COPY --from=build /out/callbacksim /usr/local/bin/callbacksim
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["callbacksim"]
CMD ["serve", "--config", "/etc/callbacksim/callbacksim.yaml"]
