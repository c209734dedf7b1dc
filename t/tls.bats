#!/usr/bin/env bats
# tls.bats - STARTTLS (RFC 3207) and implicit TLS (RFC 8314) with the
# clients people use: swaks, curl, Python smtplib, openssl s_client and
# testssl.sh; in both modes: a process per connection under
# systemd-socket-activate, and the standalone listener (-l).  The
# certificate is made per test file for mx.test.example, and the clients
# that can verify it do (curl, smtplib).

load helpers

setup_file() {
  local dir=$BATS_FILE_TMPDIR
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 30 \
    -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST,IP:127.0.0.1" 2>/dev/null
  chmod 0600 "$dir/key.pem"
}

setup() {
  common_setup
  CERT=$BATS_FILE_TMPDIR/cert.pem
  KEY=$BATS_FILE_TMPDIR/key.pem
  PRINTOUT=$BATS_TEST_TMPDIR/printout
  SERVER_LOG=$BATS_TEST_TMPDIR/server.log
  PORT=$(free_port)
}

teardown() {
  stop_background
}

# serve MODE [ARGS...]: DebuggingServer on 127.0.0.1:$PORT, printouts in
# $PRINTOUT, log lines in $SERVER_LOG.  MODE: socket (one process per
# connection, systemd-socket-activate) or standalone (-l).
serve() {
  local mode=$1
  shift
  local common=(-c DebuggingServer --hostname "$HOST" --log stderr
    --debug-file "$PRINTOUT" "$@")
  case $mode in
  socket)
    command -v systemd-socket-activate >/dev/null ||
      skip "systemd-socket-activate is not installed (package systemd)"
    start_background "$SERVER_LOG" systemd-socket-activate --inetd -a \
      -l "127.0.0.1:$PORT" "$IN_SMTPD" -n "${common[@]}"
    ;;
  standalone)
    start_background "$SERVER_LOG" "$IN_SMTPD" -n -l "127.0.0.1:$PORT" \
      "${common[@]}"
    ;;
  esac
  wait_for_port "$PORT" || {
    echo "server log: $(show "$SERVER_LOG")" >&2
    return 1
  }
}

# session_line: waits for the session's last log line and prints it.
session_line() {
  wait_for_text "$SERVER_LOG" "session peer=" || return 1
  grep -m1 'session peer=' "$SERVER_LOG"
}

# The session's line names a modern protocol and an AEAD cipher.
expect_tls_logged() {
  local line
  line=$(session_line)
  [[ $line =~ \ tls=TLSv1\.[23]\ cipher=[A-Z0-9_-]*(GCM|CHACHA20)[A-Z0-9_-]*\ end=quit$ ]] || {
    echo "session line: $line" >&2
    return 1
  }
}

swaks_sends() {
  command -v swaks >/dev/null || skip "swaks is not installed"
  run timeout -k 5 "$RUN_LIMIT" swaks --server 127.0.0.1 --port "$PORT" \
    --timeout 15 --from a@example.com --to b@example.com \
    --header 'Subject: over TLS' --body 'Hello inside TLS' "$@"
  echo "$output"
  [ "$status" -eq 0 ]
  wait_for_text "$PRINTOUT" "b'Hello inside TLS'"
  grep -qxF "b'Subject: over TLS'" "$PRINTOUT"
}

swaks_starttls() {
  serve "$1" --tls-cert "$CERT" --tls-key "$KEY"
  swaks_sends --tls
  # swaks saw STARTTLS offered, started it, and sent EHLO again inside.
  [[ $output == *"<-  250-STARTTLS"* ]]
  [[ $output == *"<-  220 2.0.0 Ready to start TLS"* ]]
  [[ $output == *"=== TLS started with cipher"* ]]
  [[ $output == *" ~> EHLO "* ]]
  expect_tls_logged
}

@test "swaks --tls: STARTTLS, then the message, per connection" {
  swaks_starttls socket
}

@test "swaks --tls: STARTTLS, then the message, standalone" {
  swaks_starttls standalone
}

