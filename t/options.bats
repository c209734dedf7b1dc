#!/usr/bin/env bats
# options.bats - the in.smtpd program's options: help and version, every
# mistake refused before a byte goes to the client (one line naming the
# option, exit 64 = EX_USAGE), and what the good options change in the
# session.
#
# Run: IN_SMTPD=/path/to/in.smtpd TOP_SRCDIR=/path/to/tree bats t/options.bats

load helpers

teardown() {
  stop_background
  remove_sink
}

setup() {
  common_setup
  GREETING="220 $HOST in.smtpd ESMTP"
  printf 'EHLO x\r\nQUIT\r\n' >"$BATS_TEST_TMPDIR/ehlo"
}

# usage_error NEEDLE ARGS...: in.smtpd -n ARGS, with a session waiting on
# stdin, must refuse to start: exit 64, nothing at all on stdout (not even
# the greeting), and exactly one line on stderr that contains NEEDLE.
usage_error() {
  local needle=$1
  shift
  smtpd_session 'HELO x\r\nQUIT\r\n' "$@"
  expect_status 64
  expect_empty "$OUT"
  if [ "$(line_count "$ERR")" -ne 1 ] || ! grep -qF -- "$needle" "$ERR"; then
    echo "expected one line on stderr naming '$needle', got: $(show "$ERR")" >&2
    return 1
  fi
}

# ehlo_with ARGS...: the EHLO reply of in.smtpd -n -c DebuggingServer ARGS.
ehlo_with() {
  smtpd_pipe "$BATS_TEST_TMPDIR/ehlo" -c DebuggingServer --hostname "$HOST" "$@"
  expect_status 0
}

# --- help and version ---------------------------------------------------------

@test "-h and --help: the usage on stdout, nothing on stderr, exit 0" {
  local option
  for option in -h --help; do
    smtpd_session 'HELO x\r\nQUIT\r\n' "$option"
    expect_status 0
    expect_empty "$ERR"
    [ "$(head -n 1 "$OUT")" = "Usage: in.smtpd [OPTIONS] [REMOTEHOST:REMOTEPORT]" ]
    # The usage, not a session: no greeting.
    [ "$(grep -c '^220 ' "$OUT")" -eq 0 ]
    local name
    for name in --class --size --smtputf8 --decode-data --hostname --debug-file \
      --command-timeout --data-timeout --session-timeout --max-recipients \
      --max-errors --relay-domain --relay-network --relay-tls --relay-ca-file \
      --relay-no-verify --relay-user --relay-password-file \
      --relay-connect-timeout --relay-timeout --listen --max-connections \
      --shutdown-grace --mailman-command --mailman-lists-dir --mailman-check \
      --mailman-version --mailman-lmtp --mailman-domain --mailman-data-dir \
      --mailman-timeout --proxy-protocol --log --debug --user --nosetuid \
      --maildir --show-envelope --fail --fail-seed \
      --config --version --help --remote; do
      # Each as an option of its own, at the start of its entry: a bare
      # grep would find --debug in --debug-file and --fail in --fail-seed.
      grep -qE -- "^ +(-[[:alnum:]], )?$name(=| |\$)" "$OUT" || {
        echo "$option has no entry for $name" >&2
        return 1
      }
    done
  done
}

@test "-V and --version: 'in.smtpd VERSION' (configure.ac's version), exit 0" {
  local version
  version=$(sed -n 's/^AC_INIT(\[in\.smtpd\], \[\([^]]*\)\].*/\1/p' "$TOP_SRCDIR/configure.ac")
  [ -n "$version" ]
  local option
  for option in -V --version; do
    smtpd_session 'HELO x\r\nQUIT\r\n' "$option"
    expect_status 0
    expect_stdout 'in.smtpd %s\n' "$version"
    expect_empty "$ERR"
  done
}

# help_default OPTION: the default --help gives for OPTION, "(default N)".
help_default() {
  "$IN_SMTPD" --help | tr '\n' ' ' | tr -s ' ' |
    sed -n "s/.* $1=[A-Z]* [^(]*(default \([0-9]*\)).*/\1/p"
}

@test "--help's defaults are the session's: --size in EHLO, --max-errors before the 421" {
  local size
  size=$(help_default --size)
  [ -n "$size" ]
  ehlo_with
  expect_replies "$GREETING" "250-$HOST" "250-SIZE $size" "250-8BITMIME" \
    "250-PIPELINING" "250 HELP" "221 Bye"
  local errors
  errors=$(help_default --max-errors)
  [ "$errors" -gt 0 ]
  # One bad command more than the default: the last error reply is the
  # default's, then 421 ends the session before the extra one is read.
  local session="HELO c\r\n" i
  for ((i = 0; i <= errors; i++)); do session+="X\r\n"; done
  debugging_session "$session"
  expect_status 0
  [ "$(grep -c '^500 ' "$OUT")" -eq "$errors" ]
  [ "$(tail -n 1 "$OUT" | cut -c1-4)" = "421 " ]
}

