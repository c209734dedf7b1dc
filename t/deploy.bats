#!/usr/bin/env bats
# deploy.bats - in.smtpd deployed as a real service (issue 5's acceptance):
#   - under openbsd-inetd, from the etc/inetd.conf example line, started as
#     root: X-Peer, the switch to nobody, and a clean SMTP stream although
#     inetd hands the socket as stderr too (-d traces and a relay error go
#     to syslog, never to the client);
#   - behind HAProxy (send-proxy and send-proxy-v2) with --proxy-protocol,
#     and PROXY headers good and bad piped straight in;
#   - the transaction log line (--log stderr, and syslog LOG_MAIL);
#   - --config (the example file, precedence, lists, bad files);
#   - privileges (nobody, --user, an unknown user);
#   - make install DESTDIR=... and the installed systemd units.
# (systemd-socket-activate and tcpserver alone: t/launchers.bats.)
#
# Syslog is checked for real where possible: as root, the program (or
# inetd) runs in a private mount namespace (unshare -m) with a tmpfs on /dev
# whose /dev/log is a socket this file reads; the host's /dev and /run are
# not touched.  Every launcher is started by its test on loopback and
# stopped in teardown; every wait is a bounded poll.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/deploy.bats

load helpers

setup_file() {
  # The interpreter itself rather than a wrapper (a pyenv shim costs a
  # second or more per start on a busy machine).
  local python
  if python=$("${PYTHON3:-python3}" -c 'import sys; print(sys.executable)' 2>/dev/null) &&
    [ -x "$python" ]; then
    export PYTHON3=$python
  fi
}

setup() {
  common_setup
  PRINTOUT=$BATS_TEST_TMPDIR/printout
  LAUNCHER_LOG=$BATS_TEST_TMPDIR/launcher.log
  SYSLOG=$BATS_TEST_TMPDIR/syslog
  MESSAGE=$BATS_TEST_TMPDIR/message
  printf 'Subject: deploy test\r\nFrom: a@example.com\r\n\r\nHello there\r\n.leading dot\r\n' \
    >"$MESSAGE"
  GREETING="220 $HOST in.smtpd ESMTP"
  # What the session below ends up with, as process_message gets it.
  SESSION='EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n'
  SESSION_REPLIES=("$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME"
    "250-PIPELINING" "250 HELP" "250 OK" "250 OK"
    "354 End data with <CR><LF>.<CR><LF>" "250 OK" "221 Bye")
  # len(b"Subject: x\n\nhi"): smtpd.py's data, lines joined with LF.
  SESSION_SIZE=14
}

teardown() {
  stop_background
  remove_sink
  release_fifo
}

# --- tools ---------------------------------------------------------------------

# pick_port: a TCP port no socket uses on this host, from 20000-32767
# (below Linux's ephemeral range, so that no client takes it meanwhile),
# and not picked before in this test; read from /proc, without starting
# an interpreter.  Call as pick_port VAR (not in a subshell).
pick_port() {
  local port tries=100 tables=(/proc/net/tcp)
  [ -f /proc/net/tcp6 ] && tables+=(/proc/net/tcp6)
  while ((tries-- > 0)); do
    port=$((20000 + RANDOM % 12768))
    [[ " ${PICKED_PORTS:-} " == *" $port "* ]] && continue
    awk -v port=":$(printf '%04X' "$port")" '
      FNR > 1 && substr($2, length($2) - 4) == port { used = 1 }
      END { exit used }' "${tables[@]}" && {
      PICKED_PORTS="${PICKED_PORTS:-} $port"
      printf -v "$1" '%s' "$port"
      return 0
    }
  done
  echo "no free port found" >&2
  return 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || skip "needs root ($1)"
}

message_size() { wc -c <"$MESSAGE" | tr -d ' '; }

# expect_printout FILE PEER: FILE holds exactly one printout of $MESSAGE
# as sent by curl or smtplib (with SIZE) from PEER.
expect_printout() {
  wait_for_text "$1" "$PRINT_TAIL"
  expect_lines "$1" "$PRINT_HEAD" "mail options: ['SIZE=$(message_size)']" \
    "b'Subject: deploy test'" "b'From: a@example.com'" "b'X-Peer: $2'" "b''" \
    "b'Hello there'" "b'.leading dot'" "$PRINT_TAIL"
}

# curl_send URL [CURL-OPTION...]: send $MESSAGE; exit status in $status.
curl_send() {
  local url=$1
  shift
  status=0
  curl -sS --max-time 15 "$@" "$url" --mail-from a@example.com \
    --mail-rcpt b@example.com -T "$MESSAGE" >"$OUT" 2>"$ERR" || status=$?
}

# smtplib_send HOST PORT [SOURCE-ADDRESS]: send $MESSAGE with Python's
# smtplib from SOURCE-ADDRESS; fails unless every recipient was accepted.
smtplib_send() {
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import smtplib, sys
host, port, source, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with smtplib.SMTP(host, port, timeout=15,
                  source_address=(source, 0) if source else None) as client:
    refused = client.sendmail("a@example.com", ["b@example.com"],
                              open(path, "rb").read())
assert refused == {}, refused
' "$1" "$2" "${3:-}" "$MESSAGE"
}

# raw_session HOST PORT TEXT [SOURCE-ADDRESS]: connect (from SOURCE-ADDRESS),
# send printf %b TEXT at once, shut the sending side down, and read every
# byte until the server closes; the bytes go to $OUT.
raw_session() {
  printf '%b' "$3" >"$IN"
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import socket, sys
host, port, source, source_path, sink = sys.argv[1:6]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
client = socket.socket(family)
client.settimeout(15)
if source:
    client.bind((source, 0))
client.connect((host, int(port)))
client.sendall(open(source_path, "rb").read())
received = b""
try:
    while True:
        chunk = client.recv(65536)
        if not chunk:
            break
        received += chunk
except ConnectionResetError:
    pass
open(sink, "wb").write(received)
' "$1" "$2" "${4:-}" "$IN" "$OUT"
}

# log_lines FILE: the transaction log lines (in.smtpd[PID]: ...) in FILE.
log_lines() {
  grep -a '^in\.smtpd\[[0-9]*\]: ' "$1" || true
}

# wait_exit PID [SECONDS]: poll until PID (a child of this shell) has
# ended, then reap it; its exit status in $status (124: still running).
wait_exit() {
  local tries=$((${2:-10} * 20))
  while ((tries-- > 0)) && running "$1"; do
    sleep 0.05
  done
  if running "$1"; then
    status=124
    return 0
  fi
  status=0
  wait "$1" || status=$?
}

# ids PID: the Uid:, Gid: and Groups: lines of /proc/PID/status, tabs as
# spaces, trailing spaces removed.
ids() {
  grep -E '^(Uid|Gid|Groups):' "/proc/$1/status" | tr '\t' ' ' | sed 's/ *$//'
}

# --- a private syslog -------------------------------------------------------------

