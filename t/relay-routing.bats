#!/usr/bin/env bats
# relay-routing.bats - sender-specified routing never passes the relay
# policy.  A private Postfix (mydestination = local.test, trusting
# in.smtpd's address 127.0.0.1) is the upstream: it would queue
# victim%gmail.test@local.test for gmail.test, as it trusts us.  From a
# client outside the relay networks, every routed form ('%', '!', a bare,
# quoted or escaped '@', a source route) gets 554 from PureProxy and from
# MailmanProxy's relayed part, as it does from Postfix's own
# reject_unauth_destination, and nothing reaches Postfix; plain recipients
# of local.test are relayed.
#
# Run (as root: Postfix's master needs it):
#   IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/relay-routing.bats

load helpers

setup_file() {
  postfix_for_file local.test
}

teardown_file() {
  stop_postfix
}

setup() {
  postfix_test_setup
  DENIED='554 Error: relay access denied'
  # Postfix's own replies, passed on by PureProxy (a before-queue proxy).
  MAIL_OK='250 2.1.0 Ok'
  RCPT_OK='250 2.1.5 Ok'
}

# queued_reply: Postfix's reply to the final dot of the one message it
# queued.
queued_reply() {
  local id
  id=$(find "$POSTFIX_DIR/queue/incoming" -type f -printf '%f\n')
  printf '250 2.0.0 Ok: queued as %s' "$id"
}

teardown() {
  stop_background
}

# Every form of sender-specified routing towards gmail.test through
# local.test, as a client writes it in RCPT TO:<...>.
ROUTED=(
  'victim%gmail.test@local.test'
  'gmail.test!victim@local.test'
  '"victim@gmail.test"@local.test'
  '"victim\@gmail.test"@local.test'
  '"victim%gmail.test"@local.test'
  '"gmail.test!victim"@local.test'
  'victim%gmail.test@LOCAL.TEST'
  'a!b!victim%gmail.test@Local.Test'
)

# swaks_rcpt PORT RCPT [SWAKS-OPTION...]: swaks to 127.0.0.1:PORT up to
# RCPT TO:<RCPT>; prints the reply to the RCPT (without CR).
swaks_rcpt() {
  local port=$1 rcpt=$2
  shift 2
  timeout -k 5 "$RUN_LIMIT" swaks --server "127.0.0.1:$port" --helo client.example \
    --from a@example.com --to "$rcpt" --quit-after RCPT "$@" 2>&1 |
    tr -d '\r' | grep -A1 '^ *-> RCPT TO:' | sed -n '2s/^<[-*][-*]* *//p'
}

# swaks_send PORT RCPT: a whole message to RCPT with swaks; prints the
# reply to the final dot.
swaks_send() {
  timeout -k 5 "$RUN_LIMIT" swaks --server "127.0.0.1:$1" --helo client.example \
    --from a@example.com --to "$2" --body 'routed?' 2>&1 |
    tr -d '\r' | grep -A1 '^ *-> \.$' | sed -n '2s/^<[-*][-*]* *//p'
}

# rcpts_to RCPT...: a session (for $IN) with RCPT TO:<RCPT> for each, no
# DATA.
rcpts_to() {
  local session='HELO client.example\r\nMAIL FROM:<a@example.com>\r\n' rcpt
  for rcpt; do
    session+="RCPT TO:<$rcpt>\\r\\n"
  done
  printf '%s' "${session}QUIT\\r\\n"
}

# message_to RCPT...: a session (for $IN) with one message to every RCPT.
message_to() {
  local session='HELO client.example\r\nMAIL FROM:<a@example.com>\r\n' rcpt
  for rcpt; do
    session+="RCPT TO:<$rcpt>\\r\\n"
  done
  printf '%s' "${session}DATA\\r\\nSubject: routed?\\r\\n\\r\\nbody\\r\\n.\\r\\nQUIT\\r\\n"
}

@test "Postfix itself refuses every routed form from a client it does not trust" {
  # What in.smtpd must do too: reject_unauth_destination, with Postfix's
  # default allow_untrusted_routing = no, from a client outside mynetworks.
  local rcpt reply
  for rcpt in "${ROUTED[@]}"; do
    reply=$(swaks_rcpt "$POSTFIX_PORT" "$rcpt" --local-interface 127.0.0.3)
    [[ $reply == "554 5.7.1 <"*"Relay access denied" ]] || {
      echo "Postfix answered RCPT TO:<$rcpt> with '$reply'" >&2
      return 1
    }
  done
  reply=$(swaks_rcpt "$POSTFIX_PORT" victim@local.test --local-interface 127.0.0.3)
  [ "$reply" = "250 2.1.5 Ok" ] || {
    echo "Postfix answered the plain recipient with '$reply'" >&2
    return 1
  }
}

@test "Postfix queues routed recipients from in.smtpd's address: it trusts us" {
  # So the refusal has to be ours.
  local reply
  reply=$(swaks_send "$POSTFIX_PORT" 'victim%gmail.test@local.test')
  [[ $reply == "250 2.0.0 Ok: queued as "* ]] || {
    echo "Postfix answered '$reply'" >&2
    return 1
  }
  expect_queued 'victim%gmail.test@local.test'
}

