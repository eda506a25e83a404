#!/usr/bin/env bash
# Installs the system programs the integration tests talk to, when they are missing:
# docker-registry (CNCF distribution 2.8, the real registry under test), skopeo and umoci (interoperability
# oracles), openssl (test certificates), zstd (reading zstd-compressed archives and recompressing layers
# on Node < 22.15; test fixtures), podman and buildah (interoperability: `podman load`/`save -m`, `buildah push
# --compression-format zstd`; run daemonless, with vfs storage in a temporary directory), postgresql (the
# shared store of the distributed `ocidist sync` test: initdb/pg_ctl from /usr/lib/postgresql/*/bin, started in
# a temp dir on a loopback port by the harness, never as a system service). Debian/Ubuntu only;
# runs apt-get as root or through sudo.
set -euo pipefail
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
  echo "test dependencies present: docker-registry, skopeo, umoci, openssl, zstd, podman, buildah, postgresql"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" ca-certificates >/dev/null
echo "installed: ${need[*]}"
