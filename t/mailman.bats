#!/usr/bin/env bats
# mailman.bats - MailmanProxy: list recipients go to an external command
# (Mailman 2's mail wrapper, here a recording script standing in for it),
# every other recipient is relayed to a real upstream (Postfix smtp-sink)
# under the relay policy.
#
# The stand-in wrapper ($WRAPPER, written by setup into the test's
# directory) records each run N in $MM: N.argv (one argument a line), N.env
# (its environment as execve gave it), N.stdin (the message), N.pid; it
# writes one line to stdout and one to stderr, then does what $MM/exit.N,
# else $MM/exit.list.LIST (LIST: its second argument), else $MM/exit
# says: a number is its exit status, "kill" kills it with SIGKILL, "hang"
# execs sleep 30, "hang-child" waits for a sleep 30 child (whose pid goes
# to N.child).  The lists live in $LISTS (LIST/config.pck,
# Mailman 2's test of a list's existence).
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/mailman.bats
#
# The program always gets -n (the tests may run as root) and --log stderr
# (its failure lines and its transaction line are checked).  Every wait is
# bounded; every process a test started is gone in teardown.

load helpers

setup() {
  common_setup
  GREETING="220 $HOST in.smtpd ESMTP"
  DATA_GO='354 End data with <CR><LF>.<CR><LF>'
  DENIED='554 Error: relay access denied'
  MM=$BATS_TEST_TMPDIR/mm
  LISTS=$BATS_TEST_TMPDIR/lists
  mkdir -p "$MM" "$LISTS"
  make_list test
  make_list my-list
  write_wrapper
  write_check
  MM_COMMAND="$WRAPPER {command} {list}"
  MM_TIMEOUT=10
  MM_OPTIONS=()
  # Nothing listens there: a test that relays nothing proves it by a 250.
  UPSTREAM=127.0.0.1:$(unused_port)
  # smtp-sink's replies, which the relayed part passes on (before-queue).
  RCPT_OK='250 2.1.5 Ok'
  DOT_OK='250 2.0.0 Ok'
  RELAY_FAILED='451 Error: relay failed, try again later'
}

teardown() {
  stop_background
  # Whatever a wrapper or check started and left behind (a failing test).
  local file pid
  for file in "$MM"/*.pid "$MM"/*.child; do
    [ -s "$file" ] || continue
    pid=$(cat "$file")
    if running "$pid" && grep -q sleep "/proc/$pid/cmdline" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  remove_sink
}

# --- the stand-ins for Mailman --------------------------------------------------

# unused_port: a TCP port nothing listens on (without starting Python,
# which costs seconds on a loaded machine).
unused_port() {
  local port tries=100
  while ((tries-- > 0)); do
    port=$((20000 + RANDOM % 40000))
    is_listening "$port" || break
  done
  echo "$port"
}

# make_list NAME: a Mailman 2 list NAME in $LISTS.
make_list() {
  mkdir -p "$LISTS/$1"
  : >"$LISTS/$1/config.pck"
}

write_wrapper() {
  WRAPPER=$BATS_TEST_TMPDIR/mailman-wrapper
  {
    printf '#!/bin/sh\nrec=%s\n' "'$MM'"
    cat <<'EOF'
# A stand-in for Mailman's mail wrapper (see the top of mailman.bats).
n=$(( $(cat "$rec/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$rec/count"
echo "$$" >"$rec/$n.pid"
printf '%s\n' "$@" >"$rec/$n.argv"
tr '\0' '\n' <"/proc/$$/environ" >"$rec/$n.env"
cat >"$rec/$n.stdin"
echo "wrapper stdout $n"
echo "wrapper stderr $n" >&2
if [ -f "$rec/exit.$n" ]; then how=$(cat "$rec/exit.$n")
elif [ -n "${2:-}" ] && [ -f "$rec/exit.list.$2" ]; then how=$(cat "$rec/exit.list.$2")
else how=$(cat "$rec/exit" 2>/dev/null || echo 0); fi
case $how in
  kill) kill -KILL "$$" ;;
  hang) exec sleep 30 ;;
  hang-child) sleep 30 & echo "$!" >"$rec/$n.child"; wait; exit 0 ;;
esac
exit "$how"
EOF
  } >"$WRAPPER"
  chmod 0755 "$WRAPPER"
}

# The check command for --mailman-check: appends its argument to
# $MM/check.log and its environment to $MM/check.env, then exits 0 when
# the argument is a line of $MM/check.yes (or that file holds "*"), 1
# otherwise; with $MM/check.hang it execs sleep 30 instead.
write_check() {
  CHECK=$BATS_TEST_TMPDIR/mailman-check
  {
    printf '#!/bin/sh\nrec=%s\n' "'$MM'"
    cat <<'EOF'
printf '%s\n' "$*" >>"$rec/check.log"
tr '\0' '\n' <"/proc/$$/environ" >>"$rec/check.env"
if [ -f "$rec/check.hang" ]; then echo "$$" >"$rec/check.pid"; exec sleep 30; fi
grep -qxF -e "$1" -e '*' "$rec/check.yes" 2>/dev/null
EOF
  } >"$CHECK"
  chmod 0755 "$CHECK"
}

# runs: how many times the wrapper ran.
runs() {
  cat "$MM/count" 2>/dev/null || echo 0
}

expect_runs() {
  local n
  n=$(runs)
  if [ "$n" -ne "$1" ]; then
    echo "the wrapper ran $n time(s), expected $1" >&2
    local i
    for ((i = 1; i <= n; i++)); do
      echo "run $i: $(tr '\n' ' ' <"$MM/$i.argv")" >&2
    done
    echo "stderr: $(show "$ERR")" >&2
    return 1
  fi
}

# expect_argv N ARG...: run N got exactly these arguments.
expect_argv() {
  local n=$1
  shift
  expect_lines "$MM/$n.argv" "$@"
}

# expect_input N FORMAT [ARGS...]: run N got exactly this message.
expect_input() {
  local n=$1
  shift
  expect_file "$MM/$n.stdin" "$@"
}

# expect_input_with_date N [OFFSET] FORMAT [ARGS...]: run N got this
# message, where "Date: DATE" stands for the one Date: header in.smtpd
# added: RFC 5322 form (day-name, DD Mon YYYY HH:MM:SS +ZZZZ, English
# names, the right day of the week), naming a time within 5 minutes of
# now, with the time-zone offset OFFSET (+ZZZZ / -ZZZZ) when given.
expect_input_with_date() {
  local n=$1 offset='' dates value when now re
  shift
  if [[ $1 =~ ^[+-][0-9]{4}$ ]]; then
    offset=$1
    shift
  fi
  mapfile -t dates < <(awk '/^$/ { exit } tolower($0) ~ /^date:/' "$MM/$n.stdin")
  if [ "${#dates[@]}" -ne 1 ]; then
    echo "expected one Date: header in the headers: $(show "$MM/$n.stdin")" >&2
    return 1
  fi
  value=${dates[0]#Date: }
  re='^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4}) [0-9]{2}:[0-9]{2}:[0-9]{2} ([+-][0-9]{4})$'
  if ! [[ $value =~ $re ]]; then
    echo "not an RFC 5322 Date: header: '${dates[0]}'" >&2
    return 1
  fi
  if [ "$(LC_ALL=C date -u -d "${BASH_REMATCH[2]}" +%a)" != "${BASH_REMATCH[1]}" ]; then
    echo "Date: '$value' names the wrong day of the week" >&2
    return 1
  fi
  if [ -n "$offset" ] && [ "${BASH_REMATCH[4]}" != "$offset" ]; then
    echo "Date: '$value': offset $offset expected" >&2
    return 1
  fi
  when=$(date -d "$value" +%s)
  now=$(date +%s)
  if ((when < now - 300 || when > now + 300)); then
    echo "Date: '$value' is not now ($(date -R))" >&2
    return 1
  fi
  # GNU sed keeps a missing final line end missing.
  sed '0,/^Date: /s/^Date: .*/Date: DATE/' "$MM/$n.stdin" >"$BATS_TEST_TMPDIR/$n.normal"
  expect_file "$BATS_TEST_TMPDIR/$n.normal" "$@"
}

