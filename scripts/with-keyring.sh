#!/usr/bin/env bash
# Runs a command against a throwaway Secret Service: gnome-keyring in a D-Bus session of its own, with a fresh
# HOME whose "login" keyring is created and unlocked, then removed. The keychain tests run under it.
# Needs the Debian packages gnome-keyring and dbus. Usage: scripts/with-keyring.sh CMD [ARG...]
set -euo pipefail
if ! command -v gnome-keyring-daemon >/dev/null || ! command -v dbus-run-session >/dev/null; then
  echo "with-keyring: install gnome-keyring and dbus first" >&2
  exit 2
fi
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export HOME="$home" XDG_DATA_HOME="$home/.local/share"
dbus-run-session -- bash -c 'eval "$(printf throwaway | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"; export GNOME_KEYRING_CONTROL; exec "$@"' with-keyring "$@"