# help_entries: --help's option list, one line an option (its wrapped
# lines joined).
help_entries() {
  "$IN_SMTPD" --help | sed -n '/^Options:$/,/^$/p' | awk '
    substr($0, 1, 34) == sprintf("%34s", "") { sub(/^ +/, ""); entry = entry " " $0; next }
    { if (entry != "") print entry; entry = $0 }
    END { if (entry != "") print entry }'
}

# help_defaults: "OPTION VALUE" for each "(default VALUE)" --help gives,
# VALUE one word ("(default: ...)" is a description, not a value), and
# " part" after it for a repeatable option, whose default is a part's
# (--fail's PERCENT).
help_defaults() {
  local entry name value part
  while IFS= read -r entry; do
    name=$(printf '%s\n' "$entry" | grep -o -- '--[a-z0-9-]*' | head -n 1)
    part=
    [[ $entry == *repeatable* ]] && part=" part"
    printf '%s\n' "$entry" | grep -oE '\(default [^ )]+\)' |
      while read -r _ value; do
        printf '%s %s%s\n' "${name#--}" "${value%)}" "$part"
      done
  done < <(help_entries)
}

# man_entry NAME MAN: the text of MAN's entry for --NAME=..., the roff
# taken out.
man_entry() {
  local tag="\\-\\-${1//-/\\-}="
  awk -v tag="$tag" '
    /^\.(TP|SH|SS|PP)/ { if (inside) exit; next_is_tag = /^\.TP/; next }
    next_is_tag { next_is_tag = 0; if (index($0, tag)) inside = 1; next }
    inside { print }' "$2" |
    sed -e 's/^\.[A-Z]* //' -e 's/\\-/-/g' -e 's/\\f[RBIP]//g' -e 's/"//g' |
    tr '\n' ' '
}

# says_default TEXT VALUE: TEXT says "default VALUE" (any case), VALUE
# ending there.
says_default() {
  local text=${1,,} value=${2,,} rest
  while [[ $text == *"default $value"* ]]; do
    rest=${text#*"default $value"}
    case ${rest:0:1} in '' | ' ' | . | , | ';' | : | ')') return 0 ;; esac
    text=$rest
  done
  return 1
}

