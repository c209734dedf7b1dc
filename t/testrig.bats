#!/usr/bin/env bats
# testrig.bats - what test rigs use: --maildir (every accepted message a
# file in DIR/new, read back with Python's mailbox module and grep -r),
# --show-envelope, and failures on demand (--fail, --fail-seed).  Piped
# sessions for the exact bytes, real clients (curl, swaks, Python smtplib)
# under systemd-socket-activate (one process per connection) and in the
# standalone mode, PureProxy against Postfix smtp-sink.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/testrig.bats

load helpers

GREETING="220 $HOST in.smtpd ESMTP"
DATA_GO='354 End data with <CR><LF>.<CR><LF>'
KEEP_FAILED='451 Error: cannot keep the message, try again later'
ONE='HELO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<bcc@example.org>\r\nDATA\r\nSubject: rig\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n'

setup() {
  common_setup
  MAILDIR=$BATS_TEST_TMPDIR/Maildir
  mkdir -p "$MAILDIR/tmp" "$MAILDIR/new" "$MAILDIR/cur"
  PRINTOUT=$BATS_TEST_TMPDIR/printout
  LAUNCHER_LOG=$BATS_TEST_TMPDIR/launcher.log
}

teardown() {
  stop_background
  remove_sink
  if [ -n "${TMPFS:-}" ]; then umount "$TMPFS" 2>/dev/null || true; fi
}

# kept: how many files DIR/new holds (default $MAILDIR).
kept() { find "${1:-$MAILDIR}/new" -type f | wc -l; }
left_in_tmp() { find "${1:-$MAILDIR}/tmp" -type f | wc -l; }

# the_file: the path of the one file in $MAILDIR/new.
the_file() {
  [ "$(kept)" -eq 1 ] || {
    echo "expected one file in new/, found $(kept)" >&2
    return 1
  }
  find "$MAILDIR/new" -type f
}

# --- --maildir ------------------------------------------------------------------------

@test "--maildir: the file holds Return-Path, a Delivered-To per recipient, X-Peer, then the message unstuffed, LF line ends; the printout stays" {
  debugging_session "$ONE" --maildir "$MAILDIR" --debug-file "$PRINTOUT"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" '250 OK' '250 OK' '250 OK' "$DATA_GO" \
    '250 OK' '221 Bye'
  expect_file "$(the_file)" 'Return-Path: <a@example.com>\nDelivered-To: b@example.com\nDelivered-To: bcc@example.org\nX-Peer: 127.0.0.1\nSubject: rig\n\n.dot\nbody\n'
  [ "$(left_in_tmp)" -eq 0 ]
  # Maildir names: time.M<usec>P<pid>Q<counter>R<random>.<host>
  [[ $(basename "$(the_file)") =~ ^[0-9]+\.M[0-9]{6}P[0-9]+Q0R[0-9a-f]{8}\..+$ ]]
  expect_lines "$PRINTOUT" "$PRINT_HEAD" "b'Subject: rig'" "b'X-Peer: 127.0.0.1'" \
    "b''" "b'.dot'" "b'body'" "$PRINT_TAIL"
  # grep -r finds it, Python's mailbox reads it.
  grep -rq '^Delivered-To: bcc@example.org$' "$MAILDIR"
  "$PYTHON3" -c '
import mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
(message,) = box.values()
assert message["Subject"] == "rig", message["Subject"]
assert message["Return-Path"] == "<a@example.com>"
assert message.get_all("Delivered-To") == ["b@example.com", "bcc@example.org"]
assert message.get_payload() == ".dot\nbody\n", repr(message.get_payload())
assert message.get_subdir() == "new"
' "$MAILDIR"
}

