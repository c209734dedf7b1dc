#!/usr/bin/env bats
# session.bats - whole SMTP sessions piped through the in.smtpd program:
# the exact reply bytes on stdout, DebuggingServer's printout (on stderr,
# in a --debug-file, never on the connection), traces, timeouts, and input
# that must neither crash nor hang it.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/session.bats

load helpers

setup() {
  common_setup
  GREETING="220 $HOST in.smtpd ESMTP"
  # The start of a transaction, its replies, and the EHLO replies with the
  # default options.
  TRANSACTION='HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n'
  TRANSACTION_REPLIES=("$GREETING" "250 $HOST" "250 OK" "250 OK"
    "354 End data with <CR><LF>.<CR><LF>")
  EHLO_REPLIES=("250-$HOST" "250-SIZE 33554432" "250-8BITMIME"
    "250-PIPELINING" "250 HELP")
}

teardown() {
  release_fifo
  stop_background
}

# --- the issue's example and the basics ---------------------------------------

@test "the issue's example: replies on stdout, the message on stderr" {
  status=0
  printf 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' |
    timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n -c DebuggingServer >"$OUT" 2>"$ERR" ||
    status=$?
  expect_status 0
  local host
  host=$(uname -n)
  expect_replies "220 $host in.smtpd ESMTP" "250 $host" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "b'hi'" "$PRINT_TAIL"
}

@test "--hostname names the server in the greeting and the HELO reply" {
  smtpd_session 'HELO client.example\r\nQUIT\r\n' -c DebuggingServer \
    --hostname relay.example.org
  expect_status 0
  expect_replies "220 relay.example.org in.smtpd ESMTP" "250 relay.example.org" \
    "221 Bye"
  expect_empty "$ERR"
}

@test "EHLO lists the default extensions, the name from --hostname first" {
  debugging_session 'EHLO client.example\r\nQUIT\r\n'
  expect_status 0
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" "221 Bye"
}

@test "the session ends at QUIT: what follows is not answered" {
  debugging_session 'NOOP\r\nQUIT\r\nNOOP\r\nHELP\r\n'
  expect_status 0
  expect_replies "$GREETING" "250 OK" "221 Bye"
}

@test "two messages in one session are printed one after the other" {
  debugging_session "${TRANSACTION}first\r\n.\r\nMAIL FROM:<e@f>\r\nRCPT TO:<g@h>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "b'first'" "$PRINT_TAIL" \
    "$PRINT_HEAD" "b'second'" "$PRINT_TAIL"
}

# --- DebuggingServer's printout -----------------------------------------------

@test "printout, bytes: b'...' lines, b'X-Peer: 127.0.0.1' where the headers end" {
  debugging_session "${TRANSACTION}Subject: test\r\nFrom: a@b\r\n\r\nHello\r\n\r\n..World\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  # Only the first empty line ends the headers; the leading dot is removed
  # (RFC 5321 4.5.2).
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: test'" "b'From: a@b'" \
    "b'X-Peer: 127.0.0.1'" "b''" "b'Hello'" "b''" "b'.World'" "$PRINT_TAIL"
}

@test "printout, --decode-data: plain lines and a plain X-Peer line" {
  debugging_session "${TRANSACTION}Subject: caf\xc3\xa9\r\n\r\nHello\r\n\r\nWorld\r\n.\r\nQUIT\r\n" \
    --decode-data
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "Subject: café" "X-Peer: 127.0.0.1" "" \
    "Hello" "" "World" "$PRINT_TAIL"
}

@test "printout: a message without an empty line gets no X-Peer line" {
  debugging_session "${TRANSACTION}just one line\r\nSubject: not a header\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_lines "$ERR" "$PRINT_HEAD" "b'just one line'" "b'Subject: not a header'" \
    "$PRINT_TAIL"
}

@test "printout: the MAIL parameters after EHLO, upper-cased, on a 'mail options' line" {
  debugging_session 'EHLO x\r\nMAIL FROM:<a@b> body=8BITMIME SIZE=42\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n'
  expect_status 0
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "mail options: ['BODY=8BITMIME', 'SIZE=42']" \
    "b'hi'" "$PRINT_TAIL"
}

