// params.cpp - ESMTP parameter parsing (see params.hpp).
#include "smtpd/params.hpp"

#include "smtpd/text.hpp"

namespace smtpd {

std::vector<std::string> EsmtpParams::words(std::string_view rest) {
  return text::split(text::upper(rest));
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
    // str.isalnum(), as the reference checks a keyword.
    if (!text::is_alnum(keyword)) return std::nullopt;
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
