#!/usr/bin/env bats
# relay-proxy.bats - PureProxy as a before-queue proxy, reply for reply,
# in front of a private Postfix (mydestination = dest.test) whose
# check_recipient_access refuses bad@dest.test with 550 and busy@dest.test
# with 450, and answers slow@dest.test (and the final dot of a message
# from slowdot@example.com) only after 3 seconds.  Each
# recipient's reply reaches the client; only the accepted recipients get
# the message; the client gets Postfix's own reply to the final dot, its
# queue ID included; SMTPUTF8 is refused at MAIL (Postfix here lacks it);
# BODY=8BITMIME is passed on; a late upstream gives 451 and nothing is
# queued, so the client's retry makes no second copy.  And a second
# private Postfix as the client (relayhost = in.smtpd): its log shows
# the upstream's queue ID for each sent recipient, and a refused
# recipient bounced or deferred alone.  The message streams upstream (a
# 5 MB one arrives byte for byte); a client that closes before the
# upstream answered its final dot is logged, inetd style and standalone.
#
# Run (as root: Postfix's master needs it):
#   IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/relay-proxy.bats

load helpers

setup_file() {
  # The recipient table, where start_postfix puts its configuration.
  POSTFIX_DIR=$(mktemp -d /tmp/in-smtpd-postfix.XXXXXX)
  mkdir "$POSTFIX_DIR/conf"
  cat >"$POSTFIX_DIR/conf/recipients" <<'EOT'
bad@dest.test 550 5.1.1 no such user
busy@dest.test 450 4.2.1 mailbox busy
slow@dest.test sleep 3
EOT
  # And a sender whose final dot is answered only after 3 seconds.
  printf 'slowdot@example.com sleep 3\n' >"$POSTFIX_DIR/conf/senders"
  postfix_for_file dest.test \
    "smtpd_recipient_restrictions = check_recipient_access texthash:$POSTFIX_DIR/conf/recipients" \
    "smtpd_end_of_data_restrictions = check_sender_access texthash:$POSTFIX_DIR/conf/senders"
}

teardown_file() {
  stop_postfix
}

setup() {
  postfix_test_setup
  DATA_GO='354 End data with <CR><LF>.<CR><LF>'
  BAD='550 5.1.1 <bad@dest.test>: Recipient address rejected: no such user'
  BUSY='450 4.2.1 <busy@dest.test>: Recipient address rejected: mailbox busy'
  EHLO_REPLIES=("250-$HOST" '250-SIZE 33554432' '250-8BITMIME' '250-PIPELINING'
    '250 HELP')
}

teardown() {
  stop_postfix_client
  stop_background
}

# queued_ids: the queue IDs of the messages Postfix holds, one a line.
queued_ids() {
  find "$POSTFIX_DIR/queue/incoming" -type f -printf '%f\n' | sort
}

# wait_postfix_idle: Postfix's smtpd has logged the end of every session
# (a session cut short leaves its queue file until then).  Bounded.
wait_postfix_idle() {
  local tries=400 connects ends
  while ((tries-- > 0)); do
    connects=$(grep -c ' connect from ' "$POSTFIX_DIR/maillog" || true)
    ends=$(grep -c ' disconnect from ' "$POSTFIX_DIR/maillog" || true)
    [ "$connects" -eq "$ends" ] && return 0
    sleep 0.05
  done
  echo "Postfix did not end its sessions: $(tail -5 "$POSTFIX_DIR/maillog")" >&2
  return 1
}

# session MAIL-LINE RCPT...: printf %b text of one transaction with a
# message ("Subject: proxy" and "b\xc3\xa4dy").
session() {
  local text="EHLO client.example\\r\\n$1\\r\\n" rcpt
  shift
  for rcpt; do
    text+="RCPT TO:<$rcpt>\\r\\n"
  done
  printf '%s' "${text}DATA\\r\\nSubject: proxy\\r\\n\\r\\nb\\xc3\\xa4dy\\r\\n.\\r\\nQUIT\\r\\n"
}