# readme_defaults README: "OPTION VALUE" for the README's table of the
# main options: a row's defaults go with its options in order, or its one
# default with its first option.
readme_defaults() {
  local options defaults i
  while IFS='|' read -r _ options _ defaults _; do
    mapfile -t options < <(grep -o -- '--[a-z0-9-]*' <<<"$options")
    defaults=${defaults# }
    defaults=${defaults% }
    IFS=, read -r -a defaults <<<"${defaults//, /,}"
    if [ "${#defaults[@]}" -eq "${#options[@]}" ]; then
      for i in "${!options[@]}"; do
        printf '%s %s\n' "${options[i]#--}" "${defaults[i]}"
      done
    elif [ "${#defaults[@]}" -eq 1 ] && [ "${#options[@]}" -gt 0 ]; then
      printf '%s %s\n' "${options[0]#--}" "${defaults[0]}"
    fi
  done < <(sed -n '/^| option | meaning | default |$/,/^$/p' "$1" | tail -n +3)
}

# default_drift MAN CONF README: a line on stderr for each default --help
# gives that MAN (in.smtpd(8)) does not state in the option's entry, that
# CONF (the options file) shows otherwise in a commented-out line, or
# that README's table of options gives otherwise; false when there is
# one.  $CHECKED: how many defaults were compared.
default_drift() {
  local man=$1 conf=$2 readme=$3 name value part entry line failed=0
  local readme_says
  readme_says=$(readme_defaults "$readme")
  [ -n "$readme_says" ] || {
    echo "no table of options in $readme" >&2
    return 1
  }
  CHECKED=0
  while read -r name value part; do
    CHECKED=$((CHECKED + 1))
    line=$(sed -n "s/^$name //p" <<<"$readme_says")
    if [ -n "$line" ] && [ -z "$part" ] && [ "$line" != "$value" ]; then
      echo "README: --$name's default is '$line', but --help's is $value" >&2
      failed=1
    fi
    entry=$(man_entry "$name" "$man")
    if [ -z "$entry" ]; then
      echo "in.smtpd(8) has no entry for --$name" >&2
      failed=1
    elif ! says_default "$entry" "$value"; then
      echo "in.smtpd(8) does not say --$name's default is $value: $entry" >&2
      failed=1
    fi
    # The options file shows a default as a line commented out (a part's
    # is no line's).
    [ -z "$part" ] || continue
    while IFS= read -r line; do
      if [ "$line" != "# $name = $value" ]; then
        echo "in.smtpd.conf: '$line', but --help's default is $value" >&2
        failed=1
      fi
    done < <(grep -E "^# ?$name =" "$conf")
  done < <(help_defaults)
  [ "$failed" -eq 0 ]
}

@test "every default --help gives is the one in.smtpd(8), etc/in.smtpd.conf and the README state" {
  default_drift "$TOP_SRCDIR/man/in.smtpd.8" "$TOP_SRCDIR/etc/in.smtpd.conf" \
    "$TOP_SRCDIR/README"
  # Every "(default VALUE)" is found, the named ones too.
  [ "$CHECKED" -ge 20 ]
  help_defaults | grep -qx 'class PureProxy'
  help_defaults | grep -qx 'relay-tls none'
  help_defaults | grep -qx 'log syslog'
  help_defaults | grep -qx 'remote localhost:25'
  grep -qx '# size = [0-9]*' "$TOP_SRCDIR/etc/in.smtpd.conf"
  [ "$(readme_defaults "$TOP_SRCDIR/README" | wc -l)" -ge 10 ]
  # The usage's line about REMOTEHOST:REMOTEPORT says --remote's default.
  "$IN_SMTPD" --help | grep -qF "(default $(help_defaults | sed -n 's/^remote //p'));"
}

@test "a default changed in in.smtpd(8), etc/in.smtpd.conf or the README only is found" {
  local man=$BATS_TEST_TMPDIR/in.smtpd.8 conf=$BATS_TEST_TMPDIR/in.smtpd.conf
  local readme=$BATS_TEST_TMPDIR/README status=0
  sed 's/^Default 300\.$/Default 301./' "$TOP_SRCDIR/man/in.smtpd.8" >"$man"
  default_drift "$man" "$TOP_SRCDIR/etc/in.smtpd.conf" "$TOP_SRCDIR/README" \
    2>"$ERR" || status=$?
  [ "$status" -ne 0 ]
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF -- "--command-timeout's default is 300" "$ERR"
  status=0
  sed 's/^# size = .*/# size = 1000/' "$TOP_SRCDIR/etc/in.smtpd.conf" >"$conf"
  default_drift "$TOP_SRCDIR/man/in.smtpd.8" "$conf" "$TOP_SRCDIR/README" \
    2>"$ERR" || status=$?
  [ "$status" -ne 0 ]
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF "'# size = 1000'" "$ERR"
  status=0
  sed 's/^\(| `--max-recipients`, `--max-errors` |.*| 1000, \)20 |$/\121 |/' \
    "$TOP_SRCDIR/README" >"$readme"
  ! cmp -s "$TOP_SRCDIR/README" "$readme"
  default_drift "$TOP_SRCDIR/man/in.smtpd.8" "$TOP_SRCDIR/etc/in.smtpd.conf" \
    "$readme" 2>"$ERR" || status=$?
  [ "$status" -ne 0 ]
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF -- "--max-errors's default is '21', but --help's is 20" "$ERR"
}

@test "--help that cannot be written: exit 74 (EX_IOERR), one line saying so" {
  [ -w /dev/full ] || skip "no /dev/full"
  status=0
  "$IN_SMTPD" -n --help >/dev/full 2>"$ERR" || status=$?
  expect_status 74
  [ "$(cat "$ERR")" = "in.smtpd: cannot write to stdout: No space left on device" ]
}

# --- mistakes: one line naming the option, exit 64, nothing to the client -

@test "an unknown option" {
  usage_error --bogus -c DebuggingServer --bogus
}

@test "an unknown short option" {
  usage_error -q -c DebuggingServer -q
}

@test "an option without its value" {
  usage_error --size -c DebuggingServer -s
}

# usage_error_is LINE ARGS...: usage_error, and the line is exactly
# "in.smtpd: LINE".
usage_error_is() {
  local line=$1
  shift
  usage_error "$line" "$@"
  expect_stderr 'in.smtpd: %s\n' "$line"
}

@test "the messages for mistakes in the command line's syntax" {
  usage_error_is "unrecognised option '--bogus'" -c DebuggingServer --bogus
  usage_error_is "unrecognised option '--bogus=1'" -c DebuggingServer --bogus=1
  usage_error_is "unrecognised option '-uq'" -c DebuggingServer -uq
  usage_error_is "the required argument for option '--size' is missing" \
    -c DebuggingServer -s
  usage_error_is "the required argument for option '--class' is missing" --cl
  usage_error_is "option '--proxy-protocol' does not take any arguments" \
    -c DebuggingServer --proxy-protocol=yes
  usage_error_is "the argument for option '--size' should follow immediately after the equal sign" \
    -c DebuggingServer --size=
  usage_error_is "option '--max' is ambiguous and matches '--max-connections', '--max-errors', and '--max-recipients'" \
    -c DebuggingServer --max 3
}

@test "an option given twice (only the lists are repeatable)" {
  usage_error_is "option '--size' cannot be specified more than once" \
    -c DebuggingServer -s 1000 --size=2000
  usage_error_is "option '--hostname' cannot be specified more than once" \
    -c DebuggingServer --hostname a.example --hostn b.example
  usage_error_is "option '--smtputf8' cannot be specified more than once" \
    -c DebuggingServer -u --smtputf8
  usage_error_is "option '--class' cannot be specified more than once" \
    -c DebuggingServer -c PureProxy
}

@test "-s abc" {
  usage_error --size -c DebuggingServer -s abc
}

@test "-s -1" {
  usage_error --size -c DebuggingServer -s -1
}

@test "-s larger than any size" {
  usage_error --size -c DebuggingServer -s 99999999999999999999
}

@test "--class Nope" {
  usage_error --class --class Nope
}

@test "too many positional arguments" {
  usage_error REMOTEHOST:REMOTEPORT -c DebuggingServer mail.example:25 other.example:25
}

@test "bad remote spec: no port" {
  usage_error "'mail.example'" -c DebuggingServer mail.example
}

@test "bad remote spec: port 0" {
  usage_error "'mail.example:0'" -c DebuggingServer mail.example:0
}

@test "bad remote spec: port 70000" {
  usage_error "'mail.example:70000'" -c DebuggingServer mail.example:70000
}

@test "bad remote spec: an IPv6 address without brackets" {
  usage_error "'::1:25'" -c DebuggingServer ::1:25
}

@test "bad remote spec: no host" {
  usage_error "':25'" -c DebuggingServer :25
}

@test "-u with --decode-data" {
  usage_error --decode-data -c DebuggingServer -u --decode-data
}

@test "--max-recipients 0" {
  usage_error --max-recipients -c DebuggingServer --max-recipients 0
}

@test "--max-errors not a number" {
  usage_error --max-errors -c DebuggingServer --max-errors many
}

@test "--command-timeout 0" {
  usage_error --command-timeout -c DebuggingServer --command-timeout 0
}

@test "--data-timeout 0" {
  usage_error --data-timeout -c DebuggingServer --data-timeout 0
}

@test "--command-timeout longer than a day" {
  usage_error --command-timeout -c DebuggingServer --command-timeout 86401
}

@test "--hostname with CR LF (it would break the reply framing)" {
  usage_error --hostname -c DebuggingServer --hostname $'evil\r\n250 injected'
}

@test "--debug-file that cannot be opened: one line naming it, exit 73, nothing to the client" {
  smtpd_session 'HELO x\r\nQUIT\r\n' -c DebuggingServer \
    --debug-file "$BATS_TEST_TMPDIR/no/such/dir/debug.log"
  expect_status 73
  expect_empty "$OUT"
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF -- --debug-file "$ERR"
}

@test "a bad option with stderr being the connection (inetd): nothing is sent, exit 64" {
  printf 'HELO x\r\nQUIT\r\n' >"$IN"
  on_socketpair "$IN" -c DebuggingServer --bogus
  expect_status 64
  expect_empty "$OUT"
  on_socketpair "$IN" -c DebuggingServer -s abc
  expect_status 64
  expect_empty "$OUT"
}

# A refusal to start sends nothing to the client: here a MailmanProxy
# command that is not an absolute path (it runs without a shell or PATH).
@test "-c MailmanProxy with a relative --mailman-command: one line, nothing to the client, exit 64" {
  smtpd_session 'HELO x\r\nQUIT\r\n' -c MailmanProxy --mailman-command 'mailman {command} {list}'
  expect_status 64
  expect_empty "$OUT"
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -q -- '--mailman-command' "$ERR"
}

@test "-c PureProxy, upstream refuses connections: a 4xx at MAIL, never 250" {
  local port
  port=$(free_port)
  smtpd_session 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    -c PureProxy --hostname "$HOST" "127.0.0.1:$port"
  expect_status 0
  # The client keeps the mail: a temporary failure where the upstream
  # transaction opens (MAIL), then the session goes on.
  "$PYTHON3" -c '
import re, sys
replies = open(sys.argv[1], "rb").read().split(b"\r\n")
head = [b"220 %s in.smtpd ESMTP" % sys.argv[2].encode(), b"250 " + sys.argv[2].encode()]
assert replies[:2] == head, replies
assert re.fullmatch(rb"4\d\d .+", replies[2]), replies
assert not any(r.startswith(b"250") for r in replies[3:]), replies
assert replies[-2:] == [b"221 Bye", b""], replies
' "$OUT" "$HOST"
}

# --- what the good options do -------------------------------------------------

@test "--NAME=VALUE, --NAME VALUE, -sVALUE, -s VALUE, and a long name shortened" {
  local form
  for form in --size=1000 "--size 1000" -s1000 "-s 1000" --si=1000 "--si 1000"; do
    # shellcheck disable=SC2086
    ehlo_with $form
    expect_replies "$GREETING" "250-$HOST" "250-SIZE 1000" "250-8BITMIME" \
      "250-PIPELINING" "250 HELP" "221 Bye"
  done
}

@test "short options grouped: -uc CLASS is -u -c CLASS" {
  smtpd_pipe "$BATS_TEST_TMPDIR/ehlo" -uc DebuggingServer --hostn "$HOST"
  expect_status 0
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME" \
    "250-SMTPUTF8" "250-PIPELINING" "250 HELP" "221 Bye"
}

@test "REMOTEHOST:REMOTEPORT before, between or after options; -- ends the options" {
  smtpd_session 'NOOP\r\nQUIT\r\n' localhost:25 -c PureProxy --hostname "$HOST"
  expect_status 0
  expect_replies "$GREETING" "250 OK" "221 Bye"
  # Whatever POSIXLY_CORRECT says.
  POSIXLY_CORRECT=1 smtpd_session 'NOOP\r\nQUIT\r\n' -c PureProxy \
    localhost:25 --hostname "$HOST"
  expect_status 0
  expect_replies "$GREETING" "250 OK" "221 Bye"
  usage_error_is "bad remote spec: '-s' (HOST:PORT expected, [ADDRESS]:PORT for IPv6)" \
    -c DebuggingServer -- -s
}

@test "--class takes the reference's names in any case, with or without smtpd." {
  local name
  for name in DebuggingServer debuggingserver smtpd.DebuggingServer; do
    smtpd_session 'NOOP\r\nQUIT\r\n' --class "$name" --hostname "$HOST"
    expect_status 0
    expect_replies "$GREETING" "250 OK" "221 Bye"
  done
}

@test "a remote spec is accepted, [v6]:port too" {
  local remote
  for remote in localhost:25 127.0.0.1:2525 '[::1]:25'; do
    smtpd_session 'NOOP\r\nQUIT\r\n' -c PureProxy --hostname "$HOST" "$remote"
    expect_status 0
    expect_replies "$GREETING" "250 OK" "221 Bye"
  done
}

@test "-s 0: no SIZE in EHLO, and no size limit on MAIL SIZE=" {
  smtpd_session 'EHLO x\r\nMAIL FROM:<a@b> SIZE=99999999999999\r\nQUIT\r\n' \
    -c DebuggingServer --hostname "$HOST" -s 0
  expect_status 0
  expect_replies "$GREETING" "250-$HOST" "250-8BITMIME" "250-PIPELINING" \
    "250 HELP" "250 OK" "221 Bye"
}

@test "-s 1000: 250-SIZE 1000 in EHLO" {
  ehlo_with -s 1000
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 1000" "250-8BITMIME" \
    "250-PIPELINING" "250 HELP" "221 Bye"
}

@test "-s 1000: MAIL SIZE=1001 is refused, SIZE=1000 taken" {
  smtpd_session 'EHLO x\r\nMAIL FROM:<a@b> SIZE=1001\r\nMAIL FROM:<a@b> SIZE=1000\r\nQUIT\r\n' \
    -c DebuggingServer --hostname "$HOST" -s 1000
  expect_status 0
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 1000" "250-8BITMIME" \
    "250-PIPELINING" "250 HELP" \
    "552 Error: message size exceeds fixed maximum message size" "250 OK" "221 Bye"
}

@test "-s 1000: a message of 1000 bytes is taken, 1001 gets 552 and the session goes on" {
  write_session 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n' '1000*a' \
    '\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n' '1001*b' \
    '\r\n.\r\nNOOP\r\nQUIT\r\n'
  smtpd_pipe "$IN" -c DebuggingServer --hostname "$HOST" -s 1000
  expect_status 0
  # Deviation: after 552 the reference stays in DATA; we read commands.
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "250 OK" "250 OK" "250 OK" \
    "354 End data with <CR><LF>.<CR><LF>" "552 Error: Too much mail data" \
    "250 OK" "221 Bye"
  # Only the first message is printed.
  [ "$(grep -c -- "$PRINT_HEAD" "$ERR")" -eq 1 ]
  grep -qF "b'aaaa" "$ERR"
  [ "$(grep -cF "b'bbbb" "$ERR")" -eq 0 ]
}

@test "-u: SMTPUTF8 in EHLO, and MAIL ... SMTPUTF8 taken" {
  smtpd_session 'EHLO x\r\nMAIL FROM:<a@b> SMTPUTF8\r\nQUIT\r\n' \
    -c DebuggingServer --hostname "$HOST" -u
  expect_status 0
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME" \
    "250-SMTPUTF8" "250-PIPELINING" "250 HELP" "250 OK" "221 Bye"
}

@test "without -u: MAIL ... SMTPUTF8 is an unknown parameter" {
  smtpd_session 'EHLO x\r\nMAIL FROM:<a@b> SMTPUTF8\r\nQUIT\r\n' \
    -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME" \
    "250-PIPELINING" "250 HELP" \
    "555 MAIL FROM parameters not recognized or not implemented" "221 Bye"
}

@test "--decode-data: no 8BITMIME in EHLO, BODY= is an unknown parameter" {
  smtpd_session 'EHLO x\r\nMAIL FROM:<a@b> BODY=8BITMIME\r\nQUIT\r\n' \
    -c DebuggingServer --hostname "$HOST" --decode-data
  expect_status 0
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-PIPELINING" \
    "250 HELP" "555 MAIL FROM parameters not recognized or not implemented" \
    "221 Bye"
}

@test "--max-recipients 2: 452 on the third RCPT, the message still goes to two" {
  debugging_session 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nRCPT TO:<g@h>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    --max-recipients 2
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" "250 OK" \
    "452 Error: too many recipients" "354 End data with <CR><LF>.<CR><LF>" \
    "250 OK" "221 Bye"
  expect_lines "$ERR" "$PRINT_HEAD" "b'hi'" "$PRINT_TAIL"
}

@test "--max-recipients: the limit is per message (RSET starts again)" {
  debugging_session 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nRSET\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nQUIT\r\n' \
    --max-recipients 1
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 OK" "250 OK" \
    "452 Error: too many recipients" "250 OK" "250 OK" "250 OK" "221 Bye"
}

@test "--max-errors 3: 421 after the third error, and the session ends there" {
  debugging_session '\r\nBOGUS\r\nMAIL FROM:<a@b>\r\nNOOP\r\nQUIT\r\n' --max-errors 3
  expect_status 0
  expect_replies "$GREETING" "500 Error: bad syntax" \
    '500 Error: command "BOGUS" not recognized' "503 Error: send HELO first" \
    "421 $HOST Error: too many errors"
}

@test "by default the session ends at the 20th error" {
  local session=''
  local i
  for ((i = 0; i < 25; i++)); do session+='BOGUS\r\n'; done
  debugging_session "${session}QUIT\r\n"
  expect_status 0
  local expected=("$GREETING")
  for ((i = 0; i < 20; i++)); do
    expected+=('500 Error: command "BOGUS" not recognized')
  done
  expect_replies "${expected[@]}" "421 $HOST Error: too many errors"
}

@test "--max-errors 0: no limit" {
  local session=''
  local i
  for ((i = 0; i < 25; i++)); do session+='BOGUS\r\n'; done
  debugging_session "${session}NOOP\r\nQUIT\r\n" --max-errors 0
  expect_status 0
  local expected=("$GREETING")
  for ((i = 0; i < 25; i++)); do
    expected+=('500 Error: command "BOGUS" not recognized')
  done
  expect_replies "${expected[@]}" "250 OK" "221 Bye"
}

# --- the options file (--config); t/deploy.bats runs the example --------------

# config_file TEXT: $CONFIG holds printf %b TEXT.
config_file() {
  CONFIG=$BATS_TEST_TMPDIR/in.smtpd.conf
  printf '%b' "$1" >"$CONFIG"
}

# config_error_is TEXT LINE [ARGS...]: with a file holding printf %b TEXT,
# in.smtpd -n --config FILE ARGS refuses to start: exit 78, nothing on
# stdout, and on stderr exactly "in.smtpd: FILE:LINE" (LINE: where and
# what, e.g. "2: unrecognised option 'x'").
config_error_is() {
  config_file "$1"
  local line=$2
  shift 2
  smtpd_session 'HELO x\r\nQUIT\r\n' --config "$CONFIG" "$@"
  expect_status 78
  expect_empty "$OUT"
  expect_stderr 'in.smtpd: %s:%s\n' "$CONFIG" "$line"
}

@test "options file: comments, blank lines, blanks around names and values, CRLF" {
  config_file '# the name\n\n  hostname\t=  file.example   # in replies\r\n\t\nclass=DebuggingServer\nsize =1000# bytes\n'
  smtpd_pipe "$BATS_TEST_TMPDIR/ehlo" --config "$CONFIG"
  expect_status 0
  expect_replies "220 file.example in.smtpd ESMTP" "250-file.example" \
    "250-SIZE 1000" "250-8BITMIME" "250-PIPELINING" "250 HELP" "221 Bye"
}

@test "options file: a switch takes yes or no (on/off, true/false, 1/0, any case; empty is yes)" {
  local value
  for value in yes On TRUE 1 ''; do
    config_file "smtputf8 = $value\n"
    ehlo_with --config "$CONFIG"
    expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME" \
      "250-SMTPUTF8" "250-PIPELINING" "250 HELP" "221 Bye"
  done
  for value in no OFF false 0; do
    config_file "smtputf8 = $value\n"
    ehlo_with --config "$CONFIG"
    expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME" \
      "250-PIPELINING" "250 HELP" "221 Bye"
  done
}

@test "options file: REMOTEHOST:REMOTEPORT as remote, and the command line's wins" {
  config_file 'remote = localhost:25\n'
  ehlo_with --config "$CONFIG"
  expect_replies "$GREETING" "250-$HOST" "250-SIZE 33554432" "250-8BITMIME" \
    "250-PIPELINING" "250 HELP" "221 Bye"
  config_file 'remote = mail.example\n'
  smtpd_pipe "$BATS_TEST_TMPDIR/ehlo" --config "$CONFIG" -c PureProxy \
    --hostname "$HOST" localhost:25
  expect_status 0
  config_error_is 'remote = mail.example\n' \
    "1: bad remote spec: 'mail.example' (HOST:PORT expected, [ADDRESS]:PORT for IPv6)" \
    -c DebuggingServer
  config_error_is 'remote = a.example:25\nremote = b.example:25\n' \
    "2: option 'remote' cannot be specified more than once" -c DebuggingServer
}

@test "options file: mistakes in its syntax, with the line" {
  config_error_is 'hostname = x.example\n\nhostname x.example\n' \
    "3: the options configuration file contains an invalid line 'hostname x.example'" \
    -c DebuggingServer
  config_error_is '= x.example\n' "1: no option name before '=': '= x.example'" \
    -c DebuggingServer
  config_error_is '[in.smtpd]\nsize = 1000\n' \
    "1: sections are not used in this file: '[in.smtpd]'" -c DebuggingServer
  # The long names in full, as written on the command line.
  config_error_is '# x\nhostn = x.example\n' "2: unrecognised option 'hostn'" \
    -c DebuggingServer
  config_error_is '--size = 1000\n' "1: unrecognised option '--size'" \
    -c DebuggingServer
  config_error_is 's = 1000\n' "1: unrecognised option 's'" -c DebuggingServer
  config_error_is 'size = 1000\nsize = 2000\n' \
    "2: option 'size' cannot be specified more than once" -c DebuggingServer
  config_error_is 'smtputf8 = maybe\n' \
    "1: the argument ('maybe') for option 'smtputf8' is invalid (yes or no, on or off, true or false, 1 or 0 expected)" \
    -c DebuggingServer
}

@test "options file: a mistake in it is one even where the command line wins" {
  config_error_is 'smtputf8 = maybe\n' \
    "1: the argument ('maybe') for option 'smtputf8' is invalid (yes or no, on or off, true or false, 1 or 0 expected)" \
    -c DebuggingServer -u
  config_error_is 'size = 1000\nsize = 2000\n' \
    "2: option 'size' cannot be specified more than once" -c DebuggingServer -s 5
}

@test "options file: a bad value is the file's (exit 78, its line), also in a list the command line adds to" {
  config_error_is 'size = 1000\nmax-errors = many\n' \
    "2: invalid value for --max-errors: 'many' (a whole number from 0 to 1000000 expected)" \
    -c DebuggingServer
  config_file 'relay-network = 300.0.0.0/8\n'
  smtpd_session 'HELO x\r\nQUIT\r\n' --config "$CONFIG" -c DebuggingServer \
    --relay-network 192.0.2.0/24
  expect_status 78
  expect_empty "$OUT"
  [ "$(line_count "$ERR")" -eq 1 ]
  grep -qF -- "$CONFIG:1: invalid value for --relay-network" "$ERR"
  # Two options that do not go together, both from the file.
  config_error_is 'decode-data = yes\nsmtputf8 = yes\n' \
    "2: --smtputf8 and --decode-data cannot be used together" -c DebuggingServer
  # One of them from the command line: the command line's mistake.
  config_file 'decode-data = yes\n'
  usage_error_is "--smtputf8 and --decode-data cannot be used together" \
    --config "$CONFIG" -c DebuggingServer -u
}

@test "options file: one that cannot be read (missing, a directory): exit 78, naming it" {
  smtpd_session 'HELO x\r\nQUIT\r\n' --config "$BATS_TEST_TMPDIR/no-such.conf" -c DebuggingServer
  expect_status 78
  expect_empty "$OUT"
  expect_stderr 'in.smtpd: %s: cannot read the options file: No such file or directory\n' \
    "$BATS_TEST_TMPDIR/no-such.conf"
  smtpd_session 'HELO x\r\nQUIT\r\n' --config "$BATS_TEST_TMPDIR" -c DebuggingServer
  expect_status 78
  expect_empty "$OUT"
  expect_stderr 'in.smtpd: %s: cannot read the options file: Is a directory\n' \
    "$BATS_TEST_TMPDIR"
}

# --- options file: what a file may not hold --------------------------------------

@test "options file: a UTF-8 byte order mark at its start is skipped" {
  config_file '\xef\xbb\xbfhostname = bom.example\nclass = DebuggingServer\n'
  smtpd_pipe "$BATS_TEST_TMPDIR/ehlo" --config "$CONFIG"
  expect_status 0
  expect_replies "220 bom.example in.smtpd ESMTP" "250-bom.example" \
    "250-SIZE 33554432" "250-8BITMIME" "250-PIPELINING" "250 HELP" "221 Bye"
  # Only at the start: elsewhere it is part of a name.
  config_error_is 'size = 1000\n\xef\xbb\xbfhostname = x\n' \
    $'2: unrecognised option \'\xef\xbb\xbfhostname\'' -c DebuggingServer
}

@test "options file: help, version and config are for the command line only" {
  # Under inetd, stdout is the client: a usage printed there would be
  # sent as the greeting.
  local name
  for name in help version config; do
    config_error_is "size = 1000\n$name = yes\n" \
      "2: option '$name' is for the command line, not an options file" \
      -c DebuggingServer
  done
}

# --- smtpd.py's command line ----------------------------------------------------

@test "smtpd.py's LOCALHOST:LOCALPORT REMOTEHOST:REMOTEPORT: refused, saying to use -l" {
  usage_error_is "too many arguments: only one REMOTEHOST:REMOTEPORT; to listen on localhost:1025 and relay to mail.example:25 as smtpd.py did, use -l localhost:1025 mail.example:25" \
    localhost:1025 mail.example:25
  usage_error_is "too many arguments: only one REMOTEHOST:REMOTEPORT; to listen on localhost:1025 and relay to localhost:25 as smtpd.py did, use -l localhost:1025 localhost:25" \
    -c DebuggingServer localhost:1025 localhost:25
}

@test "smtpd.py's -c DebuggingServer LOCALHOST:LOCALPORT: refused, saying to use -l" {
  usage_error_is "DebuggingServer relays nowhere: to listen on localhost:1025 as smtpd.py did, use -l localhost:1025" \
    -c DebuggingServer localhost:1025
  # A remote in the options file (as the example has) is no such habit.
  config_file 'remote = mail.example:25\n'
  smtpd_session 'NOOP\r\nQUIT\r\n' --config "$CONFIG" -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_replies "$GREETING" "250 OK" "221 Bye"
}

@test "a single REMOTEHOST:REMOTEPORT stays PureProxy's relay target: relayed, no listener" {
  start_sink
  smtpd_session 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
    --hostname "$HOST" "$UPSTREAM"
  expect_status 0
  expect_replies "$GREETING" "250 $HOST" "250 2.1.0 Ok" "250 2.1.5 Ok" \
    "354 End data with <CR><LF>.<CR><LF>" "250 2.0.0 Ok" "221 Bye"
  [ "$(sink_dumps)" -eq 1 ]
}

@test "on a terminal without -l: one line on stderr that this is one session, and how to listen" {
  cat >"$BATS_TEST_TMPDIR/on_terminal.py" <<'PY'
import os, pty, subprocess, sys, tty
master, slave = pty.openpty()
tty.setraw(slave)  # the CR reaches in.smtpd as typed
os.write(master, b"QUIT\r\n")
p = subprocess.run([sys.argv[1], "-n", "-c", "DebuggingServer", "--hostname", sys.argv[2]],
                   stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
assert p.returncode == 0, p
assert p.stdout == b"220 %s in.smtpd ESMTP\r\n221 Bye\r\n" % sys.argv[2].encode(), p.stdout
assert p.stderr == (b"in.smtpd: one SMTP session on this terminal (to listen on a "
                    b"port instead: -l HOST:PORT, e.g. -l 127.0.0.1:8025)\n"), p.stderr
PY
  "$PYTHON3" "$BATS_TEST_TMPDIR/on_terminal.py" "$IN_SMTPD" "$HOST"
  # Not on a pipe.
  smtpd_session 'QUIT\r\n' -c DebuggingServer --hostname "$HOST"
  expect_status 0
  expect_empty "$ERR"
}

# --- the hand-over to in.smtpd-full -----------------------------------------------

@test "-d traces the hand-over to in.smtpd-full in one line" {
  smtpd_session 'NOOP\r\nQUIT\r\n' -d -c PureProxy --hostname "$HOST" 127.0.0.1:25
  expect_status 0
  expect_replies "$GREETING" "250 OK" "221 Bye"
  [ "$(grep -c 'handing' "$ERR")" -eq 1 ]
  grep -qxF "in.smtpd: handing the session over to $IN_SMTPD_FULL (class PureProxy)" "$ERR"
  # Without -d, nothing.
  smtpd_session 'NOOP\r\nQUIT\r\n' -c PureProxy --hostname "$HOST" 127.0.0.1:25
  expect_status 0
  expect_empty "$ERR"
}

@test "the build tree's in.smtpd hands over to the in.smtpd-full beside it, without IN_SMTPD_FULL" {
  IN_SMTPD_FULL= smtpd_session 'NOOP\r\nQUIT\r\n' -d -c PureProxy --hostname "$HOST" 127.0.0.1:25
  expect_status 0
  expect_replies "$GREETING" "250 OK" "221 Bye"
  grep -qxF "in.smtpd: handing the session over to $(readlink -f "${IN_SMTPD%/*}")/in.smtpd-full (class PureProxy)" "$ERR"
}

@test "in.smtpd-full missing: one line naming its path, exit 72, nothing to the client" {
  IN_SMTPD_FULL=$BATS_TEST_TMPDIR/no/in.smtpd-full smtpd_session 'NOOP\r\nQUIT\r\n' \
    -c PureProxy 127.0.0.1:25
  expect_status 72
  expect_empty "$OUT"
  expect_stderr 'in.smtpd: cannot run %s: No such file or directory\n' \
    "$BATS_TEST_TMPDIR/no/in.smtpd-full"
}

@test "in.smtpd-full takes the options in.smtpd read: the options file is read once" {
  # in.smtpd-full, started by a wrapper that first removes the file: the
  # session still has the file's options.
  config_file "class = PureProxy\nhostname = once.example\nremote = 127.0.0.1:25\n"
  printf '#!/bin/sh\nrm -f "%s"\nexec "%s" "$@"\n' "$CONFIG" "$IN_SMTPD_FULL" \
    >"$BATS_TEST_TMPDIR/full"
  chmod +x "$BATS_TEST_TMPDIR/full"
  IN_SMTPD_FULL=$BATS_TEST_TMPDIR/full smtpd_session 'NOOP\r\nQUIT\r\n' --config "$CONFIG"
  expect_status 0
  expect_empty "$ERR"
  expect_replies "220 once.example in.smtpd ESMTP" "250 OK" "221 Bye"
  [ ! -e "$CONFIG" ]
}

@test "in.smtpd-full started directly reads its own command line and options file" {
  config_file "class = PureProxy\nhostname = direct.example\n"
  printf 'NOOP\r\nQUIT\r\n' >"$IN"
  timeout -k 5 "$RUN_LIMIT" "$IN_SMTPD_FULL" -n --config "$CONFIG" 127.0.0.1:25 \
    <"$IN" >"$OUT" 2>"$ERR"
  expect_empty "$ERR"
  expect_replies "220 direct.example in.smtpd ESMTP" "250 OK" "221 Bye"
}
