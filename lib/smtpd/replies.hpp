// replies.hpp - every reply text of the channel, in one table.
//
// The texts are smtpd.py's, byte for byte, so that clients and scripts
// written against it see the same answers.  The ones marked "ours" answer
// situations where the reference drops the connection, hangs, or has no
// limit at all (see the README's list of deliberate deviations).
#pragma once

#include <string_view>

namespace smtpd::replies {

inline constexpr std::string_view banner = "in.smtpd ESMTP";  // after 220 host

inline constexpr std::string_view ok = "250 OK";
inline constexpr std::string_view bye = "221 Bye";
inline constexpr std::string_view start_data =
    "354 End data with <CR><LF>.<CR><LF>";
inline constexpr std::string_view cannot_vrfy =
    "252 Cannot VRFY user, but will accept message and attempt delivery";

inline constexpr std::string_view bad_syntax = "500 Error: bad syntax";
inline constexpr std::string_view line_too_long = "500 Error: line too long";
inline constexpr std::string_view unknown_command_prefix =
    "500 Error: command \"";
inline constexpr std::string_view unknown_command_suffix = "\" not recognized";

inline constexpr std::string_view helo_syntax = "501 Syntax: HELO hostname";
inline constexpr std::string_view ehlo_syntax = "501 Syntax: EHLO hostname";
inline constexpr std::string_view noop_syntax = "501 Syntax: NOOP";
inline constexpr std::string_view rset_syntax = "501 Syntax: RSET";
inline constexpr std::string_view data_syntax = "501 Syntax: DATA";
inline constexpr std::string_view vrfy_syntax = "501 Syntax: VRFY <address>";
inline constexpr std::string_view mail_syntax =
    "501 Syntax: MAIL FROM: <address>";
inline constexpr std::string_view rcpt_syntax =
    "501 Syntax: RCPT TO: <address>";
inline constexpr std::string_view params_syntax = " [SP <mail-parameters>]";
inline constexpr std::string_view bad_body =
    "501 Error: BODY can only be one of 7BIT, 8BITMIME";
inline constexpr std::string_view smtputf8_argument =
    "501 Error: SMTPUTF8 takes no arguments";
inline constexpr std::string_view help_unknown =
    "501 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY";
inline constexpr std::string_view help =
    "250 Supported commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY";

inline constexpr std::string_view cannot_vrfy_prefix = "502 Could not VRFY ";
inline constexpr std::string_view expn = "502 EXPN not implemented";

inline constexpr std::string_view duplicate_greeting =
    "503 Duplicate HELO/EHLO";
inline constexpr std::string_view need_helo = "503 Error: send HELO first";
inline constexpr std::string_view nested_mail =
    "503 Error: nested MAIL command";
inline constexpr std::string_view need_mail = "503 Error: need MAIL command";
inline constexpr std::string_view need_rcpt = "503 Error: need RCPT command";

inline constexpr std::string_view size_exceeded =
    "552 Error: message size exceeds fixed maximum message size";
inline constexpr std::string_view too_much_data =
    "552 Error: Too much mail data";
inline constexpr std::string_view mail_params_unknown =
    "555 MAIL FROM parameters not recognized or not implemented";
inline constexpr std::string_view rcpt_params_unknown =
    "555 RCPT TO parameters not recognized or not implemented";

// Ours.
inline constexpr std::string_view unknown_command =
    "500 Error: command not recognized";
inline constexpr std::string_view nul_in_command =
    "500 Error: NUL byte in command line";
inline constexpr std::string_view not_utf8 =
    "500 Error: command line is not valid UTF-8";
inline constexpr std::string_view cannot_vrfy_that =
    "502 Could not VRFY that address";
// RFC 5321 4.5.3.1.10.
inline constexpr std::string_view too_many_recipients =
    "452 Error: too many recipients";
// Not an open relay (RFC 5321 3.6.2, RFC 2505); Postfix's code.
inline constexpr std::string_view relay_denied =
    "554 Error: relay access denied";
inline constexpr std::string_view bad_hook_reply =
    "451 Error: local delivery gave no valid reply";
// DebuggingServer: the printout is the delivery, and it was not written
// whole (a full disk, a closed reader).
inline constexpr std::string_view printout_failed =
    "451 Error: the message could not be printed";
// --maildir could not keep an accepted message (maildir.hpp): the client
// keeps it and tries again (RFC 5321 4.2.5).
inline constexpr std::string_view cannot_keep_message =
    "451 Error: cannot keep the message, try again later";
// A hook's answer that could not be used (handler.hpp), for any command
// but DATA (RFC 5321 4.2.3: "local error in processing").
inline constexpr std::string_view bad_hook_answer =
    "451 Error: local error in processing, try again later";
// RFC 5321 3.8: 421 with our name, then we close.
inline constexpr std::string_view timeout = "Error: timeout exceeded";
inline constexpr std::string_view too_many_errors = "Error: too many errors";
inline constexpr std::string_view shutting_down = "Error: shutting down";

// AUTH (RFC 4954): the codes of its section 6 with the RFC's own texts
// where it gives one, enhanced codes from RFC 3463 and RFC 5248.
inline constexpr std::string_view auth_ok =
    "235 2.7.0 Authentication successful";
// Section 4: a server challenge is 334, a space and base64 (here either
// empty, PLAIN's, or LOGIN's "Username:" and "Password:").
inline constexpr std::string_view auth_challenge_empty = "334 ";
inline constexpr std::string_view auth_challenge_username = "334 VXNlcm5hbWU6";
inline constexpr std::string_view auth_challenge_password = "334 UGFzc3dvcmQ6";
inline constexpr std::string_view auth_syntax =
    "501 5.5.4 Syntax: AUTH mechanism [initial-response]";
inline constexpr std::string_view auth_cancelled =
    "501 5.7.0 Authentication cancelled";
inline constexpr std::string_view auth_bad_base64 =
    "501 5.5.2 Cannot decode response";
inline constexpr std::string_view auth_line_too_long =
    "500 5.5.6 Authentication Exchange line is too long";
inline constexpr std::string_view auth_need_ehlo =
    "503 5.5.1 Error: send EHLO first";
inline constexpr std::string_view auth_already =
    "503 5.5.1 Error: already authenticated";
inline constexpr std::string_view auth_in_transaction =
    "503 5.5.1 Error: AUTH not permitted during a mail transaction";
inline constexpr std::string_view auth_unknown_mechanism =
    "504 5.5.4 Unrecognized authentication mechanism";
inline constexpr std::string_view auth_invalid =
    "535 5.7.8 Authentication credentials invalid";
inline constexpr std::string_view auth_needs_tls =
    "538 5.7.11 Encryption required for requested authentication mechanism";
inline constexpr std::string_view auth_temporary =
    "454 4.7.0 Temporary authentication failure";

// STARTTLS (RFC 3207 section 4 and 4.1).
inline constexpr std::string_view starttls_ready =
    "220 2.0.0 Ready to start TLS";
inline constexpr std::string_view starttls_syntax =
    "501 5.5.4 Syntax: STARTTLS";
inline constexpr std::string_view starttls_again =
    "503 5.5.1 Error: TLS already active";
inline constexpr std::string_view tls_not_available =
    "454 4.7.0 TLS not available";
inline constexpr std::string_view tls_required =
    "530 5.7.0 Must issue a STARTTLS command first";

}  // namespace smtpd::replies
