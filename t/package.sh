#!/usr/bin/env bash
# package.sh DIR - the Debian packages built by tools/package into DIR, as
# an admin meets them: installed with apt-get, used, removed and purged.
#
# Run by `make check-package` (after `make package`).  Needs root, since it
# installs on this machine; as another user it says why and skips (exit 0,
# as it does when an in.smtpd package or a /usr/sbin/in.smtpd is already
# here, which it must not replace).  Whatever happens, what it installed
# is purged before it exits.
#
# Checks, after `apt-get install ./in.smtpd_*.deb ./libsmtpd0_*.deb
# ./libsmtpd-dev_*.deb`:
#   - in.smtpd -V names the package's version; man in.smtpd and
#     man 3 libsmtpd show the pages;
#   - /etc/in.smtpd.conf is a conffile, and parses;
#   - systemd-analyze verify accepts the installed units; none is enabled,
#     none runs, no process of the package runs (nothing listens);
#   - a piped DebuggingServer session with the installed program, and a
#     PureProxy one handed over to the internal program, which loads libcurl;
#   - examples/minimal_server.cpp built with pkg-config's flags, against
#     the shared library and against the static one, and run;
# then, after apt-get remove: the conffile stays, every other file and
# every process is gone; after apt-get purge: nothing of the packages is
# left (files, conffile, dpkg state, systemd enablement state).
# Prints one line per check and "package: N passed, M failed".

set -uo pipefail

dir=${1:?usage: t/package.sh DIR (where tools/package left the .deb files)}
top=$(cd "$(dirname "$0")/.." && pwd)
# A copy of what it prints, for the summaries at the end of .ci/run.
exec > >(tee "$dir/package.log") 2>&1
packages=(in.smtpd libsmtpd0 libsmtpd-dev)
units=(in.smtpd.socket in.smtpd@.service in.smtpd-standalone.socket in.smtpd-standalone.service)
# The units with an [Install] section: the ones that could be enabled.
enableable=(in.smtpd.socket in.smtpd-standalone.socket in.smtpd-standalone.service)
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -y -q -o DPkg::Lock::Timeout=600)

skip() {
  echo "package: skipped: $*"
  exit 0
}

passed=0
failed=0
# check NAME COMMAND...: one line per check.
check() {
  local name=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "not ok - $name"
    sed 's/^/#   /' "$work/check.out" | head -n 40
  fi
}

[ "$(id -u)" -eq 0 ] ||
  skip "installing the packages needs root (run as root, or install $dir/*.deb by hand)"
for package in "${packages[@]}"; do
  if dpkg-query -W -f '${Status}\n' "$package" 2>/dev/null | grep -qv 'not-installed'; then
    skip "the package $package is on this machine already; not replacing it"
  fi
done
[ -e /usr/sbin/in.smtpd ] &&
  skip "/usr/sbin/in.smtpd exists (not from a package); not replacing it"

debs=()
for package in "${packages[@]}"; do
  deb=$(cd "$dir" && ls "${package}"_*.deb 2>/dev/null)
  [ "$(printf '%s\n' "$deb" | grep -c .)" = 1 ] || {
    echo "package: expected one ${package}_*.deb in $dir, found: '$deb'" >&2
    exit 1
  }
  debs+=("./$deb")
done

# known_packages: those of ours dpkg still knows (installed, or removed
# with their conffiles left); apt-get purge refuses the others.
known_packages() {
  local package
  for package in "${packages[@]}"; do
    dpkg-query -W -f '${Status}\n' "$package" 2>/dev/null |
      grep -qv 'not-installed' && echo "$package"
  done
}

