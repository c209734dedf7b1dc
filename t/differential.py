#!/usr/bin/env python3
"""differential.py: random SMTP sessions against in.smtpd and the reference.

A seeded generator builds sessions from a grammar of plausible and hostile
command lines (every verb, address forms, ESMTP parameters, random case,
spaces and tabs, lines near the length limits, DATA bodies with dot lines,
pipelined writes, random chunking, EOF anywhere) and runs each session
against both

  * the reference, CPython 3.11's smtpd.SMTPChannel served by
    $SHARED_DIR/conformance/reference-stdio, and
  * our program ($IN_SMTPD, or the path given as argument),

each started once per session, inetd style, as DebuggingServer with the
session's -s SIZE, -u and --decode-data.  The two reply byte streams must
be identical, with three normalisations for documented, allowed
differences: the greeting is compared by code and hostname only (the
banner text is ours), our extra EHLO keyword PIPELINING is dropped, and
our hostname is set to the reference's (--hostname).  Our error limit (the
reference has none) is switched off with --max-errors 0.

Documented deviations (SPEC.md, README) are kept out of the comparison:
NUL bytes and non-ASCII digits in SIZE are never generated; DATA is never
followed at once by "." (the empty message); the streams are compared only
up to "552 Error: Too much mail data" (the reference stays in DATA state
after it); where the reference echoes an unknown verb or a VRFY argument
with control bytes in it, its reply is compared as our echo-less one; a
session that sends a command line with a bare LF in it (a body line after
a refused DATA) is skipped: we end a command line at a bare LF.  A
session in which the reference crashes (reference-stdio logs "uncaptured
python exception" and drops the connection: invalid UTF-8 or non-ASCII it
would have to echo, addresses its parser raises on, a bare SIZE) is
skipped, but the replies it sent before must be a prefix of ours.  The
notes at the end count the skipped sessions by cause.

On a mismatch the session is printed as a case in smtp-conform's format,
ready to paste into a .case file (fill in the "<" lines with
`smtp-conform --print-reference --cases FILE`), followed by both outputs.

usage: differential.py [--sessions N] [--seed S] [--jobs J] [-v]
                       [--avoid unicode-case] [--only N] [--print] [IN_SMTPD]

  --sessions N   sessions to run (default 250: 20-40 s on 2 cores)
  --seed S       generator seed (default: random; printed, for a rerun)
  --only N       run only session N of that seed (repeatable)
  --print        print the sessions as cases, run nothing
  --avoid unicode-case   do not generate non-ASCII letters that Python's
                 str.upper() changes (a known difference, ASCII-only
                 upper-casing in our channel)

Exit 0 if no session failed, 1 if one did, 2 on usage errors.  The last
line is "differential: N passed, N failed" (skipped sessions not counted).

Environment: IN_SMTPD (our binary, unless given as argument), SHARED_DIR
(default: ../shared relative to the repository top).  The reference runs
under this interpreter, which must be Python 3.11.
Python 3.11, standard library only.
"""
import argparse
import concurrent.futures
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

from case_escapes import encode_escapes

HERE = os.path.dirname(os.path.realpath(__file__))
TOP = os.path.dirname(HERE)

DEFAULT_SIZE = 33554432
CRASH_MARK = b'uncaptured python exception'
TOO_MUCH_DATA = b'552 Error: Too much mail data\r\n'
SESSION_TIMEOUT = 20.0


# ------------------------------------------------------------------ helpers

def shared_dir():
    d = os.environ.get('SHARED_DIR')
    if d:
        return d
    return os.path.normpath(os.path.join(TOP, '..', 'shared'))


def rand_case(rng, word):
    """The word in upper, lower or random mixed case."""
    r = rng.random()
    if r < 0.6:
        return word.upper()
    if r < 0.8:
        return word.lower()
    return ''.join(c.upper() if rng.random() < 0.5 else c.lower()
                   for c in word)


def show(b, limit=2000):
    t = encode_escapes(b)
    if len(t) > limit:
        t = '%s...%s (%d bytes)' % (t[:limit - 200], t[-150:], len(b))
    return t


# ------------------------------------------------------------------ grammar

HOSTS = ['example', 'mail.example.com', 'localhost', '[127.0.0.1]',
         'a', 'x.y', 'ex-ample.org', '[IPv6:::1]']
