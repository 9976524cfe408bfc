#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# Runs gipc-bench (its full tables), then the same 64 B one-way and 8 B
# round trip with the alternatives a program could use instead of
# gipc-glib, and prints them all in one markdown table. The comparison runs
# with both processes on one CPU (taskset), as the issue's goals do.
#
# Usage: tests/performance/run-all.sh [BUILD_DIR] [--quick] [--duration S]
#   BUILD_DIR defaults to _build; it needs -Dbenchmarks=true (the default).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=
duration=0.9
repeat=3
quick=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=--quick; duration=0.05; repeat=1 ;;
    --duration) duration=$2; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) build=$1 ;;
  esac
  shift
done
build=${build:-$here/../../_build}
bench=$build/tests/performance/gipc-bench
if [ ! -x "$bench" ]; then
  echo "run-all.sh: $bench not found: build first (meson compile -C $build)" >&2
  exit 1
fi

cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[,-].*//')
one () { taskset -c "$cpu" "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. gipc-bench, all of it (its tables go to stdout as they are).
"$bench" ${quick:+--quick} --duration "$duration" --repeat "$repeat" --machine > "$tmp/bench.out" || \
  echo "run-all.sh: gipc-bench reported failures" >&2
grep -v '^RESULT ' "$tmp/bench.out"

# 2. The alternatives, one CPU.
get () {  # get FILE KEY -> value or empty
  sed -n "s/^RESULT $2 \\([^ ]*\\).*/\\1/p" "$1" | head -n1
}
run_alt () {  # run_alt NAME COMMAND...
  local name=$1; shift
  echo "running $name..." >&2
  if ! one "$@" --duration "$duration" --repeat "$repeat" > "$tmp/$name.out" 2> "$tmp/$name.err"; then
    echo "FAILED $(tail -n1 "$tmp/$name.err")" >> "$tmp/$name.out"
  fi
}
run_alt py-mp /usr/bin/python3 "$here/alternatives/py-multiprocessing.py"
if command -v node > /dev/null; then
  run_alt node node "$here/alternatives/node-fork.js"
else
  echo "SKIP node is not installed" > "$tmp/node.out"
fi
run_alt gsubprocess "$build/tests/performance/gipc-alt-gsubprocess"
run_alt gdbus "$build/tests/performance/gipc-alt-gdbus"
run_alt py-gipc /usr/bin/python3 "$here/alternatives/py-gipc.py"

fmt_rate () { awk -v v="$1" 'BEGIN { if (v == "" || v == "nan") print "n/a"; else if (v >= 1e6) printf "%.2f M/s", v / 1e6; else printf "%.0f k/s", v / 1e3 }'; }
fmt_us () { awk -v v="$1" 'BEGIN { if (v == "" || v == "nan") print "n/a"; else printf "%.1f µs", v }'; }
bench_val () {  # bench_val KEY raw|gipc
  awk -v k="$1" -v c="$2" '$1 == "RESULT" && $2 == "one" && $3 == k { print (c == "raw" ? $4 : $5); exit }' "$tmp/bench.out"
}

echo
echo "### gipc-glib and the alternatives (both processes on CPU $cpu)"
echo
echo "| implementation | 64 B one-way msgs/s | 8 B round trip µs |"
echo "| --- | ---: | ---: |"
echo "| raw pipe, blocking write/read, one frame per syscall | $(fmt_rate "$(bench_val oneway-64-push raw)") | $(fmt_us "$(bench_val rtt-push raw)") |"
echo "| gipc-glib, push (listen) / send_async | $(fmt_rate "$(bench_val oneway-64-push gipc)") | $(fmt_us "$(bench_val rtt-push gipc)") |"
echo "| gipc-glib, receive_async / send_async | $(fmt_rate "$(bench_val oneway-64-recv gipc)") | $(fmt_us "$(bench_val rtt-recv gipc)") |"
echo "| gipc-glib, sync send / receive | $(fmt_rate "$(bench_val oneway-64-sync gipc)") | $(fmt_us "$(bench_val rtt-sync gipc)") |"
row () {  # row NAME LABEL
  local f=$tmp/$1.out
  if grep -q '^SKIP' "$f"; then
    echo "| $2 | skipped: $(sed -n 's/^SKIP //p' "$f") | |"
  elif grep -q '^FAILED' "$f"; then
    echo "| $2 | $(sed -n 's/^FAILED/failed:/p' "$f") | |"
  else
    echo "| $2 | $(fmt_rate "$(get "$f" oneway-64)") | $(fmt_us "$(get "$f" rtt-8)") |"
  fi
}
row py-mp "Python multiprocessing.Pipe, send_bytes/recv_bytes (fork)"
row node "Node child_process.fork IPC (JSON strings)"
row gsubprocess "GSubprocess pipes, GIO async streams, length-framed"
row gdbus "GDBus peer-to-peer: signals one-way, method calls round trip"
row py-gipc "gipc 1.x (Python, gevent), encoder=None"