@test "printout, --decode-data: no 'mail options' line (the reference passes none)" {
  debugging_session 'EHLO x\r\nMAIL FROM:<a@b> SIZE=42\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    --decode-data
  expect_status 0
  expect_lines "$ERR" "$PRINT_HEAD" "hi" "$PRINT_TAIL"
}

@test "printout: NUL, 8-bit bytes, bare CR and bare LF in DATA are shown as Python shows bytes" {
  debugging_session "${TRANSACTION}Subject: x\r\n\r\na\x00b\xe9\xff\r\nc\rd\ne\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  # bytes.splitlines() breaks at a bare CR and a bare LF too.
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 127.0.0.1'" "b''" \
    "b'a\\x00b\\xe9\\xff'" "b'c'" "b'd'" "b'e'" "$PRINT_TAIL"
}

@test "an empty message (DATA then the dot) is accepted and printed (deviation: the reference hangs)" {
  debugging_session "${TRANSACTION}.\r\nQUIT\r\n"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "$PRINT_TAIL"
}

@test "a message of 1 MB on one line is printed whole" {
  write_session "$TRANSACTION" '1048576*A' '\r\n.\r\nQUIT\r\n'
  smtpd_pipe "$IN" -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  {
    printf "%s\nb'" "$PRINT_HEAD"
    head -c 1048576 /dev/zero | tr '\0' A
    printf "'\n%s\n" "$PRINT_TAIL"
  } >"$EXP"
  same_bytes "$ERR" "$EXP"
}

# The same sessions through CPython 3.11's DebuggingServer: the printouts
# must be byte for byte the same.  Skipped without Python 3.11.

@test "reference: headers, body, X-Peer, dot-unstuffing" {
  require_reference
  debugging_session "${TRANSACTION}Subject: test\r\nFrom: a@b\r\n\r\nHello\r\n\r\n..World\r\n...\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_reference_printout
}

@test "reference: --decode-data, including the line breaks str.splitlines() knows" {
  require_reference
  debugging_session "${TRANSACTION}Subject: caf\xc3\xa9\r\n\r\na\x0bb\x0cc\x1cd\xc2\x85e\xe2\x80\xa8f\rg\nh\r\n.\r\nQUIT\r\n" \
    --decode-data
  expect_status 0
  expect_reference_printout --decode-data
}

@test "reference: no empty line, no X-Peer" {
  require_reference
  debugging_session "${TRANSACTION}one\r\ntwo: three\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_reference_printout
}

@test "reference: mail options, SMTPUTF8 with -u" {
  require_reference
  debugging_session 'EHLO x\r\nMAIL FROM:<a@b> SMTPUTF8 BODY=8BITMIME SIZE=9\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: \xc3\xa9\r\n\r\nbody\r\n.\r\nQUIT\r\n' \
    -u
  expect_status 0
  expect_reference_printout -u
}

@test "reference: NUL, 8-bit, bare CR and LF, quotes and backslashes in DATA" {
  require_reference
  debugging_session "${TRANSACTION}Subject: it's \"quoted\" \\\\ here\r\n\r\na\x00b\xe9\xff\x7f\x1b\r\nc\rd\ne\t'\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_reference_printout
}

@test "reference: LF.CRLF, CR.CR and CRLF.LF inside DATA" {
  require_reference
  debugging_session "${TRANSACTION}a\n.\r\nMAIL FROM:<evil@x>\r\nb\r.\rc\r\n.\nd\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_reference_printout
}

@test "reference: two messages, RSET between them" {
  require_reference
  debugging_session "${TRANSACTION}first\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b>\r\nRSET\r\nMAIL FROM:<e@f>\r\nRCPT TO:<g@h>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_reference_printout
}

# --- where the printout and the traces go ------------------------------------

@test "--debug-file receives the printout (appended) and stderr stays empty" {
  local file=$BATS_TEST_TMPDIR/debug.log
  printf 'an earlier line\n' >"$file"
  debugging_session "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" --debug-file "$file"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  expect_empty "$ERR"
  expect_lines "$file" "an earlier line" "$PRINT_HEAD" "b'hi'" "$PRINT_TAIL"
}

