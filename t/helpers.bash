# helpers.bash - shared by the Bats tests of the in.smtpd program.
#
# Loaded by t/session.bats, t/options.bats and t/launchers.bats.  The
# environment comes from `make check` (see Makefile.am):
#   IN_SMTPD    absolute path of the built program (required)
#   IN_SMTPD_FULL  in.smtpd-full (default: beside IN_SMTPD)
#   TOP_SRCDIR  the source tree (default: the directory above t/)
#   PYTHON3     python3 (default: python3 from PATH)
#   SHARED_DIR  where conformance/reference-stdio lives (default ../shared)
#
# Every run of the program goes through `timeout`, every wait is a bounded
# poll, and every background process started with start_background is
# stopped by stop_background (call it from teardown).  The program is
# always started with -n: the tests may run as root.

PYTHON3=${PYTHON3:-python3}
TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
SHARED_DIR=${SHARED_DIR:-$TOP_SRCDIR/../shared}
REFERENCE_STDIO=$SHARED_DIR/conformance/reference-stdio

# The name the program is given with --hostname in piped sessions.
HOST=mx.test.example
# Upper bound, in seconds, for any one run of the program.
RUN_LIMIT=${RUN_LIMIT:-20}

# Call from setup(): checks the environment and names the per-test files.
#   $IN   the session sent to the program     $OUT  its stdout
#   $ERR  its stderr                          $EXP  an expected text
#   $REF  the reference's printout
common_setup() {
  if [ -z "${IN_SMTPD:-}" ] || [ ! -x "$IN_SMTPD" ]; then
    echo "IN_SMTPD must name the built in.smtpd program (is: '${IN_SMTPD:-}')" >&2
    return 1
  fi
  # in.smtpd hands sessions to in.smtpd-full, which the build tree keeps
  # beside it (installed, it is under libexecdir).
  IN_SMTPD_FULL=${IN_SMTPD_FULL:-${IN_SMTPD%/*}/in.smtpd-full}
  export IN_SMTPD_FULL
  IN=$BATS_TEST_TMPDIR/in
  OUT=$BATS_TEST_TMPDIR/out
  ERR=$BATS_TEST_TMPDIR/err
  EXP=$BATS_TEST_TMPDIR/expected
  REF=$BATS_TEST_TMPDIR/reference
  BACKGROUND_PIDS=()
  SINK_DIR=
  SINK_PORT=
}

# --- running the program ----------------------------------------------------

# smtpd_pipe FILE [ARGS...]: cat FILE | in.smtpd -n ARGS, through a pipe as a
# shell user would; stdout to $OUT, stderr to $ERR, exit status in $status
# (124 means it did not end within $RUN_LIMIT seconds and was killed).
smtpd_pipe() {
  local input=$1
  shift
  status=0
  # A pipe, not the file itself: what a shell user (and the issue) does.
  # shellcheck disable=SC2002
  cat "$input" | timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n "$@" \
    >"$OUT" 2>"$ERR" || status=$?
}

# smtpd_session SESSION [ARGS...]: like smtpd_pipe, with the session given
# as printf %b text: smtpd_session 'HELO x\r\nQUIT\r\n' -c DebuggingServer
smtpd_session() {
  printf '%b' "$1" >"$IN"
  shift
  smtpd_pipe "$IN" "$@"
}

# write_session PART...: the parts one after another into $IN, for
# smtpd_pipe: a part N*C is the character C N times (a long line without a
# long literal), any other part is printf %b text.
write_session() {
  local part
  for part; do
    if [[ $part =~ ^([0-9]+)\*(.)$ ]]; then
      head -c "${BASH_REMATCH[1]}" /dev/zero | tr '\0' "${BASH_REMATCH[2]}"
    else
      printf '%b' "$part"
    fi
  done >"$IN"
}

# debugging_session SESSION [ARGS...]: smtpd_session with the class that
# prints messages and a fixed host name.
debugging_session() {
  local session=$1
  shift
  smtpd_session "$session" -c DebuggingServer --hostname "$HOST" "$@"
}

# on_socketpair FILE [ARGS...]: inetd style: in.smtpd -n ARGS with one end
# of a socketpair as its stdin, stdout AND stderr; FILE is sent on the other
# end (then the client shuts its sending side), and everything the program
# writes to the connection is read until it closes it.  The bytes read go to
# $OUT, the exit status to $status (124: killed after $RUN_LIMIT seconds).
on_socketpair() {
  local input=$1
  shift
  status=0
  "$PYTHON3" -c '
import os, socket, subprocess, sys, threading
source, sink, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
ours, theirs = socket.socketpair()
child = subprocess.Popen(sys.argv[4:], stdin=theirs, stdout=theirs,
                         stderr=theirs, close_fds=True)
theirs.close()
def send():
    try:
        with open(source, "rb") as f:
            ours.sendall(f.read())
        ours.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the program may exit without reading
sender = threading.Thread(target=send, daemon=True)
sender.start()
ours.settimeout(limit)
received = bytearray()
try:
    while True:  # until the program closes the connection (it exits)
        chunk = ours.recv(65536)
        if not chunk:
            break
        received += chunk
except socket.timeout:
    pass
except ConnectionResetError:
    pass  # it closed with our input unread: a reset, as a client sees it
with open(sink, "wb") as f:
    f.write(received)
try:
    code = child.wait(timeout=5)
except subprocess.TimeoutExpired:
    child.kill()
    child.wait()
    sys.exit(124)
sys.exit(code if code >= 0 else 128 - code)
' "$input" "$OUT" "$RUN_LIMIT" "$IN_SMTPD" -n "$@" || status=$?
}

# hold_fifo PATH: make a FIFO and keep it open read-write on fd $FIFO_FD,
# so that the program opens it either way without blocking and never sees
# its end: a client that sends nothing more, or never reads.  release_fifo
# closes it (call it from teardown too).
hold_fifo() {
  mkfifo "$1"
  exec {FIFO_FD}<>"$1"
}
release_fifo() {
  if [ -n "${FIFO_FD:-}" ]; then
    exec {FIFO_FD}>&-
    FIFO_FD=
  fi
}

# "$PYTHON3" -c "$CLOSED_PIPE" FD COMMAND [ARGS...]: execs COMMAND with its
# descriptor FD (1 or 2) a pipe whose reader has gone, so that every write
# there fails with EPIPE (`... | head -1` once head has exited, without the
# race).
# shellcheck disable=SC2034
CLOSED_PIPE='
import os, sys
reader, writer = os.pipe()
os.close(reader)
os.dup2(writer, int(sys.argv[1]))
os.execv(sys.argv[2], sys.argv[2:])
'


# --- checking what it wrote ---------------------------------------------------

# show FILE: its bytes, readable (Python repr), for failure messages.
show() {
  "$PYTHON3" -c '
import sys
data = open(sys.argv[1], "rb").read()
print(repr(data[:3000]) + (" ... (%d bytes)" % len(data) if len(data) > 3000 else ""))
' "$1"
}

# same_bytes ACTUAL EXPECTED: fails, showing both, unless the files are equal.
same_bytes() {
  if ! cmp -s "$1" "$2"; then
    echo "expected: $(show "$2")" >&2
    echo "actual:   $(show "$1")" >&2
    return 1
  fi
}

# expect_file FILE FORMAT [ARGS...]: FILE holds exactly printf FORMAT ARGS.
expect_file() {
  local file=$1
  shift
  # shellcheck disable=SC2059
  printf "$@" >"$EXP"
  same_bytes "$file" "$EXP"
}

# expect_stdout / expect_stderr FORMAT [ARGS...]
expect_stdout() { expect_file "$OUT" "$@"; }
expect_stderr() { expect_file "$ERR" "$@"; }

# expect_replies LINE...: stdout is exactly these reply lines, each + CRLF.
expect_replies() { expect_file "$OUT" '%s\r\n' "$@"; }

# expect_lines FILE LINE...: FILE is exactly these lines, each + LF (a
# DebuggingServer printout).
expect_lines() {
  local file=$1
  shift
  expect_file "$file" '%s\n' "$@"
}

# The frame of every DebuggingServer printout.
# shellcheck disable=SC2034
PRINT_HEAD='---------- MESSAGE FOLLOWS ----------'
# shellcheck disable=SC2034
PRINT_TAIL='------------ END MESSAGE ------------'

# expect_empty FILE
expect_empty() {
  if [ -s "$1" ]; then
    echo "expected $1 to be empty, it holds: $(show "$1")" >&2
    return 1
  fi
}

# expect_status N: $status is N (and say so when the program hung).
expect_status() {
  if [ "$status" -ne "$1" ]; then
    if [ "$status" -eq 124 ]; then
      echo "the program did not end within $RUN_LIMIT s (killed)" >&2
    else
      echo "exit status $status, expected $1" >&2
    fi
    [ -f "$ERR" ] && echo "stderr: $(show "$ERR")" >&2
    return 1
  fi
}

# line_count FILE: number of lines (a last line without newline counts).
line_count() {
  awk 'END { print NR }' "$1"
}

# --- the reference --------------------------------------------------------------

# require_reference: skip unless CPython 3.11's smtpd can be run through
# $SHARED_DIR/conformance/reference-stdio.
require_reference() {
  [ -f "$REFERENCE_STDIO" ] ||
    skip "no reference-stdio at $REFERENCE_STDIO (set SHARED_DIR)"
  "$PYTHON3" -W ignore -c 'import sys, smtpd; sys.exit(sys.version_info[:2] != (3, 11))' \
    2>/dev/null || skip "$PYTHON3 is not Python 3.11 with smtpd (the reference)"
}

# reference_printout [ARGS...]: the session in $IN through the reference
# (ARGS: -s N, -u, --decode-data); what its DebuggingServer printed goes to
# $REF.
reference_printout() {
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" "$REFERENCE_STDIO" -c DebuggingServer \
    "$@" <"$IN" >/dev/null 2>"$REF"
}

# expect_reference_printout [ARGS...]: the program's stderr ($ERR) is
# exactly what the reference's DebuggingServer printed for the same session.
expect_reference_printout() {
  require_reference
  reference_printout "$@"
  grep -q -- '---------- MESSAGE FOLLOWS ----------' "$REF" || {
    echo "the reference printed no message: $(show "$REF")" >&2
    return 1
  }
  same_bytes "$ERR" "$REF"
}

# --- sockets and background processes ------------------------------------

# free_port [ADDRESS]: a TCP port nobody listens on at ADDRESS (127.0.0.1).
free_port() {
  "$PYTHON3" -c '
import socket, sys
address = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
s.bind((address, 0))
print(s.getsockname()[1])
s.close()
' "${1:-127.0.0.1}"
}

# is_listening PORT: some socket listens on TCP PORT (IPv4 or IPv6).
# Read from /proc, without connecting (a connection would start a session).
is_listening() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v port=":$hex" '
    FNR > 1 && substr($2, length($2) - 4) == port && $4 == "0A" { found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# wait_for_port PORT [SECONDS]: poll until PORT listens; fail after
# SECONDS (default 10).
wait_for_port() {
  local port=$1 tries=$((${2:-10} * 20))
  while ((tries-- > 0)); do
    is_listening "$port" && return 0
    sleep 0.05
  done
  echo "nothing listens on port $port after ${2:-10} s" >&2
  return 1
}

# wait_for_text FILE TEXT [SECONDS]: poll until FILE contains TEXT.
wait_for_text() {
  local tries=$((${3:-10} * 20))
  while ((tries-- > 0)); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "no '$2' in $1 after ${3:-10} s: $(show "$1")" >&2
  return 1
}

# start_background LOG COMMAND [ARGS...]: start COMMAND in the background,
# stdout and stderr to LOG; its pid goes to $BACKGROUND_PID and to the list
# stop_background ends.  fd 3 is closed so that Bats does not wait for it.
start_background() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 3>&- &
  BACKGROUND_PID=$!
  BACKGROUND_PIDS+=("$BACKGROUND_PID")
}

# running PID: the process exists and is not a zombie.
running() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state%% *}" != Z ]
}

# stop_background: TERM every process start_background started, wait at
# most 5 s for each, then KILL it.
stop_background() {
  local pid tries
  for pid in "${BACKGROUND_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || continue
    tries=100
    while ((tries-- > 0)) && running "$pid"; do
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  BACKGROUND_PIDS=()
}

# --- Postfix smtp-sink as the upstream -----------------------------------------

# start_sink [SMTP-SINK-OPTION...]: smtp-sink on 127.0.0.1:$SINK_PORT
# ($UPSTREAM), dumping each message into its own file in $SINK_DIR.  The
# directory is under /tmp and writable by all: as root smtp-sink runs as
# nobody.  Call remove_sink from teardown.
start_sink() {
  local sink user=()
  sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
  [ -x "$sink" ] || skip "no smtp-sink (Debian package postfix)"
  SINK_DIR=$(mktemp -d /tmp/in-smtpd-sink.XXXXXX)
  chmod 0777 "$SINK_DIR"
  [ "$(id -u)" -eq 0 ] && user=(-u nobody)
  SINK_PORT=$(free_port)
  UPSTREAM=127.0.0.1:$SINK_PORT
  start_background "$BATS_TEST_TMPDIR/sink.log" \
    "$sink" "${user[@]}" -d "$SINK_DIR/%M." "$@" "$UPSTREAM" 64
  wait_for_port "$SINK_PORT" 10 || {
    echo "smtp-sink log: $(show "$BATS_TEST_TMPDIR/sink.log")" >&2
    return 1
  }
}

remove_sink() {
  if [ -n "${SINK_DIR:-}" ]; then
    rm -rf "$SINK_DIR"
  fi
}

# sink_dumps: how many messages smtp-sink has dumped.
sink_dumps() {
  find "$SINK_DIR" -type f | wc -l
}

# sink_message: the one message smtp-sink dumped, split into $ENVELOPE (its
# X-Helo-Args, X-Mail-Args and X-Rcpt-Args lines) and $CONTENT (what
# follows its three-line Received: header: the message as it arrived, CR
# removed and dots unstuffed, then an empty line).  smtp-sink closes the
# dump before it answers the final dot, so it is complete by now.
sink_message() {
  local files
  files=$(find "$SINK_DIR" -type f)
  if [ "$(sink_dumps)" -ne 1 ]; then
    echo "expected one message dumped by smtp-sink, found: '$files'" >&2
    return 1
  fi
  ENVELOPE=$BATS_TEST_TMPDIR/envelope
  CONTENT=$BATS_TEST_TMPDIR/content
  "$PYTHON3" -c '
import sys
dump = open(sys.argv[1], "rb").read()
head, found, rest = dump.partition(b"\nReceived: ")
if not found:
    sys.exit("no Received: header in the dump: %r" % dump)
envelope = [line + b"\n" for line in head.split(b"\n")
            if line.startswith((b"X-Helo-Args:", b"X-Mail-Args:", b"X-Rcpt-Args:"))]
open(sys.argv[2], "wb").write(b"".join(envelope))
open(sys.argv[3], "wb").write(rest.split(b"\n", 3)[3])
' "$files" "$ENVELOPE" "$CONTENT"
}

# --- a private Postfix as the upstream -------------------------------------------

# postfix_dirs DIR: an instance's config_directory (DIR/conf),
# queue_directory (DIR/queue) and data_directory (DIR/data), and the
# main.cf lines every instance here has: its own directories and its own
# log (DIR/maillog), IPv4 loopback only, no SMTPUTF8, no aliases.  Two
# instances on one host share nothing but the postfix user.
postfix_dirs() {
  local dir=$1
  chmod 0755 "$dir"
  mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
  chown postfix "$dir/data"
  cat >"$dir/conf/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
local_recipient_maps =
alias_maps =
alias_database =
smtputf8_enable = no
maillog_file_prefixes = /tmp
maillog_file = $dir/maillog
EOT
}

# postfix_start DIR: starts the instance configured in DIR/conf.
postfix_start() {
  /usr/sbin/postfix -c "$1/conf" start >"$1/start.log" 2>&1 3>&- || {
    echo "postfix did not start: $(cat "$1/start.log" "$1/maillog" 2>/dev/null)" >&2
    return 1
  }
}

# postfix_stop DIR: TERM the instance's master by its pid (it ends its
# children), wait at most 10 s, remove DIR.
postfix_stop() {
  local dir=$1 pid tries=200
  pid=$(tr -d ' ' <"$dir/queue/pid/master.pid" 2>/dev/null) || pid=
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    while ((tries-- > 0)) && kill -0 "$pid" 2>/dev/null; do
      sleep 0.05
    done
  fi
  rm -rf "$dir"
}

# start_postfix DOMAIN [MAIN-CF-LINE...]: a Postfix instance of its own (the postfix package's
# programs, its own config_directory, queue_directory and data_directory
# under /tmp) whose smtpd listens on 127.0.0.1:$POSTFIX_PORT ($UPSTREAM)
# with mydestination = DOMAIN and mynetworks = 127.0.0.1/32: it trusts
# in.smtpd (which connects from 127.0.0.1), as a Postfix behind in.smtpd
# does, and no other client (a client bound to 127.0.0.3 is outside).  It runs
# no queue manager, so every message it accepts stays in its incoming
# queue for postfix_recipients to read.  Needs root (Postfix's master);
# skips otherwise.  Call stop_postfix from teardown (or teardown_file).
# Each MAIN-CF-LINE is added to its main.cf ($POSTFIX_DIR/conf holds
# texthash: tables a line names: write them before calling).
start_postfix() {
  local domain=$1 dir line
  command -v postfix >/dev/null || [ -x /usr/sbin/postfix ] ||
    skip "no postfix (Debian package postfix)"
  [ "$(id -u)" -eq 0 ] || skip "a private Postfix needs root"
  dir=${POSTFIX_DIR:-$(mktemp -d /tmp/in-smtpd-postfix.XXXXXX)}
  POSTFIX_DIR=$dir
  postfix_dirs "$dir"
  POSTFIX_PORT=$(free_port)
  UPSTREAM=127.0.0.1:$POSTFIX_PORT
  cat >>"$dir/conf/main.cf" <<EOT
myhostname = postfix.$domain
mydestination = $domain
mynetworks = 127.0.0.1/32
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
EOT
  for line in "${@:2}"; do
    printf '%s\n' "$line" >>"$dir/conf/main.cf"
  done
  # smtpd and what it needs to queue a message; no qmgr, so nothing leaves
  # the incoming queue.  No chroot: the queue is a plain directory.
  cat >"$dir/conf/master.cf" <<EOT
127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
rewrite unix - - n - - trivial-rewrite
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
postlog unix-dgram n - n - 1 postlogd
EOT
  postfix_start "$dir" || return 1
  wait_for_port "$POSTFIX_PORT" 30
}

# postfix_for_file DOMAIN [MAIN-CF-LINE...]: from setup_file: one Postfix
# for the whole file (it takes seconds to start), as start_postfix makes
# it, or $POSTFIX_SKIP saying why there is none (tests skip with it).
postfix_for_file() {
  local real
  real=$("$PYTHON3" -c 'import sys; print(sys.executable)' 2>/dev/null) &&
    [ -x "$real" ] && export PYTHON3=$real
  BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR
  BACKGROUND_PIDS=()
  POSTFIX_SKIP=
  if ! command -v postfix >/dev/null && [ ! -x /usr/sbin/postfix ]; then
    POSTFIX_SKIP="no postfix (Debian package postfix)"
  elif [ "$(id -u)" -ne 0 ]; then
    POSTFIX_SKIP="a private Postfix needs root"
  else
    start_postfix "$@"
  fi
  export POSTFIX_SKIP POSTFIX_DIR POSTFIX_PORT UPSTREAM
}

# stop_postfix: stops the instance start_postfix started (postfix_stop).
stop_postfix() {
  [ -n "${POSTFIX_DIR:-}" ] || return 0
  postfix_stop "$POSTFIX_DIR"
  POSTFIX_DIR=
}

# postfix_test_setup: setup for a file with one Postfix (postfix_for_file):
# common_setup, the test skipped when there is no Postfix, the instance's
# queue emptied, and in.smtpd's greeting in $GREETING.
postfix_test_setup() {
  common_setup
  [ -z "$POSTFIX_SKIP" ] || skip "$POSTFIX_SKIP"
  postfix_clear
  GREETING="220 $HOST in.smtpd ESMTP"
}

# postfix_clear: forget the messages the instance has queued so far.
postfix_clear() {
  find "$POSTFIX_DIR/queue/incoming" -type f -delete
}

# postfix_recipients: the envelope recipients of every message the
# instance queued, one a line, sorted.
postfix_recipients() {
  local file
  find "$POSTFIX_DIR/queue/incoming" -type f | while read -r file; do
    /usr/sbin/postcat -c "$POSTFIX_DIR/conf" -e "$file"
  done | sed -n 's/^recipient: //p' | sort
}

# expect_queued RCPT...: the instance queued exactly these recipients.
expect_queued() {
  local actual expected
  actual=$(postfix_recipients)
  expected=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  if [ "$actual" != "$expected" ]; then
    echo "Postfix queued: '$actual'" >&2
    echo "expected:       '$expected'" >&2
    return 1
  fi
}

# --- a private Postfix as the client ---------------------------------------------

# start_postfix_client RELAYHOST: a second Postfix instance of its own
# ($CLIENT_DIR, set up as postfix_dirs does) that sends all mail through
# its queue manager and smtp client to relayhost = RELAYHOST
# ([127.0.0.1]:PORT), as a Postfix in front of in.smtpd does.  It listens
# on no port: mail comes in through its sendmail (client_sendmail).
# mydestination = client.test, whose mail (the bounces to a sender there)
# is discarded.  Its log is $CLIENT_DIR/maillog.  Needs root; stop it with
# stop_postfix_client.
start_postfix_client() {
  command -v postfix >/dev/null || [ -x /usr/sbin/postfix ] ||
    skip "no postfix (Debian package postfix)"
  [ "$(id -u)" -eq 0 ] || skip "a private Postfix needs root"
  CLIENT_DIR=$(mktemp -d /tmp/in-smtpd-postfix-client.XXXXXX)
  postfix_dirs "$CLIENT_DIR"
  cat >>"$CLIENT_DIR/conf/main.cf" <<EOT
myhostname = postfix.client.test
mydomain = client.test
myorigin = client.test
mydestination = client.test
mynetworks = 127.0.0.1/32
relayhost = $1
local_transport = discard:
smtp_tls_security_level = none
EOT
  # The queue manager, the smtp client and what they need to send, defer
  # and bounce; no smtpd.  No chroot: the queue is a plain directory.
  cat >"$CLIENT_DIR/conf/master.cf" <<EOT
pickup fifo n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr fifo n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
EOT
  postfix_start "$CLIENT_DIR"
}

stop_postfix_client() {
  [ -n "${CLIENT_DIR:-}" ] || return 0
  postfix_stop "$CLIENT_DIR"
  CLIENT_DIR=
}

# client_sendmail SENDER RCPT... <MESSAGE: the client instance's sendmail.
client_sendmail() {
  local sender=$1
  shift
  timeout -k 5 "$RUN_LIMIT" /usr/sbin/sendmail -C "$CLIENT_DIR/conf" -f "$sender" "$@"
}

# wait_client_status N: polls (at most 60 s) until the client instance has
# logged N delivery statuses (sent, deferred, bounced) for recipients at
# dest.test (not the bounces it sends its sender); the status lines
# go to $CLIENT_STATUS.
wait_client_status() {
  local tries=1200
  CLIENT_STATUS=$BATS_TEST_TMPDIR/client-status
  while ((tries-- > 0)); do
    grep -E ' to=<[^>]*@dest\.test>, .* status=(sent|deferred|bounced) ' \
      "$CLIENT_DIR/maillog" >"$CLIENT_STATUS" 2>/dev/null || true
    [ "$(wc -l <"$CLIENT_STATUS")" -ge "$1" ] && return 0
    sleep 0.05
  done
  echo "the client Postfix logged $(wc -l <"$CLIENT_STATUS") of $1 statuses: $(tail -20 "$CLIENT_DIR/maillog" 2>/dev/null)" >&2
  return 1
}

# client_status RCPT: the client instance's status line for RCPT.
client_status() {
  grep -F " to=<$1>, " "$CLIENT_STATUS"
}
