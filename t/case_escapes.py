"""case_escapes.py - the payload escapes of smtp-conform's case files,
read and written by t/deviations.py and t/differential.py.

decode_escapes turns a payload's text into the bytes it stands for;
encode_escapes turns bytes into text that decodes back to them, escaping
what a reader could not see (control bytes, bytes that are not UTF-8,
spaces at either end, the Unicode spaces) and writing long runs of one
character as \\[N*C].
"""

import re


class CaseError(Exception):
    pass


_SIMPLE = {'\\': b'\\', 'r': b'\r', 'n': b'\n', 't': b'\t', '0': b'\0',
           's': b' ', ']': b']'}


def decode_escapes(s):
    """smtp-conform's payload escapes: \\r \\n \\t \\0 \\s \\\\ \\] \\xHH
    and \\[N*TEXT]; everything else is sent as UTF-8."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            j = s.find('\\', i)
            j = len(s) if j < 0 else j
            out += s[i:j].encode('utf-8', 'surrogateescape')
            i = j
            continue
        d = s[i + 1:i + 2]
        if d in _SIMPLE:
            out += _SIMPLE[d]
            i += 2
        elif d == 'x':
            hh = s[i + 2:i + 4]
            if not re.fullmatch(r'[0-9A-Fa-f]{2}', hh):
                raise CaseError('bad \\x escape %r' % s[i:i + 4])
            out.append(int(hh, 16))
            i += 4
        elif d == '[':
            m = re.match(r'(\d+)\*', s[i + 2:])
            if not m:
                raise CaseError('bad repetition %r' % s[i:i + 12])
            j = k = i + 2 + len(m.group(0))
            depth = 0
            while True:
                if k >= len(s):
                    raise CaseError('unterminated \\[N*TEXT]')
                if s[k] == '\\':
                    if s[k + 1:k + 2] == '[':
                        depth += 1
                    k += 2
                    continue
                if s[k] == ']':
                    if depth == 0:
                        break
                    depth -= 1
                k += 1
            out += decode_escapes(s[j:k]) * int(m.group(1))
            i = k + 1
        else:
            raise CaseError('unknown escape \\%s' % d)
    return bytes(out)


def encode_escapes(b):
    """bytes -> case-file payload text (smtp-conform's escapes)."""
    s = b.decode('utf-8', 'surrogateescape')
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '\r':
            out.append('\\r')
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\t':
            out.append('\\t')
        elif ch == '\0':
            out.append('\\0')
        elif 0xDC80 <= o <= 0xDCFF:
            out.append('\\x%02x' % (o - 0xDC00))
        elif o < 0x20 or 0x7F <= o <= 0xA0 or o == 0xAD or \
                0x2000 <= o <= 0x200F or 0x2028 <= o <= 0x202F or \
                o in (0x1680, 0x205F, 0x3000, 0xFEFF):
            out.append(''.join('\\x%02x' % x for x in ch.encode('utf-8')))
        else:
            out.append(ch)
    res = []
    i = 0
    while i < len(out):
        j = i
        while j < len(out) and out[j] == out[i]:
            j += 1
        if j - i >= 16 and len(out[i]) == 1:
            # A run of ']' is written \\], which the reader takes as
            # ']' inside \\[N*TEXT].
            res.append('\\[%d*%s]' % (j - i, '\\]' if out[i] == ']'
                                       else out[i]))
        else:
            res.extend(out[i:j])
        i = j
    if res and res[-1] == ' ':
        res[-1] = '\\s'
    if res and res[0] == ' ':
        res[0] = '\\s'
    return ''.join(res)
