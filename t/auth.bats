#!/usr/bin/env bats
# auth.bats - AUTH PLAIN and LOGIN (RFC 4954) with real clients: swaks,
# curl and Python's smtplib, in both modes (one process per connection
# under systemd-socket-activate, and the standalone -l loop); the
# checkpassword program's edge cases (slow, temporary failure, crash); the
# refusal of AUTH without TLS; AUTH under STARTTLS and implicit TLS, as
# a submission client sends it; relaying for authenticated clients; and no
# password in any log or trace.  Most sessions here are in the clear, with
# --auth-insecure, so that the exchange is what is tested.

load helpers

# The password of every test: no log or trace may hold it, in any spelling.
PASSWORD=s3cret-Pa55
PASSWORD_B64=$(printf '%s' "$PASSWORD" | base64)
PLAIN_B64=$(printf '\0alice\0%s' "$PASSWORD" | base64)

setup() {
  common_setup
  PRINTOUT=$BATS_TEST_TMPDIR/printout
  LOG=$BATS_TEST_TMPDIR/log
  CHECKER=$BATS_TEST_TMPDIR/checkpassword
  # A checkpassword program (the qmail interface): user NUL password NUL
  # timestamp NUL on fd 3; alice with $PASSWORD is good, anyone else bad.
  # It runs its last argument on success, as checkpassword does.
  cat >"$CHECKER" <<SH
#!/bin/sh
input=\$(head -c 512 <&3 | tr '\0' '\n')
user=\$(printf '%s\n' "\$input" | sed -n 1p)
password=\$(printf '%s\n' "\$input" | sed -n 2p)
[ "\$user" = alice ] && [ "\$password" = "$PASSWORD" ] || exit 1
exec "\$@"
SH
  chmod 0755 "$CHECKER"
  chmod 0755 "$BATS_TEST_TMPDIR"
}

teardown() {
  stop_background
  release_fifo
  remove_sink
}

# lacks TEXT FILE...: no FILE holds TEXT (a failing test, unlike "! grep").
lacks() {
  ! grep -qrF -- "$@"
}

# checker BODY: a checkpassword program with this shell body, in $CHECKER.
checker() {
  printf '#!/bin/sh\n%s\n' "$1" >"$CHECKER"
  chmod 0755 "$CHECKER"
}

# serve_inetd ARGS...: in.smtpd -n -c DebuggingServer ARGS, one process per
# connection under systemd-socket-activate on 127.0.0.1:$PORT; printouts
# and -d traces to $PRINTOUT, the log to $LOG.
serve_inetd() {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  PORT=$(free_port)
  start_background "$LOG" systemd-socket-activate --inetd -a \
    -l "127.0.0.1:$PORT" "$IN_SMTPD" -n -c DebuggingServer \
    --hostname "$HOST" --debug-file "$PRINTOUT" --log stderr "$@"
  wait_for_port "$PORT"
}

# serve_standalone ARGS...: the same, one process listening with -l.
serve_standalone() {
  PORT=$(free_port)
  start_background "$LOG" "$IN_SMTPD" -n -c DebuggingServer \
    --hostname "$HOST" --debug-file "$PRINTOUT" --log stderr \
    -l "127.0.0.1:$PORT" "$@"
  wait_for_port "$PORT"
}

# serve MODE ARGS...: serve_inetd or serve_standalone.
serve() {
  local mode=$1
  shift
  "serve_$mode" "$@"
}

# swaks_auth MECHANISM [PASSWORD] [SWAKS-ARGS...]: one message to $PORT as
# alice; output in $OUT, exit status in $status.
swaks_auth() {
  local mechanism=$1 password=${2:-$PASSWORD}
  shift 2 || shift
  status=0
  timeout -k 5 "$RUN_LIMIT" swaks --server 127.0.0.1 --port "$PORT" \
    --from a@b.example --to c@d.example --auth "$mechanism" \
    --auth-user alice --auth-password "$password" --header "Subject: swaks" \
    "$@" >"$OUT" 2>&1 || status=$?
}

