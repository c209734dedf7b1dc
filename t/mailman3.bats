#!/usr/bin/env bats
# mailman3.bats - MailmanProxy with --mailman-version 3 against a real
# Mailman 3 (Debian's mailman3 package), and lmtp-deliver against it
# (its own errors: t/lmtp-deliver.bats).
#
# setup_file starts a private Mailman: its own directory under /tmp with
# its own mailman.cfg, var directory and SQLite database, its LMTP runner
# on a free loopback port, its outgoing mail to a Postfix smtp-sink (which
# is also the upstream for relayed mail), and only the runners a post and
# an email command need (lmtp, in, pipeline, out, command, virgin; no REST
# API, no archiver, no bounce or task runner).  It creates the list
# ant@lists.example with the member member@example.net.  Mailman's Postfix
# maps are written (postmap is /bin/true: no Postfix configuration is
# touched).  The last test stops Mailman; teardown_file stops every
# process it started, by PID, and removes the directory.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/mailman3.bats
# Mailman is slow to start (tens of seconds on a busy machine): every wait
# is bounded by MM3_WAIT seconds (default 180).

load helpers

MM3_WAIT=${MM3_WAIT:-180}
MASTER=/usr/lib/mailman3/bin/master

mailman_cmd() {
  timeout -k 5 "$MM3_WAIT" mailman --run-as-root -C "$MM3/mailman.cfg" "$@"
}

setup_file() {
  [ -x "$MASTER" ] && command -v mailman >/dev/null ||
    skip "no Mailman 3 (Debian package mailman3; tools/deps installs it)"
  local sink
  sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
  [ -x "$sink" ] || skip "no smtp-sink (Debian package postfix)"
  MM3=$(mktemp -d /tmp/in-smtpd-mm3.XXXXXX)
  export MM3
  chmod 0755 "$MM3" # smtp-sink runs as nobody: it must reach dump/
  mkdir -p "$MM3/dump"
  chmod 0777 "$MM3/dump"
  LMTP_PORT=$(free_port)
  MM_SINK_PORT=$(free_port)
  export LMTP_PORT MM_SINK_PORT
  local user=()
  [ "$(id -u)" -eq 0 ] && user=(-u nobody)
  "$sink" "${user[@]}" -d "$MM3/dump/%M." "127.0.0.1:$MM_SINK_PORT" 64 \
    >"$MM3/sink.log" 2>&1 3>&- &
  echo $! >"$MM3/sink.pid"
  printf '[postfix]\npostmap_command: /bin/true\ntransport_file_type: hash\n' \
    >"$MM3/postfix.cfg"
  cat >"$MM3/mailman.cfg" <<CFG
[mailman]
site_owner: owner@lists.example
layout: private
[paths.private]
var_dir: $MM3/var
bin_dir: /usr/lib/mailman3/bin
queue_dir: \$var_dir/queue
list_data_dir: \$var_dir/lists
log_dir: \$var_dir/logs
lock_dir: \$var_dir/locks
data_dir: \$var_dir/data
cache_dir: \$var_dir/cache
etc_dir: \$var_dir/etc
ext_dir: \$var_dir/ext
messages_dir: \$var_dir/messages
archive_dir: \$var_dir/archives
template_dir: \$var_dir/templates
pid_file: \$var_dir/master.pid
lock_file: \$lock_dir/master.lck
[database]
class: mailman.database.sqlite.SQLiteDatabase
url: sqlite:///\$DATA_DIR/mailman.db
[mta]
incoming: mailman.mta.postfix.LMTP
outgoing: mailman.mta.deliver.deliver
smtp_host: 127.0.0.1
smtp_port: $MM_SINK_PORT
lmtp_host: 127.0.0.1
lmtp_port: $LMTP_PORT
configuration: $MM3/postfix.cfg
[runner.archive]
start: no
[runner.bounces]
start: no
[runner.nntp]
start: no
[runner.rest]
start: no
[runner.retry]
start: no
[runner.task]
start: no
[runner.digest]
start: no
[archiver.prototype]
enable: no
[archiver.mhonarc]
enable: no
[archiver.mail_archive]
enable: no
CFG
  mailman_cmd create ant@lists.example >"$MM3/create.log" 2>&1 || {
    cat "$MM3/create.log" >&2
    return 1
  }
  echo member@example.net >"$MM3/members"
  mailman_cmd addmembers "$MM3/members" ant@lists.example >"$MM3/add.log" 2>&1 || {
    cat "$MM3/add.log" >&2
    return 1
  }
  "$MASTER" -C "$MM3/mailman.cfg" --no-restart >"$MM3/master.log" 2>&1 3>&- &
  echo $! >"$MM3/master.pid"
  wait_for_port "$LMTP_PORT" "$MM3_WAIT" || {
    cat "$MM3/master.log" >&2
    return 1
  }
}

