// data_buffer.hpp - room for a message while DATA arrives, and its
// unstuffing.  Internal to the library: installed because the channel's
// members use Unstuffing; its functions are not exported.
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

// Appends bytes to buffer, the message so far; limit is the most it may
// hold (0: no limit).  Past limits::small_message the room is reserved up
// to the limit, capped at limits::max_data_reservation, with huge pages
// where the kernel offers them (madvise, a hint): each costs one page
// fault instead of 512, and on a virtual machine those faults were most of
// the time a large message took to receive.  If the room cannot be had
// the buffer grows as a string does.
void append_message_data(std::string& buffer, std::string_view bytes,
                         std::uint64_t limit);

// RFC 5321 4.5.2 as the message arrives: the leading dot of every line
// removed, and the lines joined with a bare LF as smtpd.py joins them.
// The result is never longer than the input, so it is written over the
// bytes it came from: buffer[0, out) is the result so far, buffer[in, ...)
// bytes still to do.  Done a line at a time while the next chunk is
// awaited, it leaves nothing but the last line for the end of DATA (it
// took 1.5 ms there for a 10 MB message, before the reply).
struct Unstuffing {
  std::size_t in = 0;    // where the next line starts
  std::size_t out = 0;   // the end of the result so far
  std::size_t scan = 0;  // where the search for that line's CRLF goes on
};

// Unstuffs the lines whose CRLF lies before end.  Every byte before end
// must be message data: none of the terminator.
void unstuff_lines(std::string& buffer, Unstuffing& at, std::size_t end);

// Unstuffs the rest of a message that ends at end (its last line has no
// line break) and cuts buffer to the result.
void finish_unstuffing(std::string& buffer, Unstuffing& at, std::size_t end);

}  // namespace smtpd
