// params.cpp - ESMTP parameter parsing (see params.hpp).
#include "smtpd/params.hpp"

#include "smtpd/text.hpp"

namespace smtpd {
namespace {

// str.isalnum() as the reference applies it to a keyword: not empty, and
// letters or digits.  Code points beyond ASCII are taken as letters, which
// is what almost all of them that appear in a keyword are.
bool is_keyword(std::string_view keyword) {
  if (keyword.empty()) return false;
  for (const char c : keyword) {
    const auto b = static_cast<unsigned char>(c);
    const bool alnum = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') ||
                       (b >= 'a' && b <= 'z') || b >= 0x80;
    if (!alnum) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> EsmtpParams::words(std::string_view rest) {
  return text::split(text::ascii_upper(rest));
}

std::optional<EsmtpParams> EsmtpParams::parse(
    const std::vector<std::string>& words) {
  EsmtpParams result;
  for (const std::string& word : words) {
    const std::size_t equals = word.find('=');
    const std::string_view keyword = std::string_view(word).substr(0, equals);
    Value value;
    if (equals != std::string::npos) {
      value.given = true;
      value.text = word.substr(equals + 1);
      if (value.text.empty()) return std::nullopt;
    }
    if (!is_keyword(keyword)) return std::nullopt;
    result.params_[std::string(keyword)] = std::move(value);
  }
  return result;
}

std::optional<EsmtpParams::Value> EsmtpParams::take(std::string_view key) {
  const auto found = params_.find(key);
  if (found == params_.end()) return std::nullopt;
  Value value = std::move(found->second);
  params_.erase(found);
  return value;
}

}  // namespace smtpd