swaks_on_connect() {
  serve "$1" --tls-self-signed --tls-on-connect
  swaks_sends --tls-on-connect
  [[ $output == *"=== TLS started with cipher"* ]]
  [[ $output != *"STARTTLS"* ]]
  expect_tls_logged
}

@test "swaks --tls-on-connect: implicit TLS with --tls-self-signed, per connection" {
  swaks_on_connect socket
}

@test "swaks --tls-on-connect: implicit TLS with --tls-self-signed, standalone" {
  swaks_on_connect standalone
}

# curl verifies the certificate for the name it connects to.
curl_sends() {
  local url=$1
  shift
  printf 'Subject: curl over TLS\r\n\r\nHello from curl\r\n' >"$IN"
  run timeout -k 5 "$RUN_LIMIT" curl -sS --cacert "$CERT" \
    --resolve "$HOST:$PORT:127.0.0.1" --mail-from a@example.com \
    --mail-rcpt b@example.com -T "$IN" "$@" "$url"
  echo "$output"
  [ "$status" -eq 0 ]
  wait_for_text "$PRINTOUT" "b'Hello from curl'"
  expect_tls_logged
}

@test "curl --ssl-reqd: STARTTLS with the certificate verified, per connection" {
  serve socket --tls-cert "$CERT" --tls-key "$KEY"
  curl_sends "smtp://$HOST:$PORT" --ssl-reqd
}

@test "curl --ssl-reqd: STARTTLS with the certificate verified, standalone" {
  serve standalone --tls-cert "$CERT" --tls-key "$KEY"
  curl_sends "smtp://$HOST:$PORT" --ssl-reqd
}

@test "curl smtps://: implicit TLS, per connection and standalone" {
  serve socket --tls-cert "$CERT" --tls-key "$KEY" --tls-on-connect
  curl_sends "smtps://$HOST:$PORT"
  stop_background
  PORT=$(free_port)
  : >"$SERVER_LOG"
  serve standalone --tls-cert "$CERT" --tls-key "$KEY" --tls-on-connect
  curl_sends "smtps://$HOST:$PORT"
}

@test "curl --ssl-reqd: refused when the server offers no STARTTLS" {
  serve socket
  printf 'Subject: x\r\n\r\nx\r\n' >"$IN"
  run timeout -k 5 "$RUN_LIMIT" curl -sS --ssl-reqd --mail-from a@example.com \
    --mail-rcpt b@example.com -T "$IN" "smtp://127.0.0.1:$PORT"
  [ "$status" -eq 64 ]  # CURLE_USE_SSL_FAILED
}

# smtplib checks the certificate against the address it connects to
# (its subjectAltName has IP:127.0.0.1 too).
smtplib_sends() {
  "$PYTHON3" - "$PORT" "$CERT" "$1" <<'EOF'
import smtplib, ssl, sys
port, cert, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=cert)
message = "Subject: smtplib over TLS\r\n\r\nHello from smtplib\r\n"
if mode == "starttls":
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=15)
    s.ehlo()
    assert s.has_extn("starttls"), s.esmtp_features
    code, reply = s.starttls(context=context)
    assert code == 220, (code, reply)
    s.ehlo()
    assert not s.has_extn("starttls"), s.esmtp_features
else:
    s = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="client.example",
                         context=context, timeout=15)
assert s.sock.version() in ("TLSv1.2", "TLSv1.3"), s.sock.version()
refused = s.sendmail("a@example.com", ["b@example.com"], message)
assert refused == {}, refused
s.quit()
print("sent")
EOF
}

@test "Python smtplib starttls(), certificate verified: standalone" {
  serve standalone --tls-cert "$CERT" --tls-key "$KEY"
  run smtplib_sends starttls
  echo "$output"
  [ "$output" = sent ]
  wait_for_text "$PRINTOUT" "b'Hello from smtplib'"
  expect_tls_logged
}

@test "Python smtplib SMTP_SSL, certificate verified: per connection" {
  serve socket --tls-cert "$CERT" --tls-key "$KEY" --tls-on-connect
  run smtplib_sends ssl
  echo "$output"
  [ "$output" = sent ]
  wait_for_text "$PRINTOUT" "b'Hello from smtplib'"
  expect_tls_logged
}

