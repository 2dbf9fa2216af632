//===- EmulatedProgram.cpp - emitted kernels, built for the CPU ------------===//
#include "EmulatedProgram.h"

#include "hyp/Runtime/Metadata.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <dlfcn.h>

using namespace hyp::test;

// The emulation header, embedded at build time (no source-tree path needed
// where the test binary is carried).
#include "CudaEmulationHeader.inc"

namespace {
uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
float fromBf16(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t toF16(float f) {
  _Float16 h = _Float16(f);
  uint16_t b;
  std::memcpy(&b, &h, 2);
  return b;
}
float fromF16(uint16_t b) {
  _Float16 h;
  std::memcpy(&h, &b, 2);
  return float(h);
}
int64_t dimValue(const llvm::json::Value &d, int64_t M, const llvm::json::Object &adapter) {
  if (auto i = d.getAsInteger())
    return *i;
  std::string s = d.getAsString().value_or("").str();
  if (s == "M") return M;
  if (s == "K") return *adapter.getInteger("K");
  if (s == "N") return *adapter.getInteger("N");
  if (s == "r") return *adapter.getInteger("r");
  return -1;
}
} // namespace

void HostBuffer::allocate(const std::string &elemType, int64_t n, int64_t offset) {
  elem = elemType;
  count = n;
  offsetElems = offset;
  bytes.assign((n + offset + 8) * elemSize(), 0);
}

double HostBuffer::get(int64_t i) const {
  const unsigned char *p = bytes.data() + (offsetElems + i) * (elem == "f32" ? 4 : 2);
  if (elem == "f32") {
    float f;
    std::memcpy(&f, p, 4);
    return f;
  }
  uint16_t b;
  std::memcpy(&b, p, 2);
  return elem == "bf16" ? fromBf16(b) : fromF16(b);
}

void HostBuffer::set(int64_t i, double v) {
  unsigned char *p = bytes.data() + (offsetElems + i) * elemSize();
  if (elem == "f32") {
    float f = float(v);
    std::memcpy(p, &f, 4);
    return;
  }
  uint16_t b = elem == "bf16" ? toBf16(float(v)) : toF16(float(v));
  std::memcpy(p, &b, 2);
}

std::vector<double> HostBuffer::toDoubles() const {
  std::vector<double> out(count);
  for (int64_t i = 0; i < count; ++i)
    out[i] = get(i);
  return out;
}

void HostBuffer::fill(double v) {
  for (int64_t i = 0; i < count; ++i)
    set(i, v);
}

EmulatedProgram::~EmulatedProgram() {
  if (handle_)
    dlclose(handle_);
  if (!dir_.empty())
    llvm::sys::fs::remove_directories(dir_);
}

std::string EmulatedProgram::build(const std::string &source, const std::string &metadataJson,
                                   const std::map<std::string, int64_t> &config, bool *isSkip) {
  *isSkip = false;
  auto md = llvm::json::parse(metadataJson);
  if (!md)
    return "metadata does not parse: " + llvm::toString(md.takeError());
  metadata_ = std::move(*md);
  config_ = config;
  // A config must be one the metadata lists (the autotuner only tries those):
  // a value outside a kernel's list would test a kernel nobody runs.
  for (auto &[name, value] : config)
    for (const llvm::json::Value &k : *metadata().getArray("kernels"))
      for (const llvm::json::Value &tv : *k.getAsObject()->getArray("tunables")) {
        const llvm::json::Object &t = *tv.getAsObject();
        if (*t.getString("name") != name)
          continue;
        bool listed = false;
        for (const llvm::json::Value &v : *t.getArray("values"))
          listed |= v.getAsInteger() == value;
        if (!listed)
          return "config " + name + "=" + std::to_string(value) + " is not among kernel " +
                 k.getAsObject()->getString("name")->str() + "'s tunable values";
      }
  const char *cxxEnv = std::getenv("HYP_EMU_CXX");
  auto cxx = llvm::sys::findProgramByName(cxxEnv && *cxxEnv ? cxxEnv : "c++");
  if (!cxx) {
    *isSkip = true;
    return "no host C++ compiler (c++ or $HYP_EMU_CXX) to build the CPU emulation";
  }
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("hyp-emu", dir))
    return "cannot create a temporary directory";
  dir_ = dir.str().str();
  std::string header = dir_ + "/CudaEmulation.h", src = dir_ + "/kernels.cpp",
              lib = dir_ + "/kernels.so", log = dir_ + "/build.log";
  {
    std::error_code ec;
    llvm::raw_fd_ostream h(header, ec);
    for (const char *chunk : cuda_emulation_header_chunks)
      h << chunk;
    llvm::raw_fd_ostream s(src, ec);
    s << source << "\n// CPU emulation entry points\n";
    for (const llvm::json::Value &k : *metadata().getArray("kernels"))
      s << "HYP_EMU_EXPORT(" << k.getAsObject()->getString("name")->str() << ")\n";
  }
  std::vector<std::string> args = {*cxx, "-std=c++20", "-O1", "-fPIC", "-shared", "-w",
                                   "-pthread", "-include", header};
  for (auto &[name, value] : config)
    args.push_back("-D" + name + "=" + std::to_string(value));
  args.insert(args.end(), {"-x", "c++", src, "-o", lib});
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(*cxx, argv, std::nullopt, redirects, 300, 0, &err);
  if (rc != 0) {
    auto text = llvm::MemoryBuffer::getFile(log);
    return "host compile of the emitted CUDA failed (" + err + "):\n" +
           (text ? (*text)->getBuffer().take_front(6000).str() : std::string());
  }
  handle_ = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_)
    return std::string("dlopen: ") + dlerror();
  return "";
}

