#!/bin/sh
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: 2026 The gipc-glib authors
#
# check-output.sh PATTERN PROGRAM [ARGS...]: runs an example, shows what it
# printed, and fails if the example fails or if none of its output lines
# matches the extended regular expression PATTERN.
set -u
pattern=$1
shift
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if [ $status -ne 0 ]; then
  echo "check-output: $1 exited with status $status" >&2
  exit 1
fi
if ! printf '%s\n' "$output" | grep -E -q -- "$pattern"; then
  echo "check-output: no line of the output matches: $pattern" >&2
  exit 1
fi
