#!/usr/bin/env bats
# launchers.bats - in.smtpd on real sockets under real launchers
# (systemd-socket-activate --inetd --accept, tcpserver), reached by real
# clients (curl, Python smtplib, swaks): the client's view of the session
# and DebuggingServer's printout with the peer's address.
#
# Every launcher is started in the background by its test and stopped in
# teardown; every wait is a bounded poll.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/launchers.bats

load helpers

setup() {
  common_setup
  PRINTOUT=$BATS_TEST_TMPDIR/printout
  LAUNCHER_LOG=$BATS_TEST_TMPDIR/launcher.log
  MESSAGE=$BATS_TEST_TMPDIR/message
  printf 'Subject: launcher test\r\nFrom: a@example.com\r\n\r\nHello there\r\n.leading dot\r\n' \
    >"$MESSAGE"
}

teardown() {
  stop_background
}

# activate ADDRESS PORT [ARGS...]: in.smtpd -n -c DebuggingServer ARGS, one
# process per connection, under systemd-socket-activate on ADDRESS:PORT
# (ADDRESS in brackets for IPv6); returns once the port listens.
activate() {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  local address=$1 port=$2
  shift 2
  start_background "$LAUNCHER_LOG" systemd-socket-activate --inetd -a \
    -l "$address:$port" "$IN_SMTPD" -n -c DebuggingServer "$@"
  wait_for_port "$port" || {
    echo "launcher log: $(show "$LAUNCHER_LOG")" >&2
    return 1
  }
}

# expect_printout FILE PEER [MAIL_OPTIONS_LINE]: FILE holds exactly one
# printout of $MESSAGE from PEER.
expect_printout() {
  local file=$1 peer=$2
  shift 2
  wait_for_text "$file" "$PRINT_TAIL"
  expect_lines "$file" "$PRINT_HEAD" "$@" "b'Subject: launcher test'" \
    "b'From: a@example.com'" "b'X-Peer: $peer'" "b''" "b'Hello there'" \
    "b'.leading dot'" "$PRINT_TAIL"
}

# curl_send HOST PORT: send $MESSAGE with curl; its exit status in $status.
curl_send() {
  status=0
  curl -sS --max-time 15 "smtp://$1:$2" --mail-from a@example.com \
    --mail-rcpt b@example.com -T "$MESSAGE" >"$OUT" 2>"$ERR" || status=$?
}

# smtplib_send PORT [HOST]: send $MESSAGE with Python's smtplib; fails unless
# sendmail() returned {} (every recipient accepted).
smtplib_send() {
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import smtplib, sys
port, host, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
message = open(path, "rb").read()
with smtplib.SMTP(host, port, timeout=15) as client:
    refused = client.sendmail("a@example.com", ["b@example.com"], message)
assert refused == {}, refused
' "$1" "${2:-127.0.0.1}" "$MESSAGE"
}

message_size() { wc -c <"$MESSAGE" | tr -d ' '; }

# --- systemd-socket-activate --inetd --accept -----------------------------------

@test "systemd-socket-activate: curl sends a message, the printout has b'X-Peer: 127.0.0.1'" {
  local port
  port=$(free_port)
  activate 127.0.0.1 "$port" --debug-file "$PRINTOUT"
  curl_send 127.0.0.1 "$port"
  expect_status 0
  # curl gives the size it will send (RFC 1870).
  expect_printout "$PRINTOUT" 127.0.0.1 "mail options: ['SIZE=$(message_size)']"
}

@test "systemd-socket-activate: Python smtplib sendmail() gets every recipient accepted" {
  local port
  port=$(free_port)
  activate 127.0.0.1 "$port" --debug-file "$PRINTOUT"
  smtplib_send "$port"
  expect_printout "$PRINTOUT" 127.0.0.1 "mail options: ['SIZE=$(message_size)']"
}

@test "systemd-socket-activate: swaks sends a message" {
  command -v swaks >/dev/null || skip "swaks is not installed"
  local port
  port=$(free_port)
  activate 127.0.0.1 "$port" --debug-file "$PRINTOUT"
  status=0
  swaks --server 127.0.0.1 --port "$port" --timeout 15 --from a@example.com \
    --to b@example.com --header 'Subject: swaks test' --body 'Hello from swaks' \
    >"$OUT" 2>&1 || status=$?
  expect_status 0
  wait_for_text "$PRINTOUT" "$PRINT_TAIL"
  [ "$(grep -c -- "$PRINT_HEAD" "$PRINTOUT")" -eq 1 ]
  grep -qxF "b'Subject: swaks test'" "$PRINTOUT"
  grep -qxF "b'Hello from swaks'" "$PRINTOUT"
  # X-Peer comes where the headers end: right before the first empty line.
  [ "$(grep -m 1 -xF -B 1 "b''" "$PRINTOUT" | head -n 1)" = "b'X-Peer: 127.0.0.1'" ]
  # swaks saw the message accepted after its final dot, then the 221.
  [ "$(grep -A 1 -xF ' -> .' "$OUT" | tail -n 1)" = "<-  250 OK" ]
  grep -qxF '<-  221 Bye' "$OUT"
}

