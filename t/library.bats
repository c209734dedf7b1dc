#!/usr/bin/env bats
# libsmtpd as users link it: installed into a scratch prefix, each example
# in examples/ compiled against it through pkg-config, then run.

setup_file() {
  BUILD_DIR=$(dirname "$(dirname "$IN_SMTPD")")
  # A staged install, as a packager makes it; pkg-config's sysroot points
  # the flags into it.
  STAGE="$BATS_FILE_TMPDIR/stage"
  make -C "$BUILD_DIR" install DESTDIR="$STAGE" >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
    { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
  pc=$(find "$STAGE" -name libsmtpd.pc)
  export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$STAGE"
  # (pkgconf puts the sysroot before the variables too)
  export PREFIX_DIR=$(pkg-config --variable=prefix libsmtpd)
  export LD_LIBRARY_PATH=$(pkg-config --variable=libdir libsmtpd)
  # A sanitized build's library needs the sanitizers' run-time too.
  sanitizers=""
  [ "${SANITIZED_BUILD:-no}" = yes ] && sanitizers="-fsanitize=address,undefined"
  for example in minimal_server custom_command event_loop tls_server; do
    # shellcheck disable=SC2046,SC2086
    c++ -std=c++17 -Wall -Wextra -Werror $sanitizers -o "$BATS_FILE_TMPDIR/$example" \
      "$TOP_SRCDIR/examples/$example.cpp" $(pkg-config --cflags --libs libsmtpd)
  done
}

load helpers

teardown() {
  [ -z "${BACKGROUND_PIDS+set}" ] || stop_background
}

crlf() { printf '%s\r\n' "$@"; }

@test "pkg-config describes the installed library" {
  run pkg-config --modversion libsmtpd
  [ "$status" -eq 0 ]
  [ "$output" = "$(sed -n 's/^AC_INIT(\[in.smtpd\], \[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")" ]
  [ -f "$PREFIX_DIR/include/smtpd/channel.hpp" ]
  [ -f "$PREFIX_DIR/share/man/man3/libsmtpd.3" ]
}

@test "each installed header compiles alone, and includes only installed headers" {
  local incdir="$PREFIX_DIR/include" header name included
  local headers=("$incdir"/smtpd/*.hpp)
  # Every header Makefile.am installs is there.
  [ "${#headers[@]}" -eq "$(sed -n '/^smtpdinclude_HEADERS/,/^$/p' "$TOP_SRCDIR/Makefile.am" |
                            grep -c 'lib/smtpd/.*\.hpp')" ]
  for header in "${headers[@]}"; do
    name=smtpd/${header##*/}
    # As a program includes it, first and alone.
    # shellcheck disable=SC2046
    printf '#include <%s>\n' "$name" |
      c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only $(pkg-config --cflags libsmtpd) -x c++ - ||
      { echo "$name does not compile alone"; return 1; }
    for included in $(sed -n 's|^#include [<"]\(smtpd/[^>"]*\)[>"].*|\1|p' "$header"); do
      [ -f "$incdir/$included" ] ||
        { echo "$name includes $included, which is not installed"; return 1; }
    done
  done
}

@test "only the public API is exported" {
  run sh -c "nm -DC --defined-only '$LD_LIBRARY_PATH'/libsmtpd.so | grep -c 'smtpd::text::\|EsmtpParams\|AuthExchange\|AuthTraceFilter\|::Impl::'"
  [ "$output" = "0" ]
  run sh -c "nm -DC --defined-only '$LD_LIBRARY_PATH'/libsmtpd.so | grep -c 'smtpd::Channel::feed'"
  [ "$output" = "1" ]
}

@test "libsmtpd.so is linked with libstdc++ (its NEEDED names it), as a C++ library must be" {
  run sh -c "readelf -d '$LD_LIBRARY_PATH'/libsmtpd.so | grep NEEDED"
  [ "$status" -eq 0 ]
  [[ "$output" == *"[libstdc++.so.6]"* ]]
}

@test "minimal_server: the hook's nothing is 250 OK, its reply is sent" {
  out=$(crlf 'HELO x' 'MAIL FROM:<a@b>' 'RCPT TO:<c@d>' 'DATA' 'hi' '.' \
             'MAIL FROM:<a@b>' 'RCPT TO:<nobody@d>' 'DATA' 'hi' '.' 'QUIT' |
        "$BATS_FILE_TMPDIR/minimal_server" 2>"$BATS_TEST_TMPDIR/err")
  expected=$(crlf '220 minimal.example in.smtpd ESMTP' '250 minimal.example' \
                  '250 OK' '250 OK' '354 End data with <CR><LF>.<CR><LF>' '250 OK' \
                  '250 OK' '250 OK' '354 End data with <CR><LF>.<CR><LF>' \
                  '550 No such user' '221 Bye')
  [ "$out" = "$expected" ]
  [ "$(cat "$BATS_TEST_TMPDIR/err")" = "from a@b to 1 recipient(s), 2 bytes
from a@b to 1 recipient(s), 2 bytes" ]
}

@test "custom_command: added, replaced, removed and wrapped commands" {
  out=$(crlf 'NOOP' 'HELO client' 'XCLIENT ADDR=192.0.2.1' 'XCLIENT' \
             'MAIL FROM:<a@b>' 'RCPT TO:<c@d>' 'NOOP' 'VRFY c@d' 'DATA' \
             'Subject: s' '' 'body' '.' 'QUIT' |
        "$BATS_FILE_TMPDIR/custom_command" 127.0.0.1 2>"$BATS_TEST_TMPDIR/err")
  expected=$(crlf '220 custom.example in.smtpd ESMTP' \
                  '250 greeted=no sender=none recipients=0' \
                  '250 custom.example' '250 OK peer is 192.0.2.1' \
                  '501 Syntax: XCLIENT ADDR=address' '250 OK' '250 OK' \
                  '250 greeted=client sender=a@b recipients=1' \
                  '500 Error: command "VRFY" not recognized' \
                  '354 End data with <CR><LF>.<CR><LF>' '250 OK' '221 Bye')
  [ "$out" = "$expected" ]
  # The printout shows the peer XCLIENT set.
  grep -qx "HELO from client" "$BATS_TEST_TMPDIR/err"
  grep -qx "b'X-Peer: 192.0.2.1'" "$BATS_TEST_TMPDIR/err"
}

@test "custom_command: XCLIENT from a client it was not told to trust is refused" {
  out=$(crlf 'XCLIENT ADDR=192.0.2.1' 'HELO client' 'MAIL FROM:<a@b>' \
             'RCPT TO:<c@d>' 'DATA' 'Subject: s' '' 'body' '.' 'QUIT' |
        "$BATS_FILE_TMPDIR/custom_command" 192.0.2.99 2>"$BATS_TEST_TMPDIR/err")
  expected=$(crlf '220 custom.example in.smtpd ESMTP' \
                  '550 XCLIENT not allowed from 127.0.0.1' \
                  '250 custom.example' '250 OK' '250 OK' \
                  '354 End data with <CR><LF>.<CR><LF>' '250 OK' '221 Bye')
  [ "$out" = "$expected" ]
  # The message still comes from the pipe's peer.
  grep -qx "b'X-Peer: 127.0.0.1'" "$BATS_TEST_TMPDIR/err"
}

@test "event_loop: concurrent sessions in one process, answered later" {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$BATS_FILE_TMPDIR/event_loop" "$port" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$BATS_TEST_TMPDIR/out" && break; sleep 0.05; done
  printf 'Subject: x\r\n\r\nhello\r\n' >"$BATS_TEST_TMPDIR/msg"
  pids=()
  for i in 1 2 3 4 5; do
    curl -s --max-time 10 "smtp://127.0.0.1:$port" --mail-from "a$i@b" \
      --mail-rcpt c@d -T "$BATS_TEST_TMPDIR/msg" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  # The recipient check answers later too: a refusal, then an acceptance.
  out=$(crlf 'HELO x' 'MAIL FROM:<a@b>' 'RCPT TO:<nobody@d>' 'RCPT TO:<c@d>' \
             'DATA' 'hi' '.' 'QUIT' |
        python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
data = b""
while not data.endswith(b"221 Bye\r\n"):
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
sys.stdout.buffer.write(data)' "$port")
  # SIGTERM (StopSignals) ends the loop between turns: exit 0, and every
  # session had ended.
  kill "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ]
  grep -qx 'stopped, 0 connection(s) open' "$BATS_TEST_TMPDIR/out"
  [ "$(grep -c 'for 1 recipient(s), 17 bytes' "$BATS_TEST_TMPDIR/err")" -eq 5 ]
  expected=$(crlf '220 loop.example in.smtpd ESMTP' '250 loop.example' '250 OK' \
                  '550 No such user' '250 OK' '354 End data with <CR><LF>.<CR><LF>' \
                  '250 OK' '221 Bye')
  [ "$out" = "$expected" ]
}

@test "tls_server: STARTTLS through the connection core, mail only inside TLS" {
  command -v systemd-socket-activate >/dev/null ||
    skip "systemd-socket-activate is not installed (package systemd)"
  command -v swaks >/dev/null || skip "swaks is not installed"
  common_setup
  local port log=$BATS_TEST_TMPDIR/server.log
  port=$(free_port)
  start_background "$log" systemd-socket-activate --inetd -a -E LD_LIBRARY_PATH \
    -l "127.0.0.1:$port" "$BATS_FILE_TMPDIR/tls_server"
  wait_for_port "$port"
  run timeout -k 5 20 swaks --server 127.0.0.1 --port "$port" --timeout 15 \
    --from a@example.com --to b@example.com
  stop_background
  [[ $output == *"<** 530 5.7.0 Must issue a STARTTLS command first"* ]]
  start_background "$log" systemd-socket-activate --inetd -a -E LD_LIBRARY_PATH \
    -l "127.0.0.1:$port" "$BATS_FILE_TMPDIR/tls_server"
  wait_for_port "$port"
  run timeout -k 5 20 swaks --server 127.0.0.1 --port "$port" --timeout 15 \
    --from a@example.com --to b@example.com --tls
  stop_background
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output == *"=== TLS started with cipher"* ]]
  grep -q '^from a@example.com, ' "$log"
  grep -q ' tls=TLSv1\.3 cipher=' "$log"
}

@test "the LMTP client is lmtp-deliver's, not the library's: neither installed nor exported" {
  [ ! -e "$PREFIX_DIR/include/smtpd/lmtp_client.hpp" ]
  run sh -c "nm -DC --defined-only '$LD_LIBRARY_PATH'/libsmtpd.so | grep -c 'smtpd::LmtpClient\|smtpd::lmtp_data'"
  [ "$output" = "0" ]
  # What the others hold in their place is named, not exported.
  run sh -c "nm -DC --defined-only '$LD_LIBRARY_PATH'/libsmtpd.so | grep -c 'RelayPolicy::Impl\|MaildirDelivery::Impl'"
  [ "$output" = "0" ]
  run sh -c "nm -DC --defined-only '$LD_LIBRARY_PATH'/libsmtpd.so | grep -c 'smtpd::RelayPolicy::allow_network'"
  [ "$output" = "1" ]
}