@test "each recipient gets Postfix's own reply; only the accepted ones get the message" {
  printf '%b' "$(session 'MAIL FROM:<a@example.com>' good1@dest.test bad@dest.test \
    busy@dest.test good2@dest.test)" >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" --log stderr "$UPSTREAM"
  expect_status 0
  local id
  id=$(queued_ids)
  [ -n "$id" ] && [ "$(printf '%s\n' "$id" | wc -l)" -eq 1 ]
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" \
    '250 2.1.0 Ok' '250 2.1.5 Ok' "$BAD" "$BUSY" '250 2.1.5 Ok' "$DATA_GO" \
    "250 2.0.0 Ok: queued as $id" '221 Bye'
  expect_queued good1@dest.test good2@dest.test
  # The refusals are logged in Postfix's words, with our pid.
  grep -F "in.smtpd[" "$ERR" | grep -qF "RCPT TO:<bad@dest.test> refused: $BAD"
  grep -F "in.smtpd[" "$ERR" | grep -qF "RCPT TO:<busy@dest.test> refused: $BUSY"
  # And the message's line carries the queue ID.
  grep -qF "reply=\"250 2.0.0 Ok: queued as $id\"" "$ERR"
}

@test "a recipient refused by the relay policy never goes upstream" {
  printf '%b' "$(session 'MAIL FROM:<a@example.com>' good1@dest.test other@elsewhere.test)" >"$IN"
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 smtpd_pipe "$IN" --hostname "$HOST" \
    --relay-domain dest.test "$UPSTREAM"
  expect_status 0
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" '250 2.1.0 Ok' '250 2.1.5 Ok' \
    '554 Error: relay access denied' "$DATA_GO" "250 2.0.0 Ok: queued as $(queued_ids)" \
    '221 Bye'
  expect_queued good1@dest.test
  ! grep -q 'elsewhere.test' "$POSTFIX_DIR/maillog"
}

@test "every recipient refused upstream: DATA needs a recipient, nothing is queued" {
  printf '%b' "$(session 'MAIL FROM:<a@example.com>' bad@dest.test busy@dest.test)" >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" "$UPSTREAM"
  expect_status 0
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" '250 2.1.0 Ok' "$BAD" "$BUSY" \
    '503 Error: need RCPT command' '500 Error: command "SUBJECT:" not recognized' \
    '500 Error: bad syntax' '500 Error: command not recognized' \
    '500 Error: command "." not recognized' '221 Bye'
  expect_queued
}

@test "SMTPUTF8 is refused at MAIL when Postfix lacks it, before any address goes upstream" {
  printf '%b' "$(session 'MAIL FROM:<j\xc3\xbcrgen@example.com> SMTPUTF8' good1@dest.test)" >"$IN"
  smtpd_pipe "$IN" -u --hostname "$HOST" --log stderr "$UPSTREAM"
  expect_status 0
  expect_replies "$GREETING" "250-$HOST" '250-SIZE 33554432' '250-8BITMIME' \
    '250-SMTPUTF8' '250-PIPELINING' '250 HELP' \
    '553 Error: the upstream server does not support SMTPUTF8' \
    '503 Error: need MAIL command' '503 Error: need RCPT command' \
    '500 Error: command "SUBJECT:" not recognized' '500 Error: bad syntax' \
    '500 Error: command not recognized' '500 Error: command "." not recognized' '221 Bye'
  expect_queued
  wait_postfix_idle
  ! grep -q 'MAIL\|RCPT\|example.com' "$POSTFIX_DIR/maillog"
  grep -qF 'refused here: the upstream does not offer SMTPUTF8' "$ERR"
}