# Address pieces the reference parses, and ones its parser (the email
# package's) fails on with an exception that drops the connection: those
# are used sparingly, the session is then skipped.
LOCALS = ['a', 'user', 'first.last', 'x+tag', 'eggs', 'spam', 'UPPER',
          '"quoted local"', '"q\\"x"', '"a@b"', 'o\'hara', 'a_b-c',
          'n\u00e4ive', 'a..b', '.a', 'a.', '=?utf-8?q?x?=', 'a b', '1234',
          '!#$%&*+/=?^_`{|}~', 'p\u00f6st', '""', 'a\\b', 'a(c)', '(c)a']
DOMAINS = ['example', 'example.com', 'b.example', '[127.0.0.1]',
           '[IPv6:::1]', 'ex\u00e4mple.de', '[]',
           'ex(comment)ample', '-x-.y', 'EXAMPLE.ORG', 'exa mple.com',
           ' b', '(c)b', 'b(c)']
BAD_LOCALS = ['"', '', '[a]', 'a@b']
BAD_DOMAINS = ['[1.2.3.4', '', 'a.b.', 'b..c', '@b', 'ex..ample']
COMMENTS = ['(comment)', '( spaced comment )', '(nested (c))', '()']


def local_part(rng):
    if rng.random() < 0.007:
        return rng.choice(BAD_LOCALS)
    return rng.choice(LOCALS)


def domain(rng):
    if rng.random() < 0.007:
        return rng.choice(BAD_DOMAINS)
    return rng.choice(DOMAINS)


def addr_spec(rng):
    r = rng.random()
    if r < 0.9:
        return local_part(rng) + '@' + domain(rng)
    if r < 0.99:
        return local_part(rng)
    return rng.choice(['@' + domain(rng), local_part(rng) + '@@b',
                       local_part(rng) + '@'])


def path(rng):
    """A MAIL/RCPT/VRFY path, well formed or not."""
    r = rng.random()
    a = addr_spec(rng)
    if r < 0.45:
        return '<%s>' % a
    if r < 0.60:
        return a
    if r < 0.66:
        return '<>' + rng.choice(['', '', '>', ' x'])
    if r < 0.70:
        return '< %s >' % a
    if r < 0.73:
        return '<%s' % a
    if r < 0.75:
        return '%s>' % a
    if r < 0.78:
        return '<@%s,@%s:%s>' % (rng.choice(HOSTS), rng.choice(HOSTS), a)
    if r < 0.81:
        return '<@%s:%s>' % (rng.choice(HOSTS), a)
    if r < 0.86:
        c = rng.choice(COMMENTS)
        return rng.choice(['<' + a + '>' + c, a + ' ' + c, c + a,
                           '<' + c + a + '>', '<' + a + c + '>',
                           a + ' (unclosed', '<' + a + '> (unclosed'])
    if r < 0.88:
        return '<%s>>' % a
    if r < 0.90:
        return '<%s>%s' % (a, rng.choice(['junk', ' junk', ',c@d', ';']))
    if r < 0.92:
        return '"%s"' % a
    if r < 0.94:
        return rng.choice(['a@b, c@d', 'Name <a@b.example>', '"N" <a@b>',
                           '<a@b> <c@d>', '<a@b,c@d>', '\\', 'a;b@c',
                           'a,b@c', '<"a>', '""@b', 'a@b]', '<a@b c>'])
    if r < 0.97:
        return '<%s>' % rng.choice(['postmaster', 'Postmaster', 'a@b.example'])
    if r < 0.98:
        # forms the reference crashes on
        return rng.choice(['<', '>', '@', '<@>', ',', ':', '<<a@b>>',
                           '(c)<a@b>', '<a@>', '<@b>', '< >', '<\t>',
                           '<a@b@c>', '<@r,a@b>', '(', '"'])
    return rng.choice(['', ' '])


PARAM_CHOICES = [
    'SIZE={size}', 'SIZE={size}', 'SIZE={limit}', 'SIZE={limit1}',
    'SIZE=0', 'SIZE=00000000000000000001', 'SIZE=99999999999999999999999',
    'SIZE=', 'SIZE=-1', 'SIZE=1a', 'SIZE=12 ', 'SIZE==1', 'SIZE=1=2',
    'BODY=7BIT', 'BODY=8BITMIME', 'BODY=BINARYMIME', 'BODY=', 'BODY',
    'BODY=8bitmime', 'BODY=7bit', 'SMTPUTF8', 'SMTPUTF8=YES', 'SMTPUTF8=',
    'FOO=BAR', 'FOO', 'X-FOO=1', '=1', '=', 'RET=HDRS', 'ENVID=x',
    'NOTIFY=NEVER', 'ORCPT=rfc822;a@b', 'AUTH=<>', 'X1=\u00e9',
    '\u00e9=1', 'A=B=C', 'SIZE', 'size={size}', 'Body=7Bit',
]


