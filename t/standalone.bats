#!/usr/bin/env bats
# standalone.bats - the standalone mode: one in.smtpd process listening
# itself (`in.smtpd -n -c DebuggingServer -l HOST:PORT`, -l repeatable,
# IPv6 as [::1]:PORT) or on the sockets systemd passes (Accept=no), serving
# many connections at once: real clients in parallel (Postfix smtp-source,
# curl, Python smtplib), stuck and slow clients, the per-connection limits,
# timeouts and options, PureProxy against real upstreams (Postfix
# smtp-sink, a silent socket), thousands of idle connections beside busy
# ones, the connection limit, SIGTERM and its grace
# period, systemd-socket-activate (and the inetd mode beside it), the
# listen backlog, the file descriptor limit, the conformance harness over
# TCP, and bad --listen values and where their error goes.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/standalone.bats
#
# Every server listens on loopback and is stopped in teardown (clients
# first, then servers); every wait is a bounded poll or a client's bounded
# read.  Clients that must hold a session open are driven by a small
# scripted SMTP client ($CHAT, written in setup_file) that waits for marker
# files, so the test decides when they go on.

load helpers

setup_file() {
  # python3 may be a pyenv shim that costs seconds per start on a busy
  # machine: use the interpreter it runs.
  local real
  real=$("$PYTHON3" -c 'import sys; print(sys.executable)' 2>/dev/null) &&
    [ -x "$real" ] && export PYTHON3=$real
  export CHAT=$BATS_FILE_TMPDIR/chat.py
  # chat.py HOST PORT STEP...: one scripted SMTP client connection.  Steps:
  #   >TEXT      send TEXT + CRLF      ~TEXT   send TEXT as is
  #              (TEXT with Python escapes: \r \n \t \\ \xHH)
  #   <TEXT      read one whole reply; its last line must start with TEXT
  #   eof        the server closes the connection, without another byte
  #   quiet:S    nothing at all (no byte, no close) arrives within S seconds
  #   within:S   the time limit of every following read (default 10 s)
  #   mark:FILE  create FILE (tell the test we got here)
  #   until:FILE wait (at most 60 s) until the test creates FILE
  #   pause:S    sleep S seconds (pacing only, never to synchronise)
  #   flood:N    send N NOOP commands without reading a reply, as many as
  #              the socket takes without blocking
  #   keepalive:S:TEXT  NOOP every 0.25 s (reading each reply) until a
  #              reply starting with TEXT comes; fail after S seconds
  #   rest:FILE  read until the server closes; write the bytes to FILE
  # or the single step "refused": the connection must be refused, or be
  # closed or reset without a byte.  Every reply line read is printed.
  cat >"$CHAT" <<'EOF'
import os, select, socket, sys, time

host, port, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
limit = 10.0


def fail(message):
    sys.stdout.flush()
    sys.stderr.write("chat %s %d: %s\n" % (host, port, message))
    sys.exit(1)


def unescape(text):
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


if steps == ["refused"]:
    try:
        s = socket.create_connection((host, port), timeout=5)
    except OSError as error:
        print("refused: %s" % error)
        sys.exit(0)
    s.settimeout(5)
    try:
        data = s.recv(4096)
    except socket.timeout:
        fail("connected, and for 5 s neither a close nor a byte")
    except OSError as error:
        print("reset: %s" % error)
        sys.exit(0)
    if data:
        fail("expected no service, got %r" % data)
    print("closed without a byte")
    sys.exit(0)

try:
    s = socket.create_connection((host, port), timeout=limit)
except OSError as error:
    fail("cannot connect: %s" % error)
pending = b""


def receive(deadline, what):
    global pending
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        fail("nothing within %g s, waiting for %s (have %r)" % (limit, what, pending))
    s.settimeout(remaining)
    try:
        data = s.recv(65536)
    except socket.timeout:
        fail("nothing within %g s, waiting for %s (have %r)" % (limit, what, pending))
    except ConnectionResetError:
        data = b""
    return data


def read_reply(expected):
    global pending
    deadline = time.monotonic() + limit
    lines = []
    while True:
        while b"\r\n" not in pending:
            data = receive(deadline, repr(expected))
            if not data:
                fail("connection closed, expected %r (have %r)" % (expected, pending))
            pending += data
        line, pending = pending.split(b"\r\n", 1)
        text = line.decode("utf-8", "backslashreplace")
        print(text, flush=True)
        lines.append(text)
        if line[3:4] != b"-":
            return lines


for step in steps:
    if step.startswith(">"):
        s.sendall(unescape(step[1:]) + b"\r\n")
    elif step.startswith("~"):
        s.sendall(unescape(step[1:]))
    elif step.startswith("<"):
        last = read_reply(step[1:])[-1]
        if not last.startswith(step[1:]):
            fail("expected %r, got %r" % (step[1:], last))
    elif step == "eof":
        deadline = time.monotonic() + limit
        if pending:
            fail("expected the connection to close, got %r" % pending)
        data = receive(deadline, "the connection to close")
        if data:
            fail("expected the connection to close, got %r" % data)
    elif step.startswith("quiet:"):
        wait = float(step[6:])
        if pending:
            fail("expected silence, got %r" % pending)
        readable, _, _ = select.select([s], [], [], wait)
        if readable:
            try:
                data = s.recv(65536)
            except OSError as error:
                fail("expected silence for %g s, got %s" % (wait, error))
            fail("expected silence for %g s, got %r" % (wait, data or "a close"))
    elif step.startswith("within:"):
        limit = float(step[7:])
    elif step.startswith("mark:"):
        open(step[5:], "w").close()
    elif step.startswith("until:"):
        deadline = time.monotonic() + 60
        while not os.path.exists(step[6:]):
            if time.monotonic() > deadline:
                fail("%s did not appear within 60 s" % step[6:])
            time.sleep(0.02)
    elif step.startswith("pause:"):
        time.sleep(float(step[6:]))
    elif step.startswith("flood:"):
        data = b"NOOP\r\n" * int(step[6:])
        s.setblocking(False)
        sent = 0
        try:
            while sent < len(data):
                sent += s.send(data[sent:])
        except BlockingIOError:
            pass
        print("flood: %d bytes sent" % sent, flush=True)
    elif step.startswith("keepalive:"):
        seconds, text = step[10:].split(":", 1)
        deadline = time.monotonic() + float(seconds)
        while True:
            if time.monotonic() > deadline:
                fail("no %r within %s s" % (text, seconds))
            s.sendall(b"NOOP\r\n")
            last = read_reply(text)[-1]
            if last.startswith(text):
                break
            if not last.startswith("250"):
                fail("expected 250 or %r, got %r" % (text, last))
            time.sleep(0.25)
    elif step.startswith("rest:"):
        deadline = time.monotonic() + limit
        data = pending
        while True:
            chunk = receive(deadline, "the connection to close")
            if not chunk:
                break
            data += chunk
        with open(step[5:], "wb") as f:
            f.write(data)
    else:
        fail("unknown step %r" % step)
EOF
}

setup() {
  common_setup
  SERVER_OUT=$BATS_TEST_TMPDIR/server.out
  SERVER_ERR=$BATS_TEST_TMPDIR/server.err
  PRINTOUT=$BATS_TEST_TMPDIR/printout
  MARKS=$BATS_TEST_TMPDIR/marks
  mkdir -p "$MARKS"
  GREETING="220 $HOST in.smtpd ESMTP"
  DATA_GO='354 End data with <CR><LF>.<CR><LF>'
}