@test "BODY=8BITMIME is passed on (Postfix records the message as 8bit); without it, not" {
  printf '%b' "$(session 'MAIL FROM:<a@example.com> BODY=8BITMIME' good1@dest.test)" >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" "$UPSTREAM"
  expect_status 0
  /usr/sbin/postcat -c "$POSTFIX_DIR/conf" -v "$POSTFIX_DIR/queue/incoming/$(queued_ids)" \
    >"$BATS_TEST_TMPDIR/postcat"
  grep -q '^named_attribute: encoding=8bit$' "$BATS_TEST_TMPDIR/postcat"
  postfix_clear
  printf '%b' "$(session 'MAIL FROM:<a@example.com>' good1@dest.test)" >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" "$UPSTREAM"
  expect_status 0
  /usr/sbin/postcat -c "$POSTFIX_DIR/conf" -v "$POSTFIX_DIR/queue/incoming/$(queued_ids)" \
    >"$BATS_TEST_TMPDIR/postcat"
  ! grep -q '^named_attribute: encoding=8bit$' "$BATS_TEST_TMPDIR/postcat"
}

@test "a late upstream under a short --relay-timeout: 451, nothing queued, and the retry makes one copy" {
  printf '%b' "$(session 'MAIL FROM:<a@example.com>' good1@dest.test slow@dest.test \
    good2@dest.test)" >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" --relay-timeout 2 --log stderr "$UPSTREAM"
  expect_status 0
  # The upstream transaction is gone with the late reply: DATA gets 451
  # (never a 354 the upstream did not give), and the message's lines are
  # then commands.
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" '250 2.1.0 Ok' '250 2.1.5 Ok' \
    '451 Error: relay failed, try again later' '451 Error: relay failed, try again later' \
    '451 Error: relay failed, try again later' '500 Error: command "SUBJECT:" not recognized' \
    '500 Error: bad syntax' '500 Error: command not recognized' \
    '500 Error: command "." not recognized' '221 Bye'
  grep -qF 'RCPT TO:<slow@dest.test> failed: no reply from the upstream in 2 s' "$ERR"
  wait_postfix_idle
  expect_queued
  # The client tries again without the slow recipient: one copy.
  printf '%b' "$(session 'MAIL FROM:<a@example.com>' good1@dest.test good2@dest.test)" >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" "$UPSTREAM"
  expect_status 0
  expect_queued good1@dest.test good2@dest.test
}

@test "RSET, a second transaction and QUIT: each transaction is the upstream's own" {
  printf '%b' 'EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<good1@dest.test>\r\nRSET\r\nMAIL FROM:<b@example.com>\r\nRCPT TO:<good2@dest.test>\r\nDATA\r\nSubject: two\r\n\r\nx\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<good3@dest.test>\r\nDATA\r\nSubject: three\r\n\r\ny\r\n.\r\nQUIT\r\n' >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" "$UPSTREAM"
  expect_status 0
  [ "$(queued_ids | wc -l)" -eq 2 ]
  expect_queued good2@dest.test good3@dest.test
  wait_postfix_idle
  grep -q 'disconnect from .* rset=1 .*quit=1' "$POSTFIX_DIR/maillog"
}

@test "a client gone in the middle of DATA: nothing queued, the upstream connection dropped" {
  printf '%b' 'EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<good1@dest.test>\r\nDATA\r\nSubject: cut\r\n\r\nhalf a mess' >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" --log stderr "$UPSTREAM"
  expect_status 0
  grep -q 'end=reset in=DATA' "$ERR"
  wait_postfix_idle
  expect_queued
}

@test "standalone, swaks as the client, two sessions at once: the slow one holds only itself" {
  local port
  port=$(free_port)
  start_background "$BATS_TEST_TMPDIR/server.log" "$IN_SMTPD" -n -l "127.0.0.1:$port" \
    --hostname "$HOST" --log stderr "$UPSTREAM"
  wait_for_port "$port"
  # The slow recipient's session waits 3 s upstream; the other one is
  # answered meanwhile, whatever the order.
  timeout -k 5 "$RUN_LIMIT" swaks --server "127.0.0.1:$port" --helo client.example \
    --from a@example.com --to slow@dest.test --body 'slow' >"$BATS_TEST_TMPDIR/slow" 2>&1 &
  local slow=$!
  timeout -k 5 "$RUN_LIMIT" swaks --server "127.0.0.1:$port" --helo client.example \
    --from a@example.com --to good1@dest.test,bad@dest.test --body 'quick' \
    >"$BATS_TEST_TMPDIR/quick" 2>&1
  # The quick session ended while the slow one still waited upstream.
  kill -0 "$slow"
  wait "$slow"
  tr -d '\r' <"$BATS_TEST_TMPDIR/quick" | grep -qF "<** $BAD"
  tr -d '\r' <"$BATS_TEST_TMPDIR/quick" | grep -q '^<-  250 2.0.0 Ok: queued as '
  tr -d '\r' <"$BATS_TEST_TMPDIR/slow" | grep -q '^<-  250 2.0.0 Ok: queued as '
  expect_queued good1@dest.test slow@dest.test
}

