//===- Status.h - error value of the hyplora runtime API --------*- C++ -*-===//
//
// No exception crosses libhyprt's boundary: every fallible call returns a
// Status whose message says what failed and why ("what failed: why (file:line)").
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_STATUS_H
#define HYP_RUNTIME_STATUS_H

#include <string>

// libhyprt is built with hidden visibility; only what carries HYP_RT_API is
// exported (and the version script further limits exports to hyp::rt::*).
#define HYP_RT_API __attribute__((visibility("default")))

namespace hyp::rt {

struct Status {
  bool ok = true;
  std::string message; // "what failed: why (file:line)"; empty when ok

  static Status success() { return Status(); }
  static Status error(std::string msg) {
    Status s;
    s.ok = false;
    s.message = std::move(msg);
    return s;
  }
  explicit operator bool() const { return ok; }
};

} // namespace hyp::rt

// Propagates a failed Status to the caller.
#define HYP_RT_TRY(expr)                                                       \
  do {                                                                         \
    ::hyp::rt::Status hyp_try_status_ = (expr);                                \
    if (!hyp_try_status_.ok)                                                   \
      return hyp_try_status_;                                                  \
  } while (0)

#endif // HYP_RUNTIME_STATUS_H