# "${SYSLOG_RUN[@]}" COMMAND [ARGS...]: run COMMAND in a private mount namespace
# whose /dev is a fresh tmpfs (null, zero, random, urandom, tty and a
# /dev/log socket read by us; mode 0666 as syslog sockets are, so that a
# process that became nobody can log) and whose /run is a fresh tmpfs (so
# that inetd's pid file stays there).  Every datagram is appended to
# $SYSLOG as one line as it arrives.  A TERM is passed on to COMMAND; the
# exit status is COMMAND's.  require_syslog sets SYSLOG_RUN.
write_syslog_helper() {
  cat >"$BATS_TEST_TMPDIR/syslog.py" <<'EOF'
import os, select, signal, socket, subprocess, sys
log_path, argv = sys.argv[1], sys.argv[2:]
def mount(*args):
    subprocess.run(["mount", *args], check=True)
mount("--make-rprivate", "/")
mount("-t", "tmpfs", "-o", "mode=0755", "in-smtpd-test-run", "/run")
mount("-t", "tmpfs", "-o", "mode=0755", "in-smtpd-test-dev", "/dev")
for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
                           ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)):
    os.mknod("/dev/" + name, 0o20666, os.makedev(major, minor))
    os.chmod("/dev/" + name, 0o666)
os.symlink("/proc/self/fd", "/dev/fd")
for number, name in enumerate(("stdin", "stdout", "stderr")):
    os.symlink("/proc/self/fd/%d" % number, "/dev/" + name)
receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
receiver.bind("/dev/log")
os.chmod("/dev/log", 0o666)
log = open(log_path, "ab", buffering=0)
def drain(timeout):
    while select.select([receiver], [], [], timeout)[0]:
        log.write(receiver.recv(65536).rstrip(b"\n") + b"\n")
        timeout = 0
child = subprocess.Popen(argv)
signal.signal(signal.SIGTERM, lambda *_: child.terminate())
while child.poll() is None:
    drain(0.05)
drain(0)
sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)
EOF
  : >>"$SYSLOG"
  # unshare without --fork execs python: the pid stays the one started.
  SYSLOG_RUN=(unshare -m "$PYTHON3" "$BATS_TEST_TMPDIR/syslog.py" "$SYSLOG")
}

# require_syslog: skip unless SYSLOG_RUN can work here; sets SYSLOG_RUN.
require_syslog() {
  require_root "a private /dev/log needs a mount namespace"
  command -v unshare >/dev/null || skip "no unshare (util-linux)"
  unshare -m sh -c 'mount --make-rprivate / && mount -t tmpfs none /mnt' 2>/dev/null ||
    skip "cannot mount a tmpfs in a private mount namespace (unshare -m)"
  write_syslog_helper
}

# syslog_has PRIORITY TEXT: a datagram from in.smtpd at <PRIORITY> (facility
# and level, RFC 3164) whose message is exactly TEXT ("*" in TEXT matches
# anything).
syslog_has() {
  "$PYTHON3" -c '
import fnmatch, re, sys
priority, text, path = sys.argv[1:4]
line = re.compile(r"<%s>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} in\.smtpd\[[0-9]+\]: (.*)" % priority)
for record in open(path, "rb").read().decode("utf-8", "replace").split("\n"):
    match = line.fullmatch(record)
    if match and fnmatch.fnmatchcase(match.group(1), text):
        sys.exit(0)
sys.exit(1)
' "$1" "$2" "$SYSLOG" || {
    echo "no <$1> in.smtpd line '$2' in syslog: $(show "$SYSLOG")" >&2
    return 1
  }
}

# LOG_MAIL (2 << 3) with LOG_ERR, LOG_INFO, LOG_DEBUG.
MAIL_ERR=19
MAIL_INFO=22
MAIL_DEBUG=23

# --- openbsd-inetd -------------------------------------------------------------------

# start_inetd ARGS...: openbsd-inetd in the foreground (-d) on 127.0.0.1:
# $INETD_PORT, under SYSLOG_RUN, serving the line of etc/inetd.conf (user
# root, no -n) with its service turned into that address, its program into
# $IN_SMTPD, its --config into the example options file etc/in.smtpd.conf,
# and ARGS appended.
start_inetd() {
  require_root "inetd starts in.smtpd as root, which then becomes nobody"
  [ -x /usr/sbin/inetd ] || skip "no /usr/sbin/inetd (Debian package openbsd-inetd)"
  require_syslog
  pick_port INETD_PORT
  awk -v address="127.0.0.1:$INETD_PORT" -v program="$IN_SMTPD" \
    -v config="$TOP_SRCDIR/etc/in.smtpd.conf" -v extra="$*" '
    /^[ \t]*(#|$)/ { next }
    {
      $1 = address; $6 = program
      for (i = 7; i < NF; i++) if ($i == "--config") $(i + 1) = config
      print $0 " " extra; n++
    }
    END { exit n != 1 }' "$TOP_SRCDIR/etc/inetd.conf.in" >"$BATS_TEST_TMPDIR/inetd.conf" || {
    echo "etc/inetd.conf should hold exactly one service line" >&2
    return 1
  }
  start_background "$LAUNCHER_LOG" "${SYSLOG_RUN[@]}" /usr/sbin/inetd -d "$BATS_TEST_TMPDIR/inetd.conf"
  INETD_LAUNCHER=$BACKGROUND_PID
  wait_for_port "$INETD_PORT" || {
    echo "inetd.conf: $(cat "$BATS_TEST_TMPDIR/inetd.conf")" >&2
    echo "inetd log: $(show "$LAUNCHER_LOG")" >&2
    return 1
  }
}

@test "openbsd-inetd (the etc/inetd.conf line): curl's message arrives with X-Peer: 127.0.0.1 in a root-only --debug-file" {
  # Only root may write here: the file is opened before the switch to nobody.
  mkdir -m 0700 "$BATS_TEST_TMPDIR/root-only"
  start_inetd -c DebuggingServer --hostname "$HOST" --debug-file "$BATS_TEST_TMPDIR/root-only/printout"
  curl_send "smtp://127.0.0.1:$INETD_PORT"
  expect_status 0
  expect_printout "$BATS_TEST_TMPDIR/root-only/printout" 127.0.0.1
  # smtplib too, its printout appended to the same file.
  cp "$BATS_TEST_TMPDIR/root-only/printout" "$BATS_TEST_TMPDIR/first"
  smtplib_send 127.0.0.1 "$INETD_PORT"
  local tries=200
  while ((tries-- > 0)) && [ "$(grep -c -- "$PRINT_TAIL" "$BATS_TEST_TMPDIR/root-only/printout")" -lt 2 ]; do
    sleep 0.05
  done
  cat "$BATS_TEST_TMPDIR/first" "$BATS_TEST_TMPDIR/first" >"$EXP"
  same_bytes "$BATS_TEST_TMPDIR/root-only/printout" "$EXP"
}

