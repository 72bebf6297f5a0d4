#!/usr/bin/env bash
# Runs the README's commands on a brand-new Debian 12 (bookworm, debootstrap minbase) root, the way a
# new user's machine would: nothing installed but what scripts/setup.sh installs. CI runs this
# (.ci/run); a developer can too, as root:
#   scripts/ci-fresh-root.sh                       # scripts/run.sh --quick, then scripts/test.sh
#   scripts/ci-fresh-root.sh scripts/test.sh       # any command, run in the clone inside the root
#   QB_CI_KEEP=1 scripts/ci-fresh-root.sh bash     # keep the root afterwards (its path is printed)
# The clone is of the committed HEAD (QB_CI_REF=<rev> for another); uncommitted changes are not in it.
# Caches live outside the clone, in QB_CI_CACHE (default ~/.cache/qbench-ci): the debootstrap
# tarball and apt's .deb files, so a second run skips the downloads. pip's cache is the host's own
# (QB_CI_PIP_CACHE, default ~/.cache/pip): its downloads and the wheels pip built, so the
# llama-cpp-python wheel (a 10-minute llama.cpp build) is built once per machine, not per CI run.
# ccache's objects are kept in QB_CI_CACHE/ccache.
# The root inherits the host's package-index settings: its apt sources and Acquire settings,
# /etc/pip.conf, the PIP_* / SSL_CERT_* / REQUESTS_CA_BUNDLE / proxy variables, and the CA bundle.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "ci-fresh-root: needs root (debootstrap, chroot, bind mounts)" >&2; exit 1; }