@test "--maildir: mutt -f reads the directory (each message, whole)" {
  command -v mutt >/dev/null || skip "no mutt (Debian package mutt)"
  command -v script >/dev/null || skip "no script (Debian package bsdutils)"
  local i
  for i in 1 2; do
    debugging_session "HELO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: mutt-$i\r\n\r\nbody $i\r\n.\r\nQUIT\r\n" \
      --maildir "$MAILDIR"
  done
  # mutt wants a terminal: script(1) gives it one; the first message and
  # the next are piped to a file, then mutt exits.  Its folder is set to
  # one that exists: where ~/Mail does not (a new account), mutt first asks
  # whether to create it, and that prompt would eat the keys pushed here.
  local piped=$BATS_TEST_TMPDIR/piped
  TERM=xterm timeout -k 5 20 script -qec \
    "mutt -n -F /dev/null -R -f '$MAILDIR' -e 'set folder=$MAILDIR' -e 'set wait_key=no' -e 'push \"<pipe-message>cat >> $piped<enter><next-entry><pipe-message>cat >> $piped<enter><exit>\"'" \
    /dev/null </dev/null >/dev/null 2>&1
  [ "$(grep -c '^Return-Path: <a@example.com>$' "$piped")" -eq 2 ]
  grep -qx 'body 1' "$piped"
  grep -qx 'body 2' "$piped"
}

@test "--maildir: the null sender is Return-Path: <>, two messages in one session are two files" {
  debugging_session 'HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n.\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: two\r\n.\r\nQUIT\r\n' \
    --maildir "$MAILDIR"
  expect_status 0
  [ "$(kept)" -eq 2 ]
  grep -rlx 'Return-Path: <>' "$MAILDIR/new" >/dev/null
  grep -rlx 'Subject: two' "$MAILDIR/new" >/dev/null
}

@test "--maildir: a missing tmp/ gets 451 and a log line, nothing is kept, the session goes on" {
  rmdir "$MAILDIR/tmp"
  debugging_session "$ONE" --maildir "$MAILDIR" --debug-file "$PRINTOUT"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" '250 OK' '250 OK' '250 OK' "$DATA_GO" \
    "$KEEP_FAILED" '221 Bye'
  [ "$(kept)" -eq 0 ]
  grep -qE "^in\.smtpd\[[0-9]+\]: maildir $MAILDIR: tmp/.*: No such file or directory\$" "$ERR"
  # Refused before the delivery: nothing printed either.
  expect_empty "$PRINTOUT"
}

@test "--maildir: a missing new/ gets 451, and tmp/ is left empty" {
  rmdir "$MAILDIR/new"
  debugging_session "$ONE" --maildir "$MAILDIR"
  expect_status 0
  grep -qx "$KEEP_FAILED"$'\r' "$OUT"
  [ "$(left_in_tmp)" -eq 0 ]
  grep -qE "^in\.smtpd\[[0-9]+\]: maildir $MAILDIR: new/.*: No such file or directory\$" "$ERR"
}

@test "--maildir: a directory that is a file (not writable as one) gets 451" {
  rmdir "$MAILDIR/tmp"
  touch "$MAILDIR/tmp"
  debugging_session "$ONE" --maildir "$MAILDIR"
  grep -qx "$KEEP_FAILED"$'\r' "$OUT"
  grep -qE "^in\.smtpd\[[0-9]+\]: maildir $MAILDIR: tmp/.*: Not a directory\$" "$ERR"
}

@test "--maildir: a full disk gets 451, nothing half-written stays in tmp/ or new/" {
  TMPFS=$BATS_TEST_TMPDIR/small
  mkdir -p "$TMPFS"
  mount -t tmpfs -o size=64k tmpfs "$TMPFS" 2>/dev/null || {
    TMPFS=
    skip "cannot mount a small tmpfs here (needs root with CAP_SYS_ADMIN)"
  }
  mkdir -p "$TMPFS/tmp" "$TMPFS/new" "$TMPFS/cur"
  "$PYTHON3" -c '
import sys
body = ("x" * 76 + "\r\n") * 2000      # 156 kB: more than the disk
sys.stdout.write("HELO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n" + body + ".\r\nQUIT\r\n")
' >"$IN"
  smtpd_pipe "$IN" -c DebuggingServer --hostname "$HOST" --maildir "$TMPFS" \
    --debug-file /dev/null
  expect_status 0
  grep -qx "$KEEP_FAILED"$'\r' "$OUT"
  grep -qE "^in\.smtpd\[[0-9]+\]: maildir $TMPFS: tmp/.*: No space left on device\$" "$ERR"
  [ "$(kept "$TMPFS")" -eq 0 ]
  [ "$(left_in_tmp "$TMPFS")" -eq 0 ]
}