@test "openbsd-inetd: the session started as root runs as nobody (uid and gid 65534, no groups)" {
  start_inetd -c DebuggingServer --hostname "$HOST" --debug-file "$PRINTOUT"
  # Connected (the greeting came: the switch is done), the client looks at
  # the session's process below our inetd, then sends its message.  Started
  # as root, in.smtpd handed the session over to in.smtpd-full (same
  # process), which looks the user up.
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import os, smtplib, sys
port, launcher, program, path, result = sys.argv[1:6]
def parent(pid):
    with open("/proc/%s/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[1]
def below_launcher(pid):
    while pid not in ("0", "1"):
        pid = parent(pid)
        if pid == launcher:
            return True
    return False
with smtplib.SMTP("127.0.0.1", int(port), timeout=15) as client:
    sessions = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if (os.path.realpath("/proc/%s/exe" % pid) == os.path.realpath(program)
                    and below_launcher(pid)):
                sessions.append(open("/proc/%s/status" % pid).read())
        except OSError:
            pass
    assert len(sessions) == 1, "%d in.smtpd-full processes below inetd" % len(sessions)
    open(result, "w").write(sessions[0])
    assert client.sendmail("a@example.com", ["b@example.com"], open(path, "rb").read()) == {}
' "$INETD_PORT" "$INETD_LAUNCHER" "${IN_SMTPD%/*}/in.smtpd-full" "$MESSAGE" \
    "$BATS_TEST_TMPDIR/status"
  grep -E '^(Uid|Gid|Groups):' "$BATS_TEST_TMPDIR/status" | tr '\t' ' ' | sed 's/ *$//' >"$OUT"
  expect_stdout 'Uid: 65534 65534 65534 65534\nGid: 65534 65534 65534 65534\nGroups:\n'
  expect_printout "$PRINTOUT" 127.0.0.1
}

@test "openbsd-inetd, stderr is the socket: with -d the client gets exactly the SMTP replies; printout, traces and log line go to syslog" {
  # --log stderr is asked for, but stderr is the connection: syslog it is.
  start_inetd -c DebuggingServer --hostname "$HOST" -d --log stderr
  raw_session 127.0.0.1 "$INETD_PORT" "$SESSION"
  expect_replies "${SESSION_REPLIES[@]}"
  wait_for_text "$SYSLOG" "rcpts=1"
  syslog_has $MAIL_INFO "peer=127.0.0.1 helo=client.example from=<a@example.com> rcpts=1 size=$SESSION_SIZE reply=\"250 OK\""
  wait_for_text "$SYSLOG" "$PRINT_TAIL"
  syslog_has $MAIL_DEBUG "$PRINT_HEAD"
  syslog_has $MAIL_DEBUG "b'X-Peer: 127.0.0.1'"
  syslog_has $MAIL_DEBUG "$PRINT_TAIL"
  # The -d traces: what came in, what went out.
  syslog_has $MAIL_DEBUG "< b'EHLO client.example\\r\\n*"
  syslog_has $MAIL_DEBUG "> b'220 $HOST in.smtpd ESMTP\\r\\n*"
}

@test "openbsd-inetd, stderr is the socket: PureProxy to a closed port, the client gets a clean 451; the error goes to syslog" {
  local closed
  pick_port closed
  start_inetd -c PureProxy --hostname "$HOST" -d "127.0.0.1:$closed"
  raw_session 127.0.0.1 "$INETD_PORT" "$SESSION"
  # Every line is a well-formed reply; the one after the final dot is a 451.
  "$PYTHON3" -c '
import re, sys
data = open(sys.argv[1], "rb").read()
lines = data.split(b"\r\n")
assert lines.pop() == b"", "not CRLF-terminated: %r" % data
assert all(re.fullmatch(rb"[2-5][0-9][0-9][ -][\x20-\x7e]*", l) for l in lines), data
assert lines[:6] == [b"220 " + sys.argv[2].encode() + b" in.smtpd ESMTP", b"250-" + sys.argv[2].encode(),
                     b"250-SIZE 33554432", b"250-8BITMIME", b"250-PIPELINING", b"250 HELP"], data
# PureProxy opens the upstream transaction at MAIL: the 451 comes there.
assert lines[6] == b"451 Error: relay failed, try again later", data
assert lines[-1] == b"221 Bye", data
' "$OUT" "$HOST" || {
    echo "the client got: $(show "$OUT")" >&2
    return 1
  }
  wait_for_text "$SYSLOG" "end=quit"
  syslog_has $MAIL_ERR "relay to 127.0.0.1:$closed: MAIL FROM:<a@example.com> failed: cannot connect to the upstream *"
}

# --- HAProxy in front, --proxy-protocol ------------------------------------------

have_ipv6() {
  "$PYTHON3" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null
}

# start_backend: in.smtpd -n --proxy-protocol -c DebuggingServer --log
# stderr under systemd-socket-activate --inetd -a on 127.0.0.1:$BACKEND_PORT;
# printouts to $PRINTOUT, log lines to $LAUNCHER_LOG.
start_backend() {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  pick_port BACKEND_PORT
  start_background "$LAUNCHER_LOG" systemd-socket-activate --inetd -a \
    -l "127.0.0.1:$BACKEND_PORT" "$IN_SMTPD" -n --proxy-protocol \
    -c DebuggingServer --hostname "$HOST" --debug-file "$PRINTOUT" --log stderr
  wait_for_port "$BACKEND_PORT"
}

# start_haproxy: HAProxy (foreground, -db) with two TCP frontends before
# the backend: $V1_PORT with send-proxy, $V2_PORT with send-proxy-v2, each
# on 127.0.0.1 and, when there is IPv6, on [::1].
start_haproxy() {
  command -v haproxy >/dev/null || skip "haproxy is not installed (Debian package haproxy)"
  start_backend
  pick_port V1_PORT
  pick_port V2_PORT
  local v6_1="" v6_2=""
  if have_ipv6; then
    v6_1="bind [::1]:$V1_PORT"
    v6_2="bind [::1]:$V2_PORT"
  fi
  cat >"$BATS_TEST_TMPDIR/haproxy.cfg" <<EOF
global
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend proxy_v1
    bind 127.0.0.1:$V1_PORT
    $v6_1
    default_backend smtpd_v1
frontend proxy_v2
    bind 127.0.0.1:$V2_PORT
    $v6_2
    default_backend smtpd_v2
backend smtpd_v1
    server in_smtpd 127.0.0.1:$BACKEND_PORT send-proxy
backend smtpd_v2
    server in_smtpd 127.0.0.1:$BACKEND_PORT send-proxy-v2
EOF
  start_background "$BATS_TEST_TMPDIR/haproxy.log" haproxy -db -f "$BATS_TEST_TMPDIR/haproxy.cfg"
  if ! { wait_for_port "$V1_PORT" && wait_for_port "$V2_PORT"; }; then
    echo "haproxy log: $(show "$BATS_TEST_TMPDIR/haproxy.log")" >&2
    return 1
  fi
}