# smtplib_login [PASSWORD]: Python's smtplib, login() then one message;
# prints what it got, exit 0 when the message was taken.
smtplib_login() {
  status=0
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" - "$PORT" "${1:-$PASSWORD}" >"$OUT" 2>&1 <<'PY' || status=$?
import smtplib, sys
port, password = int(sys.argv[1]), sys.argv[2]
with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
    s.ehlo("client.example")
    print("auth offered:", s.has_extn("auth"), (s.esmtp_features.get("auth") or "").strip())
    try:
        print("login:", s.login("alice", password))
    except smtplib.SMTPAuthenticationError as e:
        print("refused:", e.smtp_code, e.smtp_error.decode())
        sys.exit(3)
    s.sendmail("a@b.example", ["c@d.example"], "Subject: smtplib\r\n\r\nhi\r\n")
    print("sent")
PY
}

# Each of these runs in both modes (the @test lines below); $1 is the mode.

# swaks --auth PLAIN and LOGIN log in, the message is delivered, the log names the user
swaks_plain_and_login() {
  serve "$1" --auth-insecure --auth-checkpassword "$CHECKER /bin/true"
  swaks_auth PLAIN
  expect_status 0
  grep -qF '<-  235 2.7.0 Authentication successful' "$OUT"
  swaks_auth LOGIN
  expect_status 0
  grep -qF '<-  334 UGFzc3dvcmQ6' "$OUT"
  grep -qF '<-  235 2.7.0 Authentication successful' "$OUT"
  wait_for_text "$LOG" 'user=alice from=<a@b.example>'
  [ "$(grep -c 'auth peer=127.0.0.1 user=alice result=good check="exit 0"' "$LOG")" -eq 2 ]
  [ "$(grep -c 'Subject: swaks' "$PRINTOUT")" -eq 2 ]
}

# a wrong password is 535 (swaks exit 28), logged as bad
wrong_password() {
  serve "$1" --auth-insecure --auth-checkpassword "$CHECKER /bin/true"
  swaks_auth PLAIN wrong-password
  expect_status 28
  grep -qF '<** 535 5.7.8 Authentication credentials invalid' "$OUT"
  wait_for_text "$LOG" 'auth peer=127.0.0.1 user=alice result=bad check="exit 1"'
  [ ! -f "$PRINTOUT" ] || lacks 'Subject: swaks' "$PRINTOUT"
}

# curl --user logs in and sends
curl_user() {
  serve "$1" --auth-insecure --auth-checkpassword "$CHECKER /bin/true"
  printf 'Subject: curl\r\n\r\nhello\r\n' >"$IN"
  status=0
  timeout -k 5 "$RUN_LIMIT" curl -sS --user "alice:$PASSWORD" \
    --mail-from a@b.example --mail-rcpt c@d.example -T "$IN" \
    "smtp://127.0.0.1:$PORT" >"$OUT" 2>&1 || status=$?
  expect_status 0
  wait_for_text "$LOG" 'user=alice from=<a@b.example> rcpts=1'
  grep -qF 'Subject: curl' "$PRINTOUT"
  status=0
  timeout -k 5 "$RUN_LIMIT" curl -sS --user alice:wrong \
    --mail-from a@b.example --mail-rcpt c@d.example -T "$IN" \
    "smtp://127.0.0.1:$PORT" >"$OUT" 2>&1 || status=$?
  expect_status 67  # CURLE_LOGIN_DENIED
}

# smtplib login() and sendmail()
smtplib_logs_in() {
  serve "$1" --auth-insecure --auth-checkpassword "$CHECKER /bin/true"
  smtplib_login
  expect_status 0
  grep -qxF 'auth offered: True PLAIN LOGIN' "$OUT"
  grep -qF "login: (235, b'2.7.0 Authentication successful')" "$OUT"
  grep -qxF sent "$OUT"
  smtplib_login wrong
  expect_status 3
  grep -qxF 'refused: 535 5.7.8 Authentication credentials invalid' "$OUT"
}

