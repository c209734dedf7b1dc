// limits.hpp - every limit of the SMTP channel, with its default and source.
//
// One place to read what a client can make us hold in memory or wait for.
// The command and data limits are smtpd.py's; the rest are ours (the
// reference has none) and follow RFC 5321 section 4.5.3.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smtpd::limits {

// RFC 5321 4.5.3.1.4: a command line is at most 512 octets with its CRLF;
// smtpd.py counts 512 without it, and so do we.
inline constexpr std::size_t command_line = 512;
// RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
inline constexpr std::size_t reply_line = 510;
// RFC 1870 section 3: MAIL may grow by 26 octets when SIZE is offered.
inline constexpr std::size_t mail_extra_for_size = 26;
// RFC 6531 section 3.4: and by 10 more when SMTPUTF8 is offered.
inline constexpr std::size_t mail_extra_for_smtputf8 = 10;

// smtpd.py's DATA_SIZE_DEFAULT; 0 means no limit.
inline constexpr std::uint64_t default_data_size = 33554432;
// A message up to this size grows in an ordinary string; past it, the
// address space for the rest is reserved at once (data_buffer.hpp): the
// size limit, or max_data_reservation when the limit is larger or none.
// Only what arrives is ever mapped; past that room the buffer doubles.
inline constexpr std::size_t small_message = 64 * 1024;
inline constexpr std::uint64_t max_data_reservation = 64 * 1024 * 1024;

// RFC 5321 4.5.3.1.8 asks servers to take at least 100 recipients;
// Postfix takes 1000 by default, and so do we (452 past it).
inline constexpr std::size_t default_max_recipients = 1000;

// Error replies (5xx) before the session is ended with 421, as Postfix's
// smtpd_hard_error_limit does.
inline constexpr unsigned default_max_errors = 20;

// RFC 5321 4.5.3.2.7: a server should wait at least 5 minutes for the
// next command.  4.5.3.2.5/6 give the client 3 to 10 minutes per DATA
// block; we give the whole DATA phase 10 minutes without progress.
inline constexpr unsigned default_command_timeout_seconds = 300;
inline constexpr unsigned default_data_timeout_seconds = 600;
// And a cap on the whole session, so that a client trickling bytes cannot
// hold a process for ever.
inline constexpr unsigned default_session_timeout_seconds = 3600;

// PureProxy's wait for each upstream reply.  Its client waits for ours at
// least 5 minutes at MAIL and RCPT and 10 after the final dot (RFC 5321
// 4.5.3.2; Postfix's smtp_*_timeout are the same): our 451 comes first,
// so the client never gives up on a message the upstream took, and never
// sends it twice.
inline constexpr unsigned default_relay_timeout = 120;
// PureProxy streams a message upstream as it arrives: at most this much of
// it (and one read's worth more) waits for the upstream; past it the
// client is read no further until the upstream took it (backpressure).
// So a relayed message costs about this much memory, not its size.
inline constexpr std::size_t relay_stream_queue = 256 * 1024;

// RFC 4954 section 4: the AUTH command line and each line of the
// exchange that follows may be up to 12288 octets, CRLF excluded.
inline constexpr std::size_t auth_line = 12288;
// RFC 4616 section 2: PLAIN's authzid, authcid and passwd are at most 255
// octets each ("up to 255 octets" of UTF-8).  The same bound is kept for
// LOGIN's user name and password.
inline constexpr std::size_t auth_field = 255;
// The checkpassword interface (cr.yp.to/checkpwd/interface.html): what is
// written to descriptor 3, user, password and timestamp with their NULs,
// is at most 512 bytes; longer credentials are refused without running it.
inline constexpr std::size_t checkpassword_input = 512;
// How long a checkpassword program may take before it is killed and the
// client told 454 (ours: a PAM module may wait on a directory server).
inline constexpr unsigned default_checkpassword_timeout_seconds = 30;

// The standalone listener (listener.hpp): connections served at once (more
// wait in the kernel's backlog), and how long sessions may finish their
// message after a stop before they get 421.
inline constexpr unsigned default_max_connections = 256;
inline constexpr unsigned default_shutdown_grace_seconds = 30;

}  // namespace smtpd::limits
