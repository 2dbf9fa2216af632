//===- KernelCache.h - the on-disk, content-addressed cubin cache -*- C++ -*-===//
//
// Loading a cubin runs its code on the GPU, so the cache is part of the trust
// boundary: the directory must belong to the user and be writable by nobody
// else (it is created 0700; a group/world-writable one is refused), entries
// are written 0600 through a temp file + rename (readers never see a partial
// file; many processes can share the directory), and every entry is verified
// (magic, key, arch, size, SHA-256 of the payload, ELF header) before use. A
// bad entry is reported as a miss with the reason, and rebuilt by the caller.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_RUNTIME_KERNELCACHE_H
#define HYP_RUNTIME_KERNELCACHE_H

#include "hyp/Runtime/Status.h"

#include <cstdint>
#include <memory>
#include <string>

namespace hyp::rt {

/// The directory the runtime uses: $HYP_CACHE_DIR, else $XDG_CACHE_HOME/hyplora,
/// else $HOME/.cache/hyplora.
HYP_RT_API std::string defaultCacheDir();

/// Creates `dir` (0700) if needed and checks it is safe: a directory, owned by
/// the effective user, not writable by group or others.
HYP_RT_API Status ensurePrivateDir(const std::string &dir);

/// Writes `bytes` to `path` atomically (unique temp file in the same
/// directory, mode 0600, fsync, rename).
HYP_RT_API Status writeFileAtomic(const std::string &path, const std::string &bytes);

/// Reads a whole file that must be a regular file owned by the effective user
/// and not group/world-writable. `found` is false when it does not exist.
HYP_RT_API Status readTrustedFile(const std::string &path, std::string *bytes,
                                  bool *found);

class HYP_RT_API KernelCache {
public:
  /// Opens (creating) the cache rooted at `dir`: cubins live in dir/kernels,
  /// tuning choices in dir/tuning. Refuses an unsafe directory.
  static Status open(const std::string &dir, std::shared_ptr<KernelCache> *out);

  const std::string &root() const { return root_; }
  std::string kernelsDir() const { return root_ + "/kernels"; }
  std::string tuningDir() const { return root_ + "/tuning"; }
  std::string entryPath(const std::string &keyHex) const;

  /// Looks up a verified entry. On a miss `hit` is false and `whyMiss` says
  /// why ("absent", "truncated", "sha256 mismatch", "arch sm_80 != sm_90", ...).
  /// A Status error is returned only for a failure of the cache itself.
  Status lookup(const std::string &keyHex, const std::string &arch,
                std::string *cubin, bool *hit, std::string *whyMiss) const;
  Status store(const std::string &keyHex, const std::string &arch,
               const std::string &cubin) const;

  /// Serializes an entry (header + payload); exposed for tests.
  static std::string encodeEntry(const std::string &keyHex, const std::string &arch,
                                 const std::string &cubin);
  /// Verifies an entry; returns "" when valid, else the reason.
  static std::string verifyEntry(const std::string &bytes, const std::string &keyHex,
                                 const std::string &arch, std::string *cubin);

private:
  explicit KernelCache(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

/// What the Python package shows for "inspect the cache".
struct CacheStats {
  std::string path;
  uint64_t kernelEntries = 0;
  uint64_t tuningEntries = 0;
  uint64_t bytes = 0;
};
/// Stats of the cache at `dir` ("" = defaultCacheDir()).
HYP_RT_API Status cacheStats(CacheStats *out, const std::string &dir = "");
/// Removes every cubin, tuning file and stale temp file of the cache at `dir`
/// ("" = defaultCacheDir()); the directory itself stays.
HYP_RT_API Status clearCache(const std::string &dir = "");

} // namespace hyp::rt

#endif // HYP_RUNTIME_KERNELCACHE_H
