// params.hpp - ESMTP parameters of MAIL and RCPT (RFC 5321 4.1.2,
// esmtp-param = esmtp-keyword ["=" esmtp-value]), read the way smtpd.py
// reads them: upper-cased words, a keyword of letters and digits, a value
// that is not empty when "=" is there, the last of a repeated keyword wins.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtpd {

class EsmtpParams {
 public:
  struct Value {
    bool given = false;  // "KEY=VALUE" rather than a bare "KEY"
    std::string text;
  };

  // The words after the path, as smtpd.py splits them: upper-cased and
  // split on white space.  These are what the hook gets as mail_options.
  static std::vector<std::string> words(std::string_view rest);

  // Nothing when a word is not a valid esmtp-param.
  static std::optional<EsmtpParams> parse(
      const std::vector<std::string>& words);

  // Removes and returns the parameter KEY, if present.
  std::optional<Value> take(std::string_view key);
  bool empty() const { return params_.empty(); }

 private:
  std::map<std::string, Value, std::less<>> params_;
};

}  // namespace smtpd