# --- sessions ----------------------------------------------------------------------

# message_session DATA RCPT...: one message from a@example.com to the
# RCPTs (DATA as printf %b text, each line with its CRLF), then QUIT.
message_session() {
  local data=$1 rcpt session
  shift
  session='HELO client.example\r\nMAIL FROM:<a@example.com>\r\n'
  for rcpt; do
    session+="RCPT TO:<$rcpt>\\r\\n"
  done
  session+="DATA\\r\\n$data.\\r\\nQUIT\\r\\n"
  printf '%s' "$session"
}

# mailman SESSION: the session through a pipe into in.smtpd -c
# MailmanProxy with the lists in $LISTS, the command $MM_COMMAND, the
# timeout $MM_TIMEOUT, the extra options $MM_OPTIONS, relaying to
# $UPSTREAM.
mailman() {
  smtpd_session "$1" -c MailmanProxy --hostname "$HOST" --log stderr \
    --mailman-lists-dir "$LISTS" --mailman-command "$MM_COMMAND" \
    --mailman-timeout "$MM_TIMEOUT" --relay-connect-timeout 5 \
    --relay-timeout 10 "${MM_OPTIONS[@]}" "$UPSTREAM"
}

# deliver DATA RCPT...: mailman "$(message_session DATA RCPT...)"
deliver() {
  mailman "$(message_session "$@")"
}

# message_replies FINAL RCPT-REPLY...: the replies to a message_session.
message_replies() {
  local final=$1
  shift
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "$@" "$DATA_GO" "$final" \
    "221 Bye"
}

