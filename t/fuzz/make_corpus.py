#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: t/fuzz/corpus/<target>/.

Each seed is a small realistic input in the target's input format (see the
comment at the top of each t/fuzz/*_fuzzer.cpp).  Run it after changing a
format; the files it writes are committed.  Files named regress-* are not
written here: they are inputs the fuzzers found, kept as regression seeds.

    python3 t/fuzz/make_corpus.py
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
MASK = (1 << 64) - 1

# channel_fuzzer.cpp's table of answers, in order.
ANSWERS = ["none", "250 Delivered", "550", "451", "250", "empty", "hello",
           "crlf", "lf", "cr", "nul", "600", "199", "25", "2500", "25x",
           "dash", "escape", "8bit", "421"]


def splitmix(seed):
    state = seed

    def next_value():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)
    return next_value


def answer_seed(first):
    """The smallest byte 3 whose first answer is `first`."""
    wanted = ANSWERS.index(first)
    for byte in range(256):
        if splitmix(byte * 0x100000001 + 2)() % len(ANSWERS) == wanted:
            return byte
    raise ValueError(first)


def channel(limit=33554432, smtputf8=False, decode=False, recipients=1000,
            errors=20, end="none", chunks=16, policy=False,
            interruptions=False, defer=0, chunk_seed=1, repeat=False,
            huge_limit=False, first="none"):
    config = [0, 64, 1000, 33554432].index(limit)
    config |= 4 if smtputf8 else 0
    config |= 8 if decode else 0
    config |= [1, 2, 5, 1000].index(recipients) << 4
    config |= [0, 1, 3, 20].index(errors) << 6
    driver = ["none", "end_of_input", "timed_out", "shut_down"].index(end)
    driver |= [0, 3, 16, 200].index(chunks) << 2
    driver |= 16 if policy else 0
    driver |= 32 if interruptions else 0
    driver |= defer << 6
    seeds = chunk_seed | (0x40 if huge_limit else 0) | (0x80 if repeat else 0)
    return bytes([config, driver, seeds, answer_seed(first)])


def lines(*items):
    return b"".join(i if isinstance(i, bytes) else i.encode() + b"\r\n"
                    for i in items)


TRANSACTION = lines("MAIL FROM:<alice@client.example> SIZE=120 BODY=8BITMIME",
                    "RCPT TO:<bob@example.com>",
                    "RCPT TO:<carol@sub.example.net>",
                    "DATA",
                    "From: alice@client.example",
                    "Subject: hello",
                    "",
                    "Hello Bob.",
                    ".")

CHANNEL = {
    "pipelined-session": channel() + lines("EHLO client.example")
    + TRANSACTION + lines("QUIT"),
    "helo-dot-stuffing": channel(chunks=3, first="250 Delivered") + lines(
        "HELO client.example", "MAIL FROM:<a@client.example>",
        "RCPT TO:<b@example.com>", "DATA", "..leading dot", "...", "..",
        ". not the end", "x.", ".", "RSET", "NOOP", "QUIT"),
    "deferred-reply-pipelined": channel(defer=3, chunks=3, first="550")
    + lines("EHLO c") + TRANSACTION + TRANSACTION + lines("NOOP", "QUIT"),
    "smuggling-bare-lf": channel(chunks=3) + lines(
        "EHLO c", "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA")
    + b"Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@c>\r\n"
      b"RCPT TO:<victim@example.com>\r\nDATA\r\nsmuggled\n.\n"
    + lines("", ".", "QUIT"),
    "smuggling-mixed": channel(chunks=3, chunk_seed=7) + lines(
        "EHLO c", "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA")
    + b"a\n.\r\nb\r\n.\nc\r\n.\rd\r\n.\r\re\r.\r\nf\r\n .\r\ng\r\n.. \r\n"
      b"h\r.\rMAIL FROM:<evil@c>\r\ni\r\r\n..\r\r\n\r\n.\r\n" + lines("QUIT"),
    "long-lines": channel(limit=0, chunks=200, end="timed_out") + lines(
        "EHLO c", "NOOP " + "x" * 600,
        "MAIL FROM:<" + "a" * 500 + "@c> SIZE=99999999999999999999",
        "MAIL FROM:<a@c> SIZE=100 " + "B" * 530, "RCPT TO:<b@example.com>",
        "VRFY " + "v" * 506, "Z" * 512, "DATA", "y" * 2000, ".", "QUIT"),
    "nul-and-8bit": channel(chunks=3) + b"EHLO c\r\nNO\0OP\r\n\xff\xfe\r\n"
    b"\xc3\x89HLO x\r\nVRFY \xe2\x82\xac\r\nMAIL FROM:<a@c>\r\n"
    b"RCPT TO:<b@example.com>\r\nDATA\r\n\0\x80\xff\r\n.\r\nQUIT\r\n",
    "smtputf8": channel(smtputf8=True, chunks=16)
    + "EHLO c\r\nMAIL FROM:<jörg@exämple.de> SMTPUTF8 BODY=8BITMIME\r\n"
      "RCPT TO:<ü@example.com>\r\nVRFY ünïcode\r\nПРИВЕТ\r\n"
      "MAIL FROM:<a@b> SMTPUTF8=yes\r\nDATA\r\nSubject: grüße\r\n\r\n€\r\n"
      ".\r\nQUIT\r\n".encode(),
    "size-limit": channel(limit=64, chunks=16) + lines(
        "EHLO c", "MAIL FROM:<a@c> SIZE=65", "MAIL FROM:<a@c> SIZE=0064",
        "RCPT TO:<b@example.com>", "DATA", "z" * 100, ".",
        "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA", "short", ".",
        "QUIT"),
    "recipient-limit": channel(recipients=2, chunks=3) + lines(
        "HELO c", "MAIL FROM:<a@c>", "RCPT TO:<b1@example.com>",
        "RCPT TO:<b2@example.com>", "RCPT TO:<b3@example.com>", "DATA",
        "x", ".", "QUIT"),
    "error-limit": channel(errors=3, chunks=3) + lines(
        "BOGUS", "MAIL FROM:<a@c>", "HELO", "", "NOOP"),
    "relay-policy": channel(policy=True, chunks=16) + lines(
        "EHLO c", "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>",
        "RCPT TO:<c@deep.sub.example.net>", "RCPT TO:<d@evil.example>",
        "RCPT TO:<@relay.example:e@example.com>",
        'RCPT TO:<"f@evil.example"@example.com>',
        "RCPT TO:<g@[192.0.2.1]>", "RCPT TO:<h@EXAMPLE.COM.>", "DATA", "x",
        ".", "QUIT"),
    "relay-routed": channel(policy=True, chunks=3) + lines(
        "EHLO c", "MAIL FROM:<a@c>", "RCPT TO:<v%gmail.test@example.com>",
        "RCPT TO:<gmail.test!v@example.com>",
        'RCPT TO:<"v@gmail.test"@example.com>',
        'RCPT TO:<"v\\@gmail.test"@x.example.net>',
        'RCPT TO:<"v%gmail.test"@EXAMPLE.COM>',
        "RCPT TO:<@example.com:v@gmail.test>", "RCPT TO:<ok@Example.Com>",
        "DATA", "x", ".", "QUIT"),
    "decode-data": channel(decode=True, chunks=3) + lines(
        "EHLO c", "MAIL FROM:<a@c> BODY=8BITMIME", "MAIL FROM:<a@c> SIZE=5",
        "RCPT TO:<b@example.com> NOTIFY=NEVER", "RCPT TO:<b@example.com>",
        "DATA", "x", ".", "QUIT"),
    "interruptions": channel(interruptions=True, chunks=3, chunk_seed=3)
    + lines("EHLO c") + TRANSACTION + TRANSACTION + lines("QUIT"),
    "end-of-input-in-data": channel(end="end_of_input", chunks=16) + lines(
        "EHLO c", "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA",
        "never", "finished"),
    "shutdown-in-data": channel(end="shut_down", chunks=16) + lines(
        "EHLO c", "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA",
        "part"),
    "commands-misc": channel(chunks=16, errors=0) + lines(
        "HELP", "HELP mail", "HELP bogus", "RCPT TO:<b@c>", "DATA", "EHLO",
        "helo c", "HELO again", "VRFY <a@b>", "VRFY bare", "VRFY", "EXPN x",
        "NOOP x", "RSET x", "mail from:<a@c>", "MAIL FROM:", "MAIL",
        "MAIL FROM:<> SIZE=1", "MAIL FROM:<>", "RCPT TO:<b@example.com> X=1",
        "DATA x", "", "   ", "QUIT now"),
    "empty-message": channel(chunks=3, first="empty") + lines(
        "HELO c", "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA", ".",
        "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA", ".", "QUIT"),
    "address-forms": channel(chunks=16) + lines(
        "EHLO c", "MAIL FROM:<@a.example,@b.example:user@c.example>",
        'RCPT TO:<"quoted local"@example.com>', "RCPT TO: bare@example.com",
        "RCPT TO:<user(comment)@example.com>", "RCPT TO:<user@[192.0.2.1]>",
        "RCPT TO:<user@example.com", "RCPT TO:<a\\b@example.com>",
        "RCPT TO:<=?utf-8?q?x?=@example.com>", "QUIT"),
    "repeat-endless-line": channel(limit=64, recipients=2, chunks=200,
                                   repeat=True) + b"NOOP " + b"x" * 250,
    "repeat-big-data": channel(limit=64, recipients=2, chunks=200,
                               repeat=True, end="end_of_input") + lines(
        "EHLO c", "MAIL FROM:<a@c>", "RCPT TO:<b@example.com>", "DATA",
        "y" * 200),
    "repeat-recipients": channel(recipients=5, errors=0, chunks=16,
                                 repeat=True) + lines(
        "HELO c", "MAIL FROM:<a@c>") + lines("RCPT TO:<b@example.com>") * 4,
}

ADDRESS = {
    "angle": b"<user@example.com>",
    "null-path": b"<>",
    "bare": b"user@example.com SIZE=100 BODY=8BITMIME",
    "quoted": b'"Fred \\"Blogs\\""@example.com',
    "source-route": b"<@a.example,@b.example:user@c.example>",
    "literal": b"<user@[IPv6:2001:db8::1]>",
    "comments": b"(c1) user (c2) . name ((deep (er)) ) @ (c4) example . com (",
    "utf8-no-bracket": "<jörg@exämple.de SMTPUTF8".encode(),
    "odd-local-parts": b'<a..b.\\@b\\c@example.com> =?utf-8?q?x?=',
    "controls-empty-local": b'<""@exa\x00mple.com>\r\n\t',
}


def relay(peer=0, decode=False, delivered=False, smtputf8=False,
          options=False, code=250, reply=0, error=0):
    flags = peer | (4 if decode else 0) | (8 if delivered else 0)
    flags |= (16 if smtputf8 else 0) | (32 if options else 0)
    code += 1000
    return bytes([flags, code >> 8, code & 0xFF, reply, error])


RELAY = {
    "plain": relay(delivered=True)
    + b"From: a@c\nSubject: hi\n\nbody line\n.\n..\nlast",
    "no-headers-end": relay(peer=1, code=550, reply=30)
    + b"550 5.1.1 no such user here\r\nline\rline",
    "bare-cr-lf": relay(peer=2, code=451, reply=12, error=10)
    + b"X: 1\r\rX: 2\n\r\n.\r\n\n.\nend\r",
    "existing-x-peer": relay(peer=3, decode=True, code=421, reply=20)
    + b"X-Peer: 127.0.0.1\nX-Peer: ::ffff:198.51.100.1\n\nX-Peer: 1",
    "binary": relay(code=-5, error=8)
    + b"\0\x01\x7f\x80\xff'\"\\\t\n\n\x1b[2J\n",
    "options-utf8": relay(options=True, smtputf8=True, code=554, reply=40,
                          error=40)
    + "MAIL size=10 body=8bitmime smtputf8 ü=1\nSubject: grüße\u2028x\x0b"
      "\x0c\x1c\n\n€".encode(),
}

V2_SIGNATURE = b"\r\n\r\n\0\r\nQUIT\n"

PROXY = {
    "v1-tcp4": b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\nEHLO x\r\n",
    "v1-tcp6": b"PROXY TCP6 2001:db8::1 ::ffff:192.0.2.9 4000 25\r\n",
    "v1-unknown": b"PROXY UNKNOWN whatever follows\r\nQUIT\r\n",
    "v2-tcp4": V2_SIGNATURE + bytes([0x21, 0x11, 0, 12, 192, 0, 2, 1,
                                     198, 51, 100, 2, 0xDC, 4, 0, 25])
    + b"EHLO x\r\n",
    "v2-tcp6-tlv": V2_SIGNATURE + bytes([0x21, 0x21, 0, 36 + 7])
    + bytes([0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1])
    + bytes([0] * 10 + [0xFF, 0xFF, 203, 0, 113, 5])
    + bytes([0x10, 0, 0, 25])
    + bytes([0x01, 0, 4]) + b"smtp",
    "v2-local": V2_SIGNATURE + bytes([0x20, 0x00, 0, 3, 1, 2, 3]) + b"QUIT",
}

# auth_fuzzer.cpp: a state byte (1 EHLO, 8 TLS, 16 insecure allowed,
# 32/64 the verdict), then the AUTH argument and the client's lines, LF
# between them.
EHLO_TLS = bytes([1 | 8])
AUTH = {
    "plain-initial": EHLO_TLS + b"PLAIN AGFsaWNlAHNlY3JldA==",
    "plain-challenge": EHLO_TLS + b"PLAIN\nAGFsaWNlAHNlY3JldA==",
    "plain-authzid": bytes([1 | 8 | 32]) + b"PLAIN YWxpY2UAYWxpY2UAc2VjcmV0",
    "login": EHLO_TLS + b"LOGIN\nYWxpY2U=\nc2VjcmV0",
    "login-initial": bytes([1 | 16 | 64]) + b"LOGIN YWxpY2U=\nc2VjcmV0",
    "cancel": EHLO_TLS + b"LOGIN\nYWxpY2U=\n*",
    "no-tls": bytes([1]) + b"PLAIN AGFsaWNlAHNlY3JldA==",
    "empty": EHLO_TLS + b"PLAIN =",
    "unknown": EHLO_TLS + b"CRAM-MD5",
    # Responses long enough for the trace filter's check.
    "login-long": EHLO_TLS
    + b"LOGIN\nYWxpY2U=\nYS1sb25nLXBhc3MtcGhyYXNlLW9mLWZvcnR5LWJ5dGVzLWhlcmU=",
    "plain-long": EHLO_TLS
    + b"PLAIN\nAGFsaWNlAGEtbG9uZy1wYXNzLXBocmFzZS1vZi1mb3J0eS1ieXRlcw==",
}

# lmtp_fuzzer.cpp: byte 0 is the job (bits 0-1: 1 + recipients, bit 2:
# check only, bit 3: the server closes at the end), byte 1 where the
# split replay cuts; the rest is what the server sends.
LMTP_GREETING = b"220 lists.example GNU Mailman LMTP runner 2.0\r\n"
LMTP_LHLO = b"250-lists.example\r\n250-PIPELINING\r\n250 SIZE 33554432\r\n"
LMTP = {
    "delivered": bytes([0x08, 40]) + LMTP_GREETING + LMTP_LHLO
    + b"250 OK\r\n250 OK\r\n354 go\r\n250 2.0.0 Ok\r\n221 Bye\r\n",
    "three-mixed": bytes([0x0A, 90]) + LMTP_GREETING + LMTP_LHLO
    + b"250 OK\r\n250 OK\r\n550 Requested action not taken: mailbox "
    b"unavailable\r\n250 OK\r\n354 go\r\n250 ok\r\n452-4.2.2 a\r\n"
    b"452 4.2.2 full\r\n221 Bye\r\n",
    "check": bytes([0x0C, 10]) + LMTP_GREETING + LMTP_LHLO
    + b"250 OK\r\n550 no\r\n250 OK\r\n221 Bye\r\n",
    "closed": bytes([0x09, 5]) + LMTP_GREETING + LMTP_LHLO + b"250 OK\r\n",
    "refused": bytes([0x00, 3]) + b"554 no\r\n221 Bye\r\n",
    "421": bytes([0x01, 7]) + LMTP_GREETING + b"421 4.3.2 shutting down\r\n",
}

# starttls_fuzzer.cpp: byte 0 (bit 0 require_tls, bit 1 tls_on_connect,
# bits 2-3 chunk sizes, bits 4-7 chunks held before tls_started()), byte 1
# the chunk seed, then the client's bytes.
STARTTLS = {
    "pipelined": bytes([0x14, 7]) + b"EHLO a\r\nSTARTTLS\r\nNOOP\r\n"
    b"MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nevil\r\n.\r\n"
    b"EHLO b\r\nNOOP\r\nQUIT\r\n",
    "forgotten": bytes([0x04, 3]) + b"EHLO a\r\nMAIL FROM:<a@b>\r\n"
    b"STARTTLS\r\nRCPT TO:<c@d>\r\nEHLO b\r\nMAIL FROM:<a@b>\r\n"
    b"RCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nSTARTTLS\r\nQUIT\r\n",
    "require-tls": bytes([0x09, 1]) + b"EHLO a\r\nMAIL FROM:<a@b>\r\n"
    b"RCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\nSTARTTLS\r\nEHLO a\r\n"
    b"MAIL FROM:<a@b>\r\nQUIT\r\n",
    "on-connect": bytes([0x03, 0]) + b"EHLO a\r\nSTARTTLS\r\nSTARTTLS x\r\n"
    b"MAIL FROM:<a@b>\r\nQUIT\r\n",
    "argument": bytes([0x08, 9]) + b"HELO a\r\nSTARTTLS now\r\nstarttls\n"
    b"NOOP\n",
}

# stream_fuzzer.cpp: byte 0 is the size limit (bits 0-1), the chunk sizes
# (2-3), how often the DATA command hook (4-5) and a piece (6-7) answer
# later; byte 1 the seed.
STREAM_SESSION = (b"EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
                  b"Subject: x\r\n\r\n..dot\r\nbare\rcr\nlf\r\n.\r\n"
                  b"MAIL FROM:<>\r\nRCPT TO:<e@f>\r\nDATA\r\n.\r\nQUIT\r\n")
STREAM = {
    "whole-at-once": bytes([0x03, 0]) + STREAM_SESSION,
    "small-chunks-later": bytes([0xF7, 5]) + STREAM_SESSION,
    "too-big": bytes([0x55, 9]) + STREAM_SESSION.replace(b"..dot", b"x" * 40),
    "cut-short": bytes([0xA6, 3]) + STREAM_SESSION[:80],
    "bare-lf-data-line": bytes([0x4B, 1]) + b"HELO c\r\nMAIL FROM:<a@b>\r\n"
    b"RCPT TO:<c@d>\r\nDATA\n.x\r\n\r\n.\r\n",
}


def write(target, seeds):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if not name.startswith("regress-"):
            os.remove(os.path.join(directory, name))
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


write("channel", CHANNEL)
write("stream", STREAM)
write("address", ADDRESS)
write("relay", RELAY)
write("proxy", PROXY)
write("auth", AUTH)
write("lmtp", LMTP)
write("starttls", STARTTLS)