work=$(mktemp -d /tmp/in-smtpd-package.XXXXXX)
installed=no
cleanup() {
  local known
  if [ "$installed" = yes ]; then
    known=$(known_packages)
    # shellcheck disable=SC2086
    [ -z "$known" ] || "${apt[@]}" purge $known >"$work/cleanup.log" 2>&1 ||
      cat "$work/cleanup.log" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# package_processes: the processes whose program is one of the packages'
# files (ends " (deleted)" once removed), one "PID PROGRAM" a line.
package_processes() {
  local proc exe
  for proc in /proc/[0-9]*; do
    exe=$(readlink "$proc/exe" 2>/dev/null) || continue
    exe=${exe% (deleted)}
    if grep -qxF -- "$exe" "$work/files"; then
      echo "${proc#/proc/} $exe"
    fi
  done
}
no_package_process() {
  local found
  found=$(package_processes)
  [ -z "$found" ] || {
    echo "running: $found"
    return 1
  }
}

# --- install ---------------------------------------------------------------------

echo "== apt-get install ${debs[*]}"
installed=yes
(cd "$dir" && "${apt[@]}" install --no-install-recommends "${debs[@]}") || {
  echo "package: apt-get install failed" >&2
  exit 1
}
dpkg -L "${packages[@]}" | while read -r path; do
  [ -d "$path" ] || echo "$path"
done | sort >"$work/files"

version=$(dpkg-query -W -f '${Version}' in.smtpd)
check "in.smtpd -V: in.smtpd ${version%-*}" \
  test "$(/usr/sbin/in.smtpd -V 2>&1)" = "in.smtpd ${version%-*}"
check "in.smtpd is on root's PATH as /usr/sbin/in.smtpd" \
  test "$(command -v in.smtpd)" = /usr/sbin/in.smtpd

man_page() {
  local section=$1 name=$2 path text
  path=$(man -w "$section" "$name") || return 1
  [ "$path" = "/usr/share/man/man$section/$name.$section.gz" ] || {
    echo "man -w $section $name: $path"
    return 1
  }
  text=$(MANPAGER=cat MANWIDTH=80 man "$section" "$name" 2>&1) || return 1
  printf '%s\n' "$text" | grep -q '^NAME' &&
    printf '%s\n' "$text" | grep -q "^ *$name " || {
    echo "man $section $name shows: $(printf '%s\n' "$text" | head -n 5)"
    return 1
  }
}
check "man in.smtpd shows in.smtpd(8)" man_page 8 in.smtpd
check "man 3 libsmtpd shows libsmtpd(3)" man_page 3 libsmtpd

check "libsmtpd0 depends on libstdc++6 (the library is linked with it)" \
  sh -c "dpkg-query -W -f '\${Depends}' libsmtpd0 | grep -q 'libstdc++6'"

check "/etc/in.smtpd.conf is a conffile of in.smtpd" \
  sh -c "dpkg-query -W -f '\${Conffiles}\n' in.smtpd | grep -q '^ /etc/in.smtpd.conf '"

verify_units() {
  local out
  out=$(timeout -k 5 120 systemd-analyze verify "${units[@]/in.smtpd@.service/in.smtpd@test.service}" 2>&1) || {
    echo "$out"
    return 1
  }
  [ -z "$out" ] || {
    echo "$out"
    return 1
  }
}
check "systemd-analyze verify ${units[*]}: no complaint" verify_units

# units_in_state QUERY STATE UNIT...: `systemctl QUERY UNIT` answers
# STATE for each unit; names those that answer otherwise.
units_in_state() {
  local query=$1 want=$2 unit state bad=0
  shift 2
  for unit; do
    state=$(systemctl "$query" "$unit" 2>&1)
    [ "$state" = "$want" ] || {
      echo "$unit: $state"
      bad=1
    }
  done
  return "$bad"
}

units_not_enabled() {
  local bad=0
  units_in_state is-enabled disabled "${enableable[@]}" || bad=1
  # systemd running (not in a bare root or container): nothing active.
  if [ -d /run/systemd/system ]; then
    units_in_state is-active inactive \
      "${units[@]/in.smtpd@.service/in.smtpd@*.service}" || bad=1
  fi
  return "$bad"
}
check "installed disabled: ${enableable[*]}" units_not_enabled
check "after install no process of the packages runs (nothing listens)" no_package_process

# On a host that runs systemd, removal stops what the units started: the
# sockets, the standalone service and the per-connection sessions.
prerm_stops() {
  local prerm=/var/lib/dpkg/info/in.smtpd.prerm unit
  for unit in in.smtpd.socket in.smtpd-standalone.socket in.smtpd-standalone.service \
    'in.smtpd@*.service'; do
    grep -F 'deb-systemd-invoke stop' "$prerm" | grep -qF "'$unit'" || {
      echo "$prerm does not stop $unit:"
      cat "$prerm"
      return 1
    }
  done
}
check "in.smtpd's prerm stops the sockets, the standalone service and the sessions" prerm_stops

# --- the installed program -----------------------------------------------------------

piped_session() {
  printf 'HELO client\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n' |
    timeout -k 5 20 /usr/sbin/in.smtpd -n -c DebuggingServer --hostname pkg.test \
      >"$work/out" 2>"$work/err" || return 1
  printf '%s\r\n' '220 pkg.test in.smtpd ESMTP' '250 pkg.test' '250 OK' '250 OK' \
    '354 End data with <CR><LF>.<CR><LF>' '250 OK' '221 Bye' >"$work/expected"
  cmp "$work/out" "$work/expected" || {
    echo "replies: $(od -c "$work/out" | head -n 12)"
    return 1
  }
  grep -qxF -- '---------- MESSAGE FOLLOWS ----------' "$work/err" &&
    grep -qxF -- "b'body'" "$work/err" &&
    grep -qxF -- '------------ END MESSAGE ------------' "$work/err" || {
    echo "printout: $(cat "$work/err")"
    return 1
  }
}
check "a piped DebuggingServer session: the replies and the printout" piped_session

config_session() {
  printf 'QUIT\r\n' | timeout -k 5 20 /usr/sbin/in.smtpd -n --config /etc/in.smtpd.conf \
    -c DebuggingServer --hostname pkg.test >"$work/out" 2>"$work/err" || {
    cat "$work/err"
    return 1
  }
  printf '%s\r\n' '220 pkg.test in.smtpd ESMTP' '221 Bye' | cmp - "$work/out"
}
check "the installed /etc/in.smtpd.conf parses (a QUIT session with --config)" config_session

# PureProxy to a port nobody listens on: the session is handed over to the
# internal program (wherever the package put it), which loads libcurl at
# MAIL (a before-queue proxy opens the upstream transaction there) and
# answers it with a 4xx, never 250, naming the failure in its log line.
relay_session() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'HELO client\r\nMAIL FROM:<a@example.com>\r\nQUIT\r\n' |
    timeout -k 5 60 /usr/sbin/in.smtpd -n -c PureProxy --hostname pkg.test \
      "127.0.0.1:$port" >"$work/out" 2>"$work/err" || {
    cat "$work/err"
    return 1
  }
  tr -d '\r' <"$work/out" >"$work/replies"
  [ "$(sed -n 3p "$work/replies")" = "451 Error: relay failed, try again later" ] &&
    [ "$(sed -n 4p "$work/replies")" = "221 Bye" ] &&
    grep -qF "relay to 127.0.0.1:$port: MAIL FROM:<a@example.com> failed: cannot connect" "$work/err" || {
    echo "replies: $(cat "$work/replies")"
    echo "stderr: $(cat "$work/err")"
    return 1
  }
}
check "a piped PureProxy session: handed over, libcurl loaded, 451 at MAIL for an upstream that is not there" relay_session

