#!/usr/bin/env bash
# Install and start what the Docker and browser tiers need, from Debian's packages only:
# docker.io (and start dockerd when no engine answers), chromium, debootstrap (local base image).
# Idempotent; a no-op when everything is already there. Needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-system-deps: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# A `docker` client may exist without an engine: check the engine, not the client.
if ! docker info >/dev/null 2>&1; then
  echo "install-system-deps: starting dockerd"
  $SUDO mkdir -p /var/log
  ($SUDO nohup dockerd >/var/log/mlops-nb-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/mlops-nb-dockerd.log" >&2; exit 1; }
fi
echo "install-system-deps: docker $(docker version --format '{{.Server.Version}}'), $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing')"