@test "--debug-file is locked while a printout is written, so concurrent ones stay whole" {
  local file=$BATS_TEST_TMPDIR/debug.log held=$BATS_TEST_TMPDIR/held
  local release=$BATS_TEST_TMPDIR/release inode tries=200 ready go holder
  : >"$file"
  inode=$(stat -c %i "$file")
  # Hold the lock, as a session printing a large message would, from a
  # process that lives until it is released: in a PID namespace /proc/locks
  # hides a lock whose owner has exited, and the requests blocked on it.
  mkfifo "$held" "$release"
  exec {ready}<>"$held" {go}<>"$release"
  timeout -k 5 "$RUN_LIMIT" flock "$file" sh -c 'echo held >"$1"; read -r _ <"$2"' \
    sh "$held" "$release" {ready}>&- {go}>&- 3>&- &
  holder=$!
  BACKGROUND_PIDS+=("$holder")
  read -r -t "$RUN_LIMIT" -u "$ready" _
  printf "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" >"$IN"
  timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" \
    --debug-file "$file" <"$IN" >"$OUT" 2>"$ERR" {ready}>&- {go}>&- &
  local pid=$!
  # It waits for the lock (/proc/locks lists it as blocked) and writes nothing.
  while ((tries-- > 0)) && ! grep -q -- "-> FLOCK .*:$inode 0 EOF" /proc/locks; do
    sleep 0.05
  done
  grep -q -- "-> FLOCK .*:$inode 0 EOF" /proc/locks ||
    { echo "in.smtpd never waited for the debug file's lock" >&2; cat /proc/locks >&2; false; }
  expect_empty "$file"
  echo go >&"$go"
  wait "$holder"
  exec {ready}>&- {go}>&-
  status=0
  wait "$pid" || status=$?
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  expect_lines "$file" "$PRINT_HEAD" "b'hi'" "$PRINT_TAIL"
}

@test "-d traces the session on stderr, never on stdout" {
  debugging_session 'HELO x\r\nNOOP\r\nQUIT\r\n' -d
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "221 Bye"
  # Every stderr line is a trace line; the '<' chunks put together are what
  # was sent, the '>' chunks what came out on stdout.
  "$PYTHON3" -c '
import ast, sys
sent, received = b"", b""
for line in open(sys.argv[1], "rb").read().decode("ascii").splitlines():
    direction, _, chunk = line.partition(" ")
    assert direction in ("<", ">") and chunk.startswith("b"), line
    if direction == "<":
        sent += ast.literal_eval(chunk)
    else:
        received += ast.literal_eval(chunk)
assert sent == open(sys.argv[2], "rb").read(), sent
assert received == open(sys.argv[3], "rb").read(), received
' "$ERR" "$IN" "$OUT"
}

@test "-d with --debug-file: trace and printout in the file, nothing on stderr" {
  local file=$BATS_TEST_TMPDIR/debug.log
  debugging_session "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" -d --debug-file "$file"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  expect_empty "$ERR"
  grep -qF "< b'HELO x\\r\\n" "$file"
  grep -qF "> b'220 $HOST in.smtpd ESMTP\\r\\n" "$file"
  grep -qxF -- "$PRINT_HEAD" "$file"
  grep -qxF -- "b'hi'" "$file"
}

@test "inetd style (stderr is the connection), --debug-file: the connection carries only SMTP" {
  local file=$BATS_TEST_TMPDIR/debug.log
  printf '%b' "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" >"$IN"
  on_socketpair "$IN" -c DebuggingServer --hostname "$HOST" --debug-file "$file"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  # A UNIX socket is a local peer.
  expect_lines "$file" "$PRINT_HEAD" "b'hi'" "$PRINT_TAIL"
}

@test "inetd style (stderr is the connection), no --debug-file: printout to syslog, never the connection" {
  printf '%b' "${TRANSACTION}Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n" >"$IN"
  on_socketpair "$IN" -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
}

@test "inetd style (stderr is the connection), -d: the trace never reaches the connection" {
  printf '%b' "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" >"$IN"
  on_socketpair "$IN" -c DebuggingServer --hostname "$HOST" -d
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
}

# --- who the peer is, on a pipe ---------------------------------------------

@test "on a pipe, X-Peer comes from TCPREMOTEIP (tcpserver)" {
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=4242 \
    debugging_session "${TRANSACTION}Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 192.0.2.7'" "b''" \
    "b'hi'" "$PRINT_TAIL"
}

