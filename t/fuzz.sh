#!/bin/sh
# fuzz.sh - build the libFuzzer targets in t/fuzz/ and run each for a
# bounded time on a fresh copy of its seed corpus.
#
# Run by `make check` from the build directory, with TOP_SRCDIR set to the
# source tree.  Needs clang++ with libFuzzer, ASan and UBSan (Debian:
# clang and libclang-rt-14-dev); without them it is skipped (exit 77).
#
#   FUZZ_SECONDS   time per target (default 20)
#   FUZZ_TARGETS   which targets (default: channel stream address relay proxy auth lmtp starttls)
#   FUZZ_CXX       the compiler (default clang++)
#
# Prints one line per target ("fuzz channel: 123456 runs, 0 crashes") and a
# summary ("fuzz: 4 passed, 0 failed").  A target that finds anything (a
# broken invariant, a sanitizer report, a timeout, a leak, running out of
# memory) fails: its report and its input, hex-dumped, are printed, and the
# input is copied to t/fuzz/crashes/ in the build directory.  To replay
# one, run the target (left in t/fuzz/work/) with the file as argument.
#
# The seeds are in t/fuzz/corpus/<target>/, written by t/fuzz/make_corpus.py
# (each target's input format is described at the top of its source).
# Seeds named regress-* are earlier findings: each is run on its own first,
# so that every one that fails again is reported.

set -u

: "${TOP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# The fuzzers carry their own sanitizers: once per make check is enough.
if [ "${SANITIZED_BUILD:-no}" = yes ]; then
  echo "fuzz: run by the plain build already; skipped in the sanitizer build"
  exit 77
fi
FUZZ_TARGETS=${FUZZ_TARGETS:-channel stream address relay proxy auth lmtp starttls}
FUZZ_CXX=${FUZZ_CXX:-clang++}
SRC=$TOP_SRCDIR/lib/smtpd
FUZZ_DIR=$TOP_SRCDIR/t/fuzz

skip() {
  echo "fuzz: skipped: $*"
  exit 77
}

case $FUZZ_SECONDS in
  '' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS must be a number of seconds" >&2; exit 2 ;;
esac

command -v "$FUZZ_CXX" >/dev/null 2>&1 ||
  skip "$FUZZ_CXX not found (Debian: apt-get install clang libclang-rt-14-dev)"

WORK=t/fuzz/work
CRASHES=t/fuzz/crashes
rm -rf "$WORK"
mkdir -p "$WORK" "$CRASHES" || exit 2

CXXFLAGS="-std=c++17 -g -O1 -Wall -Wextra -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

# libFuzzer and the sanitizer runtimes are there?
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' \
  >"$WORK/probe.cpp"
# shellcheck disable=SC2086
if ! "$FUZZ_CXX" $CXXFLAGS "$WORK/probe.cpp" -o "$WORK/probe" >"$WORK/probe.log" 2>&1; then
  sed 's/^/  /' "$WORK/probe.log" | tail -n 5
  skip "$FUZZ_CXX cannot build a libFuzzer target with ASan and UBSan (Debian: apt-get install libclang-rt-14-dev)"
fi

# The library sources each target needs, and how long its inputs may be.
sources() {
  case $1 in
    channel) echo "channel handler data_reader data_buffer address params text relay_policy auth base64" ;;
    stream) echo "channel handler data_reader data_buffer address params text relay_policy auth base64 relay_format" ;;
    address) echo "address params text" ;;
    relay) echo "relay_format handler upstream debugging params text" ;;
    proxy) echo "proxy_header" ;;
    auth) echo "auth base64 text" ;;
    lmtp) echo "lmtp_client" ;;
    starttls) echo "channel handler data_reader data_buffer address params text auth base64" ;;
  esac
}
max_len() {
  case $1 in
    channel) echo 8192 ;;
    stream) echo 8192 ;;
    address) echo 1024 ;;
    relay) echo 4096 ;;
    proxy) echo 1024 ;;
    # Past RFC 4954's 12288-octet lines.
    auth) echo 16384 ;;
    lmtp) echo 4096 ;;
    starttls) echo 4096 ;;
  esac
}
extra_flags() {
  case $1 in
    # upstream.cpp (UpstreamReply) loads libcurl with dlopen: only
    # its header is needed (nothing is sent while fuzzing).
    relay) echo "$(pkg-config --cflags libcurl 2>/dev/null) -ldl" ;;
  esac
}

