// address.cpp - RFC 5321 paths in MAIL, RCPT and VRFY arguments.
//
// SYNOPSIS
//   ParsedPath parse_path(std::string_view argument);
//
// smtpd.py hands the argument to the email package's RFC 5322 parser
// (get_angle_addr when it starts with '<', else get_addr_spec) and uses the
// addr_spec it rebuilds.  That parser is lenient in RFC 5322's obsolete ways
// (section 4.4: CFWS between words and dots, obs-route, obs-domain), accepts
// some things no grammar allows (repeated dots, a stray backslash, a missing
// '>'), and fails on others with an exception that ends the connection.
// This file is a predictive recursive-descent parser for the same language
// that gives the same address and remainder for every input; a failure is an
// empty address.  tests: t/unit/address_test.cpp, whose table comes from the
// reference (t/unit/gen_address_cases.py).
//
// Deliberate difference: an RFC 2047 encoded word ("=?utf-8?q?x?=") is
// plain atext here.  The reference decodes it, so the envelope would name a
// different mailbox from the one the client sent, and the decoded text may
// hold CR, LF or NUL.  RFC 5321 has no encoded words.
#include "smtpd/address.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "smtpd/text.hpp"

namespace smtpd {
namespace {

// RFC 5322 3.2.3 specials.
constexpr std::string_view specials = "()<>@,:;.\\\"[]";
// The specials that end an (obsolete) local part: every special but the
// ones that can continue it ('.', '"', '(' and a stray '\').
constexpr std::string_view local_part_ends = ")<>@,:;[]";

// RFC 5234 WSP: what starts folding white space (RFC 5322 3.2.2).
bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool starts_cfws(char c) { return is_wsp(c) || c == '('; }
bool is_special(char c) { return specials.find(c) != std::string_view::npos; }
bool ends_atom(char c) { return is_special(c) || is_wsp(c); }
bool ends_local_part(char c) {
  return local_part_ends.find(c) != std::string_view::npos;
}

// Bytes of atext at the start of s.  Everything but specials and WSP counts,
// including controls and all of UTF-8 beyond ASCII (RFC 6532 3.2).
std::size_t atext_length(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && !ends_atom(s[n])) ++n;
  return n;
}

// Bytes of RFC 5322 3.2.3 dot-atom-text at the start of s, or 0.  A dot must
// be followed by atext: "a.b." is no dot-atom-text at all, not "a.b".
std::size_t dot_atom_text_length(std::string_view s) {
  std::size_t n = 0;
  for (;;) {
    const std::size_t run = atext_length(s.substr(n));
    if (run == 0) return 0;
    n += run;
    if (n == s.size() || s[n] != '.') return n;
    ++n;
  }
}

// The reference removes all of Python's white space from a domain.
std::string without_space(std::string_view s) {
  std::string joined;
  for (const std::string& word : text::split(s)) joined += word;
  return joined;
}

// One piece of a local part read by the RFC 5322 4.4 obs-local-part rule
// (word *("." word)), which the reference stretches to take stray
// backslashes and any number of dots anywhere.
struct LocalPartPiece {
  enum class Kind { word, dot, backslash };
  Kind kind;
  std::string text;  // an atom, or a quoted string's unquoted content
  bool cfws_before = false;
  bool cfws_after = false;
};

// Joins the pieces as the reference does: CFWS around a word becomes one
// space, except where it touches a dot or either end of the local part.
std::string join_local_part(const std::vector<LocalPartPiece>& pieces) {
  using Kind = LocalPartPiece::Kind;
  const auto is_edge = [&](std::size_t i) {
    return i >= pieces.size() || pieces[i].kind == Kind::dot;
  };
  std::string joined;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const LocalPartPiece& piece = pieces[i];
    if (piece.kind != Kind::word) {
      joined += piece.text;
      continue;
    }
    if (piece.cfws_before && !(i == 0 || is_edge(i - 1))) joined += ' ';
    joined += piece.text;
    if (piece.cfws_after && !is_edge(i + 1)) joined += ' ';
  }
  return joined;
}

struct AddrSpec {
  std::string local_part;
  std::optional<std::string> domain;  // none when there was no '@'
};