@test "--maildir with PureProxy: kept once smtp-sink took it; an upstream refusal keeps nothing" {
  start_sink
  smtpd_session "$ONE" --hostname "$HOST" --relay-timeout 10 --maildir "$MAILDIR" \
    "127.0.0.1:$SINK_PORT"
  expect_status 0
  [ "$(sink_dumps)" -eq 1 ]
  expect_file "$(the_file)" 'Return-Path: <a@example.com>\nDelivered-To: b@example.com\nDelivered-To: bcc@example.org\nX-Peer: 127.0.0.1\nSubject: rig\n\n.dot\nbody\n'
  stop_background
  remove_sink
  rm -f "$MAILDIR"/new/*
  start_sink -f .
  smtpd_session "$ONE" --hostname "$HOST" --relay-timeout 10 --maildir "$MAILDIR" \
    "127.0.0.1:$SINK_PORT"
  grep -qx '500 5.3.0 Error: command failed'$'\r' "$OUT"
  [ "$(kept)" -eq 0 ]
  [ "$(left_in_tmp)" -eq 0 ]
}

# 20 clients at once, 200 messages, each with its own Subject, each in a
# connection of its own; then every Subject must be in exactly one file.
SEND_200='
import smtplib, sys, threading
host, port = sys.argv[1], int(sys.argv[2])
errors = []
def client(n):
    try:
        for i in range(10):
            with smtplib.SMTP(host, port, timeout=30) as c:
                c.sendmail("a@example.com", ["b@example.com"],
                           "Subject: m-%d-%d\r\n\r\nbody\r\n" % (n, i))
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
for t in threads: t.start()
for t in threads: t.join()
sys.exit("; ".join(errors[:3]) if errors else 0)
'
EXPECT_200='
import collections, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
subjects = collections.Counter(m["Subject"] for m in box)
wanted = {"m-%d-%d" % (n, i) for n in range(20) for i in range(10)}
twice = [s for s, k in subjects.items() if k > 1]
assert not twice, "kept twice: %r" % twice[:5]
assert set(subjects) == wanted, "missing %r, extra %r" % (
    sorted(wanted - set(subjects))[:5], sorted(set(subjects) - wanted)[:5])
assert len(box) == 200, len(box)
'

@test "systemd-socket-activate (a process per connection): 20 smtplib clients at once, 200 messages, 200 files, each once" {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  PORT=$(free_port)
  start_background "$LAUNCHER_LOG" systemd-socket-activate --inetd -a \
    -l "127.0.0.1:$PORT" "$IN_SMTPD" -n -c DebuggingServer --maildir "$MAILDIR" \
    --debug-file /dev/null
  wait_for_port "$PORT"
  timeout -k 5 120 "$PYTHON3" -c "$SEND_200" 127.0.0.1 "$PORT"
  "$PYTHON3" -c "$EXPECT_200" "$MAILDIR"
  [ "$(left_in_tmp)" -eq 0 ]
}

@test "standalone (-l): 20 smtplib clients at once, 200 messages, 200 files, each once" {
  PORT=$(free_port)
  start_background "$LAUNCHER_LOG" "$IN_SMTPD" -n -c DebuggingServer \
    -l "127.0.0.1:$PORT" --maildir "$MAILDIR" --debug-file /dev/null
  wait_for_port "$PORT"
  timeout -k 5 120 "$PYTHON3" -c "$SEND_200" 127.0.0.1 "$PORT"
  "$PYTHON3" -c "$EXPECT_200" "$MAILDIR"
  [ "$(left_in_tmp)" -eq 0 ]
}

@test "curl and swaks under systemd-socket-activate: their messages are files a test can wait for" {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  command -v swaks >/dev/null || skip "no swaks"
  PORT=$(free_port)
  start_background "$LAUNCHER_LOG" systemd-socket-activate --inetd -a \
    -l "127.0.0.1:$PORT" "$IN_SMTPD" -n -c DebuggingServer --maildir "$MAILDIR" \
    --debug-file /dev/null
  wait_for_port "$PORT"
  printf 'Subject: from curl\r\n\r\nhello\r\n' >"$BATS_TEST_TMPDIR/m"
  curl -sS --max-time 15 "smtp://127.0.0.1:$PORT" --mail-from a@example.com \
    --mail-rcpt b@example.com --mail-rcpt c@example.com -T "$BATS_TEST_TMPDIR/m"
  swaks --server 127.0.0.1 --port "$PORT" --from s@example.com --to t@example.com \
    --header 'Subject: from swaks' --body 'hi' --timeout 15 >/dev/null
  # The 250 came after the rename: the files are there already.
  [ "$(kept)" -eq 2 ]
  grep -rl '^Subject: from curl' "$MAILDIR/new" | xargs grep -qx 'Delivered-To: c@example.com'
  grep -rl '^Subject: from swaks' "$MAILDIR/new" | xargs grep -qx 'Return-Path: <s@example.com>'
}

# --- --show-envelope ------------------------------------------------------------------

@test "--show-envelope: MAIL FROM and every RCPT TO (Bcc too) follow the banner" {
  debugging_session "$ONE" --show-envelope
  expect_status 0
  expect_lines "$ERR" "$PRINT_HEAD" 'MAIL FROM: <a@example.com>' \
    'RCPT TO: <b@example.com>' 'RCPT TO: <bcc@example.org>' "b'Subject: rig'" \
    "b'X-Peer: 127.0.0.1'" "b''" "b'.dot'" "b'body'" "$PRINT_TAIL"
}

@test "without --show-envelope the printout has no envelope lines" {
  debugging_session "$ONE"
  expect_status 0
  ! grep -q 'MAIL FROM\|RCPT TO' "$ERR"
  grep -qxF -- "$PRINT_HEAD" "$ERR"
}

# --- --fail ---------------------------------------------------------------------------

@test "--fail rcpt:REPLY: the reply instead of the RCPT, logged as injected, the session goes on" {
  debugging_session "$ONE" --fail 'rcpt:451 4.3.0 Try again later' --log stderr \
    --maildir "$MAILDIR"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" '250 OK' '451 4.3.0 Try again later' \
    '451 4.3.0 Try again later' '503 Error: need RCPT command' \
    '500 Error: command "SUBJECT:" not recognized' '500 Error: bad syntax' \
    '500 Error: command "..DOT" not recognized' '500 Error: command "BODY" not recognized' \
    '500 Error: command "." not recognized' '221 Bye'
  [ "$(grep -c '^in.smtpd\[[0-9]*\]: injected failure at rcpt: 451 4.3.0 Try again later$' "$ERR")" -eq 2 ]
  [ "$(kept)" -eq 0 ]
}

@test "--fail at each stage: connect, helo, mail, data, message" {
  debugging_session "$ONE" --fail 'connect:554 5.3.2 Not now'
  expect_replies '554 5.3.2 Not now'
  debugging_session "$ONE" --fail 'helo:421 4.3.2 Going away'
  expect_replies "$GREETING" '421 4.3.2 Going away'
  debugging_session 'HELO c\r\nMAIL FROM:<a@example.com>\r\nQUIT\r\n' --fail 'mail:452 4.3.1 Full'
  expect_replies "$GREETING" '250 mx.test.example' '452 4.3.1 Full' '221 Bye'
  debugging_session 'HELO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nRSET\r\nQUIT\r\n' \
    --fail 'data:554 5.6.0 No data'
  expect_replies "$GREETING" '250 mx.test.example' '250 OK' '250 OK' '554 5.6.0 No data' \
    '250 OK' '221 Bye'
  debugging_session "$ONE" --fail 'message:550 5.7.1 Rejected' --maildir "$MAILDIR"
  expect_replies "$GREETING" "250 $HOST" '250 OK' '250 OK' '250 OK' "$DATA_GO" \
    '550 5.7.1 Rejected' '221 Bye'
  # Refused: not kept, not printed.
  [ "$(kept)" -eq 0 ]
  expect_empty "$ERR"
}

@test "--fail STAGE:drop closes the connection without a reply (connect, rcpt, message)" {
  on_socketpair <(printf '%b' "$ONE") -c DebuggingServer --hostname "$HOST" --fail connect:drop
  expect_status 0
  expect_empty "$OUT"
  on_socketpair <(printf '%b' "$ONE") -c DebuggingServer --hostname "$HOST" --fail rcpt:drop
  expect_replies "$GREETING" "250 $HOST" '250 OK'
  printf '%b' "$ONE" >"$IN"
  on_socketpair "$IN" -c DebuggingServer --hostname "$HOST" --fail message:drop \
    --maildir "$MAILDIR" --debug-file "$PRINTOUT"
  expect_replies "$GREETING" "250 $HOST" '250 OK' '250 OK' '250 OK' "$DATA_GO"
  [ "$(kept)" -eq 0 ]
  expect_empty "$PRINTOUT"
}

@test "--fail: injected 5xx replies count towards --max-errors" {
  debugging_session 'HELO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n' \
    --fail 'rcpt:550 5.1.1 No such user' --max-errors 2
  expect_replies "$GREETING" "250 $HOST" '250 OK' '550 5.1.1 No such user' \
    '550 5.1.1 No such user' "421 $HOST Error: too many errors"
}

@test "--fail PERCENT with --fail-seed: the same seed replays the same choices, another seed others" {
  local session='HELO c\r\nMAIL FROM:<a@example.com>\r\n' i
  for i in $(seq 40); do session+="RCPT TO:<r$i@example.com>\r\n"; done
  session+='QUIT\r\n'
  debugging_session "$session" --fail 'rcpt:451 4.3.0 Try again:50' --fail-seed 7
  cp "$OUT" "$BATS_TEST_TMPDIR/first"
  debugging_session "$session" --fail 'rcpt:451 4.3.0 Try again:50' --fail-seed 7
  same_bytes "$OUT" "$BATS_TEST_TMPDIR/first"
  local failed
  failed=$(grep -c '^451 4.3.0 Try again' "$OUT")
  [ "$failed" -gt 5 ] && [ "$failed" -lt 35 ]
  debugging_session "$session" --fail 'rcpt:451 4.3.0 Try again:50' --fail-seed 8
  ! cmp -s "$OUT" "$BATS_TEST_TMPDIR/first"
  # 0% never fails.
  debugging_session "$session" --fail 'rcpt:451 4.3.0 Try again:0'
  ! grep -q '^451' "$OUT"
}

@test "--fail helo:delay=SECONDS trips a client's timeout (smtplib, timeout 1 s), per connection" {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  PORT=$(free_port)
  start_background "$LAUNCHER_LOG" systemd-socket-activate --inetd -a \
    -l "127.0.0.1:$PORT" "$IN_SMTPD" -n -c DebuggingServer --fail helo:delay=5
  wait_for_port "$PORT"
  run timeout -k 5 20 "$PYTHON3" -c '
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=1)
try:
    c.ehlo()
except smtplib.SMTPServerDisconnected as e:  # how smtplib reports a timeout
    if "timed out" not in str(e):
        raise
    print("timed out")
    sys.exit(0)
sys.exit("EHLO was answered in time")
' "$PORT"
  [ "$status" -eq 0 ] && [ "$output" = "timed out" ]
}

# delay_holds_only_its_session STAGE: in the standalone mode, a client held
# by --fail STAGE:delay=30 (its hook answers later, on a thread) leaves
# another client of the same process served whole meanwhile.
delay_holds_only_its_session() {
  local stage=$1 slow
  PORT=$(free_port)
  start_background "$LAUNCHER_LOG" "$IN_SMTPD" -n -c DebuggingServer \
    -l "127.0.0.1:$PORT" --fail "$stage:delay=30" --debug-file /dev/null --log stderr
  wait_for_port "$PORT"
  start_background "$BATS_TEST_TMPDIR/slow.log" "$PYTHON3" -c '
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60) as c:
    c.sendmail("a@example.com", ["b@example.com"], "Subject: slow\r\n\r\nx\r\n")
' "$PORT"
  slow=$BACKGROUND_PID
  wait_for_text "$LAUNCHER_LOG" "injected failure at $stage: reply delayed 30 s"
  run timeout -k 5 10 "$PYTHON3" -c '
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5) as c:
    print(c.ehlo()[0], c.noop()[0])
' "$PORT"
  [ "$output" = "250 250" ]
  running "$slow"
}

@test "--fail message:delay in the standalone mode holds only its own session" {
  delay_holds_only_its_session message
}

@test "--fail rcpt:delay in the standalone mode holds only its own session (the hook answers later)" {
  delay_holds_only_its_session rcpt
}

@test "--fail: a delay at the DATA command is refused in the standalone mode" {
  PORT=$(free_port)
  run timeout -k 5 10 "$IN_SMTPD" -n -c DebuggingServer -l "127.0.0.1:$PORT" \
    --fail data:delay=5
  [ "$status" -eq 64 ]
  [ "$output" = "in.smtpd: --fail data:delay=SECONDS works only per connection: in the standalone mode it would hold up every session" ]
}

@test "bad --fail values: one line naming the option, exit 64, nothing sent" {
  local bad
  for bad in 'rcpt' 'quit:451 x' 'rcpt:250 OK' 'rcpt:451-x' 'rcpt:451 x:101' 'rcpt:delay=0'; do
    smtpd_session 'QUIT\r\n' -c DebuggingServer --fail "$bad"
    expect_status 64
    expect_empty "$OUT"
    [ "$(line_count "$ERR")" -eq 1 ]
    grep -q "^in.smtpd: invalid value for --fail: '" "$ERR"
  done
  smtpd_session 'QUIT\r\n' -c DebuggingServer --fail 'quit:451 x'
  expect_stderr "in.smtpd: invalid value for --fail: 'quit:451 x': unknown stage 'quit' (connect, helo, mail, rcpt, data, message or auth)\n"
}

@test "standalone: --fail connect answers each connection and closes it; message:drop keeps nothing, the process goes on" {
  PORT=$(free_port)
  start_background "$LAUNCHER_LOG" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" \
    -l "127.0.0.1:$PORT" --fail 'connect:554 5.3.2 Not now:50' --fail message:drop \
    --fail-seed 1 --maildir "$MAILDIR" --debug-file "$PRINTOUT" --log stderr
  local server=$BACKGROUND_PID
  wait_for_port "$PORT"
  run timeout -k 5 30 "$PYTHON3" -c '
import smtplib, socket, sys
port = int(sys.argv[1])
refused = dropped = 0
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    greeting = f.readline()
    if greeting.startswith(b"554 5.3.2 Not now"):
        assert f.read() == b"", "more after the 554"
        refused += 1
        continue
    assert greeting.startswith(b"220 "), greeting
    for line in (b"HELO c", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>", b"DATA"):
        s.sendall(line + b"\r\n")
        assert f.readline()[:1] in (b"2", b"3")
    s.sendall(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    assert f.read() == b"", "a reply after the final dot"
    dropped += 1
print(refused, dropped)
' "$PORT"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
  read -r refused dropped <<<"$output"
  [ "$refused" -gt 0 ] && [ "$dropped" -gt 0 ] && [ $((refused + dropped)) -eq 20 ]
  [ "$(kept)" -eq 0 ]
  expect_empty "$PRINTOUT"
  [ "$(grep -c 'injected failure at connect: 554 5.3.2 Not now' "$LAUNCHER_LOG")" -eq "$refused" ]
  [ "$(grep -c 'injected failure at message: connection dropped' "$LAUNCHER_LOG")" -eq "$dropped" ]
  running "$server"
}

@test "options file: maildir, show-envelope, fail (a list, adding to the command line's) and fail-seed" {
  cat >"$BATS_TEST_TMPDIR/in.smtpd.conf" <<CONF
maildir = $MAILDIR
show-envelope = yes
fail = mail:452 4.3.1 Full:0
fail = rcpt:450 4.2.0 Busy
fail-seed = 3
CONF
  debugging_session "$ONE" --config "$BATS_TEST_TMPDIR/in.smtpd.conf" \
    --fail 'data:554 5.6.0 No data:0'
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" '250 OK' '450 4.2.0 Busy' '450 4.2.0 Busy' \
    '503 Error: need RCPT command' '500 Error: command "SUBJECT:" not recognized' \
    '500 Error: bad syntax' '500 Error: command "..DOT" not recognized' \
    '500 Error: command "BODY" not recognized' '500 Error: command "." not recognized' \
    '221 Bye'
  printf 'fail = rcpt:250 OK\n' >"$BATS_TEST_TMPDIR/bad.conf"
  smtpd_session 'QUIT\r\n' -c DebuggingServer --config "$BATS_TEST_TMPDIR/bad.conf"
  expect_status 78
  grep -q "^in.smtpd: $BATS_TEST_TMPDIR/bad.conf:1: invalid value for --fail: 'rcpt:250 OK'" "$ERR"
}