# --- libsmtpd-dev ---------------------------------------------------------------------

example_session() {
  local program=$1
  printf 'HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' |
    timeout -k 5 20 "$program" >"$work/out" 2>"$work/err" || return 1
  tr -d '\r' <"$work/out" >"$work/replies"
  [ "$(head -n 1 "$work/replies")" = "220 minimal.example in.smtpd ESMTP" ] &&
    [ "$(sed -n 6p "$work/replies")" = "250 OK" ] &&
    [ "$(tail -n 1 "$work/replies")" = "221 Bye" ] || {
    echo "replies: $(cat "$work/replies")"
    return 1
  }
}

shared_example() {
  local flags
  flags=$(pkg-config --cflags --libs libsmtpd) || return 1
  # shellcheck disable=SC2086
  c++ -std=c++17 -Wall -Wextra -Werror -o "$work/minimal_server" \
    "$top/examples/minimal_server.cpp" $flags || return 1
  ldd "$work/minimal_server" | grep -E '^\s*libsmtpd\.so\.0 => (/usr)?/lib/[^ ]+/libsmtpd\.so\.0 ' || {
    ldd "$work/minimal_server"
    return 1
  }
  example_session "$work/minimal_server"
}
check "examples/minimal_server.cpp built with pkg-config's flags, linked to the installed libsmtpd.so.0, serves a session" \
  shared_example