cache=${QB_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qbench-ci}
ref=${QB_CI_REF:-HEAD}
suite=bookworm
if [ $# -gt 0 ]; then cmd="$*"; else cmd="scripts/run.sh --quick && scripts/test.sh"; fi
pip_cache=${QB_CI_PIP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}
mkdir -p "$cache/apt-archives/partial" "$pip_cache"

t0=$SECONDS
phase() { echo "== ci-fresh-root: $* (t=$((SECONDS - t0)) s)"; }

command -v debootstrap >/dev/null || {
  phase "installing debootstrap on the host"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# The host's own Debian mirror: the first deb822 .sources file (or sources.list line) serving
# $suite main. No host name is written in the repo.
mirror=$(awk -v s="$suite" '
  /^URIs:/ {u=$2} /^Suites:/ {for (i=2;i<=NF;i++) if ($i==s) ok=1}
  /^$/ {if (ok && u) {print u; exit} u=""; ok=0}
  END {if (ok && u) print u}' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk -v s="$suite" '$1=="deb" && $3==s {print $2; exit}' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || { echo "ci-fresh-root: no apt source for $suite in /etc/apt/sources.list{,.d}" >&2; exit 1; }

tarball=$cache/$suite-minbase.tgz
if [ ! -s "$tarball" ]; then
  phase "downloading the $suite minbase packages from $mirror"
  rm -rf "$cache/mk"
  debootstrap --variant=minbase --make-tarball="$tarball.tmp" "$suite" "$cache/mk" "$mirror" >"$cache/mk.log" 2>&1 ||
    { tail -n 20 "$cache/mk.log" >&2; exit 1; }
  mv "$tarball.tmp" "$tarball"
  rm -rf "$cache/mk"
fi

root=$(mktemp -d "${QB_CI_ROOT_PARENT:-/var/tmp}/qbench-root.XXXXXX")
# mktemp makes the directory 0700; as the root's "/", that would stop every user but root (the
# PostgreSQL test runs initdb as the postgres user: "Permission denied").
chmod 755 "$root"
mounted=()
cleanup() {
  local rc=$?
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -R "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || true
  done
  if [ "${QB_CI_KEEP:-0}" = 1 ]; then
    echo "ci-fresh-root: root kept at $root"
  else
    # Never delete through a mount that is still there.
    if grep -q " $root/" /proc/self/mounts; then
      echo "ci-fresh-root: mounts remain under $root; not deleting it" >&2
    else
      rm -rf "$root"
    fi
  fi
  exit $rc
}
child=
# A signal stops the command inside the root too (its own process group), then cleanup runs.
stop() { [ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null && wait "$child" 2>/dev/null; exit "$1"; }
trap cleanup EXIT
trap 'stop 130' INT
trap 'stop 143' TERM
bind() {  # bind SRC DST [ro]: recursive, not propagating back to the host
  mkdir -p "$2"
  mount --rbind "$1" "$2"
  mounted+=("$2")
  mount --make-rslave "$2" 2>/dev/null || true
  [ "${3:-}" = ro ] && mount -o remount,bind,ro "$2" 2>/dev/null || true
}

phase "unpacking a fresh $suite minbase root into $root"
debootstrap --variant=minbase --unpack-tarball="$tarball" "$suite" "$root" "$mirror" >"$root.log" 2>&1 ||
  { tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# Package-index settings and trust from the host.
rm -f "$root/etc/apt/sources.list"
cp /etc/apt/sources.list "$root/etc/apt/" 2>/dev/null || true
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] && cp "$f" "$root/etc/apt/sources.list.d/"
done
for f in /etc/apt/apt.conf.d/*; do  # only fetch settings (proxies, index validity), not host clean-ups
  [ -f "$f" ] && grep -q 'Acquire' "$f" && cp "$f" "$root/etc/apt/apt.conf.d/"
done
cp -r /etc/apt/trusted.gpg.d/. "$root/etc/apt/trusted.gpg.d/" 2>/dev/null || true
[ -d /etc/apt/keyrings ] && mkdir -p "$root/etc/apt/keyrings" && cp -r /etc/apt/keyrings/. "$root/etc/apt/keyrings/"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
mkdir -p "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  # Kept when ca-certificates is installed later and rebuilds the bundle.
  cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/ca-certificates/host-bundle.crt"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp /etc/hosts "$root/etc/hosts" 2>/dev/null || true

pass=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
      TERM=dumb DEBIAN_FRONTEND=noninteractive CCACHE_DIR=/root/.cache/ccache CCACHE_MAXSIZE=20G)
while IFS='=' read -r name _; do
  case $name in
    PIP_* | SSL_CERT_* | REQUESTS_CA_BUNDLE | CURL_CA_BUNDLE | http_proxy | https_proxy | no_proxy | \
      HTTP_PROXY | HTTPS_PROXY | NO_PROXY | QB_*) pass+=("$name=${!name}") ;;
  esac
done < <(env)

phase "mounting /proc /sys /dev and the download caches"
bind /proc "$root/proc"
bind /sys "$root/sys"
bind /dev "$root/dev"
bind "$cache/apt-archives" "$root/var/cache/apt/archives"
bind "$pip_cache" "$root/root/.cache/pip"
# ccache's objects, kept like the .deb files: a run rebuilds only what changed since the last one
# (a cold cache is the full build). Its own folder, so no host configuration leaks in.
mkdir -p "$cache/ccache"
bind "$cache/ccache" "$root/root/.cache/ccache"
# A local pip find-links folder named by the host's settings is visible at the same path.
for d in ${PIP_FIND_LINKS:-}; do
  [ -d "$d" ] && bind "$d" "$root$d" ro
done

phase "cloning $(git -C "$repo" rev-parse --short=12 "$ref") into the root"
git clone -q --no-hardlinks "$repo" "$root/src/qbench"
git -C "$root/src/qbench" checkout -q --detach "$(git -C "$repo" rev-parse "$ref")"

phase "running: $cmd"
# In the background and waited for, so that a signal reaches the trap at once.
setsid chroot "$root" /usr/bin/env -i "${pass[@]}" /bin/bash -c "cd /src/qbench && $cmd" <&0 &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=
phase "finished with exit code $rc"
exit $rc