# expect_log REPLY [LINE...]: stderr is the LINEs (failure lines), one
# transaction line whose reply is REPLY and the session's end line,
# nothing else.
expect_log() {
  local reply=$1 transactions
  shift
  if [ "$(grep -c '^in\.smtpd\[[0-9]*\]: session ' "$ERR")" -ne 1 ]; then
    echo "expected one session line: $(show "$ERR")" >&2
    return 1
  fi
  # Every line carries the pid; the failure lines are compared without it.
  grep -vE '^in\.smtpd\[[0-9]+\]: (session |peer=)' "$ERR" |
    sed -E 's/^in\.smtpd\[[0-9]+\]: /in.smtpd: /' >"$BATS_TEST_TMPDIR/failures" || true
  if [ $# -eq 0 ]; then
    expect_empty "$BATS_TEST_TMPDIR/failures"
  else
    expect_lines "$BATS_TEST_TMPDIR/failures" "$@"
  fi
  transactions=$(grep -cE '^in\.smtpd\[[0-9]+\]: peer=' "$ERR" || true)
  if [ "$transactions" -ne 1 ] ||
    ! grep -qF "reply=\"$reply\"" "$ERR"; then
    echo "expected one transaction line with reply=\"$reply\": $(show "$ERR")" >&2
    return 1
  fi
}

# A message with From: and Date: of its own, as the client sends it and
# as the wrapper must get it (LF line ends, unstuffed, no final line end).
FULL_DATA='From: Sender <a@example.com>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nSubject: hello\r\n\r\nbody\r\n..dot\r\nlast\r\n'
FULL_INPUT='From: Sender <a@example.com>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: hello\n\nbody\n.dot\nlast'

# --- each suffix -----------------------------------------------------------------

@test "each suffix: LIST post, -admin, -owner, -request; -join/-leave to request with Subject: subscribe/unsubscribe" {
  deliver "$FULL_DATA" test@example.org test-admin@example.org \
    test-owner@example.org test-request@example.org test-join@example.org \
    test-leave@example.org
  message_replies "250 OK" "250 OK" "250 OK" "250 OK" "250 OK" "250 OK" "250 OK"
  expect_log "250 OK"
  expect_runs 6
  expect_argv 1 post test
  expect_argv 2 admin test
  expect_argv 3 owner test
  expect_argv 4 request test
  expect_argv 5 request test
  expect_argv 6 request test
  local i
  for i in 1 2 3 4; do
    expect_input "$i" "$FULL_INPUT"
  done
  expect_input 5 'From: Sender <a@example.com>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: subscribe\n\nbody\n.dot\nlast'
  expect_input 6 'From: Sender <a@example.com>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: unsubscribe\n\nbody\n.dot\nlast'
}

@test "local parts in any case and any domain: Test-Admin@x is test's -admin" {
  deliver "$FULL_DATA" Test-Admin@x TEST@EXAMPLE.NET My-List-Request@other.example \
    'tEsT-jOiN@[192.0.2.1]' MY-LIST-LEAVE@localhost Test-OWNER@x.y.z
  message_replies "250 OK" "250 OK" "250 OK" "250 OK" "250 OK" "250 OK" "250 OK"
  expect_log "250 OK"
  expect_runs 6
  expect_argv 1 admin test
  expect_argv 2 post test
  expect_argv 3 request my-list
  expect_argv 4 request test
  expect_argv 5 request my-list
  expect_argv 6 owner test
  expect_input 4 'From: Sender <a@example.com>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: subscribe\n\nbody\n.dot\nlast'
  expect_input 5 'From: Sender <a@example.com>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: unsubscribe\n\nbody\n.dot\nlast'
}

@test "the same list twice (two domains, two cases) runs the wrapper once" {
  deliver "$FULL_DATA" test@a.example TEST@b.example test@a.example \
    test-admin@a.example Test-Admin@b.example
  message_replies "250 OK" "250 OK" "250 OK" "250 OK" "250 OK" "250 OK"
  expect_log "250 OK"
  expect_runs 2
  expect_argv 1 post test
  expect_argv 2 admin test
  expect_input 1 "$FULL_INPUT"
}

@test "join: a folded Subject: is replaced; a post in the same message keeps its Subject:" {
  deliver 'Subject: please\r\n add me\r\n\tto the list\r\nFrom: a@example.com\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n\r\nbody\r\n' \
    test-join@example.org test@example.org my-list-leave@example.org
  message_replies "250 OK" "250 OK" "250 OK" "250 OK"
  expect_runs 3
  expect_argv 1 request test
  expect_input 1 'From: a@example.com\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: subscribe\n\nbody'
  expect_argv 2 post test
  expect_input 2 'Subject: please\n add me\n\tto the list\nFrom: a@example.com\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n\nbody'
  expect_argv 3 request my-list
  expect_input 3 'From: a@example.com\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: unsubscribe\n\nbody'
}

# --- headers -------------------------------------------------------------------

@test "From: and Date: are added when missing; Date: in RFC 5322 form, now" {
  deliver 'Subject: no from\r\nTo: test@example.org\r\n\r\nbody\r\n' test@example.org
  message_replies "250 OK" "250 OK"
  expect_runs 1
  expect_input_with_date 1 'Subject: no from\nTo: test@example.org\nFrom: a@example.com\nDate: DATE\n\nbody'
}

@test "the added Date: carries the local time-zone offset" {
  TZ=XYZ-05:30 deliver 'Subject: s\r\n\r\nbody\r\n' test@example.org
  message_replies "250 OK" "250 OK"
  expect_input_with_date 1 +0530 'Subject: s\nFrom: a@example.com\nDate: DATE\n\nbody'
  TZ=ABC+03 deliver 'Subject: s\r\n\r\nbody\r\n' test@example.org
  message_replies "250 OK" "250 OK"
  expect_input_with_date 2 -0300 'Subject: s\nFrom: a@example.com\nDate: DATE\n\nbody'
}

@test "From: and Date: kept when present, whatever their case; only the missing one is added" {
  deliver 'FROM: Someone <s@example.net>\r\ndate: Tue, 02 Jan 2024 11:00:00 +0100\r\nSubject: s\r\n\r\nbody\r\n' \
    test@example.org
  message_replies "250 OK" "250 OK"
  expect_input 1 'FROM: Someone <s@example.net>\ndate: Tue, 02 Jan 2024 11:00:00 +0100\nSubject: s\n\nbody'
  deliver 'Subject: s\r\nfrom: s@example.net\r\n\r\nFrom: in the body\r\nDate: in the body\r\n' \
    test@example.org
  message_replies "250 OK" "250 OK"
  expect_input_with_date 2 'Subject: s\nfrom: s@example.net\nDate: DATE\n\nFrom: in the body\nDate: in the body'
  deliver 'Date: Tue, 02 Jan 2024 11:00:00 +0100\r\n\r\nbody\r\n' test@example.org
  message_replies "250 OK" "250 OK"
  expect_input 3 'Date: Tue, 02 Jan 2024 11:00:00 +0100\nFrom: a@example.com\n\nbody'
}

@test "a message without headers, and an empty message, get From: and Date:" {
  deliver '\r\nbody only\r\n' test@example.org
  message_replies "250 OK" "250 OK"
  expect_input_with_date 1 'From: a@example.com\nDate: DATE\n\nbody only'
  deliver '' test@example.org
  message_replies "250 OK" "250 OK"
  expect_input_with_date 2 'From: a@example.com\nDate: DATE\n'
}

@test "a 1 MB message reaches the wrapper intact" {
  # 13000 lines of 78 bytes after the headers.
  awk -v session="$IN" -v expected="$BATS_TEST_TMPDIR/big" 'BEGIN {
    printf "HELO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<test@example.org>\r\nDATA\r\n" >session
    head = "Subject: big\nFrom: a@example.com\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n\n"
    x = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    printf "%s", head >expected
    gsub(/\n/, "\r\n", head)
    printf "%s", head >session
    for (i = 0; i < 13000; i++) {
      printf "%07d %s\r\n", i, x >session
      printf "%s%07d %s", (i ? "\n" : ""), i, x >expected
    }
    printf ".\r\nQUIT\r\n" >session
  }'
  [ "$(wc -c <"$BATS_TEST_TMPDIR/big")" -gt 1000000 ]
  smtpd_pipe "$IN" -c MailmanProxy --hostname "$HOST" --log stderr \
    --mailman-lists-dir "$LISTS" --mailman-command "$MM_COMMAND" "$UPSTREAM"
  message_replies "250 OK" "250 OK"
  expect_runs 1
  same_bytes "$MM/1.stdin" "$BATS_TEST_TMPDIR/big"
}