std::map<std::string, HostBuffer>
EmulatedProgram::allocateBuffers(int64_t M, const std::vector<std::string> &unaligned) const {
  std::map<std::string, HostBuffer> out;
  const llvm::json::Object &adapter = *metadata().getObject("adapter");
  for (auto &[name, bv] : *metadata().getObject("buffers")) {
    const llvm::json::Object &b = *bv.getAsObject();
    int64_t n = 1;
    for (const llvm::json::Value &d : *b.getArray("shape"))
      n *= dimValue(d, M, adapter);
    bool shift = std::find(unaligned.begin(), unaligned.end(), name.str()) != unaligned.end();
    out[name.str()].allocate(b.getString("elem")->str(), n, shift ? 1 : 0);
  }
  return out;
}

std::vector<std::string> EmulatedProgram::accumulateBuffers(const std::string &entry) const {
  std::vector<std::string> out;
  const llvm::json::Array *order = metadata().getObject("programs")->getArray(entry);
  for (const llvm::json::Value &kn : *order)
    for (const llvm::json::Value &k : *metadata().getArray("kernels")) {
      const llvm::json::Object &ko = *k.getAsObject();
      if (*ko.getString("name") != *kn.getAsString())
        continue;
      for (const llvm::json::Value &p : *ko.getArray("params"))
        if (p.getAsObject()->getString("access") == llvm::StringRef("accumulate"))
          out.push_back(p.getAsObject()->getString("name")->str());
    }
  return out;
}

std::string EmulatedProgram::run(const std::string &entry,
                                 std::map<std::string, HostBuffer> &buffers, int64_t M,
                                 float scaling) {
  const llvm::json::Object *programs = metadata().getObject("programs");
  const llvm::json::Array *order = programs ? programs->getArray(entry) : nullptr;
  if (!order)
    return "metadata has no programs." + entry;
  for (const llvm::json::Value &kn : *order) {
    std::string name = kn.getAsString()->str();
    const llvm::json::Object *kernel = nullptr;
    for (const llvm::json::Value &k : *metadata().getArray("kernels"))
      if (*k.getAsObject()->getString("name") == name)
        kernel = k.getAsObject();
    if (!kernel)
      return "kernel " + name + " of programs." + entry + " is not in the metadata";
    auto tunable = [&](llvm::StringRef t) -> int64_t {
      auto it = config_.find(t.str());
      if (it != config_.end())
        return it->second;
      for (const llvm::json::Value &tv : *kernel->getArray("tunables"))
        if (*tv.getAsObject()->getString("name") == t)
          return *tv.getAsObject()->getInteger("default");
      return -1;
    };
    std::vector<void *> ptrs(kernel->getArray("params")->size());
    std::vector<void *> args;
    int64_t Mv = M;
    float sv = scaling;
    size_t i = 0;
    for (const llvm::json::Value &pv : *kernel->getArray("params")) {
      const llvm::json::Object &p = *pv.getAsObject();
      std::string pname = p.getString("name")->str(), kind = p.getString("kind")->str();
      if (kind == "ptr") {
        auto it = buffers.find(pname);
        if (it == buffers.end())
          return "kernel " + name + " needs buffer " + pname;
        ptrs[i] = it->second.data();
        args.push_back(&ptrs[i]);
      } else if (kind == "i64" && pname == "M") {
        args.push_back(&Mv);
      } else if (kind == "f32" && pname == "scaling") {
        args.push_back(&sv);
      } else {
        return "kernel " + name + ": unknown scalar param " + pname;
      }
      ++i;
    }
    int grid[3];
    for (int a = 0; a < 3; ++a) {
      const llvm::json::Object &ax = *(*kernel->getArray("grid"))[a].getAsObject();
      if (auto c = ax.getInteger("const")) {
        grid[a] = int(*c);
        continue;
      }
      if (auto t = ax.getString("tunable")) { // a count, e.g. the split-K slices
        grid[a] = int(tunable(*t));
        continue;
      }
      int64_t extent = *ax.getString("extent") == "M" ? M : -1;
      int64_t tile = ax.getString("tile") ? tunable(*ax.getString("tile")) : 1;
      if (extent < 0 || tile <= 0)
        return "kernel " + name + ": cannot evaluate grid axis";
      grid[a] = int((extent + tile - 1) / tile);
    }
    int block = 0;
    if (auto b = kernel->getInteger("block"))
      block = int(*b);
    else
      block = int(tunable(*kernel->getString("block")));
    if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0)
      continue; // nothing to do (M = 0): the runtime skips such launches too
    // Dynamic shared memory as the runtime sizes it: the metadata's integer
    // or expression over the config's tunables.
    int64_t smem = 0;
    if (const llvm::json::Value *dv = kernel->get("dynamic_smem")) {
      std::string expr = dv->getAsString() ? dv->getAsString()->str()
                                           : std::to_string(dv->getAsInteger().value_or(-1));
      hyp::rt::Status st = hyp::rt::evalIntExpr(
          expr, [&](const std::string &t, int64_t *v) { return (*v = tunable(t)) >= 0; }, &smem);
      if (!st.ok)
        return "kernel " + name + ": dynamic_smem: " + st.message;
    }
    using Launch = void (*)(void **, int, int, int, int, unsigned);
    auto fn = reinterpret_cast<Launch>(dlsym(handle_, ("hyp_emu_launch_" + name).c_str()));
    if (!fn)
      return "no emulated entry for " + name;
    fn(args.data(), grid[0], grid[1], grid[2], block, unsigned(smem));
  }
  return "";
}
