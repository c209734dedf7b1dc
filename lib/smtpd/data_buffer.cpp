// data_buffer.cpp - a message's buffer (see data_buffer.hpp).
#include "smtpd/data_buffer.hpp"

#include <sys/mman.h>
#include <unistd.h>

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
  const std::uint64_t wanted =
      limit == 0 || limit >= limits::max_data_reservation
          ? limits::max_data_reservation
          : limit;
  if (buffer.capacity() >= wanted) return;
  try {
    buffer.reserve(std::size_t(wanted));
  } catch (const std::bad_alloc&) {
    return;  // strict overcommit, say: grow as the bytes come instead
  }
  advise_huge_pages(buffer);
}

}  // namespace

void append_message_data(std::string& buffer, std::string_view bytes,
                         std::uint64_t limit) {
  const std::size_t needed = buffer.size() + bytes.size();
  if (needed > buffer.capacity() && needed > limits::small_message)
    reserve_room(buffer, limit);
  buffer.append(bytes);
}

}  // namespace smtpd