# checkpassword that is slow (deadline), exits 111, or crashes: 454, logged with why
checkpassword_failures() {
  checker 'exec sleep 30'
  serve "$1" --auth-insecure --auth-checkpassword "$CHECKER" --auth-timeout 1
  smtplib_login
  expect_status 3
  grep -qxF 'refused: 454 4.7.0 Temporary authentication failure' "$OUT"
  wait_for_text "$LOG" 'result=temporary check="timed out after 1 s"'
  checker 'exit 111'
  smtplib_login
  grep -qxF 'refused: 454 4.7.0 Temporary authentication failure' "$OUT"
  wait_for_text "$LOG" 'result=temporary check="exit 111"'
  checker 'kill -SEGV $$'
  smtplib_login
  grep -qxF 'refused: 454 4.7.0 Temporary authentication failure' "$OUT"
  wait_for_text "$LOG" 'result=temporary check="signal 11"'
}

# no password in the log, the -d trace or the printout
no_password_anywhere() {
  serve "$1" -d --auth-insecure --auth-checkpassword "$CHECKER /bin/true"
  swaks_auth PLAIN
  expect_status 0
  swaks_auth LOGIN
  expect_status 0
  swaks_auth LOGIN wrong-$PASSWORD
  expect_status 28
  printf 'Subject: curl\r\n\r\nhello\r\n' >"$IN"
  timeout -k 5 "$RUN_LIMIT" curl -sS --user "alice:$PASSWORD" \
    --mail-from a@b.example --mail-rcpt c@d.example -T "$IN" \
    "smtp://127.0.0.1:$PORT"
  wait_for_text "$LOG" 'result=bad'
  [ "$(grep -c 'session peer=127.0.0.1 .*user=alice' "$LOG")" -ge 3 ]
  # The trace shows the exchanges, with the credentials hidden.
  grep -qF 'AUTH PLAIN [hidden]' "$PRINTOUT"
  grep -qF '[hidden]' "$PRINTOUT"
  grep -qF '334 VXNlcm5hbWU6' "$PRINTOUT"
  stop_background
  for secret in "$PASSWORD" "$PASSWORD_B64" "$PLAIN_B64" \
      "${PASSWORD_B64%%=*}" "${PLAIN_B64%%=*}"; do
    lacks "$secret" "$LOG" "$PRINTOUT"
  done
}

@test "inetd: swaks --auth PLAIN and LOGIN log in, the message is delivered, the log names the user" {
  swaks_plain_and_login inetd
}

@test "inetd: a wrong password is 535 (swaks exit 28), logged as bad" {
  wrong_password inetd
}

@test "inetd: curl --user logs in and sends" {
  curl_user inetd
}

@test "inetd: smtplib login() and sendmail()" {
  smtplib_logs_in inetd
}

@test "inetd: checkpassword that is slow (deadline), exits 111, or crashes: 454, logged with why" {
  checkpassword_failures inetd
}

@test "inetd: no password in the log, the -d trace or the printout" {
  no_password_anywhere inetd
}

@test "standalone: swaks --auth PLAIN and LOGIN log in, the message is delivered, the log names the user" {
  swaks_plain_and_login standalone
}

@test "standalone: a wrong password is 535 (swaks exit 28), logged as bad" {
  wrong_password standalone
}

@test "standalone: curl --user logs in and sends" {
  curl_user standalone
}

@test "standalone: smtplib login() and sendmail()" {
  smtplib_logs_in standalone
}

@test "standalone: checkpassword that is slow (deadline), exits 111, or crashes: 454, logged with why" {
  checkpassword_failures standalone
}

@test "standalone: no password in the log, the -d trace or the printout" {
  no_password_anywhere standalone
}


