#!/usr/bin/env bash
# fuzz.sh: builds the libFuzzer harnesses (fuzz/) with clang, ASan and UBSan
# in build-fuzz/ and runs each for FUZZ_SECONDS (default 60) on a working
# copy of its committed corpus, then prints the executions of each and in
# all.  A crash stops it (exit 1) with the reproducer in build-fuzz/.
# New interesting inputs stay in build-fuzz/corpus/; copy the small ones
# worth keeping into fuzz/corpus/ so that `make test` replays them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
seconds=${FUZZ_SECONDS:-60}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBAOVE_FUZZ=ON \
  -DBAOVE_SANITIZE=ON >/dev/null
targets=(json_body router input csv webhook sealed_secret)
cmake --build build-fuzz -j2 --target "${targets[@]/#/fuzz_}"
total=0
for name in "${targets[@]}"; do
  work=build-fuzz/corpus/$name
  mkdir -p "$work"
  cp -n fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  log=build-fuzz/fuzz_$name.log
  (cd build-fuzz && ./fuzz/fuzz_"$name" -max_total_time="$seconds" -print_final_stats=1 \
     -max_len=4096 -timeout=10 "corpus/$name" >"fuzz_$name.log" 2>&1) || {
    echo "fuzz.sh: fuzz_$name failed; see $log" >&2
    tail -30 "$log" >&2
    exit 1
  }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz_$name: $runs executions in ${seconds}s, no crash"
  total=$((total + runs))
done
echo "fuzz.sh: $total executions in all, no crash"