# --- no shell, clean environment ---------------------------------------------------

@test "the wrapper's environment is PATH, LANG and LC_ALL only: nothing of the caller's" {
  SMTPD_TEST_SECRET=hunter2 LD_LIBRARY_PATH=/nonexistent HOME=/root/secret \
    PATH="$BATS_TEST_TMPDIR/evil:$PATH" deliver "$FULL_DATA" test@example.org
  message_replies "250 OK" "250 OK"
  expect_runs 1
  expect_lines "$MM/1.env" PATH=/usr/local/bin:/usr/bin:/bin LANG=C LC_ALL=C
}

@test "no shell: ; \$(...) and backquotes in --mailman-command are plain arguments" {
  local t=$BATS_TEST_TMPDIR
  MM_COMMAND="$WRAPPER {command};touch $t/p1 \$(touch $t/p2) \`touch $t/p3\` {list}|touch&$t/p4 >$t/p5"
  deliver "$FULL_DATA" test@example.org
  message_replies "250 OK" "250 OK"
  expect_runs 1
  expect_argv 1 "post;touch" "$t/p1" "\$(touch" "$t/p2)" "\`touch" "$t/p3\`" \
    "test|touch&$t/p4" ">$t/p5"
  local f
  for f in p1 p2 p3 p4 p5; do
    [ ! -e "$t/$f" ] || {
      echo "$t/$f was created: a shell ran the command" >&2
      return 1
    }
  done
}

@test "no shell: --mailman-command \"/bin/echo {list};touch FILE\" does not create FILE" {
  MM_COMMAND="/bin/echo {list};touch $BATS_TEST_TMPDIR/x"
  deliver "$FULL_DATA" test@example.org
  message_replies "250 OK" "250 OK"
  expect_log "250 OK"
  [ ! -e "$BATS_TEST_TMPDIR/x" ]
}

# --- exit statuses --------------------------------------------------------------------

@test "exit status 75 (EX_TEMPFAIL): 451, one failure line with what it said" {
  echo 75 >"$MM/exit"
  mailman "$(message_session "$FULL_DATA" test@example.org)NOOP\\r\\n"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" "$DATA_GO" \
    "451 Error: mailing list test failed, try again later" "221 Bye"
  expect_log "451 Error: mailing list test failed, try again later" \
    "in.smtpd: mailman post test failed: exit status 75; it said: wrapper stdout 1 | wrapper stderr 1 | "
  expect_runs 1
}