def param(rng, limit):
    p = rng.choice(PARAM_CHOICES)
    lim = limit if limit else DEFAULT_SIZE
    return p.format(size=rng.choice([1, 10, 100, 1000, 32, lim // 2 or 1]),
                    limit=lim, limit1=lim + 1)


def params(rng, limit):
    n = rng.choice([0, 0, 1, 1, 1, 2, 2, 3])
    seps = [' '] * 8 + ['  ', '\t', ' \t ']
    out = ''
    for _ in range(n):
        out += rng.choice(seps) + param(rng, limit)
    return out


def verb_sep(rng):
    # Only a space separates verb and argument in the reference; a tab
    # makes the whole line one (unknown) verb.
    return rng.choice([' '] * 20 + ['  ', ' \t', '\t'])


class Model:
    """What the generator believes the server state is (approximate: it
    only steers the choices, the comparison does not depend on it)."""

    def __init__(self, opts):
        self.opts = opts
        self.greeted = False
        self.extended = False
        self.mail = False
        self.rcpts = 0
        self.utf8 = False

    def mail_limit(self):
        if not self.extended:
            return 512
        limit = 512
        if self.opts['size']:
            limit += 26
        if self.opts['smtputf8']:
            limit += 10
        return limit


class Session:
    def __init__(self, opts):
        self.opts = opts
        self.lines = []      # list of (bytes, kind) kind: 'cmd' | 'data'
        self.tail = b''      # bytes after the last line (partial line)


def pad_to(line, target, filler='x'):
    """Pad line (str) to target bytes (UTF-8): filler goes before the
    first '@', or at the end."""
    raw = line.encode('utf-8')
    missing = target - len(raw)
    if missing <= 0:
        return line
    at = line.find('@')
    if at > 0:
        return line[:at] + filler * missing + line[at:]
    return line + filler * missing


class Generator:
    def __init__(self, rng, avoid=()):
        self.rng = rng
        self.avoid = set(avoid)

    def options(self):
        rng = self.rng
        r = rng.random()
        if r < 0.6:
            size = DEFAULT_SIZE
        elif r < 0.75:
            size = 0
        else:
            size = rng.choice([1, 10, 32, 100, 500, 1000, 4096, 70000])
        smtputf8 = rng.random() < 0.3
        decode_data = not smtputf8 and rng.random() < 0.35
        return {'size': size, 'smtputf8': smtputf8,
                'decode_data': decode_data}

    # --- commands --------------------------------------------------------

    def greeting(self, m):
        rng = self.rng
        verb = rng.choice(['HELO', 'EHLO', 'EHLO'])
        r = rng.random()
        if r < 0.8:
            arg = rng.choice(HOSTS)
        elif r < 0.9:
            arg = rng.choice(['', ' ', '  ', 'a b c', '\u00e9xample',
                              '\u00a0', 'x\u00a0'])
        else:
            arg = rng.choice(HOSTS) + rng.choice([' ', '  ', '\t', ''])
        line = rand_case(rng, verb)
        if arg or rng.random() < 0.5:
            line += verb_sep(rng) + arg
        if not m.greeted and arg.strip() and line[4:5] == ' ' \
                and arg.strip(' \t\u00a0'):
            m.greeted = True
            m.extended = verb == 'EHLO'
        return line

    def mail(self, m):
        rng = self.rng
        kw = rng.choice(['FROM:'] * 10 + ['FROM: ', 'FROM:  ', 'FROM :',
                                          'FROM', 'TO:', 'FROM:\t', ''])
        kw = rand_case(rng, kw)
        line = rand_case(rng, 'MAIL') + verb_sep(rng) + kw + path(rng)
        if rng.random() < 0.6:
            line += params(rng, m.opts['size'])
        if m.opts['smtputf8'] and rng.random() < 0.3:
            line += ' ' + rand_case(rng, 'SMTPUTF8')
        if rng.random() < 0.1:
            line += rng.choice([' ', '  ', '\t'])
        if rng.random() < 0.12:
            line = pad_to(line, m.mail_limit() + rng.choice([-1, 0, 1, 2]))
        if m.greeted:
            m.mail = True
            if 'SMTPUTF8' in line.upper():
                m.utf8 = True
        return line

    def rcpt(self, m):
        rng = self.rng
        kw = rng.choice(['TO:'] * 10 + ['TO: ', 'TO :', 'TO', 'FROM:',
                                        'TO:\t', ''])
        line = rand_case(rng, 'RCPT') + verb_sep(rng) + rand_case(rng, kw) + \
            path(rng)
        if rng.random() < 0.25:
            line += params(rng, m.opts['size'])
        if rng.random() < 0.08:
            line = pad_to(line, 512 + rng.choice([-1, 0, 1]))
        if m.mail:
            m.rcpts += 1
        return line

    def simple(self, m):
        rng = self.rng
        verb = rng.choice(['NOOP', 'RSET', 'NOOP', 'RSET', 'EXPN', 'QUIT'])
        line = rand_case(rng, verb)
        r = rng.random()
        if r < 0.15:
            line += verb_sep(rng) + rng.choice(['x', 'a b', 'user', '<a@b>'])
        elif r < 0.25:
            line += rng.choice([' ', '  ', '\t', ' \t'])
        if verb == 'RSET' and line.strip(' ').upper() == 'RSET':
            m.mail = False
            m.rcpts = 0
            m.utf8 = False
        return line

    def help(self, m):
        rng = self.rng
        topics = ['EHLO', 'HELO', 'MAIL', 'RCPT', 'DATA', 'RSET', 'NOOP',
                  'QUIT', 'VRFY', 'EXPN', 'HELP', 'FOO', 'MAIL FROM',
                  'STARTTLS', '']
        t = rand_case(rng, rng.choice(topics))
        line = rand_case(rng, 'HELP')
        if t or rng.random() < 0.5:
            line += verb_sep(rng) + t + rng.choice(['', '', ' ', '\t'])
        return line

    def vrfy(self, m):
        rng = self.rng
        line = rand_case(rng, 'VRFY')
        r = rng.random()
        if r < 0.7:
            line += verb_sep(rng) + path(rng)
        elif r < 0.85:
            line += verb_sep(rng) + rng.choice(['user', 'Fred Bloggs',
                                                'x y z', '!', '()', ''])
        if rng.random() < 0.05:
            line = pad_to(line + ' ', 512 + rng.choice([0, 1]), 'v')
        return line

    def unknown(self, m):
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            word = rng.choice(['STARTTLS', 'AUTH', 'BDAT', 'TURN', 'ETRN',
                               'SEND', 'SOML', 'SAML', 'ATRN', 'X', 'XX',
                               'HELOX', 'MAILFROM:<a@b>', 'MAIL:', 'DATA2',
                               'NOOPS', 'SERVER', 'STATE', 'FOO', '__INIT__'])
            line = rand_case(rng, word)
            if rng.random() < 0.5:
                line += verb_sep(rng) + rng.choice(['PLAIN', 'x', '10 LAST',
                                                    '<a@b>', ''])
        elif r < 0.6:
            line = ''.join(rng.choice('abcdefghijklmnopqrstuvwxyzABC0123-_')
                           for _ in range(rng.randint(1, 12)))
        elif r < 0.72:
            line = rng.choice(['', ' ', '  ', '\t', ' NOOP', '  HELO x',
                               '\tNOOP', 'NOOP\t', 'HELO\tx', 'MAIL\tFROM:<a@b>',
                               '.', '..', '...', '. x'])
            if line == '.':
                line = '..'
        elif r < 0.88:
            # long lines near and far beyond the limit
            n = rng.choice([511, 512, 513, 514, 537, 538, 539, 547, 548, 549,
                            1000, 4096, 65535, 65536, 70000, 200000])
            head = rng.choice(['NOOP ', 'FOO ', 'HELO ', 'MAIL FROM:<',
                               'RCPT TO:<', 'VRFY ', 'HELP ', ' ', 'RSET '])
            line = (head + 'y' * n)[:n]
            if rng.random() < 0.3:
                line = line.rstrip('y') + ' ' * (n - len(line.rstrip('y')))
        elif r < 0.95 and not m.utf8:
            line = rand_case(rng, rng.choice(['FOO', 'NOOP', 'HELP',
                                              'EXPN', 'RSET']))
        elif r < 0.95 and 'unicode-case' in self.avoid:
            line = rng.choice(['\u00dcBER', '\u20ac', '\u00c9X x', 'X\u00c9'])
        elif r < 0.95:
            # non-ASCII echoed back: only when the reference can encode it
            line = rng.choice(['\u00fcber', '\u00dcBER', 'stra\u00dfe',
                               '\u0131', 'na\u00efve x', '\u20ac',
                               'qu\u0131t', 'ma\u0131l from:<a@b>',
                               'r\u017fet'])
        elif 'unicode-case' in self.avoid:
            line = rng.choice(['NOOP \u00a0', 'RSET \u2003', 'HELO \u3000',
                               'EHLO \u2028x', 'NOOP \x1c', 'NOOP \x85'])
        else:
            # Unicode that upper() or strip() treat specially, not echoed
            line = rng.choice(['qu\u0131t', 'QU\u0130T', 'r\u017fet',
                               'HELP ma\u0131l', 'HELP \u017fize',
                               'NOOP \u00a0', 'NOOP\u00a0', 'RSET \u2003',
                               'help \ufb01', 'HELO \u3000', 'EHLO \u2028x',
                               'NOOP \x1c', 'NOOP \x85', 'QUIT\u00a0'])
        return line

    def body(self, m, target=None):
        """DATA body lines (str or bytes), dot-stuffed like a client would,
        now and then not.  Never empty, never "." first (deviation)."""
        rng = self.rng
        choices = ['Subject: test', 'From: a@b', '', 'hello world', '.',
                   '..', '.x', '...', '. leading dot', 'line', 'x' * 100,
                   'MAIL FROM:<a@b>', 'QUIT', 'RSET', '\t tab', ' ',
                   'caf\u00e9 \u017c\u017a\u0107', 'a\rb', 'a\nb',
                   'x\n.\ny', 'x\r.\ry', 'NOOP', 'y' * 1000, 'End.',
                   '.\r\n', '\u2028']
        lines = []
        for _ in range(rng.randint(1, 8)):
            lines.append(rng.choice(choices))
        if m.opts['decode_data'] is False and rng.random() < 0.2:
            lines.append(b'8bit \xe9\xff\x80 bytes')
        out = []
        for ln in lines:
            b = ln.encode('utf-8') if isinstance(ln, str) else ln
            if b.startswith(b'.') and rng.random() < 0.9:
                b = b'.' + b   # dot-stuffing
            out.append(b)
        if target is not None:
            # a body of exactly target bytes (as counted by the servers:
            # lines joined by CRLF, before unstuffing)
            out = [b'z' * max(1, target)]
            if target > 6 and rng.random() < 0.5:
                k = rng.randint(1, target - 4)
                first = b'..' + b'd' * max(0, k - 2)
                rest = target - len(first) - 2
                out = [first, b'w' * rest] if rest > 0 else [b'z' * target]
        if out[0] in (b'.', b'.\r\n') or out[0].startswith(b'.\r\n'):
            out[0] = b'.' + out[0]
        return out

    def data(self, m, s):
        rng = self.rng
        r = rng.random()
        line = rand_case(rng, 'DATA')
        if r < 0.1:
            line += verb_sep(rng) + 'x'
        elif r < 0.15:
            line += rng.choice([' ', '  '])
        s.lines.append((line.encode(), 'cmd'))
        # send a body if DATA is believed to succeed
        ok = m.greeted and m.rcpts > 0 and line.strip(' ').upper() == 'DATA'
        if not ok:
            return
        target = None
        limit = m.opts['size']
        if limit and limit <= 100000 and rng.random() < 0.5:
            target = limit + rng.choice([-1, 0, 0, 1, 2])
        body = self.body(m, target)
        for b in body:
            s.lines.append((b, 'data'))
        s.lines.append((b'.', 'data'))
        m.mail = False
        m.rcpts = 0
        m.utf8 = False
        if target is not None and target > limit:
            s.over_limit = True

    def session(self):
        rng = self.rng
        opts = self.options()
        s = Session(opts)
        s.over_limit = False
        m = Model(opts)
        n = rng.randint(2, 22)
        if rng.random() < 0.9:
            s.lines.append((self.greeting(m).encode('utf-8'), 'cmd'))
        for _ in range(n):
            if s.over_limit:
                break
            r = rng.random()
            if r < 0.07:
                line = self.greeting(m)
            elif r < 0.30:
                if m.mail and rng.random() < 0.6:
                    line = self.rcpt(m)
                else:
                    line = self.mail(m)
            elif r < 0.45:
                line = self.rcpt(m)
            elif r < 0.60:
                self.data(m, s)
                continue
            elif r < 0.70:
                line = self.simple(m)
            elif r < 0.76:
                line = self.help(m)
            elif r < 0.83:
                line = self.vrfy(m)
            else:
                line = self.unknown(m)
            s.lines.append((line.encode('utf-8'), 'cmd'))
        r = rng.random()
        if s.over_limit:
            pass
        elif r < 0.6:
            s.lines.append((rand_case(rng, 'QUIT').encode(), 'cmd'))
            if rng.random() < 0.2:
                s.lines.append((b'NOOP', 'cmd'))    # after QUIT: no reply
        elif r < 0.75:
            s.tail = rng.choice([b'NOO', b'MAIL FROM:<a@b', b'QUIT', b'\r',
                                 b'x' * 600, b'DATA'])
        elif r < 0.85:
            # EOF inside DATA (if the transaction got that far)
            s.lines.append((b'DATA', 'cmd'))
            s.lines.append((b'unfinished body', 'data'))
            s.tail = rng.choice([b'', b'\r\n.', b'\r\n.\r', b'partial'])
        if 'unicode-case' in self.avoid:
            s.lines = [(upper_invariant(b), kind) for b, kind in s.lines]
        return s


def upper_invariant(b):
    """The line with every non-ASCII character that str.upper() changes
    replaced by its upper case (or by X when that is not one non-ASCII
    character): Python's upper() and an ASCII upper() then agree on it."""
    try:
        t = b.decode('utf-8')
    except UnicodeDecodeError:
        return b
    out = []
    for c in t:
        if ord(c) > 127 and c.upper() != c:
            u = c.upper()
            c = u if len(u) == 1 and ord(u) > 127 and u.upper() == u else 'X'
        out.append(c)
    return ''.join(out).encode('utf-8')


# ------------------------------------------------------------------ chunking

def chunks(rng, s):
    """Split the session's bytes into writes: per line, pipelined groups or
    random pieces.  Returns a list of bytes."""
    lines = [b + b'\r\n' for b, _ in s.lines]
    if s.tail:
        lines.append(s.tail)
    mode = rng.random()
    if mode < 0.45:
        return lines
    if mode < 0.75:
        out, cur = [], b''
        for ln in lines:
            cur += ln
            if rng.random() < 0.35:
                out.append(cur)
                cur = b''
        if cur:
            out.append(cur)
        return out
    data = b''.join(lines)
    out, i = [], 0
    while i < len(data):
        n = rng.choice([1, 1, 2, 3, 5, 7, 13, 64, 500, 4096])
        if len(out) > 200:
            n = max(n, 65536)      # long lines: few big writes
        out.append(data[i:i + n])
        i += n
    return out


# ------------------------------------------------------------------ running

def run_one(argv, writes, pauses, timeout=SESSION_TIMEOUT):
    """Start argv, write the chunks (sleeping where pauses says), close
    stdin, read stdout to EOF.  Returns (stdout, stderr, returncode,
    timed_out)."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    err = []

    def writer():
        try:
            for w, p in zip(writes, pauses):
                proc.stdin.write(w)
                proc.stdin.flush()
                if p:
                    time.sleep(p)
        except (BrokenPipeError, ConnectionResetError, ValueError, OSError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    def errreader():
        data = proc.stderr.read(1 << 20)
        err.append(data)
        while proc.stderr.read(65536):
            pass

    tw = threading.Thread(target=writer, daemon=True)
    te = threading.Thread(target=errreader, daemon=True)
    tw.start()
    te.start()
    out = []
    timed_out = False
    deadline = time.monotonic() + timeout

    def killer():
        nonlocal timed_out
        while proc.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                try:
                    proc.kill()
                except OSError:
                    pass
                return
            time.sleep(0.05)

    tk = threading.Thread(target=killer, daemon=True)
    tk.start()
    while True:
        d = proc.stdout.read1(65536)
        if not d:
            break
        out.append(d)
    tw.join(timeout)
    rc = proc.wait()
    te.join(5)
    tk.join(1)
    proc.stdout.close()
    proc.stderr.close()
    return b''.join(out), b''.join(err), rc, timed_out


def normalise(out, ours):
    """Greeting: code and hostname only; our PIPELINING line dropped."""
    nl = out.find(b'\r\n')
    if nl >= 0 and out.startswith(b'220 '):
        first = out[:nl]
        parts = first.split(b' ')
        out = b' '.join(parts[:2]) + out[nl:]
    if ours:
        out = out.replace(b'\r\n250-PIPELINING\r\n', b'\r\n')
    return out


def options_argv(opts):
    a = ['-c', 'DebuggingServer', '-s', str(opts['size'])]
    if opts['smtputf8']:
        a.append('-u')
    if opts['decode_data']:
        a.append('--decode-data')
    return a


CONTROL = re.compile(rb'[\x00-\x08\x0a-\x1f\x7f]')
ECHOES = [
    (re.compile(rb'500 Error: command "(.*?)" not recognized\r\n', re.S),
     b'500 Error: command not recognized\r\n'),
    (re.compile(rb'502 Could not VRFY (.*?)\r\n', re.S),
     b'502 Could not VRFY that address\r\n'),
]


def unecho_controls(ref_out):
    """The reference echoes an unknown verb or a VRFY argument as is, control
    bytes included (a bare CR or LF breaks the reply's framing); we answer
    without the echo then.  Rewrite the reference's replies so."""
    for rx, generic in ECHOES:
        ref_out = rx.sub(lambda m: generic if CONTROL.search(m.group(1))
                         else m.group(0), ref_out)
    return ref_out


def bare_lf_command(ref_out):
    """A command line with a bare LF in it (a body line sent after DATA was
    refused): the reference reads it as one line, we end the line at the
    LF (deviation).  It shows as an echo holding the LF."""
    for rx, _ in ECHOES:
        for m in rx.finditer(ref_out):
            if re.search(rb'(?<!\r)\n', m.group(1)):
                return 'a command line held a bare LF (deviation: it ends ' \
                    'the line for us)'
    return None


def deviation_in(ref_out):
    """A documented deviation visible in the reference's replies."""
    body = ref_out.replace(b'\r\n', b'')
    if CONTROL.search(body):
        return 'the reference sent control bytes'
    return None


def crash_kind(err):
    """'UnicodeEncodeError in push()' from reference-stdio's crash line."""
    m = re.search(rb'uncaptured python exception, closing channel: '
                  rb'(\w+)( in [^\s\[]+)?', err)
    if not m:
        return 'unknown'
    return (m.group(1) + (m.group(2) or b'')).decode('ascii', 'replace')


class Result:
    pass


def run_session(idx, s, ctx):
    rng = random.Random('%s/%d/chunks' % (ctx.seed, idx))
    writes = chunks(rng, s)
    pauses = [rng.choice([0, 0, 0, 0, 0.001, 0.003]) if len(writes) < 60
              else 0 for _ in writes]
    o = options_argv(s.opts)
    ref_argv = [sys.executable, ctx.ref] + o
    our_argv = [ctx.ours, '-n', '--hostname', ctx.host,
                '--max-errors', '0'] + ctx.our_extra + o
    res = Result()
    res.idx, res.session, res.writes = idx, s, writes
    res.ref = run_one(ref_argv, writes, pauses)
    res.our = run_one(our_argv, writes, pauses)
    ref_out, ref_err, ref_rc, ref_to = res.ref
    our_out, our_err, our_rc, our_to = res.our
    a = normalise(unecho_controls(ref_out), False)
    b = normalise(our_out, True)
    res.status, res.why = 'pass', ''
    dev = bare_lf_command(ref_out) or deviation_in(a)
    if dev:
        res.status, res.why = 'skip', dev
        return res
    if CRASH_MARK in ref_err:
        if b.startswith(a):
            res.status = 'skip'
            res.why = 'reference crashed (%s)' % crash_kind(ref_err)
        else:
            res.status = 'fail'
            res.why = ('the reference crashed (%s), and the replies it sent '
                       'before are not a prefix of ours' % crash_kind(ref_err))
        return res
    if ref_to:
        res.status, res.why = 'skip', 'reference did not finish (hang)'
        return res
    cut = a.find(TOO_MUCH_DATA)
    if cut >= 0:
        # the reference stays in DATA state after 552 (deviation)
        a = a[:cut + len(TOO_MUCH_DATA)]
        b = b[:len(a)]
    if our_to:
        res.status, res.why = 'fail', 'our program did not finish in %gs' % \
            SESSION_TIMEOUT
    elif our_rc < 0:
        res.status, res.why = 'fail', 'our program died with signal %d' % \
            -our_rc
    elif a != b:
        res.status, res.why = 'fail', 'replies differ'
    return res


def render_case(res, ctx):
    s = res.session
    o = s.opts
    w = ['case: diff-%s-%d' % (ctx.seed, res.idx),
         'desc: from t/differential.py --seed %s (session %d)' % (
             ctx.seed, res.idx),
         'options: size=%d smtputf8=%s decode_data=%s' % (
             o['size'], 'yes' if o['smtputf8'] else 'no',
             'yes' if o['decode_data'] else 'no')]
    for chunk in res.writes:
        parts = chunk.split(b'\r\n')
        whole = parts[:-1]
        rest = parts[-1]
        first = True
        for p in whole:
            w.append(('>' if first else '>>') + ' ' + show(p, 10 ** 9))
            first = False
        if rest:
            if first:
                w.append('~ ' + show(rest, 10 ** 9))
            else:
                w.append('~~ ' + show(rest, 10 ** 9))
    w.append('close')
    return '\n'.join(l.rstrip(' ') if not l.endswith('\\s') else l
                     for l in w) + '\n'


def report(res, ctx):
    p = sys.stdout.write
    p('FAIL session %d: %s\n' % (res.idx, res.why))
    p('# --- replayable case ---\n')
    p(render_case(res, ctx))
    for who, r in (('reference', res.ref), ('ours', res.our)):
        out, err, rc, to = r
        p('# --- %s replies (exit %s%s) ---\n' % (who, rc,
                                                 ', timed out' if to else ''))
        for line in out.split(b'\r\n'):
            p('#   %s\n' % show(line, 300))
        if ctx.verbose and err:
            p('# --- %s stderr (tail) ---\n' % who)
            for line in err[-1500:].split(b'\n'):
                p('#   %s\n' % show(line, 300))
    a = normalise(unecho_controls(res.ref[0]), False).split(b'\r\n')
    b = normalise(res.our[0], True).split(b'\r\n')
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            p('# first difference at reply line %d: reference %s, ours %s\n'
              % (i + 1, '(none)' if x is None else repr(show(x, 300)),
                 '(none)' if y is None else repr(show(y, 300))))
            break
    p('\n')


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog='differential.py',
        description='Random SMTP sessions against in.smtpd and CPython 3.11 '
                    'smtpd (reference-stdio); compares the reply streams.')
    ap.add_argument('ours', nargs='?', default=os.environ.get('IN_SMTPD'),
                    help='our binary (default: $IN_SMTPD)')
    ap.add_argument('--sessions', type=int, default=250)
    ap.add_argument('--seed', default=None,
                    help='seed (default: random, printed)')
    ap.add_argument('--jobs', type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument('--max-failures', type=int, default=20,
                    help='print at most this many failing sessions')
    ap.add_argument('--our-args', default='',
                    help='extra arguments for our binary (split on spaces)')
    ap.add_argument('--only', type=int, action='append', default=[],
                    help='run only session number N (repeatable)')
    ap.add_argument('--print', dest='print_only', action='store_true',
                    help='print the generated sessions as cases, run nothing')
    ap.add_argument('--avoid', action='append', default=[],
                    choices=['unicode-case'],
                    help='do not generate inputs of a known difference: '
                         'unicode-case = non-ASCII letters that Python\'s '
                         'str.upper() maps to ASCII in verbs, HELP topics '
                         'and parameters (e.g. "qu\\u0131t" is QUIT)')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args(argv)

    if sys.version_info[:2] != (3, 11):
        print('differential.py: needs Python 3.11 (the reference is CPython '
              '3.11\'s smtpd); this is %d.%d' % sys.version_info[:2],
              file=sys.stderr)
        return 2
    ctx = argparse.Namespace()
    ctx.seed = args.seed if args.seed is not None else str(
        random.SystemRandom().randrange(1, 1 << 31))
    ctx.verbose = args.verbose
    ctx.ref = os.path.join(shared_dir(), 'conformance', 'reference-stdio')
    ctx.ours = args.ours
    ctx.our_extra = args.our_args.split()
    gen = Generator(random.Random(ctx.seed), args.avoid)
    sessions = [gen.session() for _ in range(args.sessions)]
    if args.print_only:
        for i, s in enumerate(sessions):
            if args.only and i not in args.only:
                continue
            r = Result()
            r.idx, r.session = i, s
            r.writes = chunks(random.Random('%s/%d/chunks' % (ctx.seed, i)), s)
            sys.stdout.write(render_case(r, ctx) + '\n')
        return 0
    if not ctx.ours:
        ap.error('our binary: give its path or set IN_SMTPD')
    if not os.access(ctx.ours, os.X_OK):
        print('differential.py: %s is not executable' % ctx.ours,
              file=sys.stderr)
        return 2
    if not os.path.exists(ctx.ref):
        print('differential.py: no reference at %s (set SHARED_DIR)' %
              ctx.ref, file=sys.stderr)
        return 2
    ctx.host = socket.getfqdn()
    print('differential: seed %s, %d sessions, reference %s, ours %s' % (
        ctx.seed, args.sessions, ctx.ref, ctx.ours), flush=True)
    todo = [(i, s) for i, s in enumerate(sessions)
            if not args.only or i in args.only]
    passed = failed = skipped = 0
    why_skipped = {}
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(run_session, i, s, ctx) for i, s in todo]
        for f in futs:
            res = f.result()
            if res.status == 'pass':
                passed += 1
            elif res.status == 'skip':
                skipped += 1
                why_skipped[res.why] = why_skipped.get(res.why, 0) + 1
            else:
                failed += 1
                if failed <= args.max_failures:
                    report(res, ctx)
    for why, n in sorted(why_skipped.items()):
        print('note: %d session(s) skipped: %s' % (n, why))
    print('note: %.1fs; rerun with --seed %s' % (time.monotonic() - started,
                                                ctx.seed))
    print('differential: %d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
