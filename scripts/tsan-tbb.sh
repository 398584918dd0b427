#!/usr/bin/env bash
# Builds oneTBB under ThreadSanitizer into PREFIX (scripts/sanitize.sh tsan
# passes build-tsan/onetbb), once: ThreadSanitizer sees only the
# synchronisation of instrumented code, and Debian's libtbb is not, so every
# hand-over of a task between oneTBB's threads looked like a race (Intel's
# and the sanitizer's maintainers give the same advice: rebuild oneTBB with
# TBB_SANITIZE=thread). The source is Debian's own, of the version installed
# (libtbb-dev), fetched with apt-get through a private source list so that
# the system's is not touched.
#
#   scripts/tsan-tbb.sh PREFIX
set -euo pipefail
prefix=$1
if [[ -f $prefix/install/lib/cmake/TBB/TBBConfig.cmake ]]; then exit 0; fi

version=$(dpkg-query -W -f='${source:Version}' libtbb-dev)
work=$prefix/source
rm -rf "$work"
mkdir -p "$work/lists/partial"
# deb-src lines for the suites the system's deb lines name.
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$work/sources.list" <<LIST
deb-src [signed-by=$keyring] http://deb.debian.org/debian bookworm main
deb-src [signed-by=$keyring] http://deb.debian.org/debian bookworm-updates main
deb-src [signed-by=$keyring] http://deb.debian.org/debian-security bookworm-security main
LIST
apt=(apt-get -q -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$work/lists")
echo "tsan-tbb: fetching oneTBB $version's source"
"${apt[@]}" update >/dev/null
(cd "$work" && "${apt[@]}" -o APT::Sandbox::User=root source --download-only "onetbb=$version" >/dev/null)
# Debian's patches touch other architectures and the tests only; the
# upstream tarball is enough on amd64.
tar -C "$work" -xf "$work"/onetbb_*.orig.tar.*
src=$(find "$work" -maxdepth 1 -type d -name 'oneTBB-*' | head -n 1)

echo "tsan-tbb: building oneTBB with -fsanitize=thread"
cmake -S "$src" -B "$prefix/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX="$prefix/install" -DCMAKE_INSTALL_LIBDIR=lib \
  -DTBB_SANITIZE=thread -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF \
  -DTBBMALLOC_PROXY_BUILD=OFF -DTBB_DISABLE_HWLOC_AUTOMATIC_SEARCH=ON >/dev/null
cmake --build "$prefix/build" -j"$(nproc)" >/dev/null
cmake --install "$prefix/build" >/dev/null
rm -rf "$work" "$prefix/build"