# Build them side by side: the compiler is most of the time spent.
pids=
for target in $FUZZ_TARGETS; do
  [ -f "$FUZZ_DIR/${target}_fuzzer.cpp" ] || { echo "fuzz: no target $target" >&2; exit 2; }
  files="$FUZZ_DIR/${target}_fuzzer.cpp"
  for source in $(sources "$target"); do files="$files $SRC/$source.cpp"; done
  # shellcheck disable=SC2046,SC2086
  ( "$FUZZ_CXX" $CXXFLAGS -I"$TOP_SRCDIR/lib" $files $(extra_flags "$target") \
      -o "$WORK/${target}_fuzzer" >"$WORK/$target.build.log" 2>&1
    echo $? >"$WORK/$target.build.status" ) &
  pids="$pids $!"
done
# shellcheck disable=SC2086
wait $pids

hexdump_file() {
  od -A x -t x1z -v "$1" | head -n 64 | sed 's/^/    /'
  size=$(wc -c <"$1")
  [ "$size" -gt 1024 ] && echo "    ... ($size bytes)"
}

# What broke, from a target's log: our invariant message, or the
# sanitizer's report, with the frames that are not the fuzzer's own.
show_report() {
  grep -E '^\*\*\* |^==[0-9]+== ?ERROR|^SUMMARY|runtime error' "$1" |
    grep -v '^\*\*\* *NOTE' | head -n 12 | sed 's/^/  /'
  grep -E '^ +#[0-9]+ ' "$1" |
    grep -vE '__sanitizer|fuzzer::|libc\.so|pthread_kill|raise|abort|fuzz::fail|LLVMFuzzerTestOneInput|__libc_start|_start ' |
    head -n 6 | sed 's/^/  /'
}

passed=0
failed=0
for target in $FUZZ_TARGETS; do
  if [ "$(cat "$WORK/$target.build.status")" != 0 ]; then
    echo "fuzz $target: does not build"
    sed 's/^/  /' "$WORK/$target.build.log" | head -n 40
    failed=$((failed + 1))
    continue
  fi
  if [ -s "$WORK/$target.build.log" ]; then
    # The targets build without warnings under -Wall -Wextra; say so when
    # a compiler finds one (in the library, say), but fuzz all the same.
    echo "fuzz $target: compiler warnings:"
    sed 's/^/  /' "$WORK/$target.build.log" | head -n 20
  fi
  fuzzer=./$WORK/${target}_fuzzer
  corpus=$WORK/corpus-$target
  mkdir -p "$corpus"
  crashes=0
  reports=$WORK/$target.reports
  : >"$reports"

  # Earlier findings first, one by one, so that each one still standing is
  # reported; the fuzzing itself then starts from the other seeds.
  for seed in "$FUZZ_DIR/corpus/$target"/*; do
    case $(basename "$seed") in
      regress-*)
        if "$fuzzer" "$seed" >"$WORK/$target.seed.log" 2>&1; then
          cp "$seed" "$corpus"/
        else
          crashes=$((crashes + 1))
          {
            echo "  regression seed $(basename "$seed") fails:"
            show_report "$WORK/$target.seed.log"
            echo "  input: $seed"
            hexdump_file "$seed"
          } >>"$reports"
        fi ;;
      *) cp "$seed" "$corpus"/ ;;
    esac
  done

  dict=
  [ -f "$FUZZ_DIR/$target.dict" ] && dict=-dict=$FUZZ_DIR/$target.dict
  log=$WORK/$target.log
  # shellcheck disable=SC2086
  "$fuzzer" -max_total_time="$FUZZ_SECONDS" \
    -max_len="$(max_len "$target")" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/$target-" $dict \
    "$corpus" >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
  if [ -z "$runs" ]; then
    # It stopped early: the last status line says how far it got.
    runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  fi
  found=
  for artifact in "$WORK/$target-"*; do
    [ -f "$artifact" ] && found="$found $artifact"
  done
  if [ "$status" != 0 ] || [ -n "$found" ]; then
    crashes=$((crashes + 1))
    {
      echo "  new finding:"
      show_report "$log"
      if [ -z "$found" ]; then
        echo "  (no input saved; the end of the log:)"
        tail -n 20 "$log" | sed 's/^/  /'
      fi
      for artifact in $found; do
        name=$target-$(basename "$artifact" | sed "s/^$target-//")
        cp "$artifact" "$CRASHES/$name"
        echo "  input: $CRASHES/$name"
        hexdump_file "$artifact"
      done
    } >>"$reports"
  fi

  echo "fuzz $target: ${runs:-0} runs, $crashes crash$([ "$crashes" = 1 ] || echo es)"
  if [ "$crashes" = 0 ]; then
    passed=$((passed + 1))
  else
    cat "$reports"
    echo "  replay one: $fuzzer FILE"
    failed=$((failed + 1))
  fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
