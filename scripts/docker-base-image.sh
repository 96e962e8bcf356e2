#!/usr/bin/env bash
# Prepares Docker on a machine with no image registry (see shared DOCKER.md notes):
#   1. installs Debian's docker.io + docker-compose (v1) + iptables when dockerd is missing;
#   2. starts dockerd in the background when no daemon answers (PID in $FERRY_DOCKERD_PID_FILE,
#      log in $FERRY_DOCKERD_LOG); stop it with: kill "$(cat "$FERRY_DOCKERD_PID_FILE")";
#   3. builds the base image the Dockerfile names, node:20-bookworm-slim, from THIS machine's node,
#      npm, the shared libraries they need, a shell (dash) plus busybox applets, the CA bundle and
#      passwd/group files (root + node:1000, as in the official image), then `docker import`s it.
# Idempotent: every step is skipped when already done. Elsewhere, people simply pull the real
# node:20-bookworm-slim and never need this script.
set -euo pipefail

IMAGE="${FERRY_BASE_IMAGE:-node:20-bookworm-slim}"
DOCKERD_LOG="${FERRY_DOCKERD_LOG:-/tmp/ferry-dockerd.log}"
DOCKERD_PID_FILE="${FERRY_DOCKERD_PID_FILE:-/tmp/ferry-dockerd.pid}"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

log() { printf '[docker-base-image] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (installs packages, starts dockerd)"
  exit 1
fi

# --- 1. Docker packages --------------------------------------------------------------------------
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1 \
  || ! command -v iptables >/dev/null 2>&1; then
  log "installing docker.io, docker-compose, iptables from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends docker.io docker-compose iptables
fi

# --- 2. Daemon -----------------------------------------------------------------------------------
if docker info >/dev/null 2>&1; then
  log "dockerd already running"
else
  log "starting dockerd (log: $DOCKERD_LOG)"
  setsid nohup dockerd --default-address-pool base=10.201.0.0/16,size=24 >"$DOCKERD_LOG" 2>&1 </dev/null &
  echo $! >"$DOCKERD_PID_FILE"
  for _ in $(seq 1 150); do
    docker info >/dev/null 2>&1 && break
    if ! kill -0 "$(cat "$DOCKERD_PID_FILE")" 2>/dev/null; then
      log "dockerd exited; last log lines:"
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not become ready within 30 s"
    exit 1
  fi
  log "dockerd ready, PID $(cat "$DOCKERD_PID_FILE") (stop with: kill \$(cat $DOCKERD_PID_FILE))"
fi

# --- 3. Base image -------------------------------------------------------------------------------
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE already present"
  exit 0
fi

NODE_BIN="$(readlink -f "$(command -v node)")"
NPM_CLI="$(readlink -f "$(command -v npm)")"            # .../node_modules/npm/bin/npm-cli.js
NPM_DIR="$(dirname "$(dirname "$NPM_CLI")")"
DASH_BIN="$(readlink -f "$(command -v dash)")"
[ -f "$NPM_DIR/package.json" ] || { log "cannot locate npm's package directory (got $NPM_DIR)"; exit 1; }
[ -f "$CA_BUNDLE" ] || { log "missing $CA_BUNDLE"; exit 1; }
log "node $("$NODE_BIN" --version) from $NODE_BIN, npm $("$NODE_BIN" "$NPM_CLI" --version) from $NPM_DIR"

WORK="$(mktemp -d /tmp/ferry-base-image.XXXXXX)"
trap '[ -n "${FERRY_KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
ROOT="$WORK/root"

# Debian bookworm's merged-/usr layout.
mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,usr/local/lib/node_modules,etc/ssl/certs,root,home/node,tmp,var/tmp,dev,proc,sys,run}
ln -s usr/bin "$ROOT/bin"
ln -s usr/sbin "$ROOT/sbin"
ln -s usr/lib "$ROOT/lib"
ln -s usr/lib64 "$ROOT/lib64"
chmod 1777 "$ROOT/tmp" "$ROOT/var/tmp"
chmod 700 "$ROOT/root"

# Shared libraries: whatever node, dash and the native add-ons Ferry installs (@node-rs/crc32,
# which also needs librt) link against, plus the rest of the usual glibc set.
copy_libs() {
  ldd "$1" 2>/dev/null | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}' | while read -r lib; do
    [ -e "$ROOT$lib" ] || cp --parents -L "$lib" "$ROOT"
  done
}
copy_libs "$NODE_BIN"
copy_libs "$DASH_BIN"
for lib in /lib/x86_64-linux-gnu/{librt.so.1,libresolv.so.2,libutil.so.1,libdl.so.2,libpthread.so.0,libm.so.6,libgcc_s.so.1,libstdc++.so.6}; do
  [ -e "$lib" ] && [ ! -e "$ROOT$lib" ] && cp --parents -L "$lib" "$ROOT"
done

# node + npm/npx where the official image has them.
cp -L "$NODE_BIN" "$ROOT/usr/local/bin/node"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"

# /bin/sh is dash, as on Debian; basic utilities (mkdir, chown, cp, ls, rm, ...) are busybox applets.
cp -L "$DASH_BIN" "$ROOT/usr/bin/dash"
ln -s dash "$ROOT/usr/bin/sh"
(
  cd "$WORK"
  apt-get download busybox-static >/dev/null 2>&1 || { apt-get update -q && apt-get download busybox-static; }
  dpkg-deb -x busybox-static_*.deb bb
)
BUSYBOX="$WORK/bb/bin/busybox"
[ -x "$BUSYBOX" ] || { log "busybox-static did not unpack to bin/busybox"; exit 1; }
cp "$BUSYBOX" "$ROOT/usr/bin/busybox"
for applet in $("$ROOT/usr/bin/busybox" --list); do
  case "$applet" in sh | ash | hush | busybox) continue ;; esac
  [ -e "$ROOT/usr/bin/$applet" ] || [ -e "$ROOT/usr/local/bin/$applet" ] || ln -s busybox "$ROOT/usr/bin/$applet"
done

# Certificates, users, name resolution.
cp -L "$CA_BUNDLE" "$ROOT/etc/ssl/certs/ca-certificates.crt"
cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
cat >"$ROOT/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
[ -f /etc/os-release ] && cp -L /etc/os-release "$ROOT/etc/os-release"
chown 1000:1000 "$ROOT/home/node"

# Smoke test before importing: the copied node must start from the new root.
chroot "$ROOT" /usr/local/bin/node -e 'process.exit(0)' || { log "node does not run inside the new root"; exit 1; }
chroot "$ROOT" /bin/sh -c 'mkdir -p /tmp/x && rm -r /tmp/x' || { log "shell/busybox broken in the new root"; exit 1; }

log "importing $IMAGE ($(du -sh "$ROOT" | cut -f1))"
tar --numeric-owner -C "$ROOT" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_EXTRA_CA_CERTS=$CA_BUNDLE" \
  -c "ENV NODE_VERSION=$("$NODE_BIN" --version | tr -d v)" \
  -c 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
log "imported $IMAGE"
docker run --rm "$IMAGE" node -e 'console.log("node", process.version, "ok in", require("os").platform())'
