#!/usr/bin/env python3
"""deviations.py: replay t/deviations/*.case against in.smtpd only.

The cases there are the places where we deliberately differ from the
reference, CPython 3.11's smtpd (it drops the connection, hangs, or has
no limit; see SPEC.md and the README).  smtp-conform cannot hold them: it
always compares the target with the live reference, and a case whose "<"
lines disagree with the reference is a case error.  So these cases are
written in smtp-conform's case format, but their "<" lines are OUR replies,
and this script checks our program against them, byte for byte:

  * the greeting by its code and hostname only ("220 {host}");
  * every other reply line exactly, {host} being the --hostname we pass;
  * "<EOF>": the server closes the connection right there;
  * at the end of a case the client closes and the server must close
    without sending anything more, and exit (not by a signal).

Extra lines for our program only: a comment "# args: ARGS" in a case's
header adds ARGS to our command line (e.g. "--max-recipients 3").
Every case must be listed in t/conformance-deviations (with its reason),
and every "dev-" name listed there must have a case here.

usage: deviations.py [IN_SMTPD] [--cases DIR|FILE]... [-k SUBSTRING]
                     [--print] [--check-reference] [-v]

  --print            run the cases and print them with OUR replies filled
                     in as "<" lines (for writing cases; review the result)
  --check-reference  also run each case against the reference
                     ($SHARED_DIR/conformance/reference-stdio) and fail it
                     if the reference answers the same: then it is no
                     deviation any more

Prints PASS/FAIL per case and "deviations: N passed, N failed".
Python 3.11 (3.8+ works for the replay itself), standard library only.
"""
import argparse
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time

from case_escapes import CaseError, decode_escapes, encode_escapes

HERE = os.path.dirname(os.path.realpath(__file__))
TOP = os.path.dirname(HERE)
HOST = 'deviations.test'
TIMEOUT = 5.0
DEFAULTS = {'size': 33554432, 'smtputf8': False, 'decode_data': False,
            'class': 'debugging'}


# ------------------------------------------------------------ case format
# (the payload escapes are case_escapes.py's)


class Step:
    def __init__(self, kind, lineno, data=b'', seconds=0.0):
        self.kind = kind        # greeting | send | close | pause
        self.lineno = lineno
        self.data = data
        self.seconds = seconds
        self.src = []
        self.expect = []        # expected reply lines (str, escapes)
        self.eof = False
        self.lines_step = False


class Case:
    def __init__(self, name, path, lineno):
        self.name = name
        self.path = path
        self.lineno = lineno
        self.options = dict(DEFAULTS)
        self.args = []
        self.tags = []
        self.header = []
        self.steps = [Step('greeting', lineno)]


_BOOL = {'yes': True, 'true': True, '1': True, 'on': True,
         'no': False, 'false': False, '0': False, 'off': False}


def parse_options(text, opts):
    for item in text.split():
        key, eq, value = item.partition('=')
        key = key.lower().replace('-', '_')
        if not eq:
            raise CaseError('option %r needs a value' % item)
        if key in ('size', 'data_size_limit'):
            opts['size'] = 0 if value.lower() in ('none', 'no', 'off') \
                else int(value)
        elif key in ('smtputf8', 'enable_smtputf8', 'decode_data'):
            opts['smtputf8' if 'smtputf8' in key else key] = \
                _BOOL[value.lower()]
        elif key in ('class', 'server'):
            opts['class'] = 'proxy' if 'proxy' in value.lower() \
                else 'debugging'
        else:
            raise CaseError('unknown option %r' % key)


def payload(line, sigil):
    rest = line[len(sigil):]
    if rest.startswith(' '):
        return rest[1:]
    if rest:
        raise CaseError('%r must be followed by a space' % sigil)
    return ''