// The addr-spec in the form the reference hands on: the local part as a
// quoted string (RFC 5322 3.2.4) when it holds anything a dot-atom cannot.
std::string to_text(const AddrSpec& spec) {
  std::string text;
  const bool needs_quotes =
      std::any_of(spec.local_part.begin(), spec.local_part.end(),
                  [](char c) { return ends_atom(c) && c != '.'; });
  if (needs_quotes) {
    text += '"';
    for (const char c : spec.local_part) {
      if (c == '\\' || c == '"') text += '\\';
      text += c;
    }
    text += '"';
  } else {
    text = spec.local_part;
  }
  if (spec.domain) text += '@' + *spec.domain;
  return text;
}

class PathParser {
 public:
  explicit PathParser(std::string_view argument) : rest_(argument) {}

  // RFC 5322 3.4 angle-addr, with RFC 5321's null path "<>" and the
  // obs-route (RFC 5322 4.4) a source route (RFC 5321 4.1.2) parses as.
  std::optional<ParsedPath> angle_path() {
    skip_cfws();
    if (!take('<') || at_end()) return std::nullopt;
    if (take('>')) return ParsedPath{"<>", std::string(rest_)};
    const std::string_view inside = rest_;
    std::optional<AddrSpec> spec = addr_spec();
    if (!spec) {
      // An addr-spec cannot start where a route can, so only a route is
      // left to try; the route itself is dropped.
      rest_ = inside;
      if (!skip_obs_route()) return std::nullopt;
      spec = addr_spec();
      if (!spec) return std::nullopt;
    }
    take('>');  // the reference lets a missing '>' pass
    skip_cfws();
    // An empty local part comes back quoted, so the address is not empty.
    std::string address = spec->local_part.empty() ? "\"\"" : "";
    address += to_text(*spec);
    return ParsedPath{std::move(address), std::string(rest_)};
  }

  std::optional<ParsedPath> bare_path() {
    const std::optional<AddrSpec> spec = addr_spec();
    if (!spec) return std::nullopt;
    return ParsedPath{to_text(*spec), std::string(rest_)};
  }

 private:
  bool at_end() const { return rest_.empty(); }
  char next() const { return rest_.front(); }
  void advance(std::size_t n) { rest_.remove_prefix(n); }
  std::string_view take_bytes(std::size_t n) {
    const std::string_view taken = rest_.substr(0, n);
    advance(n);
    return taken;
  }
  bool take(char c) {
    if (at_end() || next() != c) return false;
    advance(1);
    return true;
  }

  // Folding white space: once it starts with WSP the reference takes every
  // Python white space character that follows (CR, LF, NBSP, ...).
  std::string_view take_fws() {
    const std::string_view after = text::lstrip(rest_);
    return take_bytes(rest_.size() - after.size());
  }

  // Text up to the next WSP or unescaped stop character, quoted pairs
  // (RFC 5322 3.2.1) decoded.  A backslash before WSP or the end escapes
  // nothing and is dropped.
  std::string take_escaped_text(std::string_view stops) {
    std::string unescaped;
    while (!at_end() && !is_wsp(next())) {
      if (take('\\')) {
        if (at_end() || is_wsp(next())) break;
      } else if (stops.find(next()) != std::string_view::npos) {
        break;
      }
      unescaped += next();
      advance(1);
    }
    return unescaped;
  }

  // RFC 5322 3.2.2 comment, nested; an unterminated one runs to the end.
  // Iterative, so deep nesting cannot exhaust the stack.
  void skip_comment() {
    int depth = 0;
    while (!at_end()) {
      if (take('(')) {
        ++depth;
      } else if (take(')')) {
        if (--depth == 0) return;
      } else if (is_wsp(next())) {
        take_fws();
      } else {
        take_escaped_text("()");
      }
    }
  }

  // RFC 5322 3.2.2 CFWS; says whether there was any.
  bool skip_cfws() {
    bool skipped = false;
    while (!at_end() && starts_cfws(next())) {
      if (is_wsp(next()))
        take_fws();
      else
        skip_comment();
      skipped = true;
    }
    return skipped;
  }

  // The content of an RFC 5322 3.2.4 quoted string after its opening
  // quote; an unterminated one runs to the end.
  std::string take_quoted_content() {
    std::string content;
    while (!at_end() && next() != '"') {
      if (is_wsp(next()))
        content += take_fws();
      else
        content += take_escaped_text("\"");
    }
    take('"');
    return content;
  }