@test "Postfix as the client: status=sent carries the upstream's queue ID; a 550 bounces and a 450 defers only its recipient" {
  local port id
  port=$(free_port)
  start_background "$BATS_TEST_TMPDIR/server.log" "$IN_SMTPD" -n -l "127.0.0.1:$port" \
    --hostname "$HOST" --log stderr "$UPSTREAM"
  wait_for_port "$port"
  start_postfix_client "[127.0.0.1]:$port"
  local said="host 127.0.0.1[127.0.0.1] said:"
  # Three recipients, one refused upstream with 550.
  printf 'Subject: three\n\nthree recipients\n' |
    client_sendmail a@client.test good1@dest.test bad@dest.test good2@dest.test
  wait_client_status 3
  id=$(queued_ids)
  [ -n "$id" ] && [ "$(printf '%s\n' "$id" | wc -l)" -eq 1 ]
  expect_queued good1@dest.test good2@dest.test
  client_status good1@dest.test | grep -qF "status=sent (250 2.0.0 Ok: queued as $id)"
  client_status good2@dest.test | grep -qF "status=sent (250 2.0.0 Ok: queued as $id)"
  client_status bad@dest.test |
    grep -qF "status=bounced ($said $BAD (in reply to RCPT TO command))"
  # Two recipients, one refused upstream with 450: it alone is deferred,
  # and stays in the client's queue.
  postfix_clear
  printf 'Subject: two\n\ntwo recipients\n' |
    client_sendmail a@client.test good3@dest.test busy@dest.test
  wait_client_status 5
  id=$(queued_ids)
  [ -n "$id" ] && [ "$(printf '%s\n' "$id" | wc -l)" -eq 1 ]
  expect_queued good3@dest.test
  client_status good3@dest.test | grep -qF "status=sent (250 2.0.0 Ok: queued as $id)"
  client_status busy@dest.test |
    grep -qF "status=deferred ($said $BUSY (in reply to RCPT TO command))"
  [ "$(grep -c 'status=' "$CLIENT_STATUS")" -eq 5 ]
  timeout -k 5 "$RUN_LIMIT" /usr/sbin/postqueue -c "$CLIENT_DIR/conf" -p \
    >"$BATS_TEST_TMPDIR/postqueue"
  grep -qF 'busy@dest.test' "$BATS_TEST_TMPDIR/postqueue"
  ! grep -q 'good[0-9]@dest.test' "$BATS_TEST_TMPDIR/postqueue"
}

# Python, on a connection "ours" just made: a message for slowdot@ (whose
# final dot Postfix answers 3 s late), then the client goes away at once
# instead of waiting for the reply, as a client whose own timeout ran out.
SEND_AND_GO='def until(marker):
    got = b""
    while marker not in got:
        chunk = ours.recv(4096)
        if not chunk:
            sys.exit("closed before " + repr(marker))
        got += chunk
until(b"220 ")
ours.sendall(b"EHLO client.example\r\nMAIL FROM:<slowdot@example.com>\r\n"
             b"RCPT TO:<good1@dest.test>\r\nDATA\r\n")
until(b"354 ")
ours.sendall(b"Subject: gone\r\n\r\nbody\r\n.\r\n")
ours.close()
'