# stop_mailman: TERM the master (it stops its runners), wait for it and
# them at most 60 s, then KILL what is left; all by PID.
stop_mailman() {
  local master pids pid tries
  [ -s "$MM3/master.pid" ] || return 0
  master=$(cat "$MM3/master.pid")
  pids="$master $(ps -o pid= --ppid "$master" 2>/dev/null | tr '\n' ' ')"
  kill -TERM "$master" 2>/dev/null || true
  for pid in $pids; do
    tries=1200
    while ((tries-- > 0)) && running "$pid"; do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait "$master" 2>/dev/null || true
  : >"$MM3/master.pid"
}

teardown_file() {
  [ -n "${MM3:-}" ] && [ -d "$MM3" ] || return 0
  stop_mailman
  if [ -s "$MM3/sink.pid" ]; then
    kill -TERM "$(cat "$MM3/sink.pid")" 2>/dev/null || true
    wait "$(cat "$MM3/sink.pid")" 2>/dev/null || true
  fi
  rm -rf "$MM3"
}

setup() {
  common_setup
  RUN_LIMIT=60
  LMTP_DELIVER=$(dirname "$IN_SMTPD")/lmtp-deliver
  GREETING="220 $HOST in.smtpd ESMTP"
  DATA_GO='354 End data with <CR><LF>.<CR><LF>'
  UNKNOWN='550 Requested action not taken: mailbox unavailable'
  # With Mailman's maps (postfix_lmtp, postfix_domains) ...
  MM3_OPTIONS=(-c MailmanProxy --mailman-version 3 --hostname "$HOST"
    --mailman-lmtp "127.0.0.1:$LMTP_PORT" --mailman-data-dir "$MM3/var/data"
    --log stderr "127.0.0.1:$MM_SINK_PORT")
  # ... and without: the list check is Mailman's RCPT, and the domain is
  # named on the command line.
  mkdir -p "$BATS_TEST_TMPDIR/nomaps"
  MM3_RCPT_CHECK=(-c MailmanProxy --mailman-version 3 --hostname "$HOST"
    --mailman-lmtp "127.0.0.1:$LMTP_PORT"
    --mailman-data-dir "$BATS_TEST_TMPDIR/nomaps"
    --mailman-domain lists.example --log stderr "127.0.0.1:$MM_SINK_PORT")
}