static_example() {
  local flags
  flags=$(pkg-config --static --cflags --libs libsmtpd) || return 1
  # shellcheck disable=SC2086
  c++ -std=c++17 -Wall -Wextra -Werror -o "$work/minimal_server_static" \
    "$top/examples/minimal_server.cpp" ${flags/-lsmtpd/-l:libsmtpd.a} || return 1
  if ldd "$work/minimal_server_static" | grep libsmtpd; then
    return 1
  fi
  example_session "$work/minimal_server_static"
}
check "examples/minimal_server.cpp linked with the static libsmtpd.a (pkg-config --static) serves a session" \
  static_example

# --- remove, then purge ---------------------------------------------------------------

echo "== apt-get remove ${packages[*]}"
"${apt[@]}" remove "${packages[@]}" || failed=$((failed + 1))

files_gone() {
  local path left=0
  while read -r path; do
    [ "$path" = "${1:-}" ] && continue
    if [ -e "$path" ] || [ -L "$path" ]; then
      echo "left: $path"
      left=1
    fi
  done <"$work/files"
  return "$left"
}
check "after remove: /etc/in.smtpd.conf is kept" test -f /etc/in.smtpd.conf
check "after remove: every other file of the packages is gone" files_gone /etc/in.smtpd.conf
check "after remove: no process of the packages runs" no_package_process

# libsmtpd0 and libsmtpd-dev have no conffile: dpkg forgot them at removal.
mapfile -t known < <(known_packages)
echo "== apt-get purge ${known[*]}"
"${apt[@]}" purge "${known[@]}" || failed=$((failed + 1))
installed=no

nothing_left() {
  local package state left=0 path
  for package in "${packages[@]}"; do
    state=$(dpkg-query -W -f '${Status}' "$package" 2>/dev/null)
    case $state in
      '' | 'unknown ok not-installed' | 'purge ok not-installed') ;;
      *)
        echo "$package: $state"
        left=1
        ;;
    esac
  done
  files_gone "" || left=1
  for path in /etc/systemd/system/*/in.smtpd* /etc/systemd/system/in.smtpd* \
    /var/lib/systemd/deb-systemd-helper-enabled/*in.smtpd* \
    /var/lib/systemd/deb-systemd-helper-enabled/*/in.smtpd* \
    /var/lib/systemd/deb-systemd-helper-masked/in.smtpd*; do
    if [ -e "$path" ] || [ -L "$path" ]; then
      echo "left: $path"
      left=1
    fi
  done
  return "$left"
}
check "after purge: no package state, no file, no conffile, no systemd state left" nothing_left
check "after purge: /etc/in.smtpd.conf is gone" test ! -e /etc/in.smtpd.conf
check "after purge: no process of the packages runs" no_package_process

echo "package: $passed passed, $failed failed"
[ "$failed" = 0 ]