@test "on a pipe, REMOTE_ADDR (systemd) wins over TCPREMOTEIP, IPv6 too" {
  REMOTE_ADDR=2001:db8::5 REMOTE_PORT=25 TCPREMOTEIP=192.0.2.7 \
    debugging_session "${TRANSACTION}Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 2001:db8::5'" "b''" \
    "b'hi'" "$PRINT_TAIL"
}

@test "on a pipe, an invalid address in the environment is ignored (local peer)" {
  REMOTE_ADDR=$'1.2.3.4\r\nX-Evil: yes' TCPREMOTEIP='not an address' \
    debugging_session "${TRANSACTION}Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 127.0.0.1'" "b''" \
    "b'hi'" "$PRINT_TAIL"
}

# --- bad input: no crash, no hang, a clear answer ------------------------------

@test "a command line of 1 MB: 500 line too long, and the session goes on" {
  write_session 'HELO x\r\n' '1048576*A' '\r\nNOOP\r\nMAIL FROM:<' '1048576*a' \
    '@b>\r\nQUIT\r\n'
  smtpd_pipe "$IN" -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "500 Error: line too long" "250 OK" \
    "500 Error: line too long" "221 Bye"
  expect_empty "$ERR"
}

@test "a command line of 512 bytes is taken, 513 is too long" {
  local pad508 pad509
  pad508=$(printf '%508s' '')
  pad509=$(printf '%509s' '')
  debugging_session "NOOP${pad508}\r\nNOOP${pad509}\r\nQUIT\r\n"
  expect_status 0
  expect_replies "$GREETING" "250 OK" "500 Error: line too long" "221 Bye"
}

@test "NUL bytes in commands get 500 and the session goes on" {
  debugging_session 'NO\x00OP\r\nHELO x\x00y\r\n\x00\r\nNOOP\r\nQUIT\r\n'
  expect_status 0
  expect_replies "$GREETING" "500 Error: NUL byte in command line" \
    "500 Error: NUL byte in command line" "500 Error: NUL byte in command line" \
    "250 OK" "221 Bye"
  expect_empty "$ERR"
}

@test "a bare CR does not end a command line, and is never echoed; a bare LF ends one" {
  debugging_session 'NOOP\rQUIT\r\nFOO\rBAR\r\nHELO x\nMAIL FROM:<a@b>\rRCPT TO:<c@d>\r\nNOOP\nQUIT\r\n'
  expect_status 0
  expect_replies "$GREETING" "500 Error: command not recognized" \
    "500 Error: command not recognized" "250 $HOST" \
    "501 Syntax: MAIL FROM: <address>" "250 OK" "221 Bye"
}

@test "8-bit bytes in commands: invalid UTF-8 gets 500, UTF-8 is not echoed without SMTPUTF8" {
  debugging_session 'NOOP \xe9\r\n\xff\xfe\r\nX\xc3\xa9\r\nNOOP \xc3\xa9\r\nQUIT\r\n'
  expect_status 0
  expect_replies "$GREETING" "500 Error: command line is not valid UTF-8" \
    "500 Error: command line is not valid UTF-8" \
    "500 Error: command not recognized" "501 Syntax: NOOP" "221 Bye"
}

@test "no SMTP smuggling: only CRLF.CRLF ends DATA, not LF.CRLF, CR.CR or CRLF.LF" {
  debugging_session "${TRANSACTION}a\n.\r\nMAIL FROM:<evil@x>\r\nb\r.\rc\r\n.\nd\r\n.\r\nQUIT\r\n"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  # The dot after CRLF is unstuffed: "\nd" is left, so an empty line ends
  # the headers there.
  expect_lines "$ERR" "$PRINT_HEAD" "b'a'" "b'.'" "b'MAIL FROM:<evil@x>'" "b'b'" \
    "b'.'" "b'c'" "b'X-Peer: 127.0.0.1'" "b''" "b'd'" "$PRINT_TAIL"
}

@test "invalid UTF-8 in DATA with --decode-data: no crash, the session goes on" {
  debugging_session "${TRANSACTION}Subject: x\r\n\r\nb\xe9dy \xff\r\n.\r\nNOOP\r\nQUIT\r\n" \
    --decode-data
  expect_status 0
  # Whether such a message is taken or refused, the session must go on.
  "$PYTHON3" -c '
import re, sys
replies = open(sys.argv[1], "rb").read().split(b"\r\n")
assert replies[-3:] == [b"250 OK", b"221 Bye", b""], replies
assert re.fullmatch(rb"250 OK|5\d\d .*", replies[-4]), replies
' "$OUT"
}

