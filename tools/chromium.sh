#!/usr/bin/env bash
# Prints the path of Debian's Chromium for the console's browser tests, installing it where it is
# missing (`apt-get install chromium`; root, as CI and this machine are). Playwright's own browser
# download is never used: it does not work offline. CHROMIUM_PATH names another binary.
set -euo pipefail
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  [[ -x "$CHROMIUM_PATH" ]] || { echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2; exit 1; }
  echo "$CHROMIUM_PATH"; exit 0
fi
found() { command -v chromium || command -v chromium-browser || true; }
if [[ -z "$(found)" ]]; then
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    echo "Chromium is missing and cannot be installed here (needs root and apt-get): install Debian's 'chromium' package, or set CHROMIUM_PATH" >&2
    exit 1
  fi
  echo "installing Debian's chromium (apt-get) ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk; } >&2; then
    echo "apt-get could not install chromium: see the output above (is Debian's package index reachable?)" >&2
    exit 1
  fi
fi
path="$(found)"
[[ -n "$path" ]] || { echo "chromium was installed but is not on the PATH" >&2; exit 1; }
echo "$path"