@test "a client gone before the upstream answered the final dot: logged, with the upstream's reply" {
  # Inetd style on a socket: the client sends its message, then closes the
  # connection at once instead of waiting for the reply (as a client whose
  # own timeout ran out does); Postfix answers 3 s later.
  status=0
  "$PYTHON3" -c '
import socket, subprocess, sys
limit = float(sys.argv[1])
ours, theirs = socket.socketpair()
with open(sys.argv[2], "wb") as err:
    child = subprocess.Popen(sys.argv[3:], stdin=theirs, stdout=theirs,
                             stderr=err, close_fds=True)
theirs.close()
ours.settimeout(limit)
'"$SEND_AND_GO"'
sys.exit(child.wait(timeout=limit))
' "$RUN_LIMIT" "$ERR" "$IN_SMTPD" -n --hostname "$HOST" --log stderr "$UPSTREAM" || status=$?
  # The reply met a closed connection (EX_IOERR).
  expect_status 74
  grep -q 'end=io-error' "$ERR"
  wait_postfix_idle
  local id
  id=$(queued_ids)
  [ -n "$id" ] && [ "$(printf '%s\n' "$id" | wc -l)" -eq 1 ]
  expect_queued good1@dest.test
  # The duplicate risk, for the admin: the upstream has it, the client
  # never heard so.
  grep -F "in.smtpd[" "$ERR" | grep -qF \
    "relay to $UPSTREAM: the client was gone when the upstream answered the final dot: 250 2.0.0 Ok: queued as $id"
}

@test "a message streams upstream: Postfix has it byte for byte, dots and X-Peer as smtpd.py relayed them" {
  # Larger than the stream's queue (256 KB), with lines that need
  # dot-stuffing upstream and bare line ends the proxy makes CRLF.
  "$PYTHON3" -c '
import sys
body = b"".join(b".line %06d \xc3\xa4 x\r\n" % i for i in range(20000))
sys.stdout.buffer.write(
    b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n"
    b"RCPT TO:<good1@dest.test>\r\nDATA\r\nSubject: big\r\n\r\n"
    + body.replace(b".line", b"..line") + b"bare\nlf\r\n.\r\nQUIT\r\n")
' >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" --log stderr "$UPSTREAM"
  expect_status 0
  local id
  id=$(queued_ids)
  expect_replies "$GREETING" "${EHLO_REPLIES[@]}" '250 2.1.0 Ok' '250 2.1.5 Ok' \
    "$DATA_GO" "250 2.0.0 Ok: queued as $id" '221 Bye'
  /usr/sbin/postcat -c "$POSTFIX_DIR/conf" -b "$POSTFIX_DIR/queue/incoming/$id" \
    >"$BATS_TEST_TMPDIR/body"
  [ "$(grep -c '^\.line [0-9]* ä x$' "$BATS_TEST_TMPDIR/body")" -eq 20000 ]
  grep -qx 'bare' "$BATS_TEST_TMPDIR/body"
  grep -qx 'lf' "$BATS_TEST_TMPDIR/body"
  /usr/sbin/postcat -c "$POSTFIX_DIR/conf" -h "$POSTFIX_DIR/queue/incoming/$id" |
    grep -qx 'X-Peer: 127.0.0.1'
}

@test "standalone: a client gone before the upstream answered the final dot is logged too" {
  local port id tries=200
  port=$(free_port)
  start_background "$BATS_TEST_TMPDIR/server.log" "$IN_SMTPD" -n -l "127.0.0.1:$port" \
    --hostname "$HOST" --log stderr "$UPSTREAM"
  wait_for_port "$port"
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" -c '
import socket, sys
ours = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
'"$SEND_AND_GO" "$port"
  # The session ends once the upstream answered (3 s); bounded.
  while ((tries-- > 0)) && ! grep -q 'end=' "$BATS_TEST_TMPDIR/server.log"; do
    sleep 0.05
  done
  wait_postfix_idle
  id=$(queued_ids)
  [ -n "$id" ] && [ "$(printf '%s\n' "$id" | wc -l)" -eq 1 ]
  grep -qF "relay to $UPSTREAM: the client was gone when the upstream answered the final dot: 250 2.0.0 Ok: queued as $id" \
    "$BATS_TEST_TMPDIR/server.log"
}