@test "end of input in the middle of DATA: nothing is printed, exit 0" {
  debugging_session "${TRANSACTION}Subject: x\r\n\r\nhalf a mess"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}"
  expect_empty "$ERR"
}

@test "end of input just before the final dot's CRLF: nothing is printed, exit 0" {
  debugging_session "${TRANSACTION}hi\r\n."
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}"
  expect_empty "$ERR"
}

@test "end of input in the middle of a command line: exit 0, the half line is not answered" {
  debugging_session 'HELO x\r\nNOO'
  expect_status 0
  expect_replies "$GREETING" "250 $HOST"
  expect_empty "$ERR"
}

@test "end of input after a message without QUIT: printed once, exit 0" {
  debugging_session "${TRANSACTION}hi\r\n.\r\n"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK"
  expect_lines "$ERR" "$PRINT_HEAD" "b'hi'" "$PRINT_TAIL"
}

@test "a session written one byte at a time gets the same replies and printout" {
  printf '%b' "EHLO x\r\nMAIL FROM:<a@b> SIZE=20\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n" >"$IN"
  status=0
  "$PYTHON3" -c '
import os, sys
data = open(sys.argv[1], "rb").read()
for i in range(len(data)):
    os.write(1, data[i:i + 1])
' "$IN" | timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n -c DebuggingServer \
    --hostname "$HOST" >"$OUT" 2>"$ERR" || status=$?
  expect_status 0
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "mail options: ['SIZE=20']" "b'Subject: x'" \
    "b'X-Peer: 127.0.0.1'" "b''" "b'.dot'" "b'body'" "$PRINT_TAIL"
}

# --- clients that stall ------------------------------------------------------

# stalled_client INPUT OPTION...: in.smtpd (DebuggingServer) reads INPUT
# (printf %b), then nothing more: its input stays open.  Only its own
# timeouts end it; the run's guard ($RUN_LIMIT) keeps a broken one from
# hanging the test.  Sets $status.
stalled_client() {
  hold_fifo "$BATS_TEST_TMPDIR/client"
  printf '%b' "$1" >&"$FIFO_FD"
  shift
  status=0
  timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" \
    "$@" <"$BATS_TEST_TMPDIR/client" >"$OUT" 2>"$ERR" || status=$?
}

@test "--command-timeout 1, a client that sends nothing: 421 timeout, exit 0" {
  stalled_client '' --command-timeout 1
  expect_status 0
  expect_replies "$GREETING" "421 $HOST Error: timeout exceeded"
  expect_empty "$ERR"
}

# Which timeout applies is told apart by making the other one longer than
# the run's guard: had it applied, the guard would have ended the run.
# (The exact deadlines are the unit tests' Deadlines.*, on the
# connection's own clock.)
@test "--data-timeout applies in DATA, not --command-timeout: 421, nothing printed" {
  stalled_client "${TRANSACTION}Subject: x\r\n\r\nhalf" \
    --command-timeout 3600 --data-timeout 1
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "421 $HOST Error: timeout exceeded"
  expect_empty "$ERR"
}

@test "--command-timeout applies outside DATA, not --data-timeout: 421" {
  stalled_client "${TRANSACTION}Subject: x\r\n\r\nbody\r\n.\r\n" \
    --command-timeout 1 --data-timeout 3600
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "421 $HOST Error: timeout exceeded"
}

@test "a client that stops reading (20 MB of pipelined NOOPs): the program ends by itself" {
  # Its stdout is a FIFO nobody reads: replies pile up, the program must
  # stop reading, time out and exit rather than hang or grow.
  hold_fifo "$BATS_TEST_TMPDIR/unread"
  status=0
  yes $'NOOP\r' | head -c 20000000 |
    timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" \
      --command-timeout 1 >"$BATS_TEST_TMPDIR/unread" 2>"$ERR" || status=$?
  expect_status 0
  expect_empty "$ERR"
}

# --- in.smtpd and in.smtpd-full -----------------------------------------------
# in.smtpd serves a DebuggingServer session itself and hands every other one
# over to in.smtpd-full ($IN_SMTPD_FULL here; installed, under libexec).
# A copy of in.smtpd alone in a directory, told that in.smtpd-full is
# beside it, shows which is which: what it serves works, what it hands
# over ends with exit 72 and one line naming the missing program.