  // RFC 5322 3.4.1 local-part.  The reference tries dot-atom and
  // quoted-string first and falls back to obs-local-part; reading the
  // obsolete form straight away consumes the same text and gives the
  // same string, so only its failures need checking up front.
  std::optional<std::string> local_part() {
    const std::string_view start = rest_;
    skip_cfws();
    if (at_end() || ends_local_part(next())) return std::nullopt;
    // The reference fails on a lone opening quote at the very end (an
    // IndexError on the empty quoted string).
    if (rest_ == "\"") return std::nullopt;
    rest_ = start;
    using Kind = LocalPartPiece::Kind;
    std::vector<LocalPartPiece> pieces;
    while (!at_end() && !ends_local_part(next())) {
      if (take('.')) {
        pieces.push_back({Kind::dot, ".", false, false});
      } else if (take('\\')) {
        pieces.push_back({Kind::backslash, "\\", false, false});
      } else {
        LocalPartPiece word{Kind::word, "", skip_cfws(), false};
        if (take('"'))
          word.text = take_quoted_content();
        else if (!at_end() && !is_special(next()))
          word.text = take_bytes(atext_length(rest_));
        else
          continue;  // CFWS before a dot, a backslash or the end
        word.cfws_after = skip_cfws();
        pieces.push_back(std::move(word));
      }
    }
    return join_local_part(pieces);
  }

  // RFC 5322 3.4.1 domain-literal: one run of dtext between optional FWS.
  std::optional<std::string> domain_literal() {
    take('[');
    if (at_end()) return std::nullopt;
    if (is_wsp(next())) take_fws();
    if (at_end()) return std::nullopt;
    const std::string dtext = take_escaped_text("[]");
    if (at_end()) return std::nullopt;
    if (is_wsp(next())) take_fws();
    if (!take(']')) return std::nullopt;
    skip_cfws();
    return without_space("[" + dtext + "]");
  }

  // RFC 5322 3.4.1 dot-atom, or the obs-domain of 4.4 (CFWS around dots).
  std::optional<std::string> domain_name() {
    std::string name;
    if (const std::size_t length = dot_atom_text_length(rest_)) {
      name = take_bytes(length);
      skip_cfws();
      if (!at_end() && next() == '@') return std::nullopt;
    } else if (const std::size_t length = atext_length(rest_)) {
      name = take_bytes(length);  // a dot follows: obs-domain
    } else {
      return std::nullopt;
    }
    while (take('.')) {
      name += '.';
      skip_cfws();
      const std::size_t length = atext_length(rest_);
      if (length == 0) return std::nullopt;
      name += take_bytes(length);
      skip_cfws();
    }
    return without_space(name);
  }

  std::optional<std::string> domain() {
    skip_cfws();
    if (at_end()) return std::nullopt;
    if (next() == '[') return domain_literal();
    return domain_name();
  }

  std::optional<AddrSpec> addr_spec() {
    std::optional<std::string> local = local_part();
    if (!local) return std::nullopt;
    if (!take('@')) return AddrSpec{std::move(*local), std::nullopt};
    std::optional<std::string> host = domain();
    if (!host) return std::nullopt;
    return AddrSpec{std::move(*local), std::move(host)};
  }

  // RFC 5322 4.4 obs-route: obs-domain-list ":", where the list is
  // *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]).
  bool skip_obs_route() {
    while (!at_end() && (next() == ',' || starts_cfws(next()))) {
      if (!take(',')) skip_cfws();
    }
    if (!take('@') || !domain()) return false;
    while (take(',')) {
      if (at_end()) break;
      skip_cfws();
      if (at_end()) return false;
      if (take('@') && !domain()) return false;
    }
    return take(':');
  }

  std::string_view rest_;  // the text not parsed yet
};

}  // namespace

ParsedPath parse_path(std::string_view argument) {
  if (argument.empty()) return {};
  PathParser parser(argument);
  const bool angle = text::lstrip(argument).substr(0, 1) == "<";
  std::optional<ParsedPath> path =
      angle ? parser.angle_path() : parser.bare_path();
  return path ? std::move(*path) : ParsedPath{};
}

}  // namespace smtpd
