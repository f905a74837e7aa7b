#!/usr/bin/env bash
# Build a local Python base image from Debian packages, for machines where no image registry is
# reachable: debootstrap (bookworm, minbase, python3 + venv) -> `docker import`. Cached by tag: a
# no-op when the image exists (pass --force to rebuild). Debian bookworm's python3 is 3.11.
#
#   scripts/build-base-image.sh [TAG] [--force]      default TAG: mlops-nb/python-base:3.11-bookworm
#
# Use it with: mlops-nb productionize NOTEBOOK --build --base-image TAG --wheelhouse
set -euo pipefail

TAG="mlops-nb/python-base:3.11-bookworm"
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) TAG="$arg" ;;
  esac
done
SUITE="${MLOPS_NB_BASE_SUITE:-bookworm}"
MIRROR="${MLOPS_NB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Bumped whenever what goes into the image changes: an image of the same tag built by an older
# version of this script is rebuilt, never reused.
VERSION=2
if [ "$FORCE" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  built="$(docker image inspect "$TAG" --format '{{ index .Config.Labels "mlops-nb.base-version" }}' 2>/dev/null || true)"
  if [ "$built" = "$VERSION" ]; then
    echo "build-base-image: $TAG exists (cached, version $VERSION)"
    exit 0
  fi
  echo "build-base-image: $TAG was built by an older version of this script (${built:-1}); rebuilding"
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
command -v debootstrap >/dev/null 2>&1 || { echo "debootstrap is missing: run scripts/install-system-deps.sh" >&2; exit 1; }

ROOT="$(mktemp -d /tmp/mlops-nb-rootfs.XXXXXX)"
trap '$SUDO rm -rf "$ROOT"' EXIT
echo "build-base-image: debootstrap $SUITE into $ROOT"
$SUDO debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log" >&2; exit 1; }
rm -f "$ROOT.log"

# Slim the root file system: no package lists, docs, man pages, locales or caches.
$SUDO rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/var/cache/debconf/*-old \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
  "$ROOT"/var/log/* "$ROOT"/tmp/*
$SUDO find "$ROOT"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'en*' -exec rm -rf {} + 2>/dev/null || true
# What no service runs: glibc's iconv converters (Python has its own codecs), the locale compiler,
# and the standard library's test suite, 2to3, pydoc's topics, IDLE and Tk (~16 MB).
$SUDO rm -rf "$ROOT"/usr/lib/x86_64-linux-gnu/gconv "$ROOT"/usr/bin/localedef \
  "$ROOT"/usr/lib/python3.11/test "$ROOT"/usr/lib/python3.11/lib2to3 \
  "$ROOT"/usr/lib/python3.11/pydoc_data "$ROOT"/usr/lib/python3.11/idlelib \
  "$ROOT"/usr/lib/python3.11/tkinter "$ROOT"/usr/lib/python3.11/turtledemo \
  "$ROOT"/usr/lib/python3.11/lib-dynload/_test*.so "$ROOT"/usr/lib/python3.11/lib-dynload/_xxtestfuzz*.so
# Byte-compile the standard library now: a non-root service cannot write __pycache__ at run time,
# and compiling it at every start costs start-up time.
$SUDO chroot "$ROOT" python3 -m compileall -q -j 0 /usr/lib/python3 /usr/lib/python3.11 >/dev/null 2>&1 || true

echo "build-base-image: docker import -> $TAG"
$SUDO tar -C "$ROOT" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --change "LABEL mlops-nb.base-version=$VERSION" \
  - "$TAG" >/dev/null
docker image inspect "$TAG" --format 'build-base-image: {{.RepoTags}} {{.Size}} bytes'