@test "systemd-socket-activate: the client sees exactly the SMTP replies" {
  local port
  port=$(free_port)
  activate 127.0.0.1 "$port" --debug-file "$PRINTOUT" --hostname "$HOST"
  printf 'EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n' >"$IN"
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import socket, sys
client = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
client.sendall(open(sys.argv[2], "rb").read())
received = b""
while True:  # until the server closes after 221
    chunk = client.recv(65536)
    if not chunk:
        break
    received += chunk
open(sys.argv[3], "wb").write(received)
' "$port" "$IN" "$OUT"
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250 HELP" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "250 OK" "221 Bye"
  wait_for_text "$PRINTOUT" "$PRINT_TAIL"
  expect_lines "$PRINTOUT" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 127.0.0.1'" \
    "b''" "b'hi'" "$PRINT_TAIL"
}

@test "systemd-socket-activate: without --debug-file the printout goes to the launcher's stderr" {
  local port
  port=$(free_port)
  activate 127.0.0.1 "$port"
  curl_send 127.0.0.1 "$port"
  expect_status 0
  wait_for_text "$LAUNCHER_LOG" "$PRINT_TAIL"
  grep -qxF "b'X-Peer: 127.0.0.1'" "$LAUNCHER_LOG"
  grep -qxF "b'Hello there'" "$LAUNCHER_LOG"
}

@test "systemd-socket-activate: 5 concurrent clients, 5 whole printouts in one --debug-file" {
  local port
  port=$(free_port)
  activate 127.0.0.1 "$port" --debug-file "$PRINTOUT"
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import smtplib, sys, threading
port = int(sys.argv[1])
errors = []
def send(n):
    try:
        body = ("Subject: client %d\r\n\r\n" % n + "line %d\r\n" % n * 2000).encode()
        with smtplib.SMTP("127.0.0.1", port, timeout=15) as client:
            assert client.sendmail("a@example.com", ["b@example.com"], body) == {}
    except Exception as e:
        errors.append("client %d: %r" % (n, e))
threads = [threading.Thread(target=send, args=(n,)) for n in range(5)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors
' "$port"
  # Each printout is whole, not interleaved with another.
  "$PYTHON3" -c '
import re, sys
text = open(sys.argv[1]).read()
head, tail = "-" * 10 + " MESSAGE FOLLOWS " + "-" * 10 + "\n", "-" * 12 + " END MESSAGE " + "-" * 12 + "\n"
blocks = re.findall(re.escape(head) + "(.*?)" + re.escape(tail), text, re.S)
assert len(blocks) == 5, "%d printouts: %s" % (len(blocks), text[:300])
assert "".join(head + b + tail for b in blocks) == text, "printouts interleaved"
seen = set()
for block in blocks:
    n = int(re.search(r"client (\d)", block).group(1))
    size = len(("Subject: client %d\r\n\r\n" % n + "line %d\r\n" % n * 2000).encode())
    expected = ["mail options: [\x27SIZE=%d\x27]" % size, "b\x27Subject: client %d\x27" % n,
                "b\x27X-Peer: 127.0.0.1\x27", "b\x27\x27"] + ["b\x27line %d\x27" % n] * 2000
    assert block.splitlines() == expected, block[:300]
    seen.add(n)
assert seen == set(range(5)), seen
' "$PRINTOUT"
}

@test "systemd-socket-activate on [::1]: curl over IPv6, b'X-Peer: ::1'" {
  "$PYTHON3" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
    2>/dev/null || skip "no IPv6 loopback (::1) on this machine"
  local port
  port=$(free_port ::1)
  activate '[::1]' "$port" --debug-file "$PRINTOUT"
  curl_send '[::1]' "$port"
  expect_status 0
  expect_printout "$PRINTOUT" ::1 "mail options: ['SIZE=$(message_size)']"
}

# --- tcpserver (ucspi-tcp) ------------------------------------------------------

@test "tcpserver: curl and smtplib send messages, X-Peer is the client's address" {
  command -v tcpserver >/dev/null ||
    skip "tcpserver is not installed (Debian package ucspi-tcp)"
  local port
  port=$(free_port)
  # -R -H: no ident or DNS lookups; -l: no lookup of our own name either.
  start_background "$LAUNCHER_LOG" tcpserver -R -H -l localhost 127.0.0.1 "$port" \
    "$IN_SMTPD" -n -c DebuggingServer --debug-file "$PRINTOUT"
  wait_for_port "$port"
  curl_send 127.0.0.1 "$port"
  expect_status 0
  expect_printout "$PRINTOUT" 127.0.0.1 "mail options: ['SIZE=$(message_size)']"
  : >"$PRINTOUT"
  smtplib_send "$port"
  expect_printout "$PRINTOUT" 127.0.0.1 "mail options: ['SIZE=$(message_size)']"
}
