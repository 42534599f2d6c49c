#!/usr/bin/env bash
# Make sure the system libraries WeasyPrint needs are present. Installs them with apt-get when
# running as root on Debian/Ubuntu; otherwise prints the command to run and fails.
# libharfbuzz-subset0 matters: without it fonts are subset by fontTools, a CJK page takes
# several seconds instead of one, and the PDF bytes change on every run.
# `system_deps.sh test`: what the tests need besides, a headless browser for the preview
# server's end-to-end test (Debian's chromium, and chromedriver to drive it).
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 qpdf)
if [ "${1:-}" = test ]; then
  packages=(chromium chromium-driver)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
