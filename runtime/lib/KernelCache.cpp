//===- KernelCache.cpp - private, atomic, verified on-disk cubin cache ----===//
#include "hyp/Runtime/KernelCache.h"
#include "hyp/Runtime/CacheKey.h"
#include "hyp/Runtime/Nvrtc.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = llvm::sys::fs;

namespace hyp::rt {
namespace {
constexpr const char *kEntryMagic = "HYPRT-CUBIN 1\n";

std::string octal(unsigned mode) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

std::string fixHint(const std::string &dir) {
  return " (fix: chmod 700 '" + dir + "' if it is yours, or set HYP_CACHE_DIR to a private "
         "directory)";
}
} // namespace

std::string defaultCacheDir() {
  if (const char *d = getenv("HYP_CACHE_DIR"); d && *d)
    return d;
  if (const char *x = getenv("XDG_CACHE_HOME"); x && *x)
    return std::string(x) + "/hyplora";
  if (const char *h = getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/hyplora";
  return "/tmp/hyplora-" + std::to_string(geteuid());
}

Status ensurePrivateDir(const std::string &dir) {
  if (dir.empty())
    return Status::error("cache directory: empty path");
  if (std::error_code ec = fs::create_directories(dir, /*IgnoreExisting=*/true, fs::owner_all))
    return Status::error("cache directory '" + dir + "': cannot create: " + ec.message());
  struct stat st;
  if (stat(dir.c_str(), &st) != 0)
    return Status::error("cache directory '" + dir + "': " + strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return Status::error("cache directory '" + dir + "' is not a directory");
  if (st.st_uid != geteuid())
    return Status::error("cache directory '" + dir + "' is owned by uid " +
                         std::to_string(st.st_uid) + ", not by you (uid " +
                         std::to_string(geteuid()) +
                         "): refused, because cubins loaded from it run on your GPU" +
                         fixHint(dir));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Status::error("cache directory '" + dir + "' is writable by other users (mode " +
                         octal(st.st_mode) +
                         "): refused, because another user could plant a cubin that would "
                         "run on your GPU" + fixHint(dir));
  return Status::success();
}

Status writeFileAtomic(const std::string &path, const std::string &bytes) {
  llvm::SmallString<256> model(llvm::sys::path::parent_path(path));
  if (model.empty())
    model = ".";
  llvm::sys::path::append(model, ".tmp-%%%%%%%%%%%%-" + llvm::sys::path::filename(path).str());
  int fd = -1;
  llvm::SmallString<256> tmp;
  if (std::error_code ec = fs::createUniqueFile(model, fd, tmp, fs::OF_None,
                                                fs::owner_read | fs::owner_write))
    return Status::error("cache: cannot create a temp file for '" + path + "': " + ec.message());
  const char *p = bytes.data();
  size_t left = bytes.size();
  while (left) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string why = strerror(errno);
      ::close(fd);
      fs::remove(tmp);
      return Status::error("cache: writing '" + std::string(tmp) + "' failed: " + why);
    }
    p += n;
    left -= size_t(n);
  }
  // fsync before rename: on a crash the name points at complete data or at
  // the previous version, never at a hole.
  ::fsync(fd);
  ::close(fd);
  if (std::error_code ec = fs::rename(tmp, path)) {
    fs::remove(tmp);
    return Status::error("cache: rename to '" + path + "' failed: " + ec.message());
  }
  return Status::success();
}

Status readTrustedFile(const std::string &path, std::string *bytes, bool *found) {
  *found = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return Status::success();
    return Status::error("cache: cannot open '" + path + "': " + strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::error("cache: '" + path + "' is not a regular file");
  }
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    ::close(fd);
    return Status::error("cache: '" + path + "' is not trusted (owner uid " +
                         std::to_string(st.st_uid) + ", mode " + octal(st.st_mode) + ")");
  }
  std::string out;
  out.resize(size_t(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, &out[got], out.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += size_t(n);
  }
  ::close(fd);
  out.resize(got);
  *bytes = std::move(out);
  *found = true;
  return Status::success();
}

//===----------------------------------------------------------------------===//
// KernelCache
//===----------------------------------------------------------------------===//
Status KernelCache::open(const std::string &dir, std::shared_ptr<KernelCache> *out) {
  HYP_RT_TRY(ensurePrivateDir(dir));
  std::shared_ptr<KernelCache> c(new KernelCache(dir));
  HYP_RT_TRY(ensurePrivateDir(c->kernelsDir()));
  HYP_RT_TRY(ensurePrivateDir(c->tuningDir()));
  *out = std::move(c);
  return Status::success();
}

std::string KernelCache::entryPath(const std::string &keyHex) const {
  return kernelsDir() + "/" + keyHex + ".cubin";
}

std::string KernelCache::encodeEntry(const std::string &keyHex, const std::string &arch,
                                     const std::string &cubin) {
  llvm::json::Object header{{"key", keyHex},
                            {"arch", arch},
                            {"size", int64_t(cubin.size())},
                            {"sha256", sha256Hex(cubin)},
                            {"runtime", runtimeVersion()}};
  std::string out = kEntryMagic;
  llvm::raw_string_ostream os(out);
  os << llvm::json::Value(std::move(header));
  os.flush();
  out += "\n";
  out += cubin;
  return out;
}

std::string KernelCache::verifyEntry(const std::string &bytes, const std::string &keyHex,
                                     const std::string &arch, std::string *cubin) {
  size_t magicLen = strlen(kEntryMagic);
  if (bytes.size() < magicLen)
    return "truncated (" + std::to_string(bytes.size()) + " bytes)";
  if (bytes.compare(0, magicLen, kEntryMagic) != 0)
    return "not a hyprt cache entry (bad magic)";
  size_t eol = bytes.find('\n', magicLen);
  if (eol == std::string::npos)
    return "truncated header";
  llvm::Expected<llvm::json::Value> hv =
      llvm::json::parse(llvm::StringRef(bytes).substr(magicLen, eol - magicLen));
  if (!hv) {
    llvm::consumeError(hv.takeError());
    return "garbage header";
  }
  const llvm::json::Object *h = hv->getAsObject();
  if (!h)
    return "garbage header";
  auto key = h->getString("key");
  auto a = h->getString("arch");
  auto size = h->getInteger("size");
  auto sha = h->getString("sha256");
  if (!key || !a || !size || !sha)
    return "header lacks key/arch/size/sha256";
  if (*key != keyHex)
    return "key mismatch (entry is for " + key->str() + ")";
  if (*a != arch)
    return "arch mismatch (entry is for " + a->str() + ", need " + arch + ")";
  std::string payload = bytes.substr(eol + 1);
  if (int64_t(payload.size()) != *size)
    return "truncated payload (" + std::to_string(payload.size()) + " of " +
           std::to_string(*size) + " bytes)";
  if (sha256Hex(payload) != *sha)
    return "sha256 mismatch (payload corrupted)";
  int sm = cubinSmVersion(payload);
  if (sm < 0)
    return "payload is not a CUDA ELF";
  if (arch.rfind("sm_", 0) == 0 && std::to_string(sm) != arch.substr(3, 3) &&
      std::to_string(sm) + "a" != arch.substr(3))
    return "cubin is for sm_" + std::to_string(sm) + ", need " + arch;
  *cubin = std::move(payload);
  return "";
}

Status KernelCache::lookup(const std::string &keyHex, const std::string &arch,
                           std::string *cubin, bool *hit, std::string *whyMiss) const {
  *hit = false;
  std::string bytes;
  bool found = false;
  Status st = readTrustedFile(entryPath(keyHex), &bytes, &found);
  if (!st.ok) {
    *whyMiss = st.message; // e.g. an entry we do not own: rebuilt and replaced
    return Status::success();
  }
  if (!found) {
    *whyMiss = "absent";
    return Status::success();
  }
  std::string why = verifyEntry(bytes, keyHex, arch, cubin);
  if (!why.empty()) {
    *whyMiss = why;
    return Status::success();
  }
  *hit = true;
  return Status::success();
}

Status KernelCache::store(const std::string &keyHex, const std::string &arch,
                          const std::string &cubin) const {
  return writeFileAtomic(entryPath(keyHex), encodeEntry(keyHex, arch, cubin));
}

//===----------------------------------------------------------------------===//
// Inspect / clear (what the Python package exposes)
//===----------------------------------------------------------------------===//
namespace {
template <typename Fn> void forEachFile(const std::string &dir, Fn fn) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->type() == fs::file_type::regular_file)
      fn(it->path());
  }
}
bool isOurs(const std::string &name, const char *ext) {
  llvm::StringRef n(name);
  return n.starts_with(".tmp-") || n.ends_with(ext);
}
} // namespace