teardown() {
  # Clients before servers: a server that still has a session waits for
  # its grace period before it exits.
  local reversed=() i
  for ((i = ${#BACKGROUND_PIDS[@]} - 1; i >= 0; i--)); do
    reversed+=("${BACKGROUND_PIDS[i]}")
  done
  BACKGROUND_PIDS=("${reversed[@]}")
  release_fifo
  stop_background
  remove_sink
}

# --- servers and clients ----------------------------------------------------------

# start_split OUT ERR COMMAND [ARGS...]: like start_background, with stdout
# to OUT and stderr to ERR.
start_split() {
  local out=$1 err=$2
  shift 2
  "$@" >"$out" 2>"$err" 3>&- &
  BACKGROUND_PID=$!
  BACKGROUND_PIDS+=("$BACKGROUND_PID")
}

# start_server [ARGS...]: in.smtpd -n --hostname $HOST -l 127.0.0.1:$PORT
# ARGS in the background, on a free $PORT; stdout to $SERVER_OUT, stderr to
# $SERVER_ERR, pid in $SERVER_PID.  Returns once the port listens.
start_server() {
  PORT=$(free_port)
  start_split "$SERVER_OUT" "$SERVER_ERR" \
    "$IN_SMTPD" -n --hostname "$HOST" -l "127.0.0.1:$PORT" "$@"
  SERVER_PID=$BACKGROUND_PID
  wait_for_port "$PORT" 10 || {
    echo "server stdout: $(show "$SERVER_OUT")" >&2
    echo "server stderr: $(show "$SERVER_ERR")" >&2
    return 1
  }
}

# require_ipv6: skip unless ::1 can be bound.
require_ipv6() {
  "$PYTHON3" -c '
import socket
socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
    skip "no IPv6 loopback (::1) here"
}

# free_dual_port: a TCP port free on both 127.0.0.1 and ::1.
free_dual_port() {
  "$PYTHON3" -c '
import socket
for _ in range(100):
    a = socket.socket()
    a.bind(("127.0.0.1", 0))
    port = a.getsockname()[1]
    b = socket.socket(socket.AF_INET6)
    try:
        b.bind(("::1", port))
    except OSError:
        continue
    print(port)
    break
'
}

# chat HOST PORT STEP...: run $CHAT in the foreground; replies to $OUT,
# complaints to $ERR, exit status in $status.
chat() {
  status=0
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" "$CHAT" "$@" >"$OUT" 2>"$ERR" ||
    status=$?
}

# chat_background NAME HOST PORT STEP...: $CHAT in the background, output
# to $BATS_TEST_TMPDIR/NAME.log; its pid in $BACKGROUND_PID.
chat_background() {
  local name=$1
  shift
  start_background "$BATS_TEST_TMPDIR/$name.log" "$PYTHON3" "$CHAT" "$@"
}

# alive PID: the process exists and is not a zombie (without a fork:
# on a loaded machine every fork in a polling loop costs).
alive() {
  local stat
  # (The braces: a redirection that fails is reported before 2>/dev/null.)
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# before SECONDS: true until SECONDS have passed since the call of
# start_clock (a deadline by the clock, not by a count of polls).
start_clock() { CLOCK_START=${EPOCHREALTIME/[.,]/}; }
before() {
  local now=${EPOCHREALTIME/[.,]/}
  ((now - CLOCK_START < ${1%.*} * 1000000))
}

# wait_exit PID [SECONDS]: wait (default 10 s) for a background process to
# end; its exit status in $status.  Fails if it still runs.
wait_exit() {
  local pid=$1
  start_clock
  while alive "$pid" && before "${2:-10}"; do
    sleep 0.05
  done
  if alive "$pid"; then
    echo "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) still runs after ${2:-10} s" >&2
    status=124
    return 1
  fi
  status=0
  wait "$pid" || status=$?
}

# expect_client NAME PID [SECONDS]: the background client NAME (pid PID)
# ends within SECONDS with status 0; else show its log.
expect_client() {
  local name=$1
  if ! wait_exit "$2" "${3:-10}" || [ "$status" -ne 0 ]; then
    echo "client $name: status $status, log: $(show "$BATS_TEST_TMPDIR/$name.log")" >&2
    return 1
  fi
}

# wait_for_file FILE [SECONDS [PID]]: poll until FILE exists; give up
# early when process PID (the client that would create it) has ended.
wait_for_file() {
  start_clock
  while [ ! -e "$1" ] && before "${2:-10}"; do
    if [ -n "${3:-}" ] && ! alive "$3"; then
      break
    fi
    sleep 0.05
  done
  [ -e "$1" ] || {
    echo "$1 did not appear within ${2:-10} s" >&2
    return 1
  }
}

# wait_not_listening PORT [SECONDS]: poll until nothing listens on PORT.
wait_not_listening() {
  start_clock
  while is_listening "$1"; do
    before "${2:-10}" || {
      echo "port $1 still listens after ${2:-10} s" >&2
      return 1
    }
    sleep 0.05
  done
}

# message_file NAME SUBJECT: a small message with that subject in
# $BATS_TEST_TMPDIR/NAME; prints the path.
message_file() {
  local path=$BATS_TEST_TMPDIR/$1
  printf 'Subject: %s\r\nFrom: a@example.com\r\n\r\nHello there\r\n.leading dot\r\n' \
    "$2" >"$path"
  echo "$path"
}

# curl_background NAME HOST PORT FILE: curl sends FILE, in the background
# (log in $BATS_TEST_TMPDIR/NAME.log, pid in $BACKGROUND_PID).
curl_background() {
  local name=$1 host=$2 port=$3 file=$4
  start_background "$BATS_TEST_TMPDIR/$name.log" curl -sS --max-time 20 \
    "smtp://$host:$port" --mail-from a@example.com --mail-rcpt b@example.com -T "$file"
}

# smtplib_command HOST PORT FILE: the Python smtplib command that sends FILE
# (fails unless every recipient was accepted).
SMTPLIB_SEND='
import smtplib, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with smtplib.SMTP(host, port, timeout=20) as client:
    refused = client.sendmail("a@example.com", ["b@example.com"],
                              open(path, "rb").read())
assert refused == {}, refused
'

# smtp_source ARGS...: Postfix smtp-source, bounded; skip if missing.
smtp_source() {
  require_smtp_source
  timeout -k 5 30 "$SMTP_SOURCE" "$@"
}
require_smtp_source() {
  SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
  [ -x "$SMTP_SOURCE" ] || skip "no smtp-source (Debian package postfix)"
}

# printout_summary FILE: one line "KEY|PEER COUNT" per kind of complete
# DebuggingServer printout in FILE, sorted; KEY is the Subject, or
# smtp-source for smtp-source's messages (From: <foo@client.example>).
# A printout inside another, or one without its end, shows as BROKEN.
printout_summary() {
  awk -v head="$PRINT_HEAD" -v tail="$PRINT_TAIL" '
    $0 == head { if (inside) n["BROKEN|nested"]++; inside = 1; key = "?"; peer = "?"; next }
    $0 == tail { if (!inside) n["BROKEN|stray end"]++; else n[key "|" peer]++; inside = 0; next }
    inside && key == "?" && index($0, "b'\''Subject: ") == 1 { key = substr($0, 12, length($0) - 12) }
    inside && $0 == "b'\''From: <foo@client.example>'\''" { key = "smtp-source" }
    inside && index($0, "b'\''X-Peer: ") == 1 { peer = substr($0, 11, length($0) - 11) }
    END {
      if (inside) n["BROKEN|unterminated"]++
      for (k in n) print k, n[k]
    }' "$1" | LC_ALL=C sort
}

# expect_summary FILE LINE...: printout_summary FILE is exactly these lines.
expect_summary() {
  local file=$1
  shift
  printout_summary "$file" >"$BATS_TEST_TMPDIR/summary"
  printf '%s\n' "$@" | LC_ALL=C sort >"$EXP"
  if ! cmp -s "$BATS_TEST_TMPDIR/summary" "$EXP"; then
    echo "printouts expected:" >&2
    cat "$EXP" >&2
    echo "printouts found:" >&2
    cat "$BATS_TEST_TMPDIR/summary" >&2
    return 1
  fi
}

# transaction_steps SUBJECT: $CHAT's steps for a whole message transaction
# (after the greeting and HELO), into the array $TRANSACTION.
transaction_steps() {
  TRANSACTION=('>MAIL FROM:<a@example.com>' '<250 OK' '>RCPT TO:<b@example.com>'
    '<250 OK' '>DATA' '<354 ' "~Subject: $1\\r\\n\\r\\nbody\\r\\n.\\r\\n" '<250 OK')
}

# --- many real clients at once ------------------------------------------------------

@test "smtp-source (20 at once, 200 messages), curl and smtplib in parallel on IPv4 and IPv6 listeners of one process: each printed once, right X-Peer" {
  require_ipv6
  PORT=$(free_dual_port)
  start_split "$SERVER_OUT" "$SERVER_ERR" "$IN_SMTPD" -n -c DebuggingServer \
    --hostname "$HOST" -l "127.0.0.1:$PORT" -l "[::1]:$PORT" --debug-file "$PRINTOUT"
  SERVER_PID=$BACKGROUND_PID
  wait_for_port "$PORT"
  require_smtp_source
  local source pids=() names=() i
  start_background "$BATS_TEST_TMPDIR/source.log" timeout -k 5 30 "$SMTP_SOURCE" \
    -s 20 -m 200 -c -M client.example "127.0.0.1:$PORT"
  source=$BACKGROUND_PID
  for i in 1 2; do
    curl_background "curl4-$i" 127.0.0.1 "$PORT" "$(message_file m4-$i "curl-v4-$i")"
    pids+=("$BACKGROUND_PID") names+=("curl4-$i")
    curl_background "curl6-$i" '[::1]' "$PORT" "$(message_file m6-$i "curl-v6-$i")"
    pids+=("$BACKGROUND_PID") names+=("curl6-$i")
    start_background "$BATS_TEST_TMPDIR/smtplib4-$i.log" "$PYTHON3" -c "$SMTPLIB_SEND" \
      127.0.0.1 "$PORT" "$(message_file s4-$i "smtplib-v4-$i")"
    pids+=("$BACKGROUND_PID") names+=("smtplib4-$i")
    start_background "$BATS_TEST_TMPDIR/smtplib6-$i.log" "$PYTHON3" -c "$SMTPLIB_SEND" \
      ::1 "$PORT" "$(message_file s6-$i "smtplib-v6-$i")"
    pids+=("$BACKGROUND_PID") names+=("smtplib6-$i")
  done
  for i in "${!pids[@]}"; do
    expect_client "${names[i]}" "${pids[i]}" 30
  done
  expect_client smtp-source "$source" 40
  # -c counts completed DATA commands: 200 of them.
  if ! tr '\r' '\n' <"$BATS_TEST_TMPDIR/source.log" | grep -qx '200'; then
    echo "smtp-source did not count 200 messages: $(show "$BATS_TEST_TMPDIR/source.log")" >&2
    return 1
  fi
  # One printout per message, whole (one write each), none twice.
  expect_summary "$PRINTOUT" 'smtp-source|127.0.0.1 200' \
    'curl-v4-1|127.0.0.1 1' 'curl-v4-2|127.0.0.1 1' 'curl-v6-1|::1 1' 'curl-v6-2|::1 1' \
    'smtplib-v4-1|127.0.0.1 1' 'smtplib-v4-2|127.0.0.1 1' \
    'smtplib-v6-1|::1 1' 'smtplib-v6-2|::1 1'
  # Still one process, still serving.
  alive "$SERVER_PID"
  [ "$(pgrep -c -P "$SERVER_PID" || true)" -eq 0 ]
  expect_empty "$SERVER_ERR"
}

@test "without --debug-file the printout goes to stdout (as python -m smtpd -n -c DebuggingServer localhost:8025)" {
  PORT=$(free_port)
  start_split "$SERVER_OUT" "$SERVER_ERR" "$IN_SMTPD" -n -c DebuggingServer \
    --hostname "$HOST" -l "localhost:$PORT"
  wait_for_port "$PORT"
  chat 127.0.0.1 "$PORT" '<220 ' '>HELO client.example' '<250 ' \
    '>MAIL FROM:<a@example.com>' '<250 OK' '>RCPT TO:<b@example.com>' '<250 OK' \
    '>DATA' '<354 ' '~Subject: to stdout\r\n\r\nline one\r\n..dot\r\n.\r\n' '<250 OK' \
    '>QUIT' '<221 Bye' 'eof'
  expect_status 0
  wait_for_text "$SERVER_OUT" "$PRINT_TAIL"
  expect_lines "$SERVER_OUT" "$PRINT_HEAD" "b'Subject: to stdout'" \
    "b'X-Peer: 127.0.0.1'" "b''" "b'line one'" "b'.dot'" "$PRINT_TAIL"
  expect_empty "$SERVER_ERR"
}

# smtplib_reply HOST PORT: Python smtplib sends one message; prints the code
# and text of the reply to its final dot ("250 OK" when it was taken).
SMTPLIB_REPLY='
import smtplib, sys
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20) as client:
    try:
        client.sendmail("a@example.com", ["b@example.com"],
                        b"Subject: printed?\r\n\r\nbody\r\n")
        print("250 OK")
    except smtplib.SMTPDataError as error:
        print(error.smtp_code, error.smtp_error.decode())
'

@test "the printout to stdout, a pipe whose reader has gone (EPIPE): smtplib and curl get 451, each logged; the process serves on" {
  PORT=$(free_port)
  # As `in.smtpd -l ... | head -1` once head has gone, without the race.
  start_split "$SERVER_OUT" "$SERVER_ERR" "$PYTHON3" -c "$CLOSED_PIPE" 1 \
    "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" -l "127.0.0.1:$PORT" \
    --log stderr
  SERVER_PID=$BACKGROUND_PID
  wait_for_port "$PORT" 20
  run timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c "$SMTPLIB_REPLY" 127.0.0.1 "$PORT"
  [ "$output" = "451 Error: the message could not be printed" ]
  printf 'Subject: curl\r\n\r\nbody\r\n' >"$BATS_TEST_TMPDIR/msg"
  run timeout -k 5 "$RUN_LIMIT" curl -sS -v "smtp://127.0.0.1:$PORT" \
    --mail-from a@example.com --mail-rcpt b@example.com -T "$BATS_TEST_TMPDIR/msg"
  [ "$status" -ne 0 ]
  grep -q '^< 451 Error: the message could not be printed' <<<"$output"
  alive "$SERVER_PID"
  [ "$(grep -cE '^in\.smtpd\[[0-9]+\]: cannot write the printout to stdout: Broken pipe$' "$SERVER_ERR")" -eq 2 ]
  [ "$(grep -c 'reply="451 Error: the message could not be printed"$' "$SERVER_ERR")" -eq 2 ]
}

@test "--debug-file /dev/full in the standalone mode: smtplib gets 451" {
  [ -w /dev/full ] || skip "no /dev/full"
  start_server -c DebuggingServer --debug-file /dev/full --log stderr
  run timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c "$SMTPLIB_REPLY" 127.0.0.1 "$PORT"
  [ "$output" = "451 Error: the message could not be printed" ]
  grep -qxE 'in\.smtpd\[[0-9]+\]: cannot write the printout to the debug file: No space left on device' "$SERVER_ERR"
}

# --- stuck and slow clients ------------------------------------------------------------

@test "a RCPT check that waits (a --mailman-check reading a FIFO the test holds) holds up no other session" {
  hold_fifo "$BATS_TEST_TMPDIR/release"
  printf '#!/bin/sh\n: >"%s"\nread answer <"%s"\nexit 0\n' \
    "$MARKS/asked" "$BATS_TEST_TMPDIR/release" >"$BATS_TEST_TMPDIR/check"
  chmod +x "$BATS_TEST_TMPDIR/check"
  start_server -c MailmanProxy --mailman-check "$BATS_TEST_TMPDIR/check {list}" 127.0.0.1:9
  chat_background waiting 127.0.0.1 "$PORT" "<220" ">HELO one" "<250" \
    ">MAIL FROM:<a@b.example>" "<250" ">RCPT TO:<list@lists.example>" "within:60" "<250" \
    ">QUIT" "<221"
  local waiting=$BACKGROUND_PID
  wait_for_file "$MARKS/asked" 10 "$waiting"
  # While that check waits, another client of the same process is served.
  chat 127.0.0.1 "$PORT" "<220" ">EHLO two" "<250" ">NOOP" "<250" ">QUIT" "<221"
  [ "$status" -eq 0 ] || { cat "$ERR" >&2; false; }
  # The first is still waiting for its answer: it cannot have come.
  alive "$waiting"
  ! grep -q '^221' "$BATS_TEST_TMPDIR/waiting.log"
  # Released: the list exists, so the recipient is accepted.
  echo go >&"$FIFO_FD"
  wait "$waiting"
  release_fifo
  grep -q '^221' "$BATS_TEST_TMPDIR/waiting.log"
}

@test "stuck clients (silent, after HELO, inside DATA, flooding without reading) do not delay 10 other sessions" {
  start_server -c DebuggingServer --debug-file "$PRINTOUT"
  local silent helo data flood
  chat_background silent 127.0.0.1 "$PORT" '<220 ' "mark:$MARKS/silent" "until:$MARKS/go" \
    '>QUIT' '<221 Bye' 'eof'
  silent=$BACKGROUND_PID
  chat_background helo 127.0.0.1 "$PORT" '<220 ' '>HELO stuck.example' '<250 ' \
    "mark:$MARKS/helo" "until:$MARKS/go" '>QUIT' '<221 Bye' 'eof'
  helo=$BACKGROUND_PID
  chat_background data 127.0.0.1 "$PORT" '<220 ' '>HELO stuck.example' '<250 ' \
    '>MAIL FROM:<a@example.com>' '<250 OK' '>RCPT TO:<b@example.com>' '<250 OK' \
    '>DATA' '<354 ' '~Subject: stalled\r\n\r\nhalf a li' "mark:$MARKS/data" \
    "until:$MARKS/go" '~ne\r\n.\r\n' '<250 OK' '>QUIT' '<221 Bye' 'eof'
  data=$BACKGROUND_PID
  chat_background flood 127.0.0.1 "$PORT" '<220 ' '>HELO flood.example' '<250 ' \
    'flood:300000' "mark:$MARKS/flood" "until:$MARKS/go"
  flood=$BACKGROUND_PID
  local name
  for name in silent helo data flood; do
    wait_for_file "$MARKS/$name" 10 "${!name}"
  done
  # While they all stall, 10 sessions, 5 at a time, complete: the stuck
  # ones are held until "go", so a loop they blocked would never serve
  # them, and smtp_source's guard would end it.
  smtp_source -s 5 -m 10 -M client.example "127.0.0.1:$PORT" \
    >"$BATS_TEST_TMPDIR/source.log" 2>&1 || {
    echo "smtp-source failed: $(show "$BATS_TEST_TMPDIR/source.log")" >&2
    return 1
  }
  expect_summary "$PRINTOUT" 'smtp-source|127.0.0.1 10'
  # The stuck ones were only waiting: they go on where they stopped.
  for name in silent helo data flood; do
    alive "${!name}" || {
      echo "stuck client $name gave up: $(show "$BATS_TEST_TMPDIR/$name.log")" >&2
      return 1
    }
  done
  touch "$MARKS/go"
  expect_client silent "$silent"
  expect_client helo "$helo"
  expect_client data "$data"
  expect_client flood "$flood"
  wait_for_text "$PRINTOUT" "b'half a line'"
  expect_summary "$PRINTOUT" 'smtp-source|127.0.0.1 10' 'stalled|127.0.0.1 1'
}

@test "--command-timeout 1 and --data-timeout 1 end the stuck sessions with 421 <host> Error: timeout exceeded, the others go on" {
  start_server -c DebuggingServer --debug-file "$PRINTOUT" --command-timeout 1 \
    --data-timeout 1
  local helo data
  chat_background helo 127.0.0.1 "$PORT" '<220 ' '>HELO stuck.example' '<250 ' \
    'within:8' "<421 $HOST Error: timeout exceeded" 'eof'
  helo=$BACKGROUND_PID
  chat_background data 127.0.0.1 "$PORT" '<220 ' '>HELO stuck.example' '<250 ' \
    '>MAIL FROM:<a@example.com>' '<250 OK' '>RCPT TO:<b@example.com>' '<250 OK' \
    '>DATA' '<354 ' '~Subject: stalled\r\n\r\nhalf a li' \
    'within:8' "<421 $HOST Error: timeout exceeded" 'eof'
  data=$BACKGROUND_PID
  # Meanwhile, and after, the others are served.
  smtp_source -s 5 -m 10 -M client.example "127.0.0.1:$PORT" \
    >"$BATS_TEST_TMPDIR/source.log" 2>&1
  expect_client helo "$helo" 10
  expect_client data "$data" 10
  grep -qx "421 $HOST Error: timeout exceeded" "$BATS_TEST_TMPDIR/helo.log"
  grep -qx "421 $HOST Error: timeout exceeded" "$BATS_TEST_TMPDIR/data.log"
  smtp_source -m 1 -M client.example "127.0.0.1:$PORT"
  # The half message was not delivered.
  expect_summary "$PRINTOUT" 'smtp-source|127.0.0.1 11'
}

@test "--session-timeout 2 ends a busy session with 421, though it is never idle" {
  start_server -c DebuggingServer --session-timeout 2 --command-timeout 60
  chat 127.0.0.1 "$PORT" '<220 ' '>HELO busy.example' '<250 ' \
    "keepalive:10:421 $HOST Error: timeout exceeded" 'eof'
  expect_status 0
}

@test "per-connection options: --proxy-protocol gives each connection its own peer, --max-recipients holds" {
  start_server -c DebuggingServer --debug-file "$PRINTOUT" --proxy-protocol \
    --max-recipients 2
  chat 127.0.0.1 "$PORT" '~PROXY TCP4 192.0.2.1 198.51.100.2 12345 25\r\n' '<220 ' \
    '>HELO proxied.example' '<250 ' '>MAIL FROM:<a@example.com>' '<250 OK' \
    '>RCPT TO:<b1@example.com>' '<250 OK' '>RCPT TO:<b2@example.com>' '<250 OK' \
    '>RCPT TO:<b3@example.com>' '<452 Error: too many recipients' \
    '>DATA' '<354 ' '~Subject: proxied\r\n\r\nbody\r\n.\r\n' '<250 OK' '>QUIT' \
    '<221 Bye' 'eof'
  expect_status 0
  chat 127.0.0.1 "$PORT" '~PROXY TCP6 2001:db8::7 2001:db8::1 12345 25\r\n' '<220 ' \
    '>HELO proxied.example' '<250 ' '>MAIL FROM:<a@example.com>' '<250 OK' \
    '>RCPT TO:<b@example.com>' '<250 OK' '>DATA' '<354 ' \
    '~Subject: proxied6\r\n\r\nbody\r\n.\r\n' '<250 OK' '>QUIT' '<221 Bye' 'eof'
  expect_status 0
  # Without the header: no greeting, the connection is closed.
  chat 127.0.0.1 "$PORT" '~HELO direct.example\r\n' 'eof'
  expect_status 0
  wait_for_text "$PRINTOUT" "b'Subject: proxied6'"
  expect_summary "$PRINTOUT" 'proxied|192.0.2.1 1' 'proxied6|2001:db8::7 1'
}

@test "-d traces the sessions in the standalone mode too (as in the inetd mode)" {
  start_server -c DebuggingServer -d --debug-file "$PRINTOUT"
  chat 127.0.0.1 "$PORT" '<220 ' '>HELO client.example' '<250 ' '>QUIT' '<221 Bye' 'eof'
  expect_status 0
  # The inetd mode writes "< b'...'" for what it read, "> b'...'" for
  # what it sent, before the client has the next reply.
  local line
  for line in "< b'HELO client.example\\r\\n" "> b'$GREETING\\r\\n"; do
    grep -qF -- "$line" "$PRINTOUT" || {
      echo "no trace line $line in the debug file: $(show "$PRINTOUT")" >&2
      return 1
    }
  done
}

# --- PureProxy: real upstreams ---------------------------------------------------------

@test "PureProxy to smtp-sink: 30 messages from 10 clients at once, each delivered once with X-Peer" {
  start_sink
  start_server -c PureProxy --relay-connect-timeout 5 --relay-timeout 10 \
    "127.0.0.1:$SINK_PORT"
  smtp_source -s 10 -m 30 -c -M client.example -t rcpt@example.net "127.0.0.1:$PORT" \
    >"$BATS_TEST_TMPDIR/source.log" 2>&1 || {
    echo "smtp-source failed: $(show "$BATS_TEST_TMPDIR/source.log")" >&2
    return 1
  }
  # smtp-sink closes each dump before it answers the final dot.
  local n
  n=$(sink_dumps)
  if [ "$n" -ne 30 ]; then
    echo "smtp-sink got $n messages, expected 30" >&2
    return 1
  fi
  [ "$(grep -l '^X-Peer: 127\.0\.0\.1$' "$SINK_DIR"/* | wc -l)" -eq 30 ]
  [ "$(grep -c '^X-Peer: ' "$SINK_DIR"/* | grep -vc ':1$' || true)" -eq 0 ]
  # Two messages pipelined in one write: each relayed once, the replies in
  # order (the second waits for the first one's delivery).
  chat 127.0.0.1 "$PORT" '~HELO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: first\r\n\r\none\r\n.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.net>\r\nDATA\r\nSubject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n' \
    "rest:$BATS_TEST_TMPDIR/pipelined"
  expect_status 0
  # PureProxy passes smtp-sink's own replies on.
  expect_file "$BATS_TEST_TMPDIR/pipelined" '%s\r\n' "$GREETING" "250 $HOST" \
    '250 2.1.0 Ok' '250 2.1.5 Ok' "$DATA_GO" '250 2.0.0 Ok' '250 2.1.0 Ok' \
    '250 2.1.5 Ok' "$DATA_GO" '250 2.0.0 Ok' '221 Bye'
  [ "$(sink_dumps)" -eq 32 ]
  [ "$(grep -l '^Subject: first$' "$SINK_DIR"/* | wc -l)" -eq 1 ]
  [ "$(grep -l '^Subject: second$' "$SINK_DIR"/* | wc -l)" -eq 1 ]
}

# same_as_inetd UPSTREAM-PORT SESSION [ARGS...]: SESSION (printf %b text,
# sent in one write) to the standalone server at $PORT, and the same
# through a pipe into the inetd mode with ARGS, relaying to UPSTREAM-PORT:
# the replies are the same bytes.
same_as_inetd() {
  local upstream=$1 session=$2
  shift 2
  smtpd_session "$session" --hostname "$HOST" "$@" "127.0.0.1:$upstream"
  expect_status 0
  cp "$OUT" "$BATS_TEST_TMPDIR/inetd.out"
  chat 127.0.0.1 "$PORT" "~$(printf '%b' "$session" | "$PYTHON3" -c '
import sys
print(sys.stdin.buffer.read().decode("latin-1").encode("unicode_escape").decode(), end="")')" \
    "rest:$BATS_TEST_TMPDIR/standalone.out"
  expect_status 0
  same_bytes "$BATS_TEST_TMPDIR/standalone.out" "$BATS_TEST_TMPDIR/inetd.out"
}

@test "relay faults get the inetd mode's replies: upstream 450 at RCPT, upstream refused (451 relay failed)" {
  local session='HELO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n'
  local relay=(-c PureProxy --relay-connect-timeout 5 --relay-timeout 10)
  start_sink -r RCPT
  start_server "${relay[@]}" "127.0.0.1:$SINK_PORT"
  same_as_inetd "$SINK_PORT" "$session" "${relay[@]}"
  grep -qx $'450 4.3.0 Error: command failed\r' "$BATS_TEST_TMPDIR/standalone.out"
  [ "$(sink_dumps)" -eq 0 ]
  # Nobody listens upstream.
  local closed
  closed=$(free_port)
  start_server "${relay[@]}" "127.0.0.1:$closed"
  same_as_inetd "$closed" "$session" "${relay[@]}"
  grep -qx $'451 Error: relay failed, try again later\r' \
    "$BATS_TEST_TMPDIR/standalone.out"
}

@test "a silent upstream holds only its own session: meanwhile another client gets EHLO and NOOP answered at once, then 451 after --relay-timeout" {
  "$PYTHON3" -c '
import socket, sys
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d" % listener.getsockname()[1])
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(listener.accept()[0])
' "$BATS_TEST_TMPDIR/silent.port" >"$BATS_TEST_TMPDIR/silent.log" 2>&1 3>&- &
  BACKGROUND_PIDS+=("$!")
  wait_for_file "$BATS_TEST_TMPDIR/silent.port" 10
  local upstream waiting
  upstream=$(cat "$BATS_TEST_TMPDIR/silent.port")
  start_server -c PureProxy --relay-timeout 8 --relay-connect-timeout 8 \
    "127.0.0.1:$upstream"
  # MAIL opens the upstream transaction: the greeting never comes.
  chat_background waiting 127.0.0.1 "$PORT" '<220 ' '>HELO client.example' '<250 ' \
    '>MAIL FROM:<a@example.com>' "mark:$MARKS/sent" \
    'within:20' '<451 Error: relay failed, try again later' '>QUIT' '<221 Bye' 'eof'
  waiting=$BACKGROUND_PID
  wait_for_file "$MARKS/sent" 10 "$waiting"
  # This session ends while the other one still waits for the upstream
  # (8 s): had the loop waited with it, this one would have waited too.
  chat 127.0.0.1 "$PORT" 'within:5' '<220 ' '>EHLO other.example' '<250 ' '>NOOP' \
    '<250 OK' '>RSET' '<250 OK' '>NOOP' '<250 OK' '>QUIT' '<221 Bye' 'eof'
  if [ "$status" -ne 0 ]; then
    echo "the second session was held up: $(cat "$ERR")" >&2
    return 1
  fi
  alive "$waiting" || {
    echo "the relayed message was answered before the second session ended: $(show "$BATS_TEST_TMPDIR/waiting.log")" >&2
    return 1
  }
  expect_client waiting "$waiting" 20
}

# --- the connection limit ----------------------------------------------------------------

@test "--max-connections 2: a third connection gets no greeting until one of the two ends, then it is served" {
  start_server -c DebuggingServer --max-connections 2
  local one two three
  chat_background one 127.0.0.1 "$PORT" '<220 ' '>EHLO one.example' '<250 ' \
    "mark:$MARKS/one" "until:$MARKS/release-one" '>QUIT' '<221 Bye' 'eof'
  one=$BACKGROUND_PID
  chat_background two 127.0.0.1 "$PORT" '<220 ' '>EHLO two.example' '<250 ' \
    "mark:$MARKS/two" "until:$MARKS/release-two" '>QUIT' '<221 Bye' 'eof'
  two=$BACKGROUND_PID
  wait_for_file "$MARKS/one" 10 "$one"
  wait_for_file "$MARKS/two" 10 "$two"
  chat_background three 127.0.0.1 "$PORT" 'quiet:1' "mark:$MARKS/three-waited" \
    'within:10' '<220 ' '>EHLO three.example' '<250 ' '>QUIT' '<221 Bye' 'eof'
  three=$BACKGROUND_PID
  wait_for_file "$MARKS/three-waited" 15 "$three" || {
    echo "third client: $(show "$BATS_TEST_TMPDIR/three.log")" >&2
    return 1
  }
  touch "$MARKS/release-one"
  expect_client one "$one"
  expect_client three "$three"
  alive "$two"
  touch "$MARKS/release-two"
  expect_client two "$two"
}

# --- idle connections at scale ---------------------------------------------------------

@test "3000 idle connections: 20 smtp-source clients (200 messages) and a scripted client are served beside them; each idle one gets 421 at --command-timeout" {
  # One descriptor per connection on each side, and the server's own.
  local idle=3000
  ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null ||
    skip "cannot raise the descriptor limit to 4096 (hard limit $(ulimit -Hn))"
  require_smtp_source
  start_server -c DebuggingServer --debug-file "$PRINTOUT" --log stderr \
    --max-connections 4000 --command-timeout 20
  # The idle clients: connect, read the greeting, say nothing.  Once all are
  # greeted it marks open; once the test marks served it reads on, until
  # every connection has had its 421 and been closed.
  start_background "$BATS_TEST_TMPDIR/idle.log" "$PYTHON3" -c '
import os, selectors, socket, sys, time
port, count, marks, host = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
expected = ("421 %s Error: timeout exceeded\r\n" % host).encode()
selector = selectors.DefaultSelector()
received, ended = {}, set()
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setblocking(False)
    received[s] = b""
    selector.register(s, selectors.EVENT_READ)
def read_until(done, seconds, what):
    deadline = time.monotonic() + seconds
    while not done():
        left = deadline - time.monotonic()
        if left <= 0:
            sys.exit("%s: not within %d s" % (what, seconds))
        for key, _ in selector.select(left):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                data = b""
            if data:
                received[s] += data
            else:
                selector.unregister(s)
                ended.add(s)
greeted = lambda: all(b"\r\n" in r or s in ended for s, r in received.items())
read_until(greeted, 60, "the greetings")
print("greeted: %d of %d" % (sum(r.startswith(b"220 ") for r in received.values()), count))
open(marks + "/open", "w").close()
deadline = time.monotonic() + 120
while not os.path.exists(marks + "/served") and time.monotonic() < deadline:
    time.sleep(0.05)
# For the log only: on a very busy machine some may have timed out already.
print("closed before the others were done: %d" % len(ended))
read_until(lambda: len(ended) == count, 90, "the 421 replies and closes")
good = sum(r.startswith(b"220 ") and r.endswith(b"\r\n" + expected) and r.count(b"\r\n") == 2
           for r in received.values())
print("greeting, then 421 timeout, then closed: %d of %d" % (good, count))
for r in received.values():
    if r.count(b"\r\n") != 2 or not r.endswith(expected):
        print("unexpected: %r" % r)
        break
sys.exit(0 if good == count else 1)
' "$PORT" "$idle" "$MARKS" "$HOST"
  local holder=$BACKGROUND_PID
  wait_for_file "$MARKS/open" 90 "$holder" || {
    echo "idle clients: $(show "$BATS_TEST_TMPDIR/idle.log")" >&2
    return 1
  }
  smtp_source -s 20 -m 200 -M client.example "127.0.0.1:$PORT" \
    >"$BATS_TEST_TMPDIR/source.log" 2>&1
  transaction_steps 'beside the idle'
  chat 127.0.0.1 "$PORT" '<220 ' '>EHLO busy.example' '<250 ' "${TRANSACTION[@]}" \
    '>QUIT' '<221 Bye' 'eof'
  [ "$status" -eq 0 ] || {
    cat "$OUT" "$ERR" >&2
    return 1
  }
  touch "$MARKS/served"
  expect_client idle "$holder" 120
  cat "$BATS_TEST_TMPDIR/idle.log"
  grep -qx "greeting, then 421 timeout, then closed: $idle of $idle" \
    "$BATS_TEST_TMPDIR/idle.log"
  expect_summary "$PRINTOUT" 'smtp-source|127.0.0.1 200' 'beside the idle|127.0.0.1 1'
  # The server's own account: each idle session ended by the timeout,
  # with no message.
  [ "$(grep -c ' messages=0 end=timeout$' "$SERVER_ERR")" -eq "$idle" ]
  [ "$(grep -c ' end=timeout' "$SERVER_ERR")" -eq "$idle" ]
  alive "$SERVER_PID"
}

# --- SIGTERM ------------------------------------------------------------------------------

@test "SIGTERM: no new connections, the open session still completes its message within the grace, then exit 0" {
  start_server -c DebuggingServer --debug-file "$PRINTOUT" --shutdown-grace 20
  local client
  transaction_steps 'after TERM'
  chat_background open 127.0.0.1 "$PORT" '<220 ' '>EHLO client.example' '<250 ' \
    "mark:$MARKS/open" "until:$MARKS/go" "${TRANSACTION[@]}" \
    '>QUIT' '<221 Bye' 'eof'
  client=$BACKGROUND_PID
  wait_for_file "$MARKS/open" 10 "$client"
  kill -TERM "$SERVER_PID"
  wait_not_listening "$PORT" 5
  chat 127.0.0.1 "$PORT" refused
  if [ "$status" -ne 0 ]; then
    echo "a new connection after SIGTERM: $(cat "$OUT" "$ERR")" >&2
    return 1
  fi
  alive "$SERVER_PID"
  touch "$MARKS/go"
  expect_client open "$client"
  wait_exit "$SERVER_PID" 10
  expect_status 0
  expect_summary "$PRINTOUT" 'after TERM|127.0.0.1 1'
}

@test "SIGTERM with --shutdown-grace 1: an idle session gets 421 <host> Error: shutting down; exit 0" {
  start_server -c DebuggingServer --shutdown-grace 1
  local client
  chat_background idle 127.0.0.1 "$PORT" '<220 ' '>EHLO client.example' '<250 ' \
    "mark:$MARKS/idle" 'within:10' "<421 $HOST Error: shutting down" 'eof'
  client=$BACKGROUND_PID
  wait_for_file "$MARKS/idle" 10 "$client"
  kill -TERM "$SERVER_PID"
  expect_client idle "$client" 10
  grep -qx "421 $HOST Error: shutting down" "$BATS_TEST_TMPDIR/idle.log"
  wait_exit "$SERVER_PID" 5
  expect_status 0
}

@test "SIGTERM while a relay is under way: never mid-delivery: the client gets the upstream's 250 after the grace, then 421; exit 0" {
  # smtp-sink answers the final dot after 2 s; the grace is 1 s.
  start_sink -W .:2
  start_server -c PureProxy --shutdown-grace 1 --relay-connect-timeout 5 \
    --relay-timeout 10 "127.0.0.1:$SINK_PORT"
  local client
  # smtp-sink's own replies, passed on.
  TRANSACTION=('>MAIL FROM:<a@example.com>' '<250 2.1.0 Ok' '>RCPT TO:<b@example.com>'
    '<250 2.1.5 Ok' '>DATA' '<354 ' '~Subject: relayed at shutdown\r\n\r\nbody\r\n.\r\n')
  chat_background relaying 127.0.0.1 "$PORT" '<220 ' '>HELO client.example' '<250 ' \
    "${TRANSACTION[@]:0:7}" "mark:$MARKS/sent" 'within:10' '<250 ' \
    "<421 $HOST Error: shutting down" 'eof'
  client=$BACKGROUND_PID
  wait_for_file "$MARKS/sent" 10 "$client"
  kill -TERM "$SERVER_PID"
  expect_client relaying "$client" 15
  wait_exit "$SERVER_PID" 5
  expect_status 0
  [ "$(sink_dumps)" -eq 1 ]
  grep -q '^Subject: relayed at shutdown$' "$SINK_DIR"/*
}

@test "SIGTERM with --shutdown-grace 1: a connection still waiting for its PROXY header does not keep the process alive" {
  start_server -c DebuggingServer --proxy-protocol --shutdown-grace 1
  local client
  chat_background header 127.0.0.1 "$PORT" "mark:$MARKS/connected" 'within:20' 'eof'
  client=$BACKGROUND_PID
  wait_for_file "$MARKS/connected" 10 "$client"
  kill -TERM "$SERVER_PID"
  # The client waits 20 s for its end: a process held by it would still
  # run when this guard is up.
  if ! wait_exit "$SERVER_PID" 10; then
    echo "in.smtpd still runs 10 s after SIGTERM (grace 1 s), held by a connection without its PROXY header" >&2
    return 1
  fi
  expect_status 0
  expect_client header "$client" 5
}

@test "Ctrl-C (SIGINT): an idle session gets 421 at once, stderr says what it waits for; a second Ctrl-C ends the rest with 421" {
  start_server -c DebuggingServer --shutdown-grace 60
  local idle busy
  chat_background idle 127.0.0.1 "$PORT" '<220 ' '>EHLO client.example' '<250 ' \
    "mark:$MARKS/idle" 'within:20' "<421 $HOST Error: shutting down" 'eof'
  idle=$BACKGROUND_PID
  chat_background busy 127.0.0.1 "$PORT" '<220 ' '>HELO client.example' '<250 ' \
    '>MAIL FROM:<a@example.com>' '<250 OK' "mark:$MARKS/busy" 'within:40' \
    "<421 $HOST Error: shutting down" 'eof'
  busy=$BACKGROUND_PID
  wait_for_file "$MARKS/idle" 10 "$idle"
  wait_for_file "$MARKS/busy" 10 "$busy"
  kill -INT "$SERVER_PID"
  # Well within the 60 s grace.
  expect_client idle "$idle" 20
  wait_for_text "$SERVER_ERR" ']: stopping: waiting up to 60 s for 1 session to end; a second signal (Ctrl-C) ends them at once with 421'
  alive "$busy"
  alive "$SERVER_PID"
  kill -INT "$SERVER_PID"
  expect_client busy "$busy" 20
  wait_exit "$SERVER_PID" 10
  expect_status 0
  [ "$(line_count "$SERVER_ERR")" -eq 1 ]
}

@test "SIGTERM without sessions: the process exits 0 at once" {
  start_server -c DebuggingServer
  kill -TERM "$SERVER_PID"
  wait_exit "$SERVER_PID" 5
  expect_status 0
  expect_empty "$SERVER_ERR"
}

# --- systemd's sockets ------------------------------------------------------------------------

@test "systemd-socket-activate (Accept=no): one in.smtpd process serves every session on fd 3" {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  PORT=$(free_port)
  # It passes the program no environment but what -E names: in.smtpd hands
  # the listening socket over to $IN_SMTPD_FULL.
  start_split "$SERVER_OUT" "$SERVER_ERR" systemd-socket-activate -E IN_SMTPD_FULL \
    -l "127.0.0.1:$PORT" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" --debug-file "$PRINTOUT" \
    --log stderr
  SERVER_PID=$BACKGROUND_PID
  wait_for_port "$PORT"
  local pids=() i
  for i in 1 2 3 4 5; do
    start_background "$BATS_TEST_TMPDIR/smtplib-$i.log" "$PYTHON3" -c "$SMTPLIB_SEND" \
      127.0.0.1 "$PORT" "$(message_file m$i "activated-$i")"
    pids+=("$BACKGROUND_PID")
  done
  for i in "${!pids[@]}"; do
    expect_client "smtplib-$((i + 1))" "${pids[i]}" 20
  done
  transaction_steps activated-6
  chat 127.0.0.1 "$PORT" '<220 ' '>HELO client.example' '<250 ' \
    "${TRANSACTION[@]}" '>QUIT' '<221 Bye' 'eof'
  expect_status 0
  expect_summary "$PRINTOUT" 'activated-1|127.0.0.1 1' 'activated-2|127.0.0.1 1' \
    'activated-3|127.0.0.1 1' 'activated-4|127.0.0.1 1' 'activated-5|127.0.0.1 1' \
    'activated-6|127.0.0.1 1'
  # systemd-socket-activate execs the program in its own place: every
  # transaction was logged by that one process, which has no children.
  wait_for_text "$SERVER_ERR" 'Execing'
  local logged
  logged=$(sed -n 's/^in\.smtpd\[\([0-9]*\)\]: peer=.*/\1/p' "$SERVER_ERR" | sort | uniq -c)
  if [ "$(echo "$logged" | awk '{ print $1 " " $2 }')" != "6 $SERVER_PID" ]; then
    echo "transactions logged by (count pid): $logged; expected 6 by $SERVER_PID" >&2
    echo "stderr: $(show "$SERVER_ERR")" >&2
    return 1
  fi
  alive "$SERVER_PID"
  [ "$(pgrep -c -P "$SERVER_PID" || true)" -eq 0 ]
}

@test "systemd-socket-activate --inetd -a still starts one in.smtpd per connection (the inetd mode, unchanged)" {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  PORT=$(free_port)
  start_split "$SERVER_OUT" "$SERVER_ERR" systemd-socket-activate --inetd -a \
    -l "127.0.0.1:$PORT" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" \
    --debug-file "$PRINTOUT" --log stderr
  SERVER_PID=$BACKGROUND_PID
  wait_for_port "$PORT"
  local i
  for i in 1 2; do
    transaction_steps "per-connection-$i"
    chat 127.0.0.1 "$PORT" "<$GREETING" '>HELO client.example' "<250 $HOST" \
      "${TRANSACTION[@]}" '>QUIT' '<221 Bye' 'eof'
    expect_status 0
  done
  # In this mode, systemd-socket-activate sets no REMOTE_ADDR: the peer is
  # the socket's (getpeername on stdin).
  expect_summary "$PRINTOUT" 'per-connection-1|127.0.0.1 1' 'per-connection-2|127.0.0.1 1'
  wait_for_text "$SERVER_ERR" 'reply="250 OK"'
  local pids
  pids=$(sed -n 's/^in\.smtpd\[\([0-9]*\)\]: peer=.*/\1/p' "$SERVER_ERR" | sort -u)
  if [ "$(echo "$pids" | grep -c .)" -ne 2 ] || echo "$pids" | grep -qx "$SERVER_PID"; then
    echo "expected two sessions logged by two child processes, got pids '$pids'" >&2
    return 1
  fi
}

@test "a LISTEN_FDS socket that is not listening (Accept=yes style) is not taken for a listener: the inetd mode serves it" {
  # LISTEN_FDS with a connected socket on fd 3, and that same connection
  # on stdin and stdout: what systemd passes with Accept=yes.
  PORT=$(free_port)
  "$PYTHON3" -c '
import os, socket, subprocess, sys
listener = socket.socket()
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(1)
client = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
conn, _ = listener.accept()
os.dup2(conn.fileno(), 3, inheritable=True)
child = subprocess.Popen(["/bin/sh", "-c", "export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$@\"",
                          "sh"] + sys.argv[2:], stdin=conn, stdout=conn, pass_fds=(3,))
conn.close()
os.close(3)
client.settimeout(10)
client.sendall(b"HELO client.example\r\nQUIT\r\n")
data = b"".join(iter(lambda: client.recv(4096), b""))  # to the close
sys.stdout.write(data.decode())
sys.exit(child.wait(timeout=10))
' "$PORT" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" >"$OUT" 2>"$ERR" ||
    status=$?
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" '221 Bye'
}

# --- running out of file descriptors ---------------------------------------------------------

@test "at the file descriptor limit the process does not spin, and serves the waiting clients as others leave" {
  # The sanitizers' run-time opens pipes of its own to check memory, and at
  # a limit of 16 descriptors it reports false errors (an "invalid vptr").
  [ "${SANITIZED_BUILD:-no}" = yes ] && skip "needs descriptors the sanitizer run-time takes"
  # RLIMIT_NOFILE 16: accept(2) fails with EMFILE while clients wait in
  # the backlog; polling the listener again at once would burn a CPU.
  PORT=$(free_port)
  start_split "$SERVER_OUT" "$SERVER_ERR" bash -c 'ulimit -n 16 && exec "$@"' bash \
    "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" -l "127.0.0.1:$PORT" \
    --max-connections 100
  SERVER_PID=$BACKGROUND_PID
  wait_for_port "$PORT"
  status=0
  timeout -k 5 30 "$PYTHON3" -c '
import os, selectors, socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
ticks = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])
clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
def greeted(group, seconds):
    # The sockets of group greeted within seconds (once one is, only
    # 0.5 s more for the others).
    got, deadline = [], time.monotonic() + seconds
    selector = selectors.DefaultSelector()
    for s in group:
        selector.register(s, selectors.EVENT_READ)
    while len(got) < len(group) and time.monotonic() < deadline:
        for key, _ in selector.select(max(deadline - time.monotonic(), 0)):
            selector.unregister(key.fileobj)
            try:
                if key.fileobj.recv(4096).startswith(b"220 "):
                    got.append(key.fileobj)
            except OSError:
                pass
            deadline = min(deadline, time.monotonic() + 0.5)
    return got
done = greeted(clients, 5)
before = cpu()
time.sleep(2)
used = (cpu() - before) / ticks
print("greeted at first: %d of 20; CPU used in 2 s while the others wait: %.2f s"
      % (len(done), used))
waiting = [s for s in clients if s not in done]
while waiting and done:
    for s in done:
        s.close()
    left = len(done)
    done = greeted(waiting, 5)
    waiting = [s for s in waiting if s not in done]
    print("%d left, then %d more greeted" % (left, len(done)))
sys.exit(0 if used < 0.2 and not waiting else 1)
' "$PORT" "$SERVER_PID" >"$OUT" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$OUT" >&2
    return 1
  fi
}

# --- the listen backlog -------------------------------------------------------------------------

@test "the listen backlog: 20 clients connecting while the process is frozen all connect at once and are then served" {
  # Python's smtpd listened with a backlog of 5: of 20 clients, the ones
  # past the 6th stay in SYN retries for seconds.
  start_server -c DebuggingServer
  kill -STOP "$SERVER_PID"
  "$PYTHON3" -c '
import selectors, socket, sys, time
port, n = int(sys.argv[1]), 20
socks = []
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    socks.append(s)
selector = selectors.DefaultSelector()
for s in socks:
    selector.register(s, selectors.EVENT_WRITE)
deadline, connected = time.monotonic() + 0.9, 0
while connected < n and time.monotonic() < deadline:
    for key, _ in selector.select(max(deadline - time.monotonic(), 0)):
        selector.unregister(key.fileobj)
        if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            connected += 1
print("connected: %d of %d" % (connected, n), flush=True)
open(sys.argv[2], "w").close()
greeted = 0
for s in socks:
    s.setblocking(True)
    s.settimeout(10)
    try:
        if s.recv(4096).startswith(b"220 "):
            greeted += 1
    except OSError as error:
        print("no greeting: %s" % error)
print("greeted: %d of %d" % (greeted, n), flush=True)
sys.exit(0 if connected == n and greeted == n else 1)
' "$PORT" "$MARKS/connected" >"$OUT" 2>&1 3>&- &
  local burst=$!
  BACKGROUND_PIDS+=("$burst")
  wait_for_file "$MARKS/connected" 10 "$burst" || true
  kill -CONT "$SERVER_PID"
  wait_exit "$burst" 20 || true
  if [ "$status" -ne 0 ]; then
    cat "$OUT" >&2
    return 1
  fi
}

# --- the conformance harness over TCP --------------------------------------------------------------

# conform SERVER-OPTIONS [HARNESS-ARGS...]: smtp-conform --tcp against the
# server at $PORT, the deliberate deviations skipped; passes only if at
# least one case ran and none failed.
conform() {
  local options=$1 harness=$SHARED_DIR/conformance/smtp-conform skips=()
  shift
  [ -f "$TOP_SRCDIR/t/conformance-deviations" ] &&
    skips=(--skip-file "$TOP_SRCDIR/t/conformance-deviations")
  status=0
  timeout -k 5 60 "$PYTHON3" "$harness" --tcp "127.0.0.1:$PORT" \
    --server-options "$options" "${skips[@]}" "$@" >"$OUT" 2>&1 || status=$?
  if [ "$status" -ne 0 ] || ! grep -q '^conformance: [1-9][0-9]* passed, 0 failed' "$OUT"; then
    echo "smtp-conform --server-options '$options' (status $status):" >&2
    grep -v '^PASS \|^SKIP ' "$OUT" >&2
    return 1
  fi
}

require_harness() {
  [ -f "$SHARED_DIR/conformance/smtp-conform" ] ||
    skip "no conformance harness at $SHARED_DIR/conformance (set SHARED_DIR)"
  "$PYTHON3" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
    skip "$PYTHON3 is not Python 3.11"
}

@test "smtp-conform --tcp against in.smtpd -n -c DebuggingServer -l (default options) passes" {
  require_harness
  start_server -c DebuggingServer
  conform 'size=33554432 smtputf8=no decode_data=no class=debugging'
}

@test "smtp-conform --tcp against listeners with --decode-data and with -u passes" {
  require_harness
  start_server -c DebuggingServer --decode-data
  conform 'size=33554432 smtputf8=no decode_data=yes class=debugging'
  start_server -c DebuggingServer -u
  conform 'size=33554432 smtputf8=yes decode_data=no class=debugging'
}

# conform_relayed OPTIONS ARGS...: conform, with --delivery, for a PureProxy
# listener.  A case that differs from the reference in MAIL's parameters
# alone passes: a before-queue proxy sends MAIL before the message exists,
# so its SIZE= is the client's estimate or none, where the reference's
# smtplib counted the message it held (t/conformance.sh does the same).
# smtp-conform compares the sender, the recipients and the message's bytes
# first; any difference there, or in the replies, fails.
conform_relayed() {
  local options=$1 harness=$SHARED_DIR/conformance/smtp-conform passed other
  shift
  timeout -k 5 60 "$PYTHON3" "$harness" --tcp "127.0.0.1:$PORT" \
    --server-options "$options" \
    --skip-file "$TOP_SRCDIR/t/conformance-deviations" "$@" >"$OUT" 2>&1 || true
  passed=$(grep -c '^PASS \|^FAIL [^:]*: delivery: message [0-9]* mail_options: ' "$OUT" || true)
  other=$(grep '^FAIL ' "$OUT" | grep -vc ': delivery: message [0-9]* mail_options: ' || true)
  if ! grep -q '^conformance: ' "$OUT" || [ "$passed" -eq 0 ] || [ "$other" -ne 0 ]; then
    echo "smtp-conform --server-options '$options' ($passed passed, $other failed otherwise):" >&2
    grep -v '^PASS \|^SKIP ' "$OUT" >&2
    return 1
  fi
}

@test "smtp-conform --tcp --delivery against a PureProxy listener: replies and relayed messages as the reference's" {
  require_harness
  local upstream
  upstream=$(free_port)
  start_server -c PureProxy --decode-data --relay-connect-timeout 5 --relay-timeout 10 \
    "127.0.0.1:$upstream"
  conform_relayed 'size=33554432 smtputf8=no decode_data=yes class=proxy' --delivery \
    --upstream-port "$upstream"
  upstream=$(free_port)
  start_server -c PureProxy --relay-connect-timeout 5 --relay-timeout 10 \
    "127.0.0.1:$upstream"
  conform_relayed 'size=33554432 smtputf8=no decode_data=no class=proxy' --delivery \
    --upstream-port "$upstream"
}

# --- bad --listen values ------------------------------------------------------------------------------

# listen_error STATUS TEXT ARGS...: in.smtpd -n -c DebuggingServer ARGS
# exits STATUS at once, stdout empty, stderr the one line "in.smtpd: TEXT".
listen_error() {
  local expected=$1 text=$2
  shift 2
  status=0
  timeout -k 5 10 "$IN_SMTPD" -n -c DebuggingServer "$@" </dev/null >"$OUT" 2>"$ERR" ||
    status=$?
  expect_status "$expected"
  expect_empty "$OUT"
  expect_stderr 'in.smtpd: %s\n' "$text"
}

@test "bad --listen values: no port, port 0, out of range, IPv6 without brackets: exit 64, one line" {
  local spec
  for spec in 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 '[::1]' :0 ::1:25 127.0.0.1:25x; do
    listen_error 64 "invalid value for --listen: '$spec' (HOST:PORT expected, [ADDRESS]:PORT for IPv6, *:PORT for every address)" \
      -l "$spec"
  done
}

@test "-l '*:PORT' and -l ':PORT' listen on every address, IPv4 and IPv6; curl gets through on both" {
  require_ipv6
  local spec
  for spec in '*' ''; do
    PORT=$(free_dual_port)
    start_split "$SERVER_OUT" "$SERVER_ERR" "$IN_SMTPD" -n -c DebuggingServer \
      --hostname "$HOST" -l "$spec:$PORT" --debug-file "$PRINTOUT"
    SERVER_PID=$BACKGROUND_PID
    wait_for_port "$PORT"
    # Both wildcard sockets, 0.0.0.0 and [::] (IPv6 only), listen.
    grep -q ":$(printf '%04X' "$PORT") 00000000:0000 0A" /proc/net/tcp
    grep -q "^ *[0-9]*: 0\{32\}:$(printf '%04X' "$PORT") .* 0A " /proc/net/tcp6
    printf 'Subject: both\r\n\r\nx\r\n' >"$BATS_TEST_TMPDIR/msg"
    timeout -k 5 "$RUN_LIMIT" curl -sS "smtp://127.0.0.1:$PORT" --mail-from a@example.com \
      --mail-rcpt b@example.com -T "$BATS_TEST_TMPDIR/msg"
    timeout -k 5 "$RUN_LIMIT" curl -sS "smtp://[::1]:$PORT" --mail-from a@example.com \
      --mail-rcpt b@example.com -T "$BATS_TEST_TMPDIR/msg"
    kill -TERM "$SERVER_PID"
    wait_exit "$SERVER_PID" 10
    expect_status 0
    expect_summary "$PRINTOUT" 'both|127.0.0.1 1' 'both|::1 1'
    rm -f "$PRINTOUT"
  done
}

@test "an address that is not ours (192.0.2.1:25): exit 69, one line" {
  listen_error 69 'cannot listen on 192.0.2.1:25: Cannot assign requested address' \
    -l 192.0.2.1:25
}

@test "a port already in use: exit 69, one line; the server that has it goes on" {
  start_server -c DebuggingServer
  listen_error 69 "cannot listen on 127.0.0.1:$PORT: Address already in use" \
    -l "127.0.0.1:$PORT"
  # Also when it is not the first listener.
  local other
  other=$(free_port)
  listen_error 69 "cannot listen on 127.0.0.1:$PORT: Address already in use" \
    -l "127.0.0.1:$other" -l "127.0.0.1:$PORT"
  chat 127.0.0.1 "$PORT" "<$GREETING" '>QUIT' '<221 Bye' 'eof'
  expect_status 0
}

@test "a listen error reaches stderr also when stdout and stderr are one file (in.smtpd -l ... >log 2>&1)" {
  # In the standalone mode stdout is no connection, so stderr is not one
  # either: the error must not go to syslog only.
  status=0
  timeout -k 5 10 "$IN_SMTPD" -n -c DebuggingServer -l 192.0.2.1:25 </dev/null \
    >"$OUT" 2>&1 || status=$?
  expect_status 69
  expect_stdout 'in.smtpd: cannot listen on 192.0.2.1:25: Cannot assign requested address\n'
}

@test "a listen error reaches the terminal of a user who typed the command" {
  command -v script >/dev/null || skip "no script(1) (package bsdutils)"
  status=0
  timeout -k 5 20 script -qec "'$IN_SMTPD' -n -c DebuggingServer -l 192.0.2.1:25" \
    /dev/null </dev/null >"$OUT" 2>&1 || status=$?
  expect_status 69
  if ! grep -q 'in.smtpd: cannot listen on 192.0.2.1:25: Cannot assign requested address' "$OUT"; then
    echo "the terminal showed: $(show "$OUT")" >&2
    return 1
  fi
}
