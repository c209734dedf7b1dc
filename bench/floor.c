/* floor.c - the floor of the per-connection model: a minimal SMTP
 * responder, one connection on stdin/stdout, as cheap as a process started
 * per connection can be.  It speaks just enough SMTP for smtp-source and
 * the big-message client: a greeting, 250 to every command, 354 to DATA,
 * then it reads until CRLF.CRLF (discarding the message) and answers 250;
 * 221 to QUIT.  No option, no parsing beyond the verb, no delivery.
 *
 *   cc -O2 -o floor floor.c
 */
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char in[65536];
static char out[4096];
static size_t out_len;

static void flush(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(1, out + done, out_len - done);
    if (n <= 0) _exit(1);
    done += (size_t)n;
  }
  out_len = 0;
}

static void reply(const char *line) {
  size_t n = strlen(line);
  if (out_len + n > sizeof out) flush();
  memcpy(out + out_len, line, n);
  out_len += n;
}

int main(void) {
  char line[1024];
  size_t line_len = 0;
  int in_data = 0;
  /* In DATA: how much of "\r\n.\r\n" has been matched so far (the CRLF
   * that ends the DATA line counts as the first two bytes). */
  int matched = 0;
  static const char end[] = "\r\n.\r\n";

  reply("220 floor ESMTP\r\n");
  for (;;) {
    flush();
    ssize_t got = read(0, in, sizeof in);
    if (got <= 0) return 0;
    for (ssize_t i = 0; i < got; i++) {
      char c = in[i];
      if (in_data) {
        if (c == end[matched]) {
          matched++;
        } else {
          matched = (c == '\r') ? 1 : 0;
        }
        if (matched == 5) {
          in_data = 0;
          matched = 0;
          reply("250 OK\r\n");
        }
        continue;
      }
      if (c != '\n') {
        if (line_len < sizeof line - 1) line[line_len++] = c;
        continue;
      }
      line[line_len] = '\0';
      line_len = 0;
      if (strncasecmp(line, "DATA", 4) == 0) {
        in_data = 1;
        matched = 2;
        reply("354 End data with <CR><LF>.<CR><LF>\r\n");
      } else if (strncasecmp(line, "QUIT", 4) == 0) {
        reply("221 Bye\r\n");
        flush();
        return 0;
      } else {
        reply("250 OK\r\n");
      }
    }
  }
}
