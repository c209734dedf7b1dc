// export.hpp - what libsmtpd exports.
//
// The library is built with hidden visibility: only declarations marked
// SMTPD_API are part of its ABI (see libsmtpd(3), ABI POLICY).  Internal
// helpers (text, params, replies) stay out of the dynamic symbol table.
#pragma once

#define SMTPD_API __attribute__((visibility("default")))
