#!/usr/bin/env bats
# lmtp-deliver.bats - lmtp-deliver's own errors, without an LMTP server:
# each is one "lmtp-deliver: " line on stderr, nothing on stdout, and its
# sysexits status (64 bad arguments, 74 stdin or stdout unusable, 75 no
# server).  Deliveries to a real LMTP server are in t/mailman3.bats.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/lmtp-deliver.bats

load helpers

setup() {
  common_setup
  LMTP_DELIVER=${IN_SMTPD%/*}/lmtp-deliver
  [ -x "$LMTP_DELIVER" ] || {
    echo "no lmtp-deliver beside $IN_SMTPD" >&2
    return 1
  }
}

# deliver [ARGS...]: lmtp-deliver ARGS with an empty message on stdin;
# stdout to $OUT, stderr to $ERR, the exit status in $status.
deliver() {
  status=0
  timeout -k 5 "$RUN_LIMIT" "$LMTP_DELIVER" "$@" \
    </dev/null >"$OUT" 2>"$ERR" || status=$?
}

# refused STATUS LINE ARGS...: lmtp-deliver ARGS exits STATUS, prints
# nothing on stdout and exactly LINE on stderr.
refused() {
  local want=$1 line=$2
  shift 2
  deliver "$@"
  expect_status "$want"
  expect_empty "$OUT"
  expect_stderr '%s\n' "$line"
}

@test "lmtp-deliver: each bad argument is one line naming it, and exit 64" {
  refused 64 "lmtp-deliver: no SERVER given (HOST:PORT or a socket path); see --help"
  refused 64 "lmtp-deliver: no RECIPIENT given; see --help" 127.0.0.1:24
  refused 64 "lmtp-deliver: bad SERVER: 'nohostport' (HOST:PORT, [ADDRESS]:PORT or a socket path)" \
    nohostport a@b.example
  refused 64 "lmtp-deliver: --check takes one RECIPIENT" \
    --check 127.0.0.1:24 a@b.example c@d.example
  refused 64 "lmtp-deliver: unknown option: --bogus" --bogus 127.0.0.1:24 a@b.example
  refused 64 "lmtp-deliver: option needs a value: --sender" --sender
  refused 64 "lmtp-deliver: bad --lhlo name (printable ASCII without spaces expected)" \
    --lhlo 'two words' 127.0.0.1:24 a@b.example
}

@test "lmtp-deliver: --timeout takes 1 to 999999 seconds, nothing else" {
  local bad
  for bad in 0 1000000 0000001 -5 3s ''; do
    refused 64 "lmtp-deliver: invalid value for --timeout: '$bad' (seconds, 1 to 999999)" \
      --timeout="$bad" 127.0.0.1:24 a@b.example
  done
}

@test "lmtp-deliver: --help prints the --timeout default the program uses" {
  deliver --help
  expect_status 0
  expect_empty "$ERR"
  grep -qxF -- '  -t, --timeout=SECONDS deadline for the whole exchange (default 300)' "$OUT"
  grep -qxF -- 'Exit status: 0 all delivered, 75 try again later (any 4xx, no server),' "$OUT"
}

@test "lmtp-deliver: --help that cannot be written is one line and exit 74" {
  [ -w /dev/full ] || skip "no /dev/full"
  status=0
  timeout -k 5 "$RUN_LIMIT" "$LMTP_DELIVER" --help >/dev/full 2>"$ERR" ||
    status=$?
  expect_status 74
  expect_stderr '%s\n' "lmtp-deliver: cannot write to stdout: No space left on device"
}

@test "lmtp-deliver: a message that cannot be read is one line and exit 74, nothing sent" {
  # A directory as stdin: read() fails with EISDIR.
  status=0
  timeout -k 5 "$RUN_LIMIT" "$LMTP_DELIVER" 127.0.0.1:24 a@b.example \
    </ >"$OUT" 2>"$ERR" || status=$?
  expect_status 74
  expect_empty "$OUT"
  expect_stderr '%s\n' "lmtp-deliver: cannot read the message: Is a directory"
}

@test "lmtp-deliver: no server is each recipient's line and exit 75" {
  local port
  port=$(free_port)
  refused 75 "lmtp-deliver: a@b.example: no reply: cannot connect to 127.0.0.1:$port: Connection refused" \
    "127.0.0.1:$port" a@b.example
  deliver "127.0.0.1:$port" a@b.example c@d.example
  expect_status 75
  expect_stderr '%s\n' \
    "lmtp-deliver: a@b.example: no reply: cannot connect to 127.0.0.1:$port: Connection refused" \
    "lmtp-deliver: c@d.example: no reply: cannot connect to 127.0.0.1:$port: Connection refused"
}
