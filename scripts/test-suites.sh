#!/usr/bin/env bash
# The slow suites of `npm test`, run at once: vitest (unit, browser, interop) and the pytest
# conformance suite in two shards. They are independent (temp dirs, ephemeral ports) and mostly wait
# on child processes (pipelines, recorders, pynwb), so on 2 cores this takes about the time of the
# longest one instead of their sum. Each suite's output is printed whole when it ends; the exit
# status is non-zero when any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."
py="${NWB_SETTINGS_PYTHON:-.venv/bin/python}"
# Every suite's temporary files (Node's os.tmpdir(), Python's tempfile and pytest's tmp_path, also
# in the processes they start) go under one folder of this run, removed when it ends: tests that
# leave files behind (a killed recorder's journal, a refused output) cannot fill the machine's /tmp
# run after run (~1 GB per run before this). A failed run keeps them, for a look at what failed.
tmproot="$(mktemp -d "${TMPDIR:-/tmp}/nwb-settings-tests.XXXXXX")"
trap 'if [ "${keep:-0}" = 1 ]; then echo "temporary files of the failed run kept in $tmproot"; else rm -rf "$tmproot"; fi' EXIT
export TMPDIR="$tmproot"
logs="$tmproot/logs"
mkdir "$logs"
# Shard A: the long crash, DANDI and live-pipeline tests. Shard B: everything else (new files land there).
shard_a=(test_attach_crash.py test_dandi.py test_crash.py test_table_size.py test_record_streams.py
  test_record_ezmsg.py test_hostile_ezmsg.py test_restore.py)
ignore_a=()
for f in "${shard_a[@]}"; do ignore_a+=("--ignore=test/conformance/$f"); done

declare -A pids
run() { # name, command...
  local name="$1"
  shift
  ("$@" >"$logs/$name.log" 2>&1) &
  pids[$name]=$!
}
start=$(date +%s)
run vitest npx vitest run
run conformance-a "$py" -m pytest "${shard_a[@]/#/test/conformance/}" -q -p no:cacheprovider
run conformance-b "$py" -m pytest test/conformance -q -p no:cacheprovider "${ignore_a[@]}"

failed=()
for name in vitest conformance-a conformance-b; do
  if wait "${pids[$name]}"; then status=passed; else status=FAILED; failed+=("$name"); fi
  echo "===== $name: $status (done after $(($(date +%s) - start)) s) ====="
  cat "$logs/$name.log"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED suites: ${failed[*]}"
  keep=1
  exit 1
fi
echo "all suites passed in $(($(date +%s) - start)) s"