@test "PureProxy, one session per connection: every routed form gets 554, nothing reaches Postfix" {
  local rcpt expected=("$GREETING" "250 $HOST" "$MAIL_OK")
  for rcpt in "${ROUTED[@]}"; do
    expected+=("$DENIED")
  done
  printf '%b' "$(rcpts_to "${ROUTED[@]}")" >"$IN"
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 smtpd_pipe "$IN" --hostname "$HOST" \
    --relay-domain local.test "$UPSTREAM"
  expect_status 0
  expect_replies "${expected[@]}" "221 Bye"
  expect_queued
}

@test "PureProxy, one session per connection: plain recipients of local.test are relayed beside refused routed ones" {
  printf '%b' "$(message_to victim@local.test 'victim%gmail.test@local.test' \
    Other@LOCAL.TEST '"victim@gmail.test"@local.test')" >"$IN"
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 smtpd_pipe "$IN" --hostname "$HOST" \
    --relay-domain local.test "$UPSTREAM"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "$MAIL_OK" "$RCPT_OK" "$DENIED" "$RCPT_OK" \
    "$DENIED" '354 End data with <CR><LF>.<CR><LF>' "$(queued_reply)" "221 Bye"
  expect_queued victim@local.test Other@LOCAL.TEST
}

@test "PureProxy: address literals and other domains are outside local.test" {
  printf '%b' "$(rcpts_to 'victim@[127.0.0.1]' 'victim@[IPv6:::1]' victim@gmail.test \
    victim@sub.local.test victim@local.test.gmail.test)" >"$IN"
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 smtpd_pipe "$IN" --hostname "$HOST" \
    --relay-domain local.test "$UPSTREAM"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "$MAIL_OK" "$DENIED" "$DENIED" "$DENIED" \
    "$DENIED" "$DENIED" "221 Bye"
  expect_queued
}

@test "PureProxy: a client on a relay network may still route (as permit_mynetworks)" {
  printf '%b' "$(message_to 'victim%gmail.test@local.test')" >"$IN"
  smtpd_pipe "$IN" --hostname "$HOST" --relay-domain local.test "$UPSTREAM"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "$MAIL_OK" "$RCPT_OK" \
    '354 End data with <CR><LF>.<CR><LF>' "$(queued_reply)" "221 Bye"
  expect_queued 'victim%gmail.test@local.test'
}

@test "PureProxy standalone, swaks as the client: every routed form gets 554, a plain one is delivered" {
  local port rcpt reply
  port=$(free_port)
  # --relay-network replaces the loopback default: swaks on 127.0.0.1 is
  # an outside client, as in the report.
  start_background "$BATS_TEST_TMPDIR/server.log" "$IN_SMTPD" -n -l "127.0.0.1:$port" \
    --hostname "$HOST" --relay-network 192.0.2.0/24 --relay-domain local.test \
    --log stderr "$UPSTREAM"
  wait_for_port "$port"
  for rcpt in "${ROUTED[@]}"; do
    reply=$(swaks_rcpt "$port" "$rcpt")
    [ "$reply" = "$DENIED" ] || {
      echo "RCPT TO:<$rcpt> got '$reply'" >&2
      return 1
    }
  done
  reply=$(swaks_send "$port" victim@local.test)
  [ "$reply" = "$(queued_reply)" ] || {
    echo "the plain recipient's message got '$reply'" >&2
    return 1
  }
  expect_queued victim@local.test
}

@test "MailmanProxy's relayed part: routed forms get 554, the list and plain recipients are delivered" {
  local lists=$BATS_TEST_TMPDIR/lists wrapper=$BATS_TEST_TMPDIR/wrapper rcpt
  # MAIL and the list are answered here, the plain recipient and the
  # message by Postfix (the relayed part is before-queue too).
  local expected=("$GREETING" "250 $HOST" "250 OK" "250 OK" "$RCPT_OK")
  mkdir -p "$lists/test"
  : >"$lists/test/config.pck"
  printf '#!/bin/sh\ncat >"%s/$1.$2"\n' "$BATS_TEST_TMPDIR" >"$wrapper"
  chmod 0755 "$wrapper"
  for rcpt in "${ROUTED[@]}"; do
    expected+=("$DENIED")
  done
  printf '%b' "$(message_to test@local.test victim@local.test "${ROUTED[@]}")" >"$IN"
  TCPREMOTEIP=192.0.2.7 TCPREMOTEPORT=1234 smtpd_pipe "$IN" -c MailmanProxy \
    --hostname "$HOST" --mailman-lists-dir "$lists" \
    --mailman-command "$wrapper {command} {list}" --relay-domain local.test \
    "$UPSTREAM"
  expect_status 0
  expect_replies "${expected[@]}" '354 End data with <CR><LF>.<CR><LF>' \
    "$(queued_reply)" "221 Bye"
  expect_queued victim@local.test
  grep -q '^Subject: routed?' "$BATS_TEST_TMPDIR/post.test"
}