@test "standalone: a slow checkpassword holds only its own session" {
  local fifo=$BATS_TEST_TMPDIR/release started=$BATS_TEST_TMPDIR/started
  hold_fifo "$fifo"
  # It says it started, then waits until the test releases it.
  checker "echo started >$started; read line <$fifo; exit 0"
  serve_standalone --auth-insecure --auth-checkpassword "$CHECKER" \
    --auth-timeout 60
  local first_out=$BATS_TEST_TMPDIR/first
  start_background "$first_out" "$PYTHON3" -c '
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    s.ehlo("first.example")
    print("login:", s.login("alice", "pw"))
' "$PORT"
  wait_for_text "$started" started
  # Meanwhile another client is served from start to end.
  status=0
  timeout -k 5 "$RUN_LIMIT" swaks --server 127.0.0.1 --port "$PORT" \
    --from a@b.example --to c@d.example >"$OUT" 2>&1 || status=$?
  expect_status 0
  grep -qF '<-  250 OK' "$OUT"
  lacks 'login:' "$first_out"
  echo go >&"$FIFO_FD"
  release_fifo
  wait_for_text "$first_out" "login: (235, b'2.7.0 Authentication successful')"
}

# --- under TLS: no --auth-insecure --------------------------------------------------

# swaks --tls: AUTH offered only after STARTTLS, PLAIN and LOGIN log in inside TLS
auth_after_starttls() {
  serve "$1" -d --tls-self-signed --auth-checkpassword "$CHECKER /bin/true"
  swaks_auth PLAIN "$PASSWORD" --tls
  expect_status 0
  # Before TLS the EHLO reply has no AUTH; inside it has.
  [ "$(grep -c '^<-  250-AUTH PLAIN LOGIN' "$OUT")" -eq 0 ]
  grep -qF '<~  250-AUTH PLAIN LOGIN' "$OUT"
  grep -qF '<~  235 2.7.0 Authentication successful' "$OUT"
  swaks_auth LOGIN "$PASSWORD" --tls
  expect_status 0
  grep -qF '<~  235 2.7.0 Authentication successful' "$OUT"
  wait_for_text "$LOG" 'user=alice from=<a@b.example>'
  [ "$(grep -c "^b'Subject: swaks'$" "$PRINTOUT")" -eq 2 ]
  grep -qE 'session peer=127.0.0.1 helo=[^ ]+ user=alice messages=1 tls=TLSv1\.[23] ' "$LOG"
  # The -d trace shows the plaintext inside TLS, with the credentials hidden.
  grep -qF '[hidden]' "$PRINTOUT"
  lacks "$PASSWORD" "$LOG" "$PRINTOUT"
  lacks "$PASSWORD_B64" "$LOG" "$PRINTOUT"
  lacks "$PLAIN_B64" "$LOG" "$PRINTOUT"
}

@test "inetd: swaks --tls: AUTH offered only after STARTTLS, PLAIN and LOGIN log in inside TLS" {
  auth_after_starttls inetd
}

@test "standalone: swaks --tls: AUTH offered only after STARTTLS, PLAIN and LOGIN log in inside TLS" {
  auth_after_starttls standalone
}

@test "swaks --tls-on-connect: AUTH at once under implicit TLS" {
  serve inetd --tls-self-signed --tls-on-connect --auth-checkpassword "$CHECKER /bin/true"
  swaks_auth PLAIN "$PASSWORD" --tls-on-connect
  expect_status 0
  grep -qF '<~  235 2.7.0 Authentication successful' "$OUT"
  wait_for_text "$LOG" 'user=alice from=<a@b.example>'
}

@test "curl --ssl-reqd --user: STARTTLS, then AUTH, then the message" {
  serve standalone --tls-self-signed --auth-checkpassword "$CHECKER /bin/true"
  printf 'Subject: curl\r\n\r\nhello\r\n' >"$IN"
  status=0
  # --insecure: the certificate is --tls-self-signed's (t/tls.bats verifies one).
  timeout -k 5 "$RUN_LIMIT" curl -sS --ssl-reqd --insecure \
    --user "alice:$PASSWORD" --mail-from a@b.example --mail-rcpt c@d.example \
    -T "$IN" "smtp://127.0.0.1:$PORT" >"$OUT" 2>&1 || status=$?
  expect_status 0
  wait_for_text "$LOG" 'user=alice from=<a@b.example> rcpts=1'
  grep -qF 'Subject: curl' "$PRINTOUT"
}

