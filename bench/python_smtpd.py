"""Python 3.11's smtpd daemon exactly as `python3 -m smtpd` runs it, with one
change: its listen backlog is 1024, not 5.

smtpd.SMTPServer calls self.listen(5); with 20 clients connecting at once the
accept queue overflows, SYNs are dropped and retried a second later, and the
daemon seems to do 10 sessions/s.  Raising the backlog measures the server,
not its queue.  Same arguments as python -m smtpd:

    python3 bench/python_smtpd.py -n -c DebuggingServer 127.0.0.1:PORT
"""
import runpy
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)

import asyncore  # noqa: E402  (after the warning filter)

_listen = asyncore.dispatcher.listen


def listen(self, backlog):
    return _listen(self, max(backlog, 1024))


# SMTPServer.__init__ calls self.listen(5), which is asyncore's.
asyncore.dispatcher.listen = listen

if __name__ == "__main__":
    sys.argv[0] = "smtpd"
    # Runs smtpd.py's own `if __name__ == '__main__':` block.
    runpy.run_module("smtpd", run_name="__main__", alter_sys=True)
