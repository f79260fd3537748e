#!/bin/sh
# The browser of the end-to-end test: Debian's Chromium, driven by playwright-core (which cannot
# download its own browsers here). Installed when missing; CI runs `make test` as root.
set -eu
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "The end-to-end test needs Chromium at $CHROMIUM: install it with 'sudo apt-get install -y chromium'" >&2
  echo "(or point CHROMIUM at another Chromium or Chrome binary)." >&2
  exit 1
fi
echo "Installing Chromium for the end-to-end test (apt-get)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x "$CHROMIUM"
