// data_buffer.hpp - room for a message while DATA arrives.  Internal to
// the library (not installed): the DATA reader (data_reader.hpp) keeps
// the message in it.
//
// The message is the largest thing a session holds, and it is held whole
// until the delivery takes it.  A string grown by doubling copies it at
// every step and holds two copies at the peak (a 10 MB message cost 24 MB
// and 14,600 page faults).  So once a message outgrows a small buffer, its
// room up to the size limit is reserved at once.  That costs address
// space, not memory: the kernel maps a page when a byte first lands in it,
// and nothing is copied again however far the message grows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smtpd {

// Appends bytes to buffer, the message so far; limit is the most it will
// hold (0: no limit).  Past limits::small_message the room is reserved up
// to the limit, capped at limits::max_data_reservation, with huge pages
// where the kernel offers them (madvise, a hint): each costs one page
// fault instead of 512, and on a virtual machine those faults were most of
// the time a large message took to receive.  If the room cannot be had
// the buffer grows as a string does.
void append_message_data(std::string& buffer, std::string_view bytes,
                         std::uint64_t limit);

}  // namespace smtpd