# alone_session SESSION [ARGS...]: smtpd_session with that copy ($ALONE).
alone_session() {
  ALONE=$BATS_TEST_TMPDIR/alone/in.smtpd
  mkdir -p "${ALONE%/*}"
  cp "$IN_SMTPD" "$ALONE"
  IN_SMTPD=$ALONE IN_SMTPD_FULL=${ALONE%/*}/in.smtpd-full smtpd_session "$@"
}

expect_handed_over() {
  expect_status 72
  expect_empty "$OUT"
  expect_stderr 'in.smtpd: cannot run %s: No such file or directory\n' \
    "$BATS_TEST_TMPDIR/alone/in.smtpd-full"
}

@test "in.smtpd is linked statically (no interpreter, no shared library); in.smtpd-full is linked with libc" {
  [ "$SANITIZED_BUILD" = yes ] && skip "the sanitizers' run-time is a shared library"
  run readelf -lW "$IN_SMTPD"
  [ "$status" -eq 0 ]
  [[ $output != *INTERP* ]] || { echo "in.smtpd has a program interpreter" >&2; return 1; }
  run readelf -dW "$IN_SMTPD"
  [[ $output != *NEEDED* ]] || { echo "in.smtpd needs: $output" >&2; return 1; }
  run readelf -dW "$IN_SMTPD_FULL"
  [[ $output == *"Shared library: [libc.so.6]"* ]]
}

@test "a DebuggingServer session with -n is served by in.smtpd alone: replies and printout" {
  alone_session "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" -c DebuggingServer \
    --hostname "$HOST"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "b'hi'" "$PRINT_TAIL"
}

@test "PureProxy, MailmanProxy and -l are handed over: without in.smtpd-full, exit 72, one line, nothing to the client" {
  local args
  for args in "-c PureProxy" "-c MailmanProxy" "-l 127.0.0.1:$(free_port)"; do
    echo "# $args"
    # shellcheck disable=SC2086
    alone_session 'QUIT\r\n' $args
    expect_handed_over
  done
}

@test "started as root without -n, the session is handed over (the user is looked up by name)" {
  [ "$(id -u)" -eq 0 ] || skip "needs root"
  ALONE=$BATS_TEST_TMPDIR/alone/in.smtpd
  mkdir -p "${ALONE%/*}"
  cp "$IN_SMTPD" "$ALONE"
  printf 'QUIT\r\n' >"$IN"
  status=0
  IN_SMTPD_FULL=${ALONE%/*}/in.smtpd-full \
    timeout -k 5 "$RUN_LIMIT" "$ALONE" -c DebuggingServer <"$IN" >"$OUT" 2>"$ERR" ||
    status=$?
  expect_handed_over
}

@test "systemd's variables: a connection on fd 3 (Accept=yes) stays in in.smtpd, listening sockets are handed over" {
  ALONE=$BATS_TEST_TMPDIR/alone/in.smtpd
  mkdir -p "${ALONE%/*}"
  cp "$IN_SMTPD" "$ALONE"
  printf 'QUIT\r\n' >"$IN"
  local kind
  for kind in connection listener; do
    echo "# fd 3: a $kind"
    status=0
    IN_SMTPD_FULL=${ALONE%/*}/in.smtpd-full timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import os, socket, sys
kind, program = sys.argv[1], sys.argv[2]
if kind == "listener":
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
else:
    s, _ = socket.socketpair()
os.dup2(s.fileno(), 3)
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDS"] = "1"
os.execv(program, [program, "-n", "-c", "DebuggingServer", "--hostname", "mx.test.example"])
' "$kind" "$ALONE" <"$IN" >"$OUT" 2>"$ERR" || status=$?
    if [ "$kind" = connection ]; then
      expect_status 0
      expect_replies "$GREETING" "221 Bye"
    else
      expect_handed_over
    fi
  done
}

@test "the hand-over keeps the arguments: PureProxy's greeting names --hostname, an unreachable upstream gives 451" {
  smtpd_session "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" -c PureProxy \
    --hostname "$HOST" "127.0.0.1:$(free_port)"
  expect_status 0
  # The upstream transaction opens at MAIL: the 451 is there.
  expect_replies "${TRANSACTION_REPLIES[@]:0:2}" \
    "451 Error: relay failed, try again later" "503 Error: need MAIL command" \
    "503 Error: need RCPT command" '500 Error: command "HI" not recognized' \
    '500 Error: command "." not recognized' "221 Bye"
}

# --- a printout that cannot be written: 451, never 250 ----------------------------

# For DebuggingServer the printout is the delivery: a message whose printout
# was not written whole is refused with 451, said once on stderr, and the
# session exits 74 (EX_IOERR).
PRINT_FAILED='451 Error: the message could not be printed'

@test "--debug-file /dev/full: 451, one error line and the log line, exit 74" {
  [ -w /dev/full ] || skip "no /dev/full"
  debugging_session "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" --debug-file /dev/full \
    --log stderr
  expect_status 74
  expect_replies "${TRANSACTION_REPLIES[@]}" "$PRINT_FAILED" "221 Bye"
  [ "$(line_count "$ERR")" -eq 3 ]
  grep -qxE 'in\.smtpd\[[0-9]+\]: cannot write the printout to the debug file: No space left on device' "$ERR"
  grep -q 'session peer=127\.0\.0\.1 helo=[^ ]* messages=0 end=quit$' "$ERR"
  grep -q "reply=\"$PRINT_FAILED\"\$" "$ERR"
}

@test "2>/dev/full: the printout to stderr fails: 451, exit 74" {
  [ -w /dev/full ] || skip "no /dev/full"
  printf '%b' "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" >"$IN"
  status=0
  timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" \
    <"$IN" >"$OUT" 2>/dev/full || status=$?
  expect_status 74
  expect_replies "${TRANSACTION_REPLIES[@]}" "$PRINT_FAILED" "221 Bye"
}

@test "stderr a pipe whose reader has gone (EPIPE): 451 for each message, exit 74" {
  printf '%b' "${TRANSACTION}hi\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nagain\r\n.\r\nQUIT\r\n" >"$IN"
  status=0
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c "$CLOSED_PIPE" 2 "$IN_SMTPD" -n \
    -c DebuggingServer --hostname "$HOST" <"$IN" >"$OUT" || status=$?
  expect_status 74
  expect_replies "${TRANSACTION_REPLIES[@]}" "$PRINT_FAILED" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "$PRINT_FAILED" "221 Bye"
}

@test "a printout that was written: 250 and exit 0 (the same session to a file)" {
  debugging_session "${TRANSACTION}hi\r\n.\r\nQUIT\r\n" \
    --debug-file "$BATS_TEST_TMPDIR/printout"
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "221 Bye"
  grep -q "^b'hi'\$" "$BATS_TEST_TMPDIR/printout"
}

# --- command lines ended by a bare LF ---------------------------------------------

@test "commands ended by a bare LF (nc without -C, a terminal) are answered; DATA still ends only at CRLF.CRLF" {
  debugging_session 'HELO x\nMAIL FROM:<a@b>\nRCPT TO:<c@d>\nDATA\none\n.\nQUIT\n.\r\ntwo\r\n.\r\nNOOP\nQUIT\n'
  expect_status 0
  expect_replies "${TRANSACTION_REPLIES[@]}" "250 OK" "250 OK" "221 Bye"
  # One message: the bare LFs and the dot lines between them are its text.
  expect_lines "$ERR" "$PRINT_HEAD" "b'one'" "b'.'" "b'QUIT'" "b'.'" "b'two'" \
    "$PRINT_TAIL"
}

# --- the log line, exit 74 ----------------------------------------------------------

@test "the log line keeps the client's UTF-8 as it came, and escapes controls, quotes, bidi overrides" {
  debugging_session 'EHLO h\xc3\xa9llo\tx\r\nMAIL FROM:<j\xc3\xb6rg@b\xc3\xa4r.example> SMTPUTF8\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    -u --log stderr --debug-file /dev/null
  expect_status 0
  local pid
  pid=$(sed -n '1s/^in\.smtpd\[\([0-9]*\)\].*/\1/p' "$ERR")
  expect_file "$ERR" 'in.smtpd[%s]: peer=127.0.0.1 helo=h\xc3\xa9llo\\x09x from=<j\xc3\xb6rg@b\xc3\xa4r.example> rcpts=1 size=2 reply="250 OK"\nin.smtpd[%s]: session peer=127.0.0.1 helo=h\xc3\xa9llo\\x09x messages=1 end=quit\n' \
    "$pid" "$pid"
  debugging_session 'HELO \xe2\x80\xaex"\\y\xc2\x85z\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    --log stderr --debug-file /dev/null
  expect_status 0
  grep -qF 'helo=\xe2\x80\xaex\x22\x5cy\xc2\x85z from=<a@b>' "$ERR"
}

@test "exit 74 comes with one line on stderr: the connection failed" {
  printf 'HELO x\r\nQUIT\r\n' >"$IN"
  status=0
  # stdout (the connection) a pipe whose reader has gone: EPIPE at once.
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c "$CLOSED_PIPE" 1 "$IN_SMTPD" -n \
    -c DebuggingServer --hostname "$HOST" <"$IN" 2>"$ERR" || status=$?
  expect_status 74
  grep -qxE 'in\.smtpd\[[0-9]+\]: connection failed: Broken pipe' "$ERR"
  [ "$(line_count "$ERR")" -eq 1 ]
}

# --- the line that ends every session ---------------------------------------------

@test "every session ends with one log line: peer, HELO name, messages, why (quit; a client gone mid-DATA)" {
  debugging_session 'HELO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n' --log stderr
  [ "$status" -eq 0 ]
  [ "$(grep -c 'in\.smtpd\[[0-9]*\]: session ' "$ERR")" -eq 1 ]
  grep -q 'in\.smtpd\[[0-9]*\]: session peer=127\.0\.0\.1 helo=client\.example messages=1 end=quit$' "$ERR"
  # The client goes away inside DATA: nothing delivered, and the line says so.
  debugging_session 'HELO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nhalf a mess' --log stderr
  [ "$status" -eq 0 ]
  grep -q 'in\.smtpd\[[0-9]*\]: session peer=127\.0\.0\.1 helo=client\.example messages=0 end=reset in=DATA$' "$ERR"
  # Too many errors.
  debugging_session 'HELO c\r\nX\r\nX\r\nX\r\n' --log stderr --max-errors 3
  grep -q 'in\.smtpd\[[0-9]*\]: session peer=127\.0\.0\.1 helo=c messages=0 end=too-many-errors$' "$ERR"
}

@test "a message in.smtpd refuses itself gets a log line: 552 at MAIL (SIZE) and after the message" {
  debugging_session 'EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=100\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@d.example>\r\nDATA\r\n0123456789abcdef\r\n.\r\nQUIT\r\n' \
    --log stderr -s 10
  expect_status 0
  grep -qxE 'in\.smtpd\[[0-9]+\]: message refused: peer=127\.0\.0\.1 from=<a@b\.example> rcpts=0 reply="552 Error: message size exceeds fixed maximum message size"' "$ERR"
  grep -qxE 'in\.smtpd\[[0-9]+\]: message refused: peer=127\.0\.0\.1 from=<a@b\.example> rcpts=2 reply="552 Error: Too much mail data"' "$ERR"
  [ "$(grep -c 'message refused' "$ERR")" -eq 2 ]
}

@test "a PROXY header trickled a byte at a time ends at --session-timeout, without a greeting" {
  # Every byte is progress for the idle timeout (300 s here): only the
  # session's cap can end it.  The writer paces its bytes; nothing is timed.
  status=0
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
header = b"PROXY TCP4 192.0.2.1 192.0.2.2 1025 25\r\n"
for i in range(len(header) - 1):
    if p.poll() is not None:
        break
    try:
        p.stdin.write(header[i:i + 1]); p.stdin.flush()
    except BrokenPipeError:
        break
    time.sleep(0.25)
out, err = p.communicate()
sys.stdout.buffer.write(out)
sys.stderr.buffer.write(err)
sys.exit(p.returncode)
' "$IN_SMTPD" -n -c DebuggingServer --proxy-protocol --session-timeout 2 \
    --command-timeout 300 --log stderr >"$OUT" 2>"$ERR" || status=$?
  [ "$status" -eq 76 ]  # EX_PROTOCOL: no session
  [ ! -s "$OUT" ]
  grep -q 'in\.smtpd\[[0-9]*\]: no PROXY header in time$' "$ERR"
  grep -q 'session peer=127\.0\.0\.1 messages=0 end=timeout$' "$ERR"
}
