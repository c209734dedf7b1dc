#!/bin/sh
# conformance.sh - in.smtpd against the reference, CPython 3.11's smtpd.
#
# Run by `make check` (automake's test harness) with
#   IN_SMTPD    the built program
#   SHARED_DIR  the shared folder (conformance/smtp-conform, reference-stdio)
#   TOP_SRCDIR  the source tree
#   PYTHON3     a Python; it must be 3.11 (smtpd was removed in 3.12)
# Five runners, each printing its own summary line:
#   1. smtp-conform on the shared cases ($SHARED_DIR/conformance/cases)
#   2. smtp-conform on ours (t/conformance/*.case)
#      (both skip the deliberate deviations in t/conformance-deviations)
#   3. smtp-conform --delivery on the class=proxy cases of both, as
#      PureProxy: what is relayed upstream must match too (MAIL's
#      parameters aside: a before-queue proxy cannot count the message)
#   4. t/deviations.py: the deviations, our replies checked against ours
#   5. t/differential.py: random sessions, reference and ours compared
#      (DIFFERENTIAL_SEED, default 1, and DIFFERENTIAL_SESSIONS, default
#      its own, to change them)
# Exit 0 if all pass, 1 if any failed, 77 (skipped) when the shared
# harness or Python 3.11 is not there (e.g. under `make distcheck`).

top=${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
shared=${SHARED_DIR:-$top/../shared}
harness=$shared/conformance/smtp-conform

if [ -z "$IN_SMTPD" ] || [ ! -x "$IN_SMTPD" ]; then
	echo "conformance.sh: IN_SMTPD (the built in.smtpd) is not set or not executable" >&2
	exit 99
fi
# The harness runs the build's in.smtpd as a user runs it: PureProxy
# sessions go to the in.smtpd-full beside it, found without help.
unset IN_SMTPD_FULL
if [ ! -f "$harness" ] || [ ! -f "$shared/conformance/reference-stdio" ]; then
	echo "SKIP: no conformance harness at $shared/conformance (set SHARED_DIR)"
	exit 77
fi

python=
for p in "$PYTHON3" python3.11 python3; do
	[ -n "$p" ] || continue
	if "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
		>/dev/null 2>&1; then
		python=$p
		break
	fi
done
if [ -z "$python" ]; then
	echo "SKIP: the conformance harness needs Python 3.11 (PYTHON3=${PYTHON3:-unset})"
	exit 77
fi

# smtp-conform splits the command with shlex: quote the path.
target="'$IN_SMTPD' -n -c DebuggingServer -s {size} {smtputf8?-u} {decode_data?--decode-data}"
skip=$top/t/conformance-deviations
status=0

echo "== shared cases ($shared/conformance/cases)"
"$python" "$harness" --stdio "$target" --skip-file "$skip" || status=1

echo "== our cases ($top/t/conformance)"
"$python" "$harness" --stdio "$target" --skip-file "$skip" \
	--cases "$top/t/conformance" || status=1

# PureProxy: the class=proxy cases again, as PureProxy relaying to the
# harness's capture server, comparing what both relay (--delivery).  The
# other cases are skipped by name (smtp-conform selects by tag only to skip).
echo "== relayed messages (class=proxy cases, --delivery)"
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
"$python" "$harness" --list --cases "$shared/conformance/cases" \
	--cases "$top/t/conformance" |
	awk 'NF > 1 && $2 ~ /^size=/ && !/\[.*proxy/ { print $1 }' >"$tmp/skip"
cat "$skip" >>"$tmp/skip"
proxy_target="'$IN_SMTPD' -n -c {class} -s {size} {smtputf8?-u} {decode_data?--decode-data} --remote={upstream}"
"$python" "$harness" --stdio "$proxy_target" --delivery --skip-file "$tmp/skip" \
	--cases "$shared/conformance/cases" --cases "$top/t/conformance" \
	>"$tmp/out" 2>&1
# PureProxy is a before-queue proxy: its MAIL goes upstream before the
# message exists, so its SIZE= is the client's estimate or none, where the
# reference's smtplib counted the message it held (README, "Compatibility
# with smtpd.py").  A case that differs in MAIL's parameters alone passes:
# smtp-conform compares the sender, the recipients and the message's bytes
# first, and names the first key that differs.  Any other difference fails.
passed=$(grep -c '^PASS ' "$tmp/out")
parameters=$(grep -c '^FAIL [^:]*: delivery: message [0-9]* mail_options: ' "$tmp/out")
failed=$(($(grep -c '^FAIL ' "$tmp/out") - parameters))
grep -q '^conformance: ' "$tmp/out" || failed=$((failed + 1))
grep -v '^SKIP \|^conformance: ' "$tmp/out" |
	sed 's/^FAIL \([^:]*: delivery: message [0-9]* mail_options: \)/PASS (MAIL parameters) \1/'
echo "conformance: $((passed + parameters)) passed, $failed failed" \
	"($parameters of them differ from the reference in MAIL's parameters alone: SIZE= is the client's, BODY= is passed on)"
[ "$failed" -eq 0 ] || status=1

echo "== deliberate deviations ($top/t/deviations)"
"$python" "$top/t/deviations.py" "$IN_SMTPD" --list-file "$skip" \
	--cases "$top/t/deviations" || status=1

echo "== differential (random sessions)"
set -- --seed "${DIFFERENTIAL_SEED:-1}"
if [ -n "$DIFFERENTIAL_SESSIONS" ]; then
	set -- "$@" --sessions "$DIFFERENTIAL_SESSIONS"
fi
SHARED_DIR=$shared "$python" "$top/t/differential.py" "$@" "$IN_SMTPD" \
	|| status=1

exit $status