def parse_cases(text, path):
    cases = []
    case = None
    file_header = []
    for lineno, raw in enumerate(text.split('\n'), 1):
        line = raw[:-1] if raw.endswith('\r') else raw
        try:
            if line.startswith('#'):
                if case is None:
                    file_header.append(line)
                    continue
                m = re.match(r'#\s*args:(.*)$', line)
                if m and len(case.steps) == 1 and not case.steps[0].expect:
                    case.args += shlex.split(m.group(1))
                    case.header.append(line)
                elif len(case.steps) == 1 and not case.steps[0].expect:
                    case.header.append(line)
                else:
                    case.steps[-1].src.append(line)
                continue
            if not line.strip():
                continue
            if line.startswith('case:'):
                case = Case(line[5:].strip(), path, lineno)
                if not cases:
                    case.file_header = file_header
                cases.append(case)
                continue
            if case is None:
                raise CaseError('text before the first "case:" line')
            m = re.match(r'(options|tags|desc|from):(.*)$', line)
            if m:
                case.header.append(line)
                if m.group(1) == 'options':
                    parse_options(m.group(2), case.options)
                elif m.group(1) == 'tags':
                    case.tags += m.group(2).replace(',', ' ').split()
                continue
            last = case.steps[-1]
            if line == '<EOF>':
                last.eof = True
                continue
            if line.startswith('<'):
                last.expect.append(payload(line, '<'))
                continue
            if line.startswith('>>') or line.startswith('~~'):
                if last.kind != 'send' or last.expect or last.lines_step:
                    raise CaseError('%s continues a preceding > or ~ line'
                                    % line[:2])
                last.data += decode_escapes(payload(line, line[:2])) + \
                    (b'\r\n' if line[0] == '>' else b'')
                last.src.append(line)
                continue
            if line.startswith('|'):
                p = decode_escapes(payload(line, '|')) + b'\r\n'
                if last.kind == 'send' and last.lines_step and \
                        not last.expect:
                    last.data += p
                    last.src.append(line)
                    continue
                step = Step('send', lineno, p)
                step.lines_step = True
            elif line.startswith('>') or line.startswith('~'):
                p = decode_escapes(payload(line, line[0]))
                step = Step('send', lineno,
                            p + (b'\r\n' if line[0] == '>' else b''))
            elif line == 'close':
                step = Step('close', lineno)
            elif re.fullmatch(r'pause\s+\d+(\.\d+)?', line):
                step = Step('pause', lineno, seconds=float(line.split()[1]))
            else:
                raise CaseError('cannot parse line: %r' % line)
            step.src.append(line)
            case.steps.append(step)
        except (CaseError, KeyError, ValueError) as e:
            raise CaseError('%s:%d: %s' % (path, lineno, e))
    return cases


def load_cases(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p)
                            if f.endswith('.case'))
        else:
            files.append(p)
    cases, seen = [], set()
    for f in files:
        with open(f, encoding='utf-8', errors='surrogateescape') as fh:
            for c in parse_cases(fh.read(), f):
                if c.name in seen:
                    raise CaseError('%s: duplicate case %s' % (f, c.name))
                seen.add(c.name)
                cases.append(c)
    return cases


def load_list(path):
    names = {}
    with open(path, encoding='utf-8') as fh:
        for line in fh:
            name, _, reason = line.partition('#')
            name = name.strip()
            if name:
                names[name] = reason.strip()
    return names


# ------------------------------------------------------------ running

class Mismatch(Exception):
    pass


