#!/bin/sh
# run_fuzz.sh - run one libFuzzer target for `make fuzz`: replay its regressions, then fuzz for a while.
#   sh tests/fuzz/run_fuzz.sh <target> <build/fuzz> <seconds>
# The work corpus build/fuzz/corpus/<target> is seeded from tests/fuzz/corpus/<target> (the repository's
# corpus is never written). Prints "fuzz: <target> execs=N crashes=N"; exits non-zero on any crash,
# sanitizer report, leak or timeout, after the tail of the log and the path of the saved input.
set -u
name=$1
dir=$2
secs=$3
bin=$dir/$name
seeds=tests/fuzz/corpus/$name
regress=tests/fuzz/regressions/$name
work=$dir/corpus/$name
art=$dir/artifacts/$name
log=$dir/logs/$name.log

mkdir -p "$work" "$art" "$dir/logs"
if [ -d "$seeds" ]; then
	for f in "$seeds"/*; do
		[ -f "$f" ] && [ ! -e "$work/${f##*/}" ] && cp "$f" "$work/"
	done
fi
dict=
[ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict

# inputs that once failed must keep passing
if [ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ]; then
	if ! "$bin" -close_fd_mask=1 -timeout=10 -rss_limit_mb=2048 "$regress"/* >"$dir/logs/$name.regressions.log" 2>&1; then
		echo "fuzz: $name execs=0 crashes=1 (a regression input fails again)"
		tail -n 60 "$dir/logs/$name.regressions.log"
		exit 1
	fi
fi

# -close_fd_mask=1: the code under test logs every refused free on stdout; libFuzzer reports on stderr
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=1 \
	-artifact_prefix="$art/" $dict "$work" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
crashes=0
[ "$rc" -ne 0 ] && crashes=1
echo "fuzz: $name execs=${execs:-0} crashes=$crashes"
if [ "$rc" -ne 0 ]; then
	tail -n 60 "$log"
	grep -h 'Test unit written to' "$log" | sed 's/^/fuzz: /'
	exit 1
fi
exit 0