@test "openssl s_client -starttls smtp: TLS 1.3 and 1.2 with AEAD ciphers; TLS 1.1 refused" {
  serve standalone --tls-cert "$CERT" --tls-key "$KEY"
  run timeout -k 5 "$RUN_LIMIT" openssl s_client -starttls smtp \
    -connect "127.0.0.1:$PORT" -brief </dev/null
  echo "$output"
  [[ $output == *"Protocol version: TLSv1.3"* ]]
  run timeout -k 5 "$RUN_LIMIT" openssl s_client -starttls smtp -tls1_2 \
    -connect "127.0.0.1:$PORT" -brief </dev/null
  echo "$output"
  [[ $output == *"Protocol version: TLSv1.2"* ]]
  [[ $output =~ Ciphersuite:\ ECDHE-(ECDSA|RSA)-(AES[0-9]+-GCM|CHACHA20-POLY1305) ]]
  run timeout -k 5 "$RUN_LIMIT" openssl s_client -starttls smtp -tls1_1 \
    -cipher 'DEFAULT:@SECLEVEL=0' -connect "127.0.0.1:$PORT" -brief </dev/null
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output != *"Protocol version"* ]]
  wait_for_text "$SERVER_LOG" "TLS handshake failed: "
}

# The command injection of CVE-2011-0411: commands sent in the same packet
# as STARTTLS must not be answered, neither in plaintext (the handshake
# would then fail on the stray reply) nor inside TLS (the first reply
# there is QUIT's).
pipelined_attack() {
  serve "$1" --tls-self-signed
  run "$PYTHON3" - "$PORT" <<'EOF'
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=15)
def line():
    data = b""
    while not data.endswith(b"\r\n"):
        byte = s.recv(1)
        if not byte:
            raise SystemExit("connection closed after %r" % data)
        data += byte
    return data
assert line().startswith(b"220 "), "greeting"
s.sendall(b"EHLO attacker\r\nSTARTTLS\r\nNOOP\r\nMAIL FROM:<evil@example>\r\n")
while True:
    reply = line()
    if not reply.startswith(b"250-"):
        break
assert reply == b"250 HELP\r\n", reply
assert line() == b"220 2.0.0 Ready to start TLS\r\n"
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
t = context.wrap_socket(s)  # fails if a plaintext reply came after the 220
t.sendall(b"QUIT\r\n")
rest = b"".join(iter(lambda: t.recv(4096), b""))  # to the close
print(repr(rest))
EOF
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "b'221 Bye\\r\\n'" ]
  wait_for_text "$SERVER_LOG" "session peer="
  grep -qF "discarded 32 bytes sent after STARTTLS, before TLS" "$SERVER_LOG"
}

@test "pipelined STARTTLS\\r\\nNOOP\\r\\n: never answered, before or after the handshake, per connection" {
  pipelined_attack socket
}

@test "pipelined STARTTLS\\r\\nNOOP\\r\\n: never answered, before or after the handshake, standalone" {
  pipelined_attack standalone
}

@test "--require-tls: mail before STARTTLS gets 530; swaks --tls delivers" {
  serve socket --tls-self-signed --require-tls
  command -v swaks >/dev/null || skip "swaks is not installed"
  run timeout -k 5 "$RUN_LIMIT" swaks --server 127.0.0.1 --port "$PORT" \
    --timeout 15 --from a@example.com --to b@example.com
  echo "$output"
  [ "$status" -ne 0 ]
  [[ $output == *"<** 530 5.7.0 Must issue a STARTTLS command first"* ]]
  swaks_sends --tls
}

