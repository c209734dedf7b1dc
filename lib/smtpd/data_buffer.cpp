// data_buffer.cpp - a message's buffer (see data_buffer.hpp).
#include "smtpd/data_buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "smtpd/limits.hpp"

namespace smtpd {
namespace {

// A transparent huge page on x86-64 and arm64 with 4 KiB pages.
constexpr std::uintptr_t huge_page = 2 * 1024 * 1024;

// Advises huge pages for buffer's whole capacity: the kernel uses them for
// the 2 MiB-aligned stretches in it.
void advise_huge_pages(std::string& buffer) {
  const auto page = std::uintptr_t(sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(buffer.data());
  const std::uintptr_t from = (start + page - 1) / page * page;
  const std::uintptr_t to = (start + buffer.capacity()) / page * page;
  if (to > from + huge_page)
    madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
}

void reserve_room(std::string& buffer, std::uint64_t limit) {
  // The channel keeps at most the limit and the terminator's 5 bytes.
  const std::uint64_t wanted =
      limit == 0 || limit >= limits::max_data_reservation
          ? limits::max_data_reservation
          : limit + 5;
  if (buffer.capacity() >= wanted) return;
  try {
    buffer.reserve(std::size_t(wanted));
  } catch (const std::bad_alloc&) {
    return;  // strict overcommit, say: grow as the bytes come instead
  }
  advise_huge_pages(buffer);
}

// Moves the line at.in..line_end to the end of the result, without its
// leading dot.
void move_line(char* data, Unstuffing& at, std::size_t line_end) {
  std::size_t start = at.in;
  if (start < line_end && data[start] == '.') ++start;
  if (at.out != start)
    std::memmove(data + at.out, data + start, line_end - start);
  at.out += line_end - start;
  at.in = line_end;
}

}  // namespace

void append_message_data(std::string& buffer, std::string_view bytes,
                         std::uint64_t limit) {
  const std::size_t needed = buffer.size() + bytes.size();
  if (needed > buffer.capacity() && needed > limits::small_message)
    reserve_room(buffer, limit);
  buffer.append(bytes);
}

void unstuff_lines(std::string& buffer, Unstuffing& at, std::size_t end) {
  char* const data = buffer.data();
  std::size_t from = std::max(at.scan, at.in);
  // Only a CR before end - 1 has its LF before end.
  while (from + 1 < end) {
    const auto* cr = static_cast<const char*>(
        std::memchr(data + from, '\r', end - 1 - from));
    if (!cr) {
      from = end - 1;
      break;
    }
    const auto line_end = std::size_t(cr - data);
    from = line_end + 1;
    if (data[from] != '\n') continue;  // a bare CR stays in the line
    move_line(data, at, line_end);
    data[at.out++] = '\n';
    at.in = from = line_end + 2;
  }
  at.scan = from;
}

void finish_unstuffing(std::string& buffer, Unstuffing& at, std::size_t end) {
  unstuff_lines(buffer, at, end);
  if (at.in < end) move_line(buffer.data(), at, end);
  buffer.resize(at.out);
}

}  // namespace smtpd