@test "exit status 1, 2, 67: 550, one failure line each" {
  local code
  for code in 1 2 67; do
    rm -f "$MM"/*
    echo "$code" >"$MM/exit"
    deliver "$FULL_DATA" test-owner@example.org
    message_replies "550 Error: mailing list test refused the message" "250 OK"
    expect_log "550 Error: mailing list test refused the message" \
      "in.smtpd: mailman owner test failed: exit status $code; it said: wrapper stdout 1 | wrapper stderr 1 | "
    expect_runs 1
  done
}

@test "killed by a signal: 451, logged" {
  echo kill >"$MM/exit"
  deliver "$FULL_DATA" test-request@example.org
  message_replies "451 Error: mailing list test failed, try again later" "250 OK"
  expect_log "451 Error: mailing list test failed, try again later" \
    "in.smtpd: mailman request test failed: killed by signal 9; it said: wrapper stdout 1 | wrapper stderr 1 | "
  expect_runs 1
}

@test "a hanging wrapper with --mailman-timeout 1: 451, logged as timed out, the wrapper is gone" {
  echo hang >"$MM/exit"
  MM_TIMEOUT=1
  local pid
  deliver "$FULL_DATA" test@example.org
  message_replies "451 Error: mailing list test failed, try again later" "250 OK"
  expect_log "451 Error: mailing list test failed, try again later" \
    "in.smtpd: mailman post test failed: timed out; it said: wrapper stdout 1 | wrapper stderr 1 | "
  expect_runs 1
  pid=$(cat "$MM/1.pid")
  if running "$pid"; then
    echo "the wrapper ($pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")) is still running" >&2
    return 1
  fi
}

@test "a hanging wrapper's own child is gone after the timeout too" {
  # A wrapper script that waits for a helper (a pipeline, a sub-command):
  # when the time is up the helper must not live on.
  echo hang-child >"$MM/exit"
  MM_TIMEOUT=1
  local pid tries=20
  deliver "$FULL_DATA" test@example.org
  message_replies "451 Error: mailing list test failed, try again later" "250 OK"
  pid=$(cat "$MM/1.child")
  while ((tries-- > 0)) && running "$pid"; do
    sleep 0.05
  done
  if running "$pid"; then
    echo "the wrapper's child $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline")) still runs after the timeout" >&2
    return 1
  fi
}

@test "a command that does not exist: 451, logged" {
  MM_COMMAND="$BATS_TEST_TMPDIR/no-such-wrapper {command} {list}"
  deliver "$FULL_DATA" test@example.org
  message_replies "451 Error: mailing list test failed, try again later" "250 OK"
  expect_log "451 Error: mailing list test failed, try again later" \
    "in.smtpd: mailman post test failed: could not execute $BATS_TEST_TMPDIR/no-such-wrapper"
}

@test "the second list fails: its reply; the first list had the message, the third is not tried" {
  echo 1 >"$MM/exit.2"
  make_list third
  deliver "$FULL_DATA" test@example.org my-list@example.org third@example.org
  message_replies "550 Error: mailing list my-list refused the message" \
    "250 OK" "250 OK" "250 OK"
  expect_log "550 Error: mailing list my-list refused the message" \
    "in.smtpd: mailman post my-list failed: exit status 1; it said: wrapper stdout 2 | wrapper stderr 2 | "
  expect_runs 2
  expect_argv 1 post test
  expect_argv 2 post my-list
}

@test "after a failure the session goes on: the next message is delivered" {
  echo 75 >"$MM/exit.1"
  mailman "HELO client.example\\r\\nMAIL FROM:<a@example.com>\\r\\nRCPT TO:<test@example.org>\\r\\nDATA\\r\\n${FULL_DATA}.\\r\\nMAIL FROM:<b@example.com>\\r\\nRCPT TO:<test@example.org>\\r\\nDATA\\r\\nSubject: two\\r\\n\\r\\nx\\r\\n.\\r\\nQUIT\\r\\n"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" "$DATA_GO" \
    "451 Error: mailing list test failed, try again later" "250 OK" "250 OK" \
    "$DATA_GO" "250 OK" "221 Bye"
  expect_runs 2
  expect_input_with_date 2 'Subject: two\nFrom: b@example.com\nDate: DATE\n\nx'
}

# --- mixed recipients, the relay ------------------------------------------------------

@test "mixed recipients: lists to the wrapper, the rest to smtp-sink with X-Peer:" {
  start_sink
  deliver 'Subject: mixed\r\n\r\nbody\r\n' test@example.org b@example.net \
    Test-Request@example.org nolist@example.org c@example.org test-bounces@example.org
  # Each relayed recipient gets the upstream's reply, and so does the
  # message, since every part took it.
  message_replies "$DOT_OK" "250 OK" "$RCPT_OK" "250 OK" "$RCPT_OK" "$RCPT_OK" "$RCPT_OK"
  expect_log "$DOT_OK"
  sink_message
  expect_lines "$ENVELOPE" "X-Helo-Args: $HOST" "X-Mail-Args: <a@example.com>" \
    "X-Rcpt-Args: <b@example.net>" "X-Rcpt-Args: <nolist@example.org>" \
    "X-Rcpt-Args: <c@example.org>" "X-Rcpt-Args: <test-bounces@example.org>"
  expect_file "$CONTENT" 'Subject: mixed\nX-Peer: 127.0.0.1\n\nbody\n\n'
  expect_runs 2
  expect_argv 1 post test
  expect_argv 2 request test
  # The lists get the message without X-Peer:, with From: and Date:.
  expect_input_with_date 1 'Subject: mixed\nFrom: a@example.com\nDate: DATE\n\nbody'
  expect_input_with_date 2 'Subject: mixed\nFrom: a@example.com\nDate: DATE\n\nbody'
}

@test "only list recipients: the upstream is never connected to" {
  start_sink -v
  deliver "$FULL_DATA" test@example.org my-list-owner@example.net
  message_replies "250 OK" "250 OK" "250 OK"
  expect_runs 2
  [ "$(sink_dumps)" -eq 0 ]
  # smtp-sink -v logs every command it gets; in.smtpd has ended, so a
  # connection it made would be in the log by now.
  if grep -i 'ehlo\|mail from' "$BATS_TEST_TMPDIR/sink.log" >&2; then
    echo "the upstream was connected to" >&2
    return 1
  fi
}

@test "the relay goes first: when the upstream fails the final dot, no list gets the message" {
  # The upstream took the recipient at RCPT, then drops the connection
  # after the final dot without a reply.
  start_sink -q .
  deliver "$FULL_DATA" test@example.org b@example.net
  message_replies "$RELAY_FAILED" "250 OK" "$RCPT_OK"
  expect_runs 0
  local failures
  failures=$(grep -cE "^in\.smtpd\[[0-9]+\]: relay to $UPSTREAM: message from <[^>]*> failed: " "$ERR" || true)
  [ "$failures" -eq 1 ]
  if grep 'mailman' "$ERR" >&2; then
    echo "a list command ran (or failed) although the relay failed first" >&2
    return 1
  fi
}

@test "a list failing after the relay delivered: the list's reply (the upstream has it)" {
  start_sink
  echo 75 >"$MM/exit"
  deliver "$FULL_DATA" b@example.net test@example.org
  message_replies "451 Error: mailing list test failed, try again later" "$RCPT_OK" "250 OK"
  expect_runs 1
  sink_message
  expect_lines "$ENVELOPE" "X-Helo-Args: $HOST" "X-Mail-Args: <a@example.com>" "X-Rcpt-Args: <b@example.net>"
}

@test "the upstream down at RCPT: the relayed recipients alone get 451, asked once; the list gets the message" {
  deliver "$FULL_DATA" b@example.net test@example.org c@example.net
  message_replies "250 OK" "$RELAY_FAILED" "250 OK" "$RELAY_FAILED"
  expect_runs 1
  expect_argv 1 post test
  # One attempt to open the upstream transaction for the whole transaction.
  expect_log "250 OK" \
    "in.smtpd: relay to $UPSTREAM: MAIL FROM:<a@example.com> failed: cannot connect to the upstream $UPSTREAM: Couldn't connect to server"
}

@test "a relayed recipient refused upstream is refused alone, in the upstream's words; the list gets the message" {
  start_sink -f RCPT
  deliver "$FULL_DATA" test@example.org b@example.net
  local refused
  refused=$(sed -n 5p "$OUT" | tr -d '\r')
  [[ $refused == 5[0-9][0-9]" "* ]]
  message_replies "250 OK" "250 OK" "$refused"
  expect_runs 1
  # The upstream had no recipient: it got no DATA, and kept nothing.
  [ "$(sink_dumps)" -eq 0 ]
  grep -qF "relay to $UPSTREAM: RCPT TO:<b@example.net> refused: $refused" "$ERR"
}

@test "RSET and the next transactions: the upstream's transaction is the client's, lists-only ones never reach it" {
  start_sink
  mailman 'HELO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nRSET\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<test@example.org>\r\nDATA\r\nSubject: one\r\n\r\nx\r\n.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.net>\r\nDATA\r\nSubject: two\r\n\r\ny\r\n.\r\nQUIT\r\n'
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "$RCPT_OK" "250 OK" \
    "250 OK" "250 OK" "$DATA_GO" "250 OK" \
    "250 OK" "$RCPT_OK" "$DATA_GO" "$DOT_OK" "221 Bye"
  expect_runs 1
  expect_argv 1 post test
  # One message upstream: the third transaction's, to its recipient only.
  sink_message
  expect_lines "$ENVELOPE" "X-Helo-Args: $HOST" "X-Mail-Args: <a@example.com>" "X-Rcpt-Args: <c@example.net>"
  expect_file "$CONTENT" 'Subject: two\nX-Peer: 127.0.0.1\n\ny\n\n'
}

# --- the relay policy applies to non-list recipients only ---------------------------

@test "an outside client: list recipients accepted, outside domains refused with 554" {
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 deliver "$FULL_DATA" \
    test@example.org b@example.net test-join@elsewhere.example \
    nolist@example.org TEST-ADMIN@EXAMPLE.ORG test-bounces@example.org
  message_replies "250 OK" "250 OK" "$DENIED" "250 OK" "$DENIED" "250 OK" "$DENIED"
  expect_log "250 OK"
  grep -q 'peer=192.0.2.7 ' "$ERR"
  expect_runs 3
  expect_argv 1 post test
  expect_argv 2 request test
  expect_argv 3 admin test
}

@test "an outside client with --relay-domain: that domain is relayed, the lists delivered" {
  start_sink
  MM_OPTIONS=(--relay-domain example.net)
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 deliver 'Subject: s\r\n\r\nbody\r\n' \
    b@example.net c@example.org my-list@example.org
  message_replies "$DOT_OK" "$RCPT_OK" "$DENIED" "250 OK"
  sink_message
  expect_lines "$ENVELOPE" "X-Helo-Args: $HOST" "X-Mail-Args: <a@example.com>" "X-Rcpt-Args: <b@example.net>"
  expect_file "$CONTENT" 'Subject: s\nX-Peer: 192.0.2.7\n\nbody\n\n'
  expect_runs 1
  expect_argv 1 post my-list
}

# --- what is not a list -----------------------------------------------------------------

# Directories that a path-minded program would take for lists: each has a
# config.pck.  "..", "../x", "a/b" resolve inside the test's directory.
make_hostile_lists() {
  local name
  for name in -x .x 'x y' a/b '"x y"' UPPER; do
    mkdir -p "$LISTS/$name"
    : >"$LISTS/$name/config.pck"
  done
  mkdir -p "$BATS_TEST_TMPDIR/x" "$LISTS/empty"
  : >"$BATS_TEST_TMPDIR/x/config.pck"  # lists/../x
  : >"$BATS_TEST_TMPDIR/config.pck"    # lists/..
}

HOSTILE=('../x@example.org' '-x@example.org' '.x@example.org' 'a/b@example.org'
  '"x y"@example.org' '..@example.org' '"../x"@example.org' '"a/b"@example.org'
  '../x-admin@example.org' '-x-request@example.org' 'UPPER@example.org'
  'upper@example.org' 'empty@example.org')

@test "hostile local parts are not lists, even with a directory of that name: refused from outside" {
  make_hostile_lists
  local rcpt replies=()
  for rcpt in "${HOSTILE[@]}"; do
    replies+=("$DENIED")
  done
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 deliver "$FULL_DATA" \
    "${HOSTILE[@]}" Test@example.org
  message_replies "250 OK" "${replies[@]}" "250 OK"
  expect_runs 1
  expect_argv 1 post test
}

@test "hostile local parts from a local client: relayed, never the wrapper" {
  make_hostile_lists
  start_sink
  local rcpt replies=()
  for rcpt in "${HOSTILE[@]}"; do
    replies+=("$RCPT_OK")
  done
  deliver "$FULL_DATA" "${HOSTILE[@]}"
  message_replies "$DOT_OK" "${replies[@]}"
  expect_runs 0
  sink_message
  # Quoted local parts are handed on in the channel's normal form.
  expect_lines "$ENVELOPE" "X-Helo-Args: $HOST" "X-Mail-Args: <a@example.com>" \
    "X-Rcpt-Args: <../x@example.org>" "X-Rcpt-Args: <-x@example.org>" \
    "X-Rcpt-Args: <.x@example.org>" "X-Rcpt-Args: <a/b@example.org>" \
    'X-Rcpt-Args: <"x y"@example.org>' "X-Rcpt-Args: <..@example.org>" \
    "X-Rcpt-Args: <../x@example.org>" "X-Rcpt-Args: <a/b@example.org>" \
    "X-Rcpt-Args: <../x-admin@example.org>" "X-Rcpt-Args: <-x-request@example.org>" \
    "X-Rcpt-Args: <UPPER@example.org>" "X-Rcpt-Args: <upper@example.org>" \
    "X-Rcpt-Args: <empty@example.org>"
}

@test "a NUL byte in the local part is refused by the channel, the list is not run" {
  mailman 'HELO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<test\0@example.org>\r\nRCPT TO:<test\0>\r\nQUIT\r\n'
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" \
    "500 Error: NUL byte in command line" "500 Error: NUL byte in command line" \
    "221 Bye"
  expect_runs 0
}

@test "a list that exists only in lower case is found from upper case; lists are looked up in lower case" {
  make_list lower
  mkdir -p "$LISTS/Mixed" && : >"$LISTS/Mixed/config.pck"
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 deliver "$FULL_DATA" \
    LOWER@example.org Lower-Owner@example.org Mixed@example.org mixed@example.org
  message_replies "250 OK" "250 OK" "250 OK" "$DENIED" "$DENIED"
  expect_runs 2
  expect_argv 1 post lower
  expect_argv 2 owner lower
}

# --- --mailman-check ------------------------------------------------------------------

@test "--mailman-check: lists are what the check says (once per name), not the lists dir" {
  printf 'alpha\nbeta\n' >"$MM/check.yes"
  MM_OPTIONS=(--mailman-check "$CHECK {list}")
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 deliver "$FULL_DATA" \
    alpha@example.org Beta-Owner@example.org gamma@example.org test@example.org \
    ALPHA@other.example beta-join@x
  message_replies "250 OK" "250 OK" "250 OK" "$DENIED" "$DENIED" "250 OK" "250 OK"
  expect_runs 3
  expect_argv 1 post alpha
  expect_argv 2 owner beta
  expect_argv 3 request beta
  expect_input 3 'From: Sender <a@example.com>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\nSubject: subscribe\n\nbody\n.dot\nlast'
  # Each name asked about once in the session, in lower case.
  expect_lines "$MM/check.log" alpha beta gamma test
  # The check runs in the same clean environment.
  expect_lines "$MM/check.env" \
    PATH=/usr/local/bin:/usr/bin:/bin LANG=C LC_ALL=C \
    PATH=/usr/local/bin:/usr/bin:/bin LANG=C LC_ALL=C \
    PATH=/usr/local/bin:/usr/bin:/bin LANG=C LC_ALL=C \
    PATH=/usr/local/bin:/usr/bin:/bin LANG=C LC_ALL=C
}

@test "--mailman-check: a local client's non-lists are relayed" {
  start_sink
  printf 'alpha\n' >"$MM/check.yes"
  MM_OPTIONS=(--mailman-check "$CHECK {list}")
  deliver 'Subject: s\r\n\r\nbody\r\n' alpha@example.org test@example.org
  message_replies "$DOT_OK" "250 OK" "$RCPT_OK"
  expect_runs 1
  expect_argv 1 post alpha
  sink_message
  expect_lines "$ENVELOPE" "X-Helo-Args: $HOST" "X-Mail-Args: <a@example.com>" "X-Rcpt-Args: <test@example.org>"
}

@test "--mailman-check is never asked about a hostile name, even when it says yes to all" {
  make_hostile_lists
  echo '*' >"$MM/check.yes"
  MM_OPTIONS=(--mailman-check "$CHECK {list}")
  local rcpt replies=()
  for rcpt in "${HOSTILE[@]}"; do
    case $rcpt in
      UPPER@* | upper@* | empty@*) replies+=("250 OK") ;;  # sane names
      *) replies+=("$DENIED") ;;
    esac
  done
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 deliver "$FULL_DATA" "${HOSTILE[@]}"
  message_replies "250 OK" "${replies[@]}"
  expect_lines "$MM/check.log" upper empty
  expect_runs 2
  expect_argv 1 post upper
  expect_argv 2 post empty
}

@test "--mailman-check that hangs: RCPT is answered within --mailman-timeout, not as a list" {
  touch "$MM/check.hang"
  MM_OPTIONS=(--mailman-check "$CHECK {list}")
  MM_TIMEOUT=1
  local pid
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 mailman \
    'HELO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<alpha@example.org>\r\nQUIT\r\n'
  expect_status 0
  [ "$(sed -n 4p "$OUT")" != $'250 OK\r' ]
  [[ $(sed -n 4p "$OUT") == [45]* ]]
  [ "$(sed -n 5p "$OUT")" = $'221 Bye\r' ]
  pid=$(cat "$MM/check.pid")
  if running "$pid"; then
    echo "the check command $pid still runs after its timeout" >&2
    return 1
  fi
}

# --- standalone mode (-l): commands run beside the other sessions ----------------

# tcp_session PORT SESSION OUTFILE: the session (printf %b text) sent at
# once to 127.0.0.1:PORT, and every reply until the server closes the
# connection to OUTFILE; at most 15 s.
tcp_session() {
  # shellcheck disable=SC2016  # expanded by the inner bash
  timeout -k 2 15 bash -c '
    exec 5<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "%b" "$2" >&5
    cat <&5 >"$3"' tcp_session "$@"
}

@test "standalone (-l): a hanging list command holds up no other session" {
  local port a_pid
  port=$(unused_port)
  echo hang >"$MM/exit.list.slow"
  make_list slow
  start_background "$BATS_TEST_TMPDIR/server.log" "$IN_SMTPD" -n \
    -l "127.0.0.1:$port" -c MailmanProxy --hostname "$HOST" --log stderr \
    --mailman-lists-dir "$LISTS" --mailman-command "$MM_COMMAND" \
    --mailman-timeout 4 "$UPSTREAM"
  wait_for_port "$port" 10
  # Session A: to the list whose command hangs; it waits in the background.
  tcp_session "$port" "$(message_session "$FULL_DATA" slow@example.org)" \
    "$BATS_TEST_TMPDIR/a.out" 3>&- &
  a_pid=$!
  local tries=200
  while ((tries-- > 0)) && [ ! -s "$MM/1.pid" ]; do sleep 0.05; done
  [ -s "$MM/1.pid" ]
  # Session B, while A's command hangs: delivered at once.
  tcp_session "$port" "$(message_session "$FULL_DATA" test@example.org)" \
    "$BATS_TEST_TMPDIR/b.out"
  running "$(cat "$MM/1.pid")" || {
    echo "session B was answered only after A's command ended" >&2
    return 1
  }
  OUT=$BATS_TEST_TMPDIR/b.out status=0 message_replies "250 OK" "250 OK"
  expect_argv 2 post test
  expect_input 2 "$FULL_INPUT"
  expect_lines "$MM/2.env" PATH=/usr/local/bin:/usr/bin:/bin LANG=C LC_ALL=C
  # A gets its 451 when its command times out.
  wait "$a_pid"
  OUT=$BATS_TEST_TMPDIR/a.out status=0 message_replies \
    "451 Error: mailing list slow failed, try again later" "250 OK"
  if running "$(cat "$MM/1.pid")"; then
    echo "A's command still runs after its timeout" >&2
    return 1
  fi
}
