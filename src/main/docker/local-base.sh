#!/usr/bin/env bash
# Builds, from Debian's packages alone, the base images the container tests and the compose kit need where no image
# registry can be reached (CI here): nothing is pulled. Images already present are kept, so a second run is instant.
#
#   token-broker-base/debian:bookworm  debootstrap --variant=minbase bookworm, imported (the root filesystem is cached
#                                      as a tarball in ~/.cache/token-broker, so the engine's cache can be dropped)
#   token-broker-base/jre17:bookworm   + Debian's openjdk-17-jre-headless: Dockerfile.jvm's BASE, and the upstream's
#   token-broker-base/redis:bookworm   + Debian's redis-server
#   token-broker-base/mock-oauth2-server:VERSION
#                                      the dev OpenID provider of the compose kit and the container tests: the JRE
#                                      image with mock-oauth2-server's jars from Maven Central (the pom's version), run
#                                      as its published image runs (SERVER_PORT, JSON_CONFIG)
#
# Needs root (debootstrap), a running Docker engine and Debian's mirror. Where Docker Hub can be reached, none of this
# is needed: Dockerfile.jvm's default base is eclipse-temurin:17-jre.
#
# Usage: local-base.sh [MIRROR]   (default http://deb.debian.org/debian)
set -euo pipefail
cd "$(dirname "$0")/../../.."

mirror=${1:-http://deb.debian.org/debian}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/token-broker
rootfs_tar=$cache/debian-bookworm-minbase.tar

have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have token-broker-base/debian:bookworm; then
  if [[ ! -s $rootfs_tar ]]; then
    command -v debootstrap >/dev/null || { echo "local-base.sh: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
    mkdir -p "$cache"
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    # The image's apt sources: the mirror and Debian's security updates, as a stock Debian image has them.
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
      "$mirror" "$mirror" >"$rootfs/etc/apt/sources.list"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  fi
  docker import --change 'CMD ["/bin/bash"]' "$rootfs_tar" token-broker-base/debian:bookworm >/dev/null
fi

# One image per package set, each a single apt layer without the package lists.
build() {
  local tag=$1 packages=$2
  have "$tag" && return
  docker build -q -t "$tag" - >/dev/null <<DOCKERFILE
FROM token-broker-base/debian:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages \
    && rm -rf /var/lib/apt/lists/*
DOCKERFILE
}
build token-broker-base/jre17:bookworm "openjdk-17-jre-headless ca-certificates"
build token-broker-base/redis:bookworm "redis-server"

# mock-oauth2-server: its jars, resolved by Maven (the project's wrapper) from a pom that depends on it alone.
version=$(sed -n 's:.*<mock-oauth2-server.version>\(.*\)</mock-oauth2-server.version>.*:\1:p' pom.xml)
if ! have "token-broker-base/mock-oauth2-server:$version"; then
  context=$(mktemp -d)
  cat >"$context/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>mock-oauth2-server-image</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>no.nav.security</groupId><artifactId>mock-oauth2-server</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM
  ./mvnw -B -q -f "$context/pom.xml" dependency:copy-dependencies -DoutputDirectory="$context/lib"
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM token-broker-base/jre17:bookworm
COPY lib/ /app/lib/
USER 65534
ENTRYPOINT ["java", "-cp", "/app/lib/*", "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"]
DOCKERFILE
  docker build -q -t "token-broker-base/mock-oauth2-server:$version" "$context" >/dev/null
  rm -rf "$context"
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' 'token-broker-base/*'