# wait_for_dump TEXT...: poll (at most MM3_WAIT s) until one message that
# smtp-sink dumped holds every TEXT (fixed strings, whole lines); its
# path goes to $DUMP.
wait_for_dump() {
  local tries=$((MM3_WAIT * 4)) file text ok
  while ((tries-- > 0)); do
    for file in "$MM3"/dump/*; do
      [ -f "$file" ] || continue
      ok=1
      for text in "$@"; do
        grep -qxF -- "$text" "$file" || { ok=; break; }
      done
      if [ -n "$ok" ]; then
        DUMP=$file
        return 0
      fi
    done
    sleep 0.25
  done
  echo "no dumped message with: $*; dumps: $(grep -h '^Subject:' "$MM3"/dump/* 2>/dev/null)" >&2
  echo "mailman.log: $(tail -n 20 "$MM3/var/logs/mailman.log" 2>/dev/null)" >&2
  return 1
}

post() { # FROM RCPT DATA-LINES (printf %b text, CRLF line ends)
  printf 'HELO client.example\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n%b.\r\nQUIT\r\n' \
    "$1" "$2" "$3"
}

@test "lmtp-deliver --check against Mailman: a list 0, an unknown list 65 with Mailman's reply" {
  run "$LMTP_DELIVER" --check 127.0.0.1:$LMTP_PORT ant@lists.example
  [ "$status" -eq 0 ]
  [ "$output" = "lmtp-deliver: ant@lists.example: 250 Ok" ]
  run "$LMTP_DELIVER" --check 127.0.0.1:$LMTP_PORT -- nope@lists.example
  [ "$status" -eq 65 ]
  [ "$output" = "lmtp-deliver: nope@lists.example: $UNKNOWN" ]
}

@test "a post through in.smtpd reaches the member, with the envelope sender in X-MailFrom" {
  post member@example.net ant@lists.example \
    'From: Member <member@example.net>\r\nTo: ant@lists.example\r\nSubject: first post\r\nMessage-ID: <first.post@example.net>\r\n\r\nHello, list.\r\n..dot line\r\n' >"$IN"
  smtpd_pipe "$IN" "${MM3_OPTIONS[@]}"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" "$DATA_GO" "250 OK" "221 Bye"
  wait_for_dump 'X-Rcpt-Args: <member@example.net>' 'Subject: [Ant] first post'
  grep -qxF 'X-MailFrom: member@example.net' "$DUMP"
  grep -qxF 'X-Mail-Args: <ant-bounces@lists.example>' "$DUMP"
  grep -qxF '.dot line' "$DUMP"
  grep -qxF 'Hello, list.' "$DUMP"
}

@test "a LIST-request subscribe is processed: the subscription is pending in Mailman" {
  post newbie@example.net ant-request@lists.example \
    'From: newbie@example.net\r\nTo: ant-request@lists.example\r\nSubject: subscribe\r\n\r\nsubscribe\r\n' >"$IN"
  smtpd_pipe "$IN" "${MM3_RCPT_CHECK[@]}"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" "$DATA_GO" "250 OK" "221 Bye"
  wait_for_dump 'X-Rcpt-Args: <newbie@example.net>' \
    'Subject: Your confirmation is needed to join the ant@lists.example mailing'
  printf '%s\n' 'from zope.component import getUtility' \
    'from mailman.interfaces.pending import IPendings' \
    "for token, p in getUtility(IPendings).find(mlist=m, pend_type='subscription'):" \
    "    print('PENDING', p.get('email'))" '' >"$BATS_TEST_TMPDIR/pending.py"
  mailman_cmd shell -l ant@lists.example <"$BATS_TEST_TMPDIR/pending.py" >"$BATS_TEST_TMPDIR/shell.out" 2>&1
  grep -q 'PENDING newbie@example.net$' "$BATS_TEST_TMPDIR/shell.out" || {
    cat "$BATS_TEST_TMPDIR/shell.out" >&2
    return 1
  }
}

@test "an unknown list is refused at RCPT with 550, -admin too; other domains are relayed (maps)" {
  printf 'HELO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<nope@lists.example>\r\nRCPT TO:<ant-admin@Lists.Example>\r\nRCPT TO:<ant-bogus+x@lists.example>\r\nRCPT TO:<friend@elsewhere.example>\r\nDATA\r\nSubject: relayed\r\n\r\nhi\r\n.\r\nQUIT\r\n' >"$IN"
  smtpd_pipe "$IN" "${MM3_OPTIONS[@]}"
  expect_status 0
  # The relayed recipient and the message get smtp-sink's own replies.
  expect_replies "$GREETING" "250 $HOST" "250 OK" "$UNKNOWN" "$UNKNOWN" "$UNKNOWN" \
    "250 2.1.5 Ok" "$DATA_GO" "250 2.0.0 Ok" "221 Bye"
  wait_for_dump 'X-Rcpt-Args: <friend@elsewhere.example>' 'Subject: relayed'
  ! grep -q 'lists.example' "$DUMP"
}

@test "an unknown list is refused at RCPT with Mailman's own reply (its LMTP RCPT check)" {
  printf 'HELO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<nope@lists.example>\r\nRCPT TO:<ant-owner@lists.example>\r\nQUIT\r\n' >"$IN"
  smtpd_pipe "$IN" "${MM3_RCPT_CHECK[@]}"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "$UNKNOWN" "250 OK" "221 Bye"
}

# Last: it stops Mailman.
@test "Mailman stopped: 451 (after DATA with the maps, at RCPT without), lmtp-deliver exits 75" {
  stop_mailman
  run "$LMTP_DELIVER" --sender=a@example.net 127.0.0.1:$LMTP_PORT ant@lists.example </dev/null
  [ "$status" -eq 75 ]
  [ "$output" = "lmtp-deliver: ant@lists.example: no reply: cannot connect to 127.0.0.1:$LMTP_PORT: Connection refused" ]

  post member@example.net ant@lists.example 'Subject: kept\r\n\r\nkeep me\r\n' >"$IN"
  smtpd_pipe "$IN" "${MM3_OPTIONS[@]}"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" "$DATA_GO" \
    "451 Error: mailing list ant@lists.example failed, try again later" "221 Bye"
  grep -qF "mailman ant@lists.example failed: exit status 75; it said: lmtp-deliver: ant@lists.example: no reply: cannot connect to 127.0.0.1:$LMTP_PORT" "$ERR"

  printf 'HELO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<ant@lists.example>\r\nQUIT\r\n' >"$IN"
  smtpd_pipe "$IN" "${MM3_RCPT_CHECK[@]}"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" \
    "451 Error: cannot look up mailing lists, try again later" "221 Bye"
}
