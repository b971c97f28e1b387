#!/usr/bin/env bash
# Make sure Debian's Chromium is installed at /usr/bin/chromium, for the browser test of the
# inspection page (test/integration/ui.test.ts drives it with playwright-core).
#
# Idempotent: when /usr/bin/chromium exists, it only says so. Otherwise it runs
# `apt-get update` once and `apt-get install chromium` (as root, or through sudo), and prints
# how long that took. Progress goes to stderr; apt's chatter goes to a log file that is shown
# only when something fails.
#
# Why Debian's package and not `npx playwright install`: the test tool's own browser download
# fails on machines with a closed network, while the Debian mirror is reachable; and a
# distribution build is patched and updated with the rest of the system.
#
# Environment (optional): HEALCAST_CACHE_DIR (.cache: where apt's log goes).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROMIUM=/usr/bin/chromium
CACHE_DIR="${HEALCAST_CACHE_DIR:-$ROOT/.cache}"
APT_LOG="$CACHE_DIR/chromium-apt.log"

say() { printf '[chromium] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

if [[ -x "$CHROMIUM" ]]; then
  say "already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

command -v apt-get >/dev/null || die "$CHROMIUM is missing and this machine has no apt-get"
sudo=()
if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || die "$CHROMIUM is missing; installing it needs root or sudo"
  sudo=(sudo)
fi

mkdir -p "$CACHE_DIR"
start=$SECONDS
# Another apt run (scripts/services.sh installing Redis, say) may hold the dpkg lock; wait
# for it rather than failing.
apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)

say "apt-get update"
"${apt[@]}" update >"$APT_LOG" 2>&1 || {
  tail -n 30 "$APT_LOG" >&2
  die "apt-get update failed (log: $APT_LOG)"
}
# Recommends (notification daemon, printing dialogs, U2F rules, Mesa drivers) are for a
# desktop; headless rendering needs none of them.
say "apt-get install chromium"
"${apt[@]}" install -y --no-install-recommends chromium >>"$APT_LOG" 2>&1 || {
  tail -n 30 "$APT_LOG" >&2
  die "apt-get install chromium failed (log: $APT_LOG)"
}

[[ -x "$CHROMIUM" ]] || die "apt-get installed chromium but $CHROMIUM is not there"
say "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium) in $((SECONDS - start)) s"
