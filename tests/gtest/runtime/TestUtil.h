//===- TestUtil.h - temp dirs and env for the runtime tests -----*- C++ -*-===//
#ifndef HYP_TESTS_RUNTIME_TESTUTIL_H
#define HYP_TESTS_RUNTIME_TESTUTIL_H

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace hyp::rt::hyptest {

/// A fresh private directory, removed (recursively) at scope exit.
class TempDir {
public:
  TempDir() {
    const char *base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/hyprt-test-XXXXXX";
    path_ = mkdtemp(&tmpl[0]) ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty() && getenv("HYP_TEST_KEEP_TMP") == nullptr)
      std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

/// Sets an environment variable for a scope and restores the old value.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const std::string &value) : name_(name) {
    if (const char *old = getenv(name)) {
      had_ = true;
      old_ = old;
    }
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

private:
  const char *name_;
  bool had_ = false;
  std::string old_;
};

inline std::string readFile(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
inline void writeFile(const std::string &p, const std::string &bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << bytes;
}
inline bool exists(const std::string &p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

} // namespace hyp::rt::hyptest

#endif