# expect_backend_log PEER...: the backend logged one line per message and
# the session's end line, each session with one message, with these peers
# in this order (and nothing else about them).
expect_backend_log() {
  local peer tries=200
  while ((tries-- > 0)) && [ "$(log_lines "$LAUNCHER_LOG" | wc -l)" -lt $((2 * $#)) ]; do
    sleep 0.05
  done
  log_lines "$LAUNCHER_LOG" | sed -E 's/^in\.smtpd\[[0-9]+\]: //; s/ helo=.*//' >"$OUT"
  for peer in "$@"; do printf 'peer=%s\nsession peer=%s\n' "$peer" "$peer"; done >"$EXP"
  same_bytes "$OUT" "$EXP"
}

@test "HAProxy send-proxy (v1): curl from 127.0.0.2, X-Peer: 127.0.0.2 (not HAProxy's 127.0.0.1)" {
  start_haproxy
  curl_send "smtp://127.0.0.1:$V1_PORT" --interface 127.0.0.2
  expect_status 0
  expect_printout "$PRINTOUT" 127.0.0.2
  expect_backend_log 127.0.0.2
}

@test "HAProxy send-proxy-v2: smtplib from 127.0.0.2, X-Peer: 127.0.0.2" {
  start_haproxy
  smtplib_send 127.0.0.1 "$V2_PORT" 127.0.0.2
  expect_printout "$PRINTOUT" 127.0.0.2
  expect_backend_log 127.0.0.2
}

@test "HAProxy over IPv6: a client on ::1 reaches X-Peer: ::1 through send-proxy (TCP6) and send-proxy-v2" {
  have_ipv6 || skip "no IPv6 loopback (::1) on this machine"
  start_haproxy
  curl_send "smtp://[::1]:$V1_PORT"
  expect_status 0
  expect_printout "$PRINTOUT" ::1
  : >"$PRINTOUT"
  smtplib_send ::1 "$V2_PORT"
  expect_printout "$PRINTOUT" ::1
  expect_backend_log ::1 ::1
}

@test "--proxy-protocol on a socket: a client that bypasses the proxy gets no greeting, the connection is closed" {
  start_backend
  raw_session 127.0.0.1 "$BACKEND_PORT" 'EHLO client.example\r\n'
  expect_empty "$OUT"
  wait_for_text "$LAUNCHER_LOG" "]: bad PROXY header: "
  # One error line (the session's end line aside).
  [ "$(grep '^in\.smtpd\[[0-9]*\]: ' "$LAUNCHER_LOG" | grep -vc '\]: session ')" -eq 1 ]
}

@test "--proxy-protocol on a socket: PROXY UNKNOWN and v2 LOCAL keep the connection's own peer (127.0.0.2)" {
  start_backend
  local tail='MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n'
  raw_session 127.0.0.1 "$BACKEND_PORT" "PROXY UNKNOWN\r\nHELO h\r\n$tail" 127.0.0.2
  [ "$(head -n 1 "$OUT")" = "$GREETING"$'\r' ]
  wait_for_text "$PRINTOUT" "$PRINT_TAIL"
  expect_lines "$PRINTOUT" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 127.0.0.2'" "b''" "b'hi'" "$PRINT_TAIL"
  : >"$PRINTOUT"
  # v2 LOCAL (a health check, 2.2): the address block, here 12 bytes, is ignored.
  raw_session 127.0.0.1 "$BACKEND_PORT" "\r\n\r\n\x00\r\nQUIT\n\x20\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x30\x39\x00\x19HELO h\r\n$tail" 127.0.0.2
  [ "$(head -n 1 "$OUT")" = "$GREETING"$'\r' ]
  wait_for_text "$PRINTOUT" "$PRINT_TAIL"
  expect_lines "$PRINTOUT" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 127.0.0.2'" "b''" "b'hi'" "$PRINT_TAIL"
}

# proxy_session HEADER: $SESSION after HEADER (printf %b), piped into
# in.smtpd --proxy-protocol -c DebuggingServer.
proxy_session() {
  debugging_session "$1$SESSION" --proxy-protocol
}

# expect_peer PEER: the piped session was served whole and the printout
# has X-Peer: PEER.
expect_peer() {
  expect_status 0
  expect_replies "${SESSION_REPLIES[@]}"
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: $1'" "b''" "b'hi'" "$PRINT_TAIL"
}

@test "--proxy-protocol piped: v1 TCP4 and TCP6 headers, then the greeting and X-Peer: the header's source" {
  proxy_session 'PROXY TCP4 192.0.2.1 198.51.100.2 12345 25\r\n'
  expect_peer 192.0.2.1
  proxy_session 'PROXY TCP6 2001:db8::1 2001:db8::2 12345 25\r\n'
  expect_peer 2001:db8::1
  # Upper-case and embedded-IPv4 forms, as inet_pton reads them.
  proxy_session 'PROXY TCP6 2001:DB8:0:0:0:0:0:7 ::1 1 25\r\n'
  expect_peer 2001:db8::7
}

@test "--proxy-protocol piped: v2 TCP4, TCP6 and with a TLV, then the greeting and X-Peer: the header's source" {
  local v2='\r\n\r\n\x00\r\nQUIT\n'
  proxy_session "$v2"'\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x30\x39\x00\x19'
  expect_peer 192.0.2.1
  proxy_session "$v2"'\x21\x21\x00\x24\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x30\x39\x00\x19'
  expect_peer 2001:db8::1
  # A PP2_TYPE_NOOP TLV after the addresses (2.2.6): skipped.
  proxy_session "$v2"'\x21\x11\x00\x12\xc6\x33\x64\x09\xc6\x33\x64\x02\x30\x39\x00\x19\x04\x00\x03abc'
  expect_peer 198.51.100.9
}

@test "--proxy-protocol piped: PROXY UNKNOWN, v2 LOCAL and v2 UNSPEC keep the launcher's peer (REMOTE_ADDR)" {
  REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 proxy_session 'PROXY UNKNOWN\r\n'
  expect_peer 192.0.2.7
  REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 proxy_session 'PROXY UNKNOWN 192.0.2.1 198.51.100.2 12345 25\r\n'
  expect_peer 192.0.2.7
  REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 proxy_session '\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00'
  expect_peer 192.0.2.7
  REMOTE_ADDR=192.0.2.7 REMOTE_PORT=4242 proxy_session '\r\n\r\n\x00\r\nQUIT\n\x21\x00\x00\x00'
  expect_peer 192.0.2.7
}

@test "--proxy-protocol piped: bad or missing headers get no greeting, exit 76, one error line" {
  local header cases=(
    ''                                                        # nothing at all
    'EHLO client.example\r\n'                                 # no header
    'GET / HTTP/1.0\r\n\r\n'                                  # not SMTP either
    'proxy TCP4 192.0.2.1 198.51.100.2 12345 25\r\n'          # lower case
    'PROXY TCP4 192.0.2.1 198.51.100.2 12345\r\n'             # a field missing
    'PROXY TCP4 192.0.2.256 198.51.100.2 12345 25\r\n'        # bad address
    'PROXY TCP4 2001:db8::1 198.51.100.2 12345 25\r\n'        # v6 in TCP4
    'PROXY TCP4 192.0.2.1 198.51.100.2 012345 25\r\n'         # leading zero
    'PROXY TCP4 192.0.2.1 198.51.100.2 65536 25\r\n'          # port too big
    'PROXY TCP4 192.0.2.1 198.51.100.2 12345 25\n'            # bare LF
    'PROXY TCP4  192.0.2.1 198.51.100.2 12345 25\r\n'         # two spaces
    'PROXY UDP4 192.0.2.1 198.51.100.2 12345 25\r\n'          # not TCP
    "PROXY UNKNOWN $(printf 'x%.0s' {1..120})\r\n"            # over 107 bytes
    'PROXY TCP4 192.0.2.1'                                    # cut short
    '\r\n\r\n\x00\r\nQUIT\n\x11\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x30\x39\x00\x19' # version 1
    '\r\n\r\n\x00\r\nQUIT\n\x22\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x30\x39\x00\x19' # command 2
    '\r\n\r\n\x00\r\nQUIT\n\x21\x12\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x30\x39\x00\x19' # UDP
    '\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04\xc0\x00\x02\x01'  # block too short
    '\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00'          # cut short
    '\r\n\r\n\x00\r\nQUIT\r\x21\x11\x00\x0c\xc0\x00\x02\x01\xc6\x33\x64\x02\x30\x39\x00\x19' # bad signature
  )
  for header in "${cases[@]}"; do
    debugging_session "$header" --proxy-protocol
    if [ "$status" -ne 76 ] || [ -s "$OUT" ] || [ "$(line_count "$ERR")" -ne 1 ] ||
      ! grep -q '^in\.smtpd\[[0-9]*\]: .*PROXY' "$ERR"; then
      echo "header: $(printf '%s' "$header")" >&2
      echo "exit $status, stdout: $(show "$OUT"), stderr: $(show "$ERR")" >&2
      return 1
    fi
  done
}

# --- the transaction log ----------------------------------------------------------

# run_logged SESSION [ARGS...]: the session piped into in.smtpd -n ARGS
# in the background, so that its pid is known: $PID; stdout $OUT, stderr
# $ERR, exit status $status.
run_logged() {
  printf '%b' "$1" >"$IN"
  shift
  "$IN_SMTPD" -n "$@" <"$IN" >"$OUT" 2>"$ERR" 3>&- &
  PID=$!
  BACKGROUND_PIDS+=("$PID")
  wait_exit "$PID" "$RUN_LIMIT"
}

@test "--log stderr: exactly one line per message, every field exact; no line for a transaction without DATA" {
  REMOTE_ADDR=192.0.2.7 run_logged 'EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<x@example.com>\r\nRCPT TO:<y@example.com>\r\nRSET\r\nMAIL FROM:<>\r\nRCPT TO:<d@example.com>\r\nDATA\r\nSubject: y\r\n\r\n..two\r\n.\r\nQUIT\r\n' \
    -c DebuggingServer --hostname "$HOST" --log stderr
  expect_status 0
  log_lines "$ERR" >"$BATS_TEST_TMPDIR/log"
  expect_file "$BATS_TEST_TMPDIR/log" '%s\n' \
    "in.smtpd[$PID]: peer=192.0.2.7 helo=client.example from=<a@example.com> rcpts=2 size=$SESSION_SIZE reply=\"250 OK\"" \
    "in.smtpd[$PID]: peer=192.0.2.7 helo=client.example from=<> rcpts=1 size=16 reply=\"250 OK\"" \
    "in.smtpd[$PID]: session peer=192.0.2.7 helo=client.example messages=2 end=quit"
  # The rest of stderr is the two printouts, nothing else.
  [ "$(grep -vc '^in\.smtpd\[' "$ERR")" -eq 12 ]
  [ "$(grep -c -- "$PRINT_HEAD" "$ERR")" -eq 2 ]
}

@test "--log stderr, PureProxy to smtp-sink: the line ends with upstream=\"...\", the upstream's own reply" {
  start_sink
  run_logged "$SESSION" -c PureProxy --hostname "$HOST" --log stderr "$UPSTREAM"
  expect_status 0
  # smtp-sink's own replies, passed on.
  expect_replies "${SESSION_REPLIES[@]:0:6}" "250 2.1.0 Ok" "250 2.1.5 Ok" \
    "354 End data with <CR><LF>.<CR><LF>" "250 2.0.0 Ok" "221 Bye"
  log_lines "$ERR" >"$BATS_TEST_TMPDIR/log"
  expect_file "$BATS_TEST_TMPDIR/log" '%s\n' \
    "in.smtpd[$PID]: peer=127.0.0.1 helo=client.example from=<a@example.com> rcpts=1 size=$SESSION_SIZE reply=\"250 2.0.0 Ok\" upstream=\"250 2.0.0 Ok\"" \
    "in.smtpd[$PID]: session peer=127.0.0.1 helo=client.example messages=1 end=quit"
  expect_file "$ERR" '%s\n' \
    "in.smtpd[$PID]: peer=127.0.0.1 helo=client.example from=<a@example.com> rcpts=1 size=$SESSION_SIZE reply=\"250 2.0.0 Ok\" upstream=\"250 2.0.0 Ok\"" \
    "in.smtpd[$PID]: session peer=127.0.0.1 helo=client.example messages=1 end=quit"
}

@test "--log stderr, PureProxy, smtp-sink refuses the message: reply and upstream both the 5xx" {
  # -f .: a hard error after the final dot.
  start_sink -f .
  run_logged "$SESSION" -c PureProxy --hostname "$HOST" --log stderr "$UPSTREAM"
  expect_status 0
  log_lines "$ERR" >"$BATS_TEST_TMPDIR/log"
  expect_file "$BATS_TEST_TMPDIR/log" '%s\n' \
    "in.smtpd[$PID]: relay to $UPSTREAM: message from <a@example.com> refused: 500 5.3.0 Error: command failed" \
    "in.smtpd[$PID]: peer=127.0.0.1 helo=client.example from=<a@example.com> rcpts=1 size=$SESSION_SIZE reply=\"500 5.3.0 Error: command failed\" upstream=\"500 5.3.0 Error: command failed\"" \
    "in.smtpd[$PID]: session peer=127.0.0.1 helo=client.example messages=0 end=quit"
  grep -qx '500 5.3.0 Error: command failed.' "$OUT"
}

@test "the log escapes client text: control bytes, quote, backslash as \\xHH, UTF-8 kept, long names cut" {
  run_logged 'HELO a\x01b"c\\d\xc3\xa9e\r\nMAIL FROM:<"q x"@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    -c DebuggingServer --hostname "$HOST" --log stderr
  expect_status 0
  log_lines "$ERR" >"$BATS_TEST_TMPDIR/log"
  expect_file "$BATS_TEST_TMPDIR/log" '%s\n' \
    "in.smtpd[$PID]: peer=127.0.0.1 helo=a\\x01b\\x22c\\x5cd"$'\xc3\xa9'"e from=<\\x22q x\\x22@example.com> rcpts=1 size=2 reply=\"250 OK\"" \
    "in.smtpd[$PID]: session peer=127.0.0.1 helo=a\\x01b\\x22c\\x5cd"$'\xc3\xa9'"e messages=1 end=quit"
  # A HELO name of 250 bytes: its first 200, then "...".
  local long
  long=$(printf 'h%.0s' {1..250})
  run_logged "HELO $long\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n" \
    -c DebuggingServer --hostname "$HOST" --log stderr
  expect_status 0
  log_lines "$ERR" >"$BATS_TEST_TMPDIR/log"
  expect_file "$BATS_TEST_TMPDIR/log" '%s\n' \
    "in.smtpd[$PID]: peer=127.0.0.1 helo=${long:0:200}... from=<a@example.com> rcpts=1 size=2 reply=\"250 OK\"" \
    "in.smtpd[$PID]: session peer=127.0.0.1 helo=${long:0:200}... messages=1 end=quit"
}

@test "default log (syslog): stderr holds the printout and nothing else" {
  run_logged "$SESSION" -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_replies "${SESSION_REPLIES[@]}"
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 127.0.0.1'" "b''" "b'hi'" "$PRINT_TAIL"
}

@test "default log (syslog): the line goes to syslog, facility mail, level info, tagged in.smtpd[PID]" {
  require_syslog
  printf '%b' "$SESSION" >"$IN"
  status=0
  REMOTE_ADDR=192.0.2.7 timeout -k 5 "$RUN_LIMIT" "${SYSLOG_RUN[@]}" "$IN_SMTPD" -n -c DebuggingServer --hostname "$HOST" <"$IN" >"$OUT" 2>"$ERR" || status=$?
  expect_status 0
  expect_replies "${SESSION_REPLIES[@]}"
  expect_lines "$ERR" "$PRINT_HEAD" "b'Subject: x'" "b'X-Peer: 192.0.2.7'" "b''" "b'hi'" "$PRINT_TAIL"
  syslog_has $MAIL_INFO "peer=192.0.2.7 helo=client.example from=<a@example.com> rcpts=1 size=$SESSION_SIZE reply=\"250 OK\""
  syslog_has $MAIL_INFO "session peer=192.0.2.7 helo=client.example messages=1 end=quit"
  [ "$(grep -c 'in\.smtpd\[' "$SYSLOG")" -eq 2 ]
}

# --- --config -----------------------------------------------------------------------

# config_file TEXT: $CONFIG holds printf %b TEXT.
config_file() {
  CONFIG=$BATS_TEST_TMPDIR/in.smtpd.conf
  printf '%b' "$1" >"$CONFIG"
}

@test "--config: the example etc/in.smtpd.conf parses (with -c DebuggingServer, a QUIT session)" {
  debugging_session 'QUIT\r\n' --config "$TOP_SRCDIR/etc/in.smtpd.conf"
  expect_status 0
  expect_empty "$ERR"
  expect_replies "$GREETING" "221 Bye"
  # As it stands too (PureProxy to its remote; a session without mail
  # never connects there).
  smtpd_session 'EHLO x\r\nQUIT\r\n' --config "$TOP_SRCDIR/etc/in.smtpd.conf" --hostname "$HOST"
  expect_status 0
  expect_empty "$ERR"
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME" \
    "250-PIPELINING" "250 HELP" "221 Bye"
}

@test "--config: the file sets options (class, hostname, size, smtputf8, max-recipients)" {
  config_file '# a comment\nclass = DebuggingServer\nhostname = file.example\nsize = 1000\nsmtputf8 = true\nmax-recipients = 1\n'
  smtpd_session 'EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    --config "$CONFIG"
  expect_status 0
  # The second recipient is one too many.
  expect_replies "220 file.example in.smtpd ESMTP" "250-file.example" "250-SIZE 1000" \
    "250-8BITMIME" "250-SMTPUTF8" "250-PIPELINING" "250 HELP" "250 OK" "250 OK" \
    "452 Error: too many recipients" "354 End data with <CR><LF>.<CR><LF>" "250 OK" "221 Bye"
  grep -qxF -- "$PRINT_HEAD" "$ERR"
}

@test "--config: the command line wins over the file" {
  config_file 'class = PureProxy\nhostname = file.example\nsize = 1000\n'
  smtpd_session "$SESSION" --config "$CONFIG" -c DebuggingServer --hostname "$HOST" -s 33554432
  expect_status 0
  expect_replies "${SESSION_REPLIES[@]}"
  grep -qxF "b'X-Peer: 127.0.0.1'" "$ERR"
  # Either order on the command line.
  smtpd_session "$SESSION" -c DebuggingServer --hostname "$HOST" -s 33554432 --config "$CONFIG"
  expect_status 0
  expect_replies "${SESSION_REPLIES[@]}"
}

@test "--config: lists add up (relay-domain in the file and on the command line)" {
  start_sink
  config_file 'class = PureProxy\nrelay-domain = file.example\nrelay-domain = .sub.file.example\n'
  REMOTE_ADDR=192.0.2.9 smtpd_session 'HELO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<x@file.example>\r\nRCPT TO:<x@a.sub.file.example>\r\nRCPT TO:<x@cmd.example>\r\nRCPT TO:<x@other.example>\r\nQUIT\r\n' \
    --config "$CONFIG" --relay-domain cmd.example --hostname "$HOST" "$UPSTREAM"
  expect_status 0
  # smtp-sink's own replies, passed on, for the recipients the policy allows.
  expect_replies "$GREETING" "250 $HOST" "250 2.1.0 Ok" "250 2.1.5 Ok" "250 2.1.5 Ok" \
    "250 2.1.5 Ok" "554 Error: relay access denied" "221 Bye"
}

# config_error TEXT: a file holding printf %b TEXT makes in.smtpd exit 78
# before a byte goes to the client, with one line on stderr naming the file.
config_error() {
  config_file "$1"
  smtpd_session "$SESSION" --config "$CONFIG" -c DebuggingServer
  if [ "$status" -ne 78 ] || [ -s "$OUT" ] || [ "$(line_count "$ERR")" -ne 1 ] ||
    ! grep -qF -- "$CONFIG" "$ERR"; then
    echo "file: $(show "$CONFIG")" >&2
    echo "expected exit 78, no stdout, one line naming $CONFIG; got exit $status, stdout $(show "$OUT"), stderr $(show "$ERR")" >&2
    return 1
  fi
}

@test "--config: a missing file, an unknown option, a line that is no option: exit 78, one line naming the file" {
  smtpd_session "$SESSION" --config "$BATS_TEST_TMPDIR/no-such.conf" -c DebuggingServer
  expect_status 78
  expect_empty "$OUT"
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF "$BATS_TEST_TMPDIR/no-such.conf" "$ERR"
  config_error 'hostname = x.example\nno-such-option = 1\n'
  config_error 'hostname x.example\n'
  config_error 'smtputf8 = maybe\n'
}

@test "--config: a bad value in the file (size, class, log, relay-network): exit 78, one line naming the file" {
  config_error 'size = abc\n'
  # (with -c on the command line the file's class is never read: the
  # command line wins, so here the file alone names it)
  config_file 'class = NoSuchServer\n'
  smtpd_session "$SESSION" --config "$CONFIG"
  expect_status 78
  expect_empty "$OUT"
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF -- "$CONFIG" "$ERR"
  config_error 'log = file\n'
  config_error 'relay-network = 300.0.0.0/8\n'
}

# --- privileges ---------------------------------------------------------------------

# start_held ARGS...: in.smtpd ARGS (no -n added) reading a FIFO we hold
# open ($FIFO_FD), stdout $OUT, stderr $ERR; its pid in $PID.  Returns once
# the greeting is out (privileges are dropped before it).
start_held() {
  rm -f "$BATS_TEST_TMPDIR/fifo"
  hold_fifo "$BATS_TEST_TMPDIR/fifo"
  "$IN_SMTPD" "$@" <"$BATS_TEST_TMPDIR/fifo" >"$OUT" 2>"$ERR" 3>&- &
  PID=$!
  BACKGROUND_PIDS+=("$PID")
  wait_for_text "$OUT" "220 "
}

# finish_held: the session after the greeting, then wait for the exit.
finish_held() {
  printf '%b' "$SESSION" >&"$FIFO_FD"
  wait_exit "$PID" 10
}

@test "as root without -n: the session runs as nobody, and a --debug-file only root may create is still written" {
  require_root "the switch to nobody"
  mkdir -m 0700 "$BATS_TEST_TMPDIR/root-only"
  start_held -c DebuggingServer --hostname "$HOST" --debug-file "$BATS_TEST_TMPDIR/root-only/printout"
  ids "$PID" >"$BATS_TEST_TMPDIR/ids"
  expect_file "$BATS_TEST_TMPDIR/ids" 'Uid: 65534 65534 65534 65534\nGid: 65534 65534 65534 65534\nGroups:\n'
  finish_held
  expect_status 0
  expect_empty "$ERR"
  wait_for_text "$BATS_TEST_TMPDIR/root-only/printout" "$PRINT_TAIL"
  expect_lines "$BATS_TEST_TMPDIR/root-only/printout" "$PRINT_HEAD" "b'Subject: x'" \
    "b'X-Peer: 127.0.0.1'" "b''" "b'hi'" "$PRINT_TAIL"
}

@test "as root: --user daemon becomes daemon; -n stays root" {
  require_root "the switch to another user"
  local uid gid
  uid=$(id -u daemon 2>/dev/null) || skip "no user 'daemon' here"
  gid=$(id -g daemon)
  start_held -c DebuggingServer --hostname "$HOST" --user daemon
  ids "$PID" >"$BATS_TEST_TMPDIR/ids"
  expect_file "$BATS_TEST_TMPDIR/ids" 'Uid: %s %s %s %s\nGid: %s %s %s %s\nGroups:\n' \
    "$uid" "$uid" "$uid" "$uid" "$gid" "$gid" "$gid" "$gid"
  finish_held
  expect_status 0
  release_fifo
  start_held -c DebuggingServer --hostname "$HOST" --user daemon -n
  [ "$(ids "$PID" | sed -n 1p)" = "Uid: 0 0 0 0" ]
  finish_held
  expect_status 0
}

@test "as root: an unknown --user exits 67 (EX_NOUSER) with one line, no greeting" {
  require_root "the switch to another user"
  printf '%b' "$SESSION" >"$IN"
  status=0
  timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -c DebuggingServer --user no-such-user-in-smtpd \
    <"$IN" >"$OUT" 2>"$ERR" || status=$?
  expect_status 67
  expect_empty "$OUT"
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF 'no-such-user-in-smtpd' "$ERR"
}

# --- make install --------------------------------------------------------------

# installed: `make install DESTDIR=$ROOT` in the build directory of
# $IN_SMTPD (without the flags of a `make check` that runs us), once per
# run of this file; the configured directories in
# $prefix, $sbindir, $libexecdir, $libdir, $includedir, $mandir, $sysconfdir, $docdir,
# $unitdir (as `make` expands them).
installed() {
  BUILD=$(dirname "$(dirname "$IN_SMTPD")")
  [ -f "$BUILD/Makefile" ] || skip "no Makefile in $BUILD (the build directory of IN_SMTPD)"
  ROOT=$BATS_FILE_TMPDIR/root
  cat >"$BATS_FILE_TMPDIR/dirs.mk" <<'EOF'
print-install-dirs:
	@echo "prefix='$(prefix)' sbindir='$(sbindir)' libexecdir='$(libexecdir)' libdir='$(libdir)' includedir='$(includedir)' mandir='$(mandir)' sysconfdir='$(sysconfdir)' docdir='$(docdir)' unitdir='$(systemdunitdir)'"
EOF
  local dirs
  dirs=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILD" -f Makefile -f "$BATS_FILE_TMPDIR/dirs.mk" print-install-dirs) || {
    echo "cannot read the install directories from $BUILD/Makefile" >&2
    return 1
  }
  eval "$dirs"
  if [ ! -f "$BATS_FILE_TMPDIR/install.status" ]; then
    local status=0
    timeout -k 5 300 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" install DESTDIR="$ROOT" \
      >"$BATS_FILE_TMPDIR/install.log" 2>&1 || status=$?
    echo "$status" >"$BATS_FILE_TMPDIR/install.status"
  fi
  # Once failed, failed for every test (without trying again).
  if [ "$(cat "$BATS_FILE_TMPDIR/install.status")" != 0 ]; then
    echo "make install DESTDIR=$ROOT failed (status $(cat "$BATS_FILE_TMPDIR/install.status")): $(tail -n 20 "$BATS_FILE_TMPDIR/install.log")" >&2
    return 1
  fi
}

# expect_installed PATH...: each is a file (or a link to one) under $ROOT.
expect_installed() {
  local path
  for path in "$@"; do
    [ -f "$ROOT$path" ] || {
      echo "not installed: $path; installed: $(cd "$ROOT" && find . ! -type d | sort | tr '\n' ' ')" >&2
      return 1
    }
  done
}

@test "make install DESTDIR: program, library, headers, pkg-config file, man page, options file, units, examples" {
  installed
  # in.smtpd in sbin; in.smtpd-full, an internal program, under libexec.
  [ -x "$ROOT$sbindir/in.smtpd" ] && [ -x "$ROOT$libexecdir/in.smtpd-full" ]
  [ ! -e "$ROOT$sbindir/in.smtpd-full" ] && [ "$libexecdir" = "$prefix/libexec" ]
  "$ROOT$sbindir/in.smtpd" --version | grep -q '^in\.smtpd '
  # Its options are read by Boost.Program_options, linked in.
  [ "$(nm -C "$ROOT$sbindir/in.smtpd" | grep -c 'boost::program_options::')" -gt 0 ]
  # The installed in.smtpd hands a PureProxy session over to the installed
  # in.smtpd-full (here under DESTDIR, so named through the environment).
  printf 'QUIT\r\n' | IN_SMTPD_FULL=$ROOT$libexecdir/in.smtpd-full \
    "$ROOT$sbindir/in.smtpd" -n -c PureProxy --hostname "$HOST" >"$OUT" 2>"$ERR"
  expect_replies "220 $HOST in.smtpd ESMTP" "221 Bye"
  # Without it, the path configure fixed.
  if [ ! -e "$libexecdir/in.smtpd-full" ]; then
    printf 'QUIT\r\n' | env -u IN_SMTPD_FULL "$ROOT$sbindir/in.smtpd" -n -c PureProxy \
      >"$OUT" 2>"$ERR" || true
    expect_empty "$OUT"
    expect_stderr 'in.smtpd: cannot run %s: No such file or directory\n' \
      "$libexecdir/in.smtpd-full"
  fi
  expect_installed "$libdir/libsmtpd.so" "$libdir/libsmtpd.so.0" \
    "$libdir/pkgconfig/libsmtpd.pc" "$mandir/man8/in.smtpd.8" \
    "$sysconfdir/in.smtpd.conf" "$unitdir/in.smtpd.socket" "$unitdir/in.smtpd@.service" \
    "$docdir/examples/inetd.conf" "$docdir/examples/in.smtpd"
  # The conventional places, for the default layout (libdir may be a
  # multiarch one, as Debian's package build gives it).
  case $libdir in
    "$prefix/lib" | "$prefix"/lib/*-*-*) ;;
    *)
      echo "unexpected libdir=$libdir" >&2
      return 1
      ;;
  esac
  [ "$sbindir" = "$prefix/sbin" ] &&
    [ "$includedir" = "$prefix/include" ] && [ "$mandir" = "$prefix/share/man" ] &&
    [ "$unitdir" = "$prefix/lib/systemd/system" ] &&
    [ "$docdir" = "$prefix/share/doc/in.smtpd" ] || {
    echo "unexpected layout: sbindir=$sbindir libdir=$libdir includedir=$includedir mandir=$mandir unitdir=$unitdir docdir=$docdir" >&2
    return 1
  }
  # The headers of the library's interface (that they are enough: the
  # compile test below).
  local header
  for header in channel server driver debugging relay mailman peer proxy_header; do
    expect_installed "$includedir/smtpd/$header.hpp"
  done
  # The library's own page, once the source tree has it (SPEC: libsmtpd(3)).
  if [ -f "$TOP_SRCDIR/man/libsmtpd.3" ]; then
    expect_installed "$mandir/man3/libsmtpd.3"
  fi
  # The files shipped as they are in etc/; the options file also as the
  # example beside it.
  cmp "$ROOT$sysconfdir/in.smtpd.conf" "$TOP_SRCDIR/etc/in.smtpd.conf"
  cmp "$ROOT$sysconfdir/in.smtpd.conf.example" "$TOP_SRCDIR/etc/in.smtpd.conf"
  cmp "$ROOT$unitdir/in.smtpd.socket" "$TOP_SRCDIR/etc/systemd/in.smtpd.socket"
  # The inetd and xinetd examples, with the installed paths filled in.
  local example
  for example in "inetd.conf:etc/inetd.conf.in" "in.smtpd:etc/xinetd.d/in.smtpd.in"; do
    sed -e "s|@sbindir@|$sbindir|g" -e "s|@libexecdir@|$libexecdir|g" \
      -e "s|@sysconfdir@|$sysconfdir|g" "$TOP_SRCDIR/${example#*:}" | cmp - "$ROOT$docdir/examples/${example%%:*}"
  done
  grep -qx "prefix=$prefix" "$ROOT$libdir/pkgconfig/libsmtpd.pc"
}

@test "make install again keeps an edited options file and refreshes the example beside it; uninstall keeps the edited one" {
  installed
  local root=$BATS_TEST_TMPDIR/again conf
  conf=$root$sysconfdir/in.smtpd.conf
  timeout -k 5 300 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" install \
    DESTDIR="$root" >"$BATS_TEST_TMPDIR/install.log" 2>&1
  printf 'class = DebuggingServer\n' >"$conf"
  rm "$conf.example"
  timeout -k 5 300 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" install \
    DESTDIR="$root" >"$BATS_TEST_TMPDIR/install.log" 2>&1
  [ "$(cat "$conf")" = 'class = DebuggingServer' ]
  cmp "$conf.example" "$TOP_SRCDIR/etc/in.smtpd.conf"
  timeout -k 5 300 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$BUILD" uninstall \
    DESTDIR="$root" >"$BATS_TEST_TMPDIR/install.log" 2>&1
  [ "$(cat "$conf")" = 'class = DebuggingServer' ]
  [ ! -e "$conf.example" ]
}

@test "make install: in.smtpd@.service starts the program of the options file's class (PureProxy: in.smtpd-full) with the installed options file" {
  installed
  grep -nE '@[A-Za-z_]+@' "$ROOT$unitdir/in.smtpd@.service" && {
    echo "a placeholder is left in in.smtpd@.service" >&2
    return 1
  }
  [ "$(grep '^ExecStart=' "$ROOT$unitdir/in.smtpd@.service")" = \
    "ExecStart=$libexecdir/in.smtpd-full --config $sysconfdir/in.smtpd.conf" ]
  grep -qx 'class = PureProxy' "$ROOT$sysconfdir/in.smtpd.conf"
  [ "$(grep '^ExecStart=' "$ROOT$unitdir/in.smtpd-standalone.service")" = \
    "ExecStart=$libexecdir/in.smtpd-full --config $sysconfdir/in.smtpd.conf" ]
  # ... and that file works with that program.
  printf 'QUIT\r\n' >"$IN"
  status=0
  timeout -k 5 "$RUN_LIMIT" "$ROOT$libexecdir/in.smtpd-full" -n --config "$ROOT$sysconfdir/in.smtpd.conf" \
    --hostname "$HOST" <"$IN" >"$OUT" 2>"$ERR" || status=$?
  expect_status 0
  expect_replies "$GREETING" "221 Bye"
}

@test "make install: the inetd and xinetd examples name the installed program of the class (in.smtpd-full) and options file" {
  installed
  awk -v program="$libexecdir/in.smtpd-full" '!/^#/ && $6 == program { found = 1 } END { exit !found }' \
    "$ROOT$docdir/examples/inetd.conf" || {
    echo "the inetd.conf example does not start $libexecdir/in.smtpd-full" >&2
    return 1
  }
  grep -qE "^[[:space:]]*server[[:space:]]*=[[:space:]]*$libexecdir/in\.smtpd-full\$" "$ROOT$docdir/examples/in.smtpd" || {
    echo "the xinetd example does not start $libexecdir/in.smtpd-full" >&2
    return 1
  }
  local example
  for example in inetd.conf in.smtpd; do
    grep -v '^#' "$ROOT$docdir/examples/$example" | grep -q -- "--config $sysconfdir/in.smtpd.conf" || {
      echo "the $example example reads $(grep -v '^#' "$ROOT$docdir/examples/$example" | grep -o -- '--config [^ ]*'), not the installed $sysconfdir/in.smtpd.conf" >&2
      return 1
    }
  done
}

@test "make install: systemd-analyze verify accepts the installed units (and finds man:in.smtpd(8))" {
  command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
  command -v man >/dev/null ||
    skip "no man(1) (Debian package man-db), with which systemd-analyze checks Documentation=man:"
  installed
  # systemd finds units under /usr/lib and /usr/local/lib only (make
  # distcheck installs under a prefix of its own).
  case $prefix in
    /usr | /usr/local) ;;
    *) skip "the units of prefix $prefix are outside systemd's search path" ;;
  esac
  # A root holding the installed tree and this host's own units (for
  # sysinit.target and the like).
  local vroot=$BATS_TEST_TMPDIR/vroot
  mkdir -p "$vroot/usr/lib/systemd"
  cp -a "$ROOT/." "$vroot/"
  cp -r /lib/systemd/system "$vroot/usr/lib/systemd/" 2>/dev/null ||
    skip "no /lib/systemd/system on this host"
  ln -sfn usr/lib "$vroot/lib" 2>/dev/null || true
  status=0
  MANPATH=$ROOT$mandir timeout -k 5 60 systemd-analyze verify --root="$vroot" \
    in.smtpd.socket in.smtpd@test.service >"$OUT" 2>&1 || status=$?
  expect_status 0
  expect_empty "$OUT"
}

@test "make install: each installed header compiles alone, and a program links with pkg-config's flags" {
  command -v pkg-config >/dev/null || skip "no pkg-config"
  installed
  local cxx=${CXX:-g++} dir=$BATS_TEST_TMPDIR/use header sources=()
  command -v "$cxx" >/dev/null || skip "no C++ compiler ($cxx)"
  mkdir -p "$dir"
  for header in "$ROOT$includedir"/smtpd/*.hpp; do
    printf '#include <smtpd/%s>\n' "${header##*/}" >"$dir/${header##*/}.cpp"
    sources+=("$dir/${header##*/}.cpp")
  done
  (cd "$dir" && "$cxx" -std=c++17 -fsyntax-only -I"$ROOT$includedir" "${sources[@]}")
  cat >"$dir/main.cpp" <<'EOF'
#include <smtpd/proxy_header.hpp>
#include <cstdio>
int main() {
  const smtpd::ProxyHeader header = smtpd::parse_proxy_header(
      "PROXY TCP4 192.0.2.1 198.51.100.2 12345 25\r\n");
  std::printf("%s %u\n", header.source.address.c_str(), unsigned(header.source.port));
  return header.status == smtpd::ProxyHeader::Status::complete ? 0 : 1;
}
EOF
  local flags
  # The staged libsmtpd.pc first; the system's for what it requires
  # (OpenSSL).
  flags=$(PKG_CONFIG_SYSROOT_DIR=$ROOT \
    PKG_CONFIG_LIBDIR=$ROOT$libdir/pkgconfig:$(pkg-config --variable pc_path pkg-config) \
    pkg-config --cflags --libs libsmtpd)
  # A sanitized build's library wants its program sanitized too.
  [ "${SANITIZED_BUILD:-no}" = yes ] && flags="-fsanitize=address,undefined $flags"
  # shellcheck disable=SC2086
  "$cxx" -std=c++17 -o "$dir/main" "$dir/main.cpp" $flags
  [ "$(LD_LIBRARY_PATH=$ROOT$libdir "$dir/main")" = "192.0.2.1 12345" ]
}
