#!/usr/bin/env bash
# Installs what the test run needs beyond npm packages: Debian's Chromium for the dashboard's
# browser test (test/dashboard), driven by playwright-core. Does nothing when it is there.
set -euo pipefail

# registry branch: the CNCF distribution registry and skopeo for the cluster registry tests (libs/auth registry-token.spec, test/registry-images).
command -v docker-registry >/dev/null 2>&1 && command -v skopeo >/dev/null 2>&1 || { echo "ensure-test-tools: installing docker-registry and skopeo" >&2; ${SUDO_CMD:-$( [ "$(id -u)" -eq 0 ] || echo sudo -n )} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-registry skopeo || { ${SUDO_CMD:-$( [ "$(id -u)" -eq 0 ] || echo sudo -n )} apt-get update -q && ${SUDO_CMD:-$( [ "$(id -u)" -eq 0 ] || echo sudo -n )} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-registry skopeo; }; }

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "ensure-test-tools: /usr/bin/chromium is missing; installing Debian's chromium package" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo -n"
else
  echo "ensure-test-tools: not root and no sudo: install it with 'apt-get install -y chromium'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium
/usr/bin/chromium --version
