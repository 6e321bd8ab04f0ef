#!/usr/bin/env bash
# setup.sh - install and build everything Proxima needs; idempotent (finished steps are skipped).
#
# Installs Debian's RISC-V toolchain, QEMU, OpenSBI, newlib sources, dtc, clang (host fuzzing) and
# gnuplot when missing; builds newlib (libc, libm) for rv64gc/lp64d -mcmodel=medany into build/newlib;
# extracts libfdt from Debian's linux-source-6.1 into build/libfdt.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
mkdir -p "$build"

log() { printf 'setup: %s\n' "$*"; }

pkgs=(gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf qemu-system-misc opensbi newlib-source
      device-tree-compiler clang libclang-rt-14-dev gnuplot-nox xz-utils make python3)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "setup: need root to install: ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

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

fw=$(dpkg -L opensbi | grep 'generic/fw_dynamic.bin$' | head -n1)
[ -n "$fw" ] || { echo "setup: no generic fw_dynamic.bin in opensbi" >&2; exit 1; }
ln -sf "$fw" "$build/fw_dynamic.bin"