class Target:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self.rfd = self.proc.stdout.fileno()
        os.set_blocking(self.rfd, False)
        self.buf = bytearray()
        self.eof = False
        self.wclosed = False

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
            return False
        r, _, _ = select.select([self.rfd], [], [], left)
        if not r:
            return False
        try:
            d = os.read(self.rfd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            d = b''
        if not d:
            self.eof = True
        self.buf += d
        return True

    def write(self, data):
        if self.wclosed:
            return
        try:
            # writes may block while we do not read: read in between
            view = memoryview(data)
            wfd = self.proc.stdin.fileno()
            os.set_blocking(wfd, False)
            deadline = time.monotonic() + TIMEOUT
            while view:
                if time.monotonic() > deadline:
                    raise Mismatch('could not write within %gs' % TIMEOUT)
                r, w, _ = select.select([] if self.eof else [self.rfd],
                                        [wfd], [], 0.5)
                if r:
                    self._read(time.monotonic() + 0.01)
                if w:
                    try:
                        n = os.write(wfd, view)
                        view = view[n:]
                    except BlockingIOError:
                        pass
        except (BrokenPipeError, ConnectionResetError):
            self.wclosed = True

    def close(self):
        if not self.wclosed:
            self.wclosed = True
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def lines(self, n, deadline):
        out = []
        while len(out) < n:
            i = self.buf.find(b'\r\n')
            if i >= 0:
                out.append(bytes(self.buf[:i]))
                del self.buf[:i + 2]
                continue
            if self.eof or not self._read(deadline):
                break
        return out

    def wait_eof(self, deadline):
        while not self.eof and not self.buf:
            if not self._read(deadline):
                break
        if self.buf:
            # More came: take all of it, up to the close (or the
            # deadline), so that the report shows what was sent, however
            # late, rather than what a fixed pause let through.
            while not self.eof and self._read(deadline):
                pass
            return 'extra'
        return 'eof' if self.eof else 'timeout'

    def finish(self):
        self.close()
        try:
            rc = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return 'did not exit within %gs after the session (killed)' % \
                TIMEOUT
        finally:
            self.proc.stdout.close()
        if rc < 0 and rc != -signal.SIGPIPE:
            return 'died with signal %d' % -rc
        return None


def our_argv(ours, case):
    o = case.options
    a = [ours, '-n', '-c', 'DebuggingServer' if o['class'] == 'debugging'
         else 'PureProxy', '--hostname', HOST, '-s', str(o['size'])]
    if o['smtputf8']:
        a.append('-u')
    if o['decode_data']:
        a.append('--decode-data')
    return a + case.args


def expected_bytes(text):
    return decode_escapes(text.replace('{host}', HOST))


def run_case(ours, case, record=None):
    """Check our program against the case; with record (a list), collect
    what it sent per step instead of comparing.  Returns None or a
    problem."""
    t = Target(our_argv(ours, case))
    problem = None
    try:
        steps = list(case.steps)
        if not any(s.kind == 'close' for s in steps) and \
                not any(s.eof for s in steps):
            steps.append(Step('close', 0))
        for step in steps:
            where = 'line %d `%s`' % (step.lineno, step.src[0]) if step.src \
                else ('greeting' if step.kind == 'greeting' else 'end')
            if step.kind == 'send':
                t.write(step.data)
            elif step.kind == 'close':
                t.close()
            elif step.kind == 'pause':
                time.sleep(step.seconds)
            if record is not None:
                # take what comes within a short quiet time
                got = []
                while True:
                    more = t.lines(1, time.monotonic() + 0.3)
                    if not more:
                        break
                    got += more
                eof = t.eof and not t.buf
                record.append((step, got, eof))
                if eof:
                    break
                continue
            want = [expected_bytes(e) for e in step.expect]
            got = t.lines(len(want), time.monotonic() + TIMEOUT)
            for i, w in enumerate(want):
                g = got[i] if i < len(got) else None
                if step.kind == 'greeting' and i == 0 and g is not None:
                    ok = g.split(b' ')[:2] == w.split(b' ')[:2]
                else:
                    ok = g == w
                if not ok:
                    raise Mismatch('%s: expected %r, got %s' % (
                        where, encode_escapes(w), 'nothing (%s)' % (
                            'connection closed' if t.eof else 'timeout')
                        if g is None else repr(encode_escapes(g))))
            if step.eof or step.kind == 'close':
                st = t.wait_eof(time.monotonic() + TIMEOUT)
                if st == 'extra':
                    raise Mismatch('%s: expected %s, got more: %r' % (
                        where, 'the connection to close' if step.eof else
                        'no more replies', encode_escapes(bytes(t.buf))))
                if st == 'timeout':
                    raise Mismatch('%s: the connection stays open' % where)
                if step.eof:
                    break
            elif t.eof and step is not steps[-1]:
                raise Mismatch('%s: the connection closed' % where)
    except Mismatch as e:
        problem = str(e)
    finally:
        p = t.finish()
        problem = problem or p
    return problem


def print_case(case, record):
    w = sys.stdout.write
    if getattr(case, 'file_header', None):
        w('\n'.join(case.file_header) + '\n\n')
    w('case: %s\n' % case.name)
    for h in case.header:
        w(h + '\n')
    for step, got, eof in record:
        if step.lineno == 0:
            if got:
                w('# after the client closes:\n')
        else:
            for s in step.src:
                w(s + '\n')
        for g in got:
            t = encode_escapes(g)
            if t.startswith(('220 ' + HOST, '250 ' + HOST, '250-' + HOST,
                             '421 ' + HOST)):
                t = t[:4] + '{host}' + t[4 + len(HOST):]
            w(('< %s' % t) + '\n')
        if eof and step.lineno != 0:
            w('<EOF>\n')
    w('\n')


def reference_differs(ref, case):
    """Run the case's writes through the reference in one go; True if its
    reply stream differs from our expected one."""
    o = case.options
    argv = [sys.executable, ref, '-c', 'DebuggingServer', '-s',
            str(o['size'])] + (['-u'] if o['smtputf8'] else []) + \
        (['--decode-data'] if o['decode_data'] else [])
    data = b''.join(s.data for s in case.steps if s.kind == 'send')
    try:
        p = subprocess.run(argv, input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    except subprocess.TimeoutExpired:
        return True, 'the reference hangs'
    lines = p.stdout.split(b'\r\n')
    want = []
    for s in case.steps:
        want += [expected_bytes(e) for e in s.expect]
    if b'uncaptured python exception' in p.stderr:
        return True, 'the reference crashes'
    got = lines[:-1] if lines and lines[-1] == b'' else lines
    got = [g for g in got if g != b'250-PIPELINING']
    want = [w for w in want if w != b'250-PIPELINING']
    if got and want:
        got[0] = b' '.join(got[0].split(b' ')[:1])
        want[0] = b' '.join(want[0].split(b' ')[:1])
    host = None
    norm = []
    for g in got:
        m = re.match(rb'(250[ -])(\S+)$', g)
        if m and host is None:
            host = m.group(2)
        if host is not None and m and m.group(2) == host:
            g = m.group(1) + HOST.encode()
        norm.append(g)
    if norm == want:
        return False, 'the reference answers the same'
    return True, 'the reference answers differently'


def main(argv=None):
    ap = argparse.ArgumentParser(prog='deviations.py')
    ap.add_argument('ours', nargs='?', default=os.environ.get('IN_SMTPD'))
    ap.add_argument('--cases', action='append')
    ap.add_argument('--list-file',
                    default=os.path.join(HERE, 'conformance-deviations'))
    ap.add_argument('-k', action='append', default=[])
    ap.add_argument('--print', dest='print_cases', action='store_true')
    ap.add_argument('--check-reference', action='store_true')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args(argv)
    if not args.ours:
        ap.error('our binary: give its path or set IN_SMTPD')
    try:
        cases = load_cases(args.cases or [os.path.join(HERE, 'deviations')])
    except (CaseError, OSError) as e:
        print('deviations.py: %s' % e, file=sys.stderr)
        return 2
    listed = load_list(args.list_file) if os.path.exists(args.list_file) \
        else {}
    if args.k:
        cases = [c for c in cases if any(k in c.name for k in args.k)]
    if args.print_cases:
        for c in cases:
            rec = []
            run_case(args.ours, c, rec)
            print_case(c, rec)
        return 0
    ref = os.path.join(os.environ.get('SHARED_DIR') or
                       os.path.join(TOP, '..', 'shared'),
                       'conformance', 'reference-stdio')
    passed = failed = 0
    for c in cases:
        problem = run_case(args.ours, c)
        if problem is None and c.name not in listed:
            problem = 'not listed in %s' % args.list_file
        if problem is None and 'deviation' not in c.tags:
            problem = 'no "tags: deviation" line'
        how = ''
        if problem is None and args.check_reference:
            differs, how = reference_differs(ref, c)
            if not differs:
                problem = 'no deviation: %s' % how
        if problem:
            failed += 1
            print('FAIL %s: %s' % (c.name, problem), flush=True)
        else:
            passed += 1
            print('PASS %s%s' % (c.name, ' (%s)' % how
                                  if how and args.verbose else ''),
                  flush=True)
    if not args.k:
        names = {c.name for c in cases}
        for n in sorted(n for n in set(listed) - names
                        if n.startswith('dev-')):
            failed += 1
            print('FAIL %s: listed in %s but has no case' % (
                n, os.path.basename(args.list_file)))
    print('deviations: %d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
