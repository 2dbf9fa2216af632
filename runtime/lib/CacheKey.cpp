//===- CacheKey.cpp - content address of a compiled kernel ----------------===//
#include "hyp/Runtime/CacheKey.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SHA256.h"

#ifndef HYP_VERSION_STRING
#error "HYP_VERSION_STRING must be defined by the build (cmake/HypVersion.cmake)"
#endif

namespace hyp::rt {
namespace {
// Length-prefixed fields: "ab"+"c" and "a"+"bc" hash differently.
struct KeyHasher {
  llvm::SHA256 sha;
  void u64(uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; ++i)
      b[i] = uint8_t(v >> (8 * i));
    sha.update(llvm::ArrayRef<uint8_t>(b, 8));
  }
  void str(const std::string &s) {
    u64(s.size());
    sha.update(llvm::StringRef(s));
  }
  void field(const char *tag, const std::string &s) {
    str(tag);
    str(s);
  }
};
} // namespace

std::string sha256Hex(const std::string &bytes) {
  llvm::SHA256 sha;
  sha.update(llvm::StringRef(bytes));
  std::array<uint8_t, 32> h = sha.final();
  return llvm::toHex(h, /*LowerCase=*/true);
}

const char *runtimeVersion() { return HYP_VERSION_STRING; }

std::string computeCacheKey(const CacheKeyInputs &in) {
  KeyHasher h;
  h.str("hyprt-cubin-key-v1");
  h.field("source", in.source);
  h.str("options");
  h.u64(in.options.size());
  for (const std::string &o : in.options)
    h.str(o);
  h.str("config");
  h.u64(in.config.size());
  for (const auto &[name, value] : in.config) {
    h.str(name);
    h.u64(uint64_t(value));
  }
  h.field("arch", in.arch);
  h.field("nvrtc", in.nvrtcVersion);
  h.field("compiler", in.compilerVersion);
  h.field("runtime", in.runtimeVersion);
  std::array<uint8_t, 32> d = h.sha.final();
  return llvm::toHex(d, /*LowerCase=*/true);
}

} // namespace hyp::rt
