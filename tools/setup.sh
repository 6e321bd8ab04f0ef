#!/usr/bin/env bash
# setup.sh - install and build everything Proxima needs; idempotent (finished steps are skipped).
#
# Installs Debian's RISC-V toolchain, newlib sources, dtc, clang (host fuzzing) and gnuplot when missing,
# and QEMU 10.0 from bookworm-backports (adding that suite to apt's sources once); unpacks Debian 12's own
# QEMU 7.2 into build/qemu-7.2 (the matrix boots a few topologies on it) and OpenSBI 1.1 into build/opensbi-1.1;
# builds newlib (libc, libm) for rv64gc/lp64d -mcmodel=medany into build/newlib; extracts libfdt and
# kunit.py from Debian's linux-source-6.1.
#
# OpenSBI stays at 1.1 although QEMU 10's package pulls in 1.5.1: on QEMU 10.0.2, 1.5.1 left a hart in
# START_PENDING with 4 x 8 harts and printed nothing for 120 s with 4 x 32; 1.1 brings up 128/128 in 15 s.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
mkdir -p "$build"

log() { printf 'setup: %s\n' "$*"; }
need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "setup: need root to $*" >&2
		exit 1
	fi
}

# bookworm-backports, from the archive (and with the keyring) of the machine's own bookworm sources
backports=/etc/apt/sources.list.d/proxima-bookworm-backports.sources
if ! grep -rqsE '(^|[[:space:]])bookworm-backports([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	need_root "add bookworm-backports to apt's sources"
	uri=$(grep -rhsE '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -n1 | awk '{print $2}' || true)
	[ -n "$uri" ] || uri=$(grep -hsE '^deb[[:space:]]' /etc/apt/sources.list | grep -v security | head -n1 | awk '{print $2}' || true)
	[ -n "$uri" ] || { echo "setup: no Debian archive in apt's sources to take bookworm-backports from" >&2; exit 1; }
	log "adding bookworm-backports ($uri) to apt's sources"
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
		"$uri" /usr/share/keyrings/debian-archive-keyring.gpg > "$backports"
	apt_updated=0
fi

pkgs=(gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf newlib-source device-tree-compiler clang
      libclang-rt-14-dev gnuplot-nox xz-utils make python3)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# (|| true: under set -e and pipefail a missing qemu-system-riscv64 would end the script here, silently)
qemu_major=$(qemu-system-riscv64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\)\..*/\1/p' || true)
if [ ${#missing[@]} -gt 0 ] || [ "${qemu_major:-0}" -lt 10 ]; then
	need_root "install packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt_updated=1
fi
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# QEMU 10 in a transaction of its own, with bookworm-backports as the target release: its dependencies
# (qemu-system-common, qemu-system-data, opensbi) must come from backports too, which "pkg/suite" alone
# does not ask for ("held broken packages"); the packages above stay on bookworm's versions.
if [ "${qemu_major:-0}" -lt 10 ]; then
	log "installing qemu-system-riscv from bookworm-backports"
	apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-riscv >/dev/null
fi

# one file (or folder) out of a bookworm package, downloaded (not installed) into build/
unpack() {	# unpack <package> <dest dir> <path in the package>...
	local pkg=$1 dest=$2 tmp
	shift 2
	tmp=$(mktemp -d "$build/deb.XXXXXX")
	(cd "$tmp" && apt-get download "$pkg/bookworm" >/dev/null 2>&1) ||
		{ [ "${apt_updated:-0}" = 1 ] || apt-get update -qq; (cd "$tmp" && apt-get download "$pkg/bookworm" >/dev/null); }
	mkdir -p "$dest"
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$dest" "$@"
	rm -rf "$tmp"
}

# QEMU 7.2: Debian 12's own, for the topologies the matrix still boots on it (tools/topologies.py)
if [ ! -x "$build/qemu-7.2/usr/bin/qemu-system-riscv64" ]; then
	log "unpacking QEMU 7.2 (qemu-system-misc from bookworm) into build/qemu-7.2"
	rm -rf "$build/qemu-7.2"
	unpack qemu-system-misc "$build/qemu-7.2" ./usr/bin/qemu-system-riscv64
fi

# OpenSBI 1.1's generic fw_dynamic.bin (see the top of this file)
if [ ! -f "$build/opensbi-1.1/fw_dynamic.bin" ]; then
	log "unpacking OpenSBI 1.1 (opensbi from bookworm) into build/opensbi-1.1"
	rm -rf "$build/opensbi-1.1"
	unpack opensbi "$build/opensbi-1.1" --strip-components=6 ./usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin
fi
ln -sfn opensbi-1.1/fw_dynamic.bin "$build/fw_dynamic.bin"

# newlib: libc.a and libm.a for the kernel's printf/string functions.
newlib_conf="--disable-newlib-supplied-syscalls --enable-newlib-reent-small --enable-newlib-io-c99-formats \
	--enable-newlib-io-long-long --disable-newlib-fvwrite-in-streamio --disable-nls"
if [ ! -f "$build/newlib/riscv64-unknown-elf/lib/libc.a" ] || [ "$(cat "$build/newlib/.config" 2>/dev/null)" != "$newlib_conf" ]; then
	tarball=$(dpkg -L newlib-source | grep -E '\.tar\.(xz|gz|bz2)$' | head -n1)
	[ -n "$tarball" ] || { echo "setup: no tarball in newlib-source" >&2; exit 1; }
	log "building newlib from $tarball"
	rm -rf "$build/newlib-src" "$build/newlib-obj" "$build/newlib"
	mkdir -p "$build/newlib-src" "$build/newlib-obj"
	tar -xf "$tarball" -C "$build/newlib-src"
	src=$(find "$build/newlib-src" -maxdepth 2 -name configure -printf '%h\n' | head -n1)
	(cd "$build/newlib-obj" &&
	 CFLAGS_FOR_TARGET="-O2 -g -mcmodel=medany -march=rv64gc -mabi=lp64d -ffunction-sections -fdata-sections" \
	 "$src/configure" --target=riscv64-unknown-elf --prefix="$build/newlib" --disable-multilib \
		$newlib_conf >/dev/null &&
	 make -j"$(nproc)" all-target-newlib >/dev/null 2>&1 &&
	 make install-target-newlib >/dev/null 2>&1)
	rm -rf "$build/newlib-src" "$build/newlib-obj"
	[ -f "$build/newlib/riscv64-unknown-elf/lib/libc.a" ] || { echo "setup: newlib build failed" >&2; exit 1; }
	echo "$newlib_conf" > "$build/newlib/.config"
fi

# libfdt, and Linux's KTAP parser (tools/testing/kunit), from the Linux source package.
if [ ! -f "$build/libfdt/fdt.c" ] || [ ! -f "$build/kunit/tools/testing/kunit/kunit.py" ]; then
	log "extracting libfdt and kunit.py from linux-source-6.1"
	tmp="$build/linux-source-tmp"
	rm -rf "$tmp" && mkdir -p "$tmp"
	(cd "$tmp" && apt-get download linux-source-6.1 >/dev/null 2>&1) ||
		{ apt-get update -qq && (cd "$tmp" && apt-get download linux-source-6.1 >/dev/null); }
	deb=$(ls "$tmp"/linux-source-6.1_*.deb | head -n1)
	(cd "$tmp" && dpkg-deb --fsys-tarfile "$deb" | tar -x --wildcards './usr/src/linux-source-6.1.tar.xz')
	tar -xJf "$tmp/usr/src/linux-source-6.1.tar.xz" -C "$tmp" --wildcards \
		'linux-source-6.1/scripts/dtc/libfdt/*' 'linux-source-6.1/tools/testing/kunit/*'
	mkdir -p "$build/libfdt" "$build/kunit/tools/testing"
	cp "$tmp"/linux-source-6.1/scripts/dtc/libfdt/*.[ch] "$build/libfdt/"
	rm -rf "$build/kunit/tools/testing/kunit"
	cp -r "$tmp/linux-source-6.1/tools/testing/kunit" "$build/kunit/tools/testing/kunit"
	# kunit.py only runs from a path containing tools/testing/kunit: link it where run.py looks
	ln -sf tools/testing/kunit/kunit.py "$build/kunit/kunit.py"
	rm -rf "$tmp"
fi

