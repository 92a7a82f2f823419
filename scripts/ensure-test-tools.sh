#!/usr/bin/env bash
# Installs what the test run needs beyond npm packages, from Debian's packages: Chromium for the
# dashboard's browser test (test/dashboard, driven by playwright-core), and the CNCF distribution
# registry and skopeo for the registry token tests (libs/auth), and Podman with runc, netavark and
# iptables (the containers' network) and
# busybox-static for the container executor's tests (test/containers: base images are built from
# busybox offline, test/support/container-images.mjs), and PgBouncer for the apps' pools in
# transaction mode (test/database/pgbouncer, bench:scale). Does nothing when they are there.
set -euo pipefail

# command → Debian package
declare -A NEEDED=([/usr/bin/chromium]=chromium [docker-registry]=docker-registry [skopeo]=skopeo
  [podman]=podman [runc]=runc [/usr/lib/podman/netavark]=netavark [iptables]=iptables [/bin/busybox]=busybox-static
  [/usr/sbin/pgbouncer]=pgbouncer)
missing=()
for command in "${!NEEDED[@]}"; do
  command -v "$command" >/dev/null 2>&1 || missing+=("${NEEDED[$command]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ensure-test-tools: installing Debian's ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo -n"
else
  echo "ensure-test-tools: not root and no sudo: install them with 'apt-get install -y ${missing[*]}'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