@test "smtplib: login(), then starttls() forgets it (RFC 3207 4.2): a second login() is 235, not 503" {
  serve standalone --tls-self-signed --auth-insecure --auth-accept-any
  status=0
  timeout -k 5 "$RUN_LIMIT" "$PYTHON3" - "$PORT" "$PASSWORD" >"$OUT" 2>&1 <<'PY' || status=$?
import smtplib, ssl, sys
port, password = int(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
    print("clear:", s.login("alice", password))
    s.starttls(context=context)
    s.ehlo("client.example")
    print("tls:", s.login("alice", password))
    s.sendmail("a@b.example", ["c@d.example"], "Subject: smtplib\r\n\r\nhi\r\n")
    print("sent")
PY
  expect_status 0
  grep -qxF "clear: (235, b'2.7.0 Authentication successful')" "$OUT"
  grep -qxF "tls: (235, b'2.7.0 Authentication successful')" "$OUT"
  grep -qxF sent "$OUT"
}

@test "--require-tls: AUTH before STARTTLS gets 530, as MAIL does" {
  debugging_session "EHLO c.example\r\nAUTH PLAIN $PLAIN_B64\r\nQUIT\r\n" \
    --tls-self-signed --require-tls --auth-accept-any --auth-insecure
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250-STARTTLS" "250-AUTH PLAIN LOGIN" \
    "250 HELP" "530 5.7.0 Must issue a STARTTLS command first" "221 Bye"
}

# --- one piped session each: replies exactly -------------------------------------

@test "without --auth-insecure AUTH is not offered before TLS and gets 538" {
  debugging_session "EHLO c.example\r\nAUTH PLAIN $PLAIN_B64\r\nAUTH LOGIN\r\nQUIT\r\n" \
    --auth-accept-any
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250 HELP" \
    "538 5.7.11 Encryption required for requested authentication mechanism" \
    "538 5.7.11 Encryption required for requested authentication mechanism" \
    "221 Bye"
}

@test "without an AUTH option AUTH is an unknown command, as in smtpd.py" {
  debugging_session "EHLO c.example\r\nAUTH PLAIN $PLAIN_B64\r\nQUIT\r\n"
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250 HELP" \
    '500 Error: command "AUTH" not recognized' "221 Bye"
}

@test "--auth-accept-any takes anyone, logs it, and the session line names the user" {
  debugging_session "EHLO c.example\r\nAUTH PLAIN $PLAIN_B64\r\nAUTH PLAIN $PLAIN_B64\r\nMAIL FROM:<a@b.example>\r\nAUTH LOGIN\r\nRSET\r\nQUIT\r\n" \
    --auth-accept-any --auth-insecure --log stderr
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250-AUTH PLAIN LOGIN" "250 HELP" \
    "235 2.7.0 Authentication successful" \
    "503 5.5.1 Error: already authenticated" "250 OK" \
    "503 5.5.1 Error: already authenticated" "250 OK" "221 Bye"
  grep -qF 'auth peer=127.0.0.1 user=alice result=good check="accept-any"' "$ERR"
  grep -qF 'session peer=127.0.0.1 helo=c.example user=alice messages=0 end=quit' "$ERR"
  lacks "$PASSWORD" "$ERR"
}

@test "AUTH replies: 504 unknown mechanism, 501 cancel and bad base64, 503 in a transaction" {
  debugging_session "EHLO c.example\r\nAUTH CRAM-MD5\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN not-base64\r\nMAIL FROM:<a@b.example>\r\nAUTH PLAIN\r\nQUIT\r\n" \
    --auth-accept-any --auth-insecure
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250-AUTH PLAIN LOGIN" "250 HELP" \
    "504 5.5.4 Unrecognized authentication mechanism" \
    "334 VXNlcm5hbWU6" "501 5.7.0 Authentication cancelled" \
    "501 5.5.2 Cannot decode response" "250 OK" \
    "503 5.5.1 Error: AUTH not permitted during a mail transaction" "221 Bye"
}

@test "535 counts towards --max-errors" {
  checker 'exit 1'
  debugging_session "EHLO c.example\r\nAUTH PLAIN $PLAIN_B64\r\nAUTH PLAIN $PLAIN_B64\r\nNOOP\r\n" \
    --auth-checkpassword "$CHECKER" --auth-insecure --max-errors 2
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250-AUTH PLAIN LOGIN" "250 HELP" \
    "535 5.7.8 Authentication credentials invalid" \
    "535 5.7.8 Authentication credentials invalid" \
    "421 $HOST Error: too many errors"
}

@test "--fail auth: the injected reply in place of the check" {
  debugging_session "EHLO c.example\r\nAUTH PLAIN $PLAIN_B64\r\nQUIT\r\n" \
    --auth-accept-any --auth-insecure --fail 'auth:454 4.7.0 Try later' \
    --log stderr
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250-AUTH PLAIN LOGIN" "250 HELP" \
    "454 4.7.0 Try later" "221 Bye"
  lacks 'result=good' "$ERR"
}

@test "the checkpassword program gets user, password and a timestamp on fd 3, a clean environment and no shell" {
  local seen=$BATS_TEST_TMPDIR/seen
  checker "{ tr '\\0' '\\n' <&3; env; echo \"args: \$*\"; } >$seen; exit 0"
  FOO=leak debugging_session "EHLO c.example\r\nAUTH PLAIN $PLAIN_B64\r\nQUIT\r\n" \
    --auth-checkpassword "$CHECKER a;b \$HOME" --auth-insecure
  expect_status 0
  grep -qF '235 2.7.0 Authentication successful' "$OUT"
  [ "$(sed -n 1p "$seen")" = alice ]
  [ "$(sed -n 2p "$seen")" = "$PASSWORD" ]
  sed -n 3p "$seen" | grep -qE "^<[0-9]+\.[0-9]+@$HOST>\$"
  grep -qxF 'args: a;b $HOME' "$seen"
  lacks FOO=leak "$seen"
}

# --- relaying --------------------------------------------------------------------

@test "PureProxy: an authenticated client relays, an anonymous one does not, --auth-no-relay turns it off" {
  start_sink
  local session="EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.example>\r\nRSET\r\nAUTH PLAIN $PLAIN_B64\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\nSubject: relayed\r\n\r\nhi\r\n.\r\nQUIT\r\n"
  # Loopback is no relay network here: only authenticated clients relay.
  # MAIL, RCPT and the final dot get smtp-sink's own replies (before-queue).
  smtpd_session "$session" --hostname "$HOST" --relay-network 192.0.2.0/24 \
    --auth-accept-any --auth-insecure "$UPSTREAM"
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" "250-SIZE 33554432" \
    "250-8BITMIME" "250-PIPELINING" "250-AUTH PLAIN LOGIN" "250 HELP" \
    "250 2.1.0 Ok" "554 Error: relay access denied" "250 OK" \
    "235 2.7.0 Authentication successful" "250 2.1.0 Ok" "250 2.1.5 Ok" \
    "354 End data with <CR><LF>.<CR><LF>" "250 2.0.0 Ok" "221 Bye"
  sink_message
  grep -qF "Subject: relayed" "$CONTENT"
  smtpd_session "$session" --hostname "$HOST" --relay-network 192.0.2.0/24 \
    --auth-accept-any --auth-insecure --auth-no-relay "$UPSTREAM"
  expect_status 0
  [ "$(grep -c '554 Error: relay access denied' "$OUT")" -eq 2 ]
}

# --- options -------------------------------------------------------------------------

@test "AUTH options: one checker, the others need one" {
  smtpd_session "QUIT\r\n" --auth-insecure
  expect_status 64
  grep -qxF 'in.smtpd: --auth-insecure needs --auth-checkpassword or --auth-accept-any' "$ERR"
  smtpd_session "QUIT\r\n" --auth-accept-any --auth-checkpassword /bin/true
  expect_status 64
  grep -qxF 'in.smtpd: --auth-checkpassword and --auth-accept-any cannot be used together' "$ERR"
  smtpd_session "QUIT\r\n" --auth-checkpassword checkpassword
  expect_status 64
  grep -qxF 'in.smtpd: invalid value for --auth-checkpassword: an absolute path to a program expected first' "$ERR"
}