@test "testssl.sh on a STARTTLS port: nothing below TLS 1.2, no weak cipher" {
  command -v testssl >/dev/null || skip "testssl.sh is not installed (package testssl.sh)"
  serve standalone --tls-cert "$CERT" --tls-key "$KEY"
  local json=$BATS_TEST_TMPDIR/testssl.json
  run timeout -k 5 300 testssl --quiet --color 0 --warnings off --ip one \
    --starttls smtp --protocols --std --jsonfile "$json" "127.0.0.1:$PORT"
  echo "$output" | tail -40
  [ -s "$json" ]
  "$PYTHON3" - "$json" <<'EOF'
import json, sys
findings = {f["id"]: f["finding"] for f in json.load(open(sys.argv[1]))}
for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
    assert findings.get(old, "").startswith("not offered"), (old, findings.get(old))
for new in ("TLS1_2", "TLS1_3"):
    assert findings.get(new, "").startswith("offered"), (new, findings.get(new))
# testssl's cipher categories: none of the weak ones is offered.
for weak in ("cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT",
             "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"):
    assert findings.get(weak, "").startswith("not offered"), (weak, findings.get(weak))
assert findings.get("cipherlist_STRONG", "").startswith("offered"), findings.get("cipherlist_STRONG")
print("checked")
EOF
}

# --- options and certificates --------------------------------------------------

@test "TLS options that cannot work are refused in one line" {
  printf 'QUIT\r\n' >"$IN"
  smtpd_pipe "$IN" -c DebuggingServer --tls-cert "$CERT"
  expect_status 64
  expect_stderr '%s\n' 'in.smtpd: --tls-cert and --tls-key go together'
  smtpd_pipe "$IN" -c DebuggingServer --tls-on-connect
  expect_status 64
  expect_stderr '%s\n' 'in.smtpd: --tls-on-connect needs --tls-cert and --tls-key, or --tls-self-signed'
  smtpd_pipe "$IN" -c DebuggingServer --require-tls
  expect_status 64
  expect_stderr '%s\n' 'in.smtpd: --require-tls needs --tls-cert and --tls-key, or --tls-self-signed'
  smtpd_pipe "$IN" -c DebuggingServer --tls-self-signed --tls-cert "$CERT" --tls-key "$KEY"
  expect_status 64
  expect_stderr '%s\n' 'in.smtpd: --tls-cert and --tls-self-signed cannot be used together'
}

@test "an unreadable certificate: standalone stops at start; per connection, STARTTLS gets 454" {
  run timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD" -n -c DebuggingServer \
    -l "127.0.0.1:$PORT" --tls-cert /nonexistent.pem --tls-key "$KEY"
  echo "$output"
  [ "$status" -eq 78 ]  # EX_CONFIG
  [[ $output == "in.smtpd: cannot load the TLS certificate /nonexistent.pem: "* ]]
  printf 'EHLO a\r\nSTARTTLS\r\nQUIT\r\n' >"$IN"
  smtpd_pipe "$IN" -c DebuggingServer --hostname "$HOST" \
    --tls-cert /nonexistent.pem --tls-key "$KEY"
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" '250-SIZE 33554432' \
    '250-8BITMIME' '250-PIPELINING' '250 HELP' '454 4.7.0 TLS not available' \
    '221 Bye'
  grep -q '^in.smtpd: cannot load the TLS certificate /nonexistent.pem: ' "$ERR"
}

@test "without TLS options the EHLO reply is the reference's, STARTTLS unknown" {
  printf 'EHLO a\r\nSTARTTLS\r\nQUIT\r\n' >"$IN"
  smtpd_pipe "$IN" -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_replies "220 $HOST in.smtpd ESMTP" "250-$HOST" '250-SIZE 33554432' \
    '250-8BITMIME' '250-PIPELINING' '250 HELP' \
    '500 Error: command "STARTTLS" not recognized' '221 Bye'
}

@test "a key readable by root only is read before becoming nobody" {
  [ "$(id -u)" -eq 0 ] || skip "needs root"
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  [ "$(stat -c %a "$KEY")" = 600 ]
  start_background "$SERVER_LOG" systemd-socket-activate --inetd -a \
    -l "127.0.0.1:$PORT" "$IN_SMTPD" --user nobody -c DebuggingServer \
    --hostname "$HOST" --log stderr --tls-cert "$CERT" --tls-key "$KEY"
  wait_for_port "$PORT"
  run timeout -k 5 "$RUN_LIMIT" openssl s_client -starttls smtp \
    -connect "127.0.0.1:$PORT" -brief </dev/null
  echo "$output"
  [[ $output == *"Protocol version: TLSv1."[23]* ]]
}