Status cacheStats(CacheStats *out, const std::string &dirArg) {
  CacheStats s;
  s.path = dirArg.empty() ? defaultCacheDir() : dirArg;
  for (const char *sub : {"/kernels", "/tuning"}) {
    bool kernels = sub[1] == 'k';
    forEachFile(s.path + sub, [&](const std::string &p) {
      std::string name = llvm::sys::path::filename(p).str();
      if (!isOurs(name, kernels ? ".cubin" : ".json"))
        return;
      uint64_t size = 0;
      fs::file_size(p, size);
      s.bytes += size;
      if (name.rfind(".tmp-", 0) == 0)
        return;
      (kernels ? s.kernelEntries : s.tuningEntries)++;
    });
  }
  *out = s;
  return Status::success();
}

Status clearCache(const std::string &dirArg) {
  std::string dir = dirArg.empty() ? defaultCacheDir() : dirArg;
  std::string firstError;
  for (const char *sub : {"/kernels", "/tuning"}) {
    bool kernels = sub[1] == 'k';
    std::vector<std::string> victims;
    forEachFile(dir + sub, [&](const std::string &p) {
      if (isOurs(llvm::sys::path::filename(p).str(), kernels ? ".cubin" : ".json"))
        victims.push_back(p);
    });
    for (const std::string &p : victims)
      if (std::error_code ec = fs::remove(p); ec && firstError.empty())
        firstError = "cannot remove '" + p + "': " + ec.message();
  }
  if (!firstError.empty())
    return Status::error("clearCache: " + firstError);
  return Status::success();
}

} // namespace hyp::rt
