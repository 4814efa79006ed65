#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, kube-scheduler and kubemark from Debian's
# `kubernetes` source package, offline, and install them into $OUT/bin.
# Progress lines start with "::step" so the caller can draw a progress display; everything
# else is the build log. Usage: build-kubernetes.sh OUT_DIR WORK_DIR
set -euo pipefail
OUT=${1:?usage: build-kubernetes.sh OUT_DIR WORK_DIR}
WORK=${2:?usage: build-kubernetes.sh OUT_DIR WORK_DIR}
VERSION=v1.20.2
BINARIES="kube-apiserver kube-controller-manager kube-scheduler kubemark"
export DEBIAN_FRONTEND=noninteractive

step() { echo "::step $1 $2"; }

step 1 "installing the toolchain (golang-1.19-go, rsync, dpkg-dev, etcd-server)"
need=""
for pkg in golang-1.19-go rsync dpkg-dev etcd-server; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
if [ -n "$need" ]; then
  apt-get install -y -q $need || { apt-get update -q && apt-get install -y -q $need; }
fi

step 2 "downloading Debian's kubernetes source package"
mkdir -p "$WORK"
APT="$WORK/apt"
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/sources.list.d"
: > "$APT/sources.list"
# The same mirrors the system uses, with deb-src added, in a private apt configuration so the
# system's own sources and package lists are left untouched.
if [ -f /etc/apt/sources.list ]; then
  sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >> "$APT/sources.list"
fi
for f in /etc/apt/sources.list.d/*.sources; do
  [ -e "$f" ] || continue
  sed 's/^Types:.*$/Types: deb-src/' "$f" > "$APT/sources.list.d/$(basename "$f")"
done
for f in /etc/apt/sources.list.d/*.list; do
  [ -e "$f" ] || continue
  sed -n 's/^deb \(.*\)$/deb-src \1/p' "$f" > "$APT/sources.list.d/$(basename "$f")"
done
APTOPTS=(-o "Dir::Etc::SourceList=$APT/sources.list" -o "Dir::Etc::SourceParts=$APT/sources.list.d"
         -o "Dir::State::Lists=$APT/lists" -o "Dir::Cache=$APT/cache" -o "APT::Sandbox::User=root")
apt-get "${APTOPTS[@]}" update -q
rm -rf "$WORK/pkg" && mkdir -p "$WORK/pkg"
(cd "$WORK/pkg" && apt-get "${APTOPTS[@]}" source --download-only kubernetes)

step 3 "unpacking the source tree"
dsc=$(ls "$WORK"/pkg/kubernetes_*.dsc | head -n 1)
rm -rf "$WORK/src"
dpkg-source --no-check -x "$dsc" "$WORK/src" >/dev/null
cd "$WORK/src"
# kubemark's hollow kubelet listens on every interface by default: keep it on loopback.
hk=pkg/kubemark/hollow_kubelet.go
grep -q 'c.Address = "0.0.0.0"' "$hk" || { echo "unexpected $hk: no c.Address line to patch" >&2; exit 1; }
sed -i 's/c.Address = "0.0.0.0"/c.Address = "127.0.0.1"/' "$hk"

export PATH="/usr/lib/go-1.19/bin:$PATH" GOPROXY=off GOFLAGS=-mod=vendor KUBE_GIT_VERSION=$VERSION
export GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath"
step 4 "generating code (about 1 minute)"
make generated_files

step 5 "compiling $BINARIES (about 8 minutes on 2 cores)"
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubemark"

step 6 "installing into $OUT"
mkdir -p "$OUT/bin.tmp"
for b in $BINARIES; do
  cp "_output/bin/$b" "$OUT/bin.tmp/$b" 2>/dev/null || cp "_output/local/bin/linux/amd64/$b" "$OUT/bin.tmp/$b"
done
rm -rf "$OUT/bin" && mv "$OUT/bin.tmp" "$OUT/bin"
echo "$VERSION" > "$OUT/VERSION"
cd / && rm -rf "$WORK/src" "$WORK/pkg" "$WORK/gopath"
step 7 "done"
