// maildir.cpp - Maildir file names and contents (see maildir.hpp).
#include "smtpd/maildir.hpp"

#include <cstdio>

namespace smtpd {
namespace {

// One header value: control bytes (CR, LF above all) become "?"; bytes
// above ASCII pass (an SMTPUTF8 address, RFC 6532).
void append_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    const auto b = static_cast<unsigned char>(c);
    out += b < 0x20 || b == 0x7F ? '?' : c;
  }
}

}  // namespace

std::string maildir_file_name(const MaildirName& name) {
  char unique[96];
  std::snprintf(unique, sizeof unique, "%lld.M%06uP%lluQ%lluR%08x.",
                static_cast<long long>(name.seconds),
                static_cast<unsigned>(name.microseconds),
                static_cast<unsigned long long>(name.pid),
                static_cast<unsigned long long>(name.counter),
                static_cast<unsigned>(name.random));
  std::string out = unique;
  if (name.host.empty()) return out + "localhost";
  for (const char c : name.host) {
    if (c == '/')
      out += "\\057";
    else if (c == ':')
      out += "\\072";
    else
      out += c;
  }
  return out;
}

std::string maildir_header(const Envelope& envelope) {
  std::string out = "Return-Path: <";
  // The null reverse path is "<>" in the envelope already.
  if (envelope.mail_from != "<>") append_value(out, envelope.mail_from);
  out += ">\n";
  for (const std::string& recipient : envelope.rcpt_tos) {
    out += "Delivered-To: ";
    append_value(out, recipient);
    out += '\n';
  }
  out += "X-Peer: ";
  append_value(out, envelope.peer.address);
  out += '\n';
  return out;
}

std::string_view maildir_trailer(std::string_view data) {
  return data.empty() || data.back() == '\n' ? "" : "\n";
}

std::string maildir_file(const Envelope& envelope) {
  return maildir_header(envelope) + envelope.data +
         std::string(maildir_trailer(envelope.data));
}

}  // namespace smtpd
