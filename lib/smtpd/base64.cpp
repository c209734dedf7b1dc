// base64.cpp - strict base64 (see base64.hpp).
#include "smtpd/base64.hpp"

#include <array>
#include <cstdint>

namespace smtpd {
namespace {

constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t invalid = 0xFF;

constexpr std::array<std::uint8_t, 256> make_values() {
  std::array<std::uint8_t, 256> values{};
  for (auto& value : values) value = invalid;
  for (std::uint8_t i = 0; i < 64; ++i)
    values[static_cast<unsigned char>(alphabet[i])] = i;
  return values;
}
constexpr std::array<std::uint8_t, 256> values = make_values();

}  // namespace

std::optional<std::string> decode_base64(std::string_view encoded) {
  if (encoded.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(encoded.size() / 4 * 3);
  for (std::size_t i = 0; i < encoded.size(); i += 4) {
    const bool last = i + 4 == encoded.size();
    // '=' only at the end: "xx==" or "xxx=".
    std::size_t padding = 0;
    if (last && encoded[i + 3] == '=') padding = encoded[i + 2] == '=' ? 2 : 1;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4 - padding; ++j) {
      const std::uint8_t value =
          values[static_cast<unsigned char>(encoded[i + j])];
      if (value == invalid) return std::nullopt;
      group = group << 6 | value;
    }
    group <<= 6 * padding;
    // RFC 4648 3.5: the bits the padding stands for are zero.
    if ((padding == 1 && (group & 0xFF) != 0) ||
        (padding == 2 && (group & 0xFFFF) != 0))
      return std::nullopt;
    out += static_cast<char>(group >> 16);
    if (padding < 2) out += static_cast<char>(group >> 8 & 0xFF);
    if (padding < 1) out += static_cast<char>(group & 0xFF);
  }
  return out;
}

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group =
        std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16 |
        std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8 |
        static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[group >> 18];
    out += alphabet[group >> 12 & 63];
    out += alphabet[group >> 6 & 63];
    out += alphabet[group & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = std::uint32_t(static_cast<unsigned char>(bytes[i]))
                          << 16;
    if (rest == 2)
      group |= std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[group >> 18];
    out += alphabet[group >> 12 & 63];
    out += rest == 2 ? alphabet[group >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace smtpd
