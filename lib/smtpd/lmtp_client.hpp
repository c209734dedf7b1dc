// lmtp_client.hpp - an LMTP client as a state machine: no I/O, no clock.
// Internal to the library (not installed): lmtp-deliver is its one user,
// linked with the library's code statically, as are its tests.
//
// RFC 2033: LHLO instead of EHLO, and after the final dot one reply per
// recipient that RCPT accepted, in RCPT order.  The client goes in lock
// step (one command, one reply): a delivery talks to one local server,
// and lock step keeps every reply paired with its command.
//
//   LmtpClient client(job);
//   loop: send client.take_output() to the server; when done(), stop;
//         read from the server, client.feed(bytes) (end_of_input() when
//         the server closes).
//   then: client.results(), one per recipient, and client.status().
//
// The message is given as the channel hands it on (LF or CRLF line
// ends); it is sent with CRLF line ends, a bare CR or LF made a CRLF (so
// that no bare line end can end it early upstream), and dot-stuffed
// (RFC 5321 4.5.2).  Replies are read strictly (RFC 5321 4.2): three
// digits, '-' on every line but the last, the same code on each line;
// anything else, or a reply longer than the limits below, is a protocol
// error that leaves the recipients not yet answered with a temporary
// failure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smtpd {

struct LmtpJob {
  std::string lhlo_name = "localhost";  // the name LHLO gives
  std::string sender;                   // MAIL FROM:<sender>; "" is <>
  std::vector<std::string> recipients;  // RCPT TO:<r>, in order
  std::string message;                  // LF or CRLF line ends
  // Check the recipients only: LHLO, MAIL, RCPT..., RSET, QUIT; no DATA.
  bool check_only = false;
};

// A server's reply: its code and its lines (text after "NNN-"/"NNN ").
struct LmtpReply {
  int code = 0;  // 0: no reply (the server went away, or spoke nonsense)
  std::vector<std::string> lines;
  // "550 text", the lines joined with " / "; or what went wrong.
  std::string summary() const;
};

// What became of one recipient: the reply that decided it (RCPT's when
// it refused, else the reply after DATA; in check mode RCPT's).
struct LmtpResult {
  std::string recipient;
  LmtpReply reply;
  std::string error;  // when reply.code is 0: why there is none
};

class LmtpClient {
 public:
  enum class Status {
    delivered,  // every recipient 2xx (in check mode: accepted)
    temporary,  // any 4xx, no reply, or the server unreachable
    permanent,  // any 5xx, and no temporary failure
  };

  // RFC 5321 4.5.3.1.5 allows 512 octets per reply line; we take more,
  // but not without end.
  static constexpr std::size_t max_line = 4096;
  static constexpr std::size_t max_lines = 100;

  explicit LmtpClient(LmtpJob job);

  // Bytes from the server.
  void feed(std::string_view bytes);
  // The server closed the connection (or could not be reached: then
  // reason says why).
  void end_of_input(
      std::string_view reason = "connection closed by the server");

  // Bytes to send to the server, taken once.
  std::string take_output();
  // Nothing more to send or read: close the connection.
  bool done() const { return state_ == State::done; }

  const std::vector<LmtpResult>& results() const { return results_; }
  Status status() const;

 private:
  enum class State {
    greeting,  // waiting for 220
    lhlo,
    mail,
    rcpt,  // waiting for RCPT's reply for results_[rcpt_index_]
    data,  // waiting for 354
    dot,   // waiting for the per-recipient replies after the dot
    rset,
    quit,
    done,
  };

  void on_reply(LmtpReply reply);
  void send_rcpt();
  void after_recipients();
  void fail_open(const LmtpReply& reply, std::string_view error);
  void quit();
  void protocol_error(std::string_view why);
  bool parse_line(std::string_view line);

  LmtpJob job_;
  State state_ = State::greeting;
  std::vector<LmtpResult> results_;
  std::vector<bool> answered_;         // results_[i] is final
  std::vector<std::size_t> accepted_;  // indexes RCPT accepted
  std::size_t rcpt_index_ = 0;
  std::size_t dot_index_ = 0;  // the next of accepted_ to get its reply
  std::string output_;
  std::string line_;  // a reply line so far
  LmtpReply reply_;   // a multiline reply so far
};

// The message as it goes after DATA: CRLF line ends, dot-stuffed, a final
// CRLF when it lacked one, and the ".\r\n" that ends it.
std::string lmtp_data(std::string_view message);

}  // namespace smtpd
