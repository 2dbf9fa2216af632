//===- Autotune.cpp - candidates, tuning keys, tuning files (no GPU) ------===//
#include "hyp/Runtime/Autotune.h"
#include "hyp/Runtime/CacheKey.h"
#include "hyp/Runtime/KernelCache.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace hyp::rt {

//===----------------------------------------------------------------------===//
// Modes
//===----------------------------------------------------------------------===//
namespace {
std::atomic<int> gMode{-1};
std::atomic<int> gPrint{-1};
} // namespace

Status parseAutotuneMode(const std::string &t, AutotuneMode *out) {
  if (t == "0" || t == "off") *out = AutotuneMode::Off;
  else if (t == "1" || t == "on" || t.empty()) *out = AutotuneMode::On;
  else if (t == "exhaustive" || t == "2") *out = AutotuneMode::Exhaustive;
  else return Status::error("HYP_AUTOTUNE='" + t + "': expected 0, 1 or exhaustive");
  return Status::success();
}

AutotuneMode autotuneMode() {
  int m = gMode.load();
  if (m < 0) {
    AutotuneMode parsed = AutotuneMode::On;
    if (const char *e = getenv("HYP_AUTOTUNE")) {
      Status st = parseAutotuneMode(e, &parsed);
      if (!st.ok) {
        fprintf(stderr, "hyprt: %s; using 1\n", st.message.c_str());
        parsed = AutotuneMode::On;
      }
    }
    int expected = -1;
    gMode.compare_exchange_strong(expected, int(parsed));
    m = gMode.load();
  }
  return AutotuneMode(m);
}
void setAutotuneMode(AutotuneMode m) { gMode.store(int(m)); }

bool printAutotuning() {
  int p = gPrint.load();
  if (p < 0) {
    const char *e = getenv("HYP_PRINT_AUTOTUNING");
    p = (e && *e && std::string(e) != "0") ? 1 : 0;
    gPrint.store(p);
  }
  return p == 1;
}
void setPrintAutotuning(bool on) { gPrint.store(on ? 1 : 0); }

//===----------------------------------------------------------------------===//
// Candidates
//===----------------------------------------------------------------------===//
int64_t shapeBucket(int64_t v) {
  if (v <= 0)
    return 0;
  int64_t b = 1;
  while (b < v && b < (int64_t(1) << 62))
    b <<= 1;
  return b;
}

namespace {
int64_t lookupInt(const std::vector<std::pair<std::string, int64_t>> &ints,
                  const std::string &name) {
  for (const auto &[n, v] : ints)
    if (n == name)
      return v;
  return -1;
}

struct Scored {
  TuningConfig config;
  double score;
  bool isDefault;
};
} // namespace

Status candidateConfigs(const KernelInfo &k,
                        const std::vector<std::pair<std::string, int64_t>> &ints,
                        const DeviceLimits &lim, AutotuneMode mode,
                        std::vector<TuningConfig> *out) {
  out->clear();
  size_t space = 1;
  for (const Tunable &t : k.tunables) {
    space *= t.values.size();
    if (space > kMaxConfigSpace)
      return Status::error("kernel " + k.name + ": tunable space has more than " +
                           std::to_string(kMaxConfigSpace) + " configs");
  }
  TuningConfig def = defaultConfig(k);
  if (mode == AutotuneMode::Off) {
    out->push_back(def);
    return Status::success();
  }

  // Extent of each grid axis for this shape (-1 when unknown).
  int64_t extent[3] = {-1, -1, -1};
  for (int a = 0; a < 3; ++a)
    if (!k.grid[a].isConst)
      extent[a] = lookupInt(ints, k.grid[a].extent);

  std::vector<Scored> all;
  TuningConfig c(k.tunables.size());
  std::vector<size_t> pos(k.tunables.size(), 0);
  for (size_t n = 0; n < space; ++n) {
    for (size_t i = 0; i < c.size(); ++i)
      c[i] = k.tunables[i].values[pos[i]];
    // advance the odometer
    for (size_t i = 0; i < pos.size(); ++i) {
      if (++pos[i] < k.tunables[i].values.size())
        break;
      pos[i] = 0;
    }
    if (!validateConfig(k, c).ok)
      continue;
    int64_t threads = blockThreads(k, c);
    if (threads < 1 || threads > lim.maxThreadsPerBlock)
      continue;
    int64_t smem = 0;
    if (!dynamicSmemBytes(k, c, &smem).ok || smem < 0 || smem > lim.maxSmemPerBlock)
      continue;
    // Cost model: fill the GPU (threads in flight vs. its capacity) and do
    // not waste work on ragged last tiles.
    double blocks = 1, waste = 0;
    int tiled = 0;
    for (int a = 0; a < 3; ++a) {
      const GridAxis &ax = k.grid[a];
      if (ax.isConst) {
        blocks *= double(ax.constBlocks(c));
        continue;
      }
      int64_t e = std::max<int64_t>(extent[a], 1);
      int64_t t = ax.tileTunable >= 0 ? c[ax.tileTunable] : 1;
      int64_t nb = (e + t - 1) / t;
      blocks *= double(nb);
      if (ax.tileTunable >= 0) {
        waste += double(nb * t - e) / double(nb * t);
        ++tiled;
      }
    }
    double capacity = double(lim.smCount) * lim.maxThreadsPerSM;
    double fill = std::min(1.0, blocks * double(threads) / capacity);
    double score = fill - 0.25 * (tiled ? waste / tiled : 0.0);
    all.push_back({c, score, c == def});
  }
  if (all.empty())
    return Status::error("kernel " + k.name + ": no config satisfies the constraints and the "
                         "device limits");

  if (mode != AutotuneMode::Exhaustive) {
    // Tiles at least as large as the extent all give one block on that axis:
    // keep the smallest of each such family (same values elsewhere).
    std::vector<Scored> kept;
    for (const Scored &s : all) {
      TuningConfig sig = s.config;
      for (int a = 0; a < 3; ++a) {
        const GridAxis &ax = k.grid[a];
        if (!ax.isConst && ax.tileTunable >= 0 && extent[a] > 0 &&
            sig[ax.tileTunable] >= extent[a])
          sig[ax.tileTunable] = -1;
      }
      auto same = std::find_if(kept.begin(), kept.end(), [&](const Scored &o) {
        TuningConfig os = o.config;
        for (int a = 0; a < 3; ++a) {
          const GridAxis &ax = k.grid[a];
          if (!ax.isConst && ax.tileTunable >= 0 && extent[a] > 0 &&
              os[ax.tileTunable] >= extent[a])
            os[ax.tileTunable] = -1;
        }
        return os == sig;
      });
      if (same == kept.end()) {
        kept.push_back(s);
        continue;
      }
      bool smaller = false;
      for (int a = 0; a < 3; ++a) {
        const GridAxis &ax = k.grid[a];
        if (!ax.isConst && ax.tileTunable >= 0 &&
            s.config[ax.tileTunable] < same->config[ax.tileTunable])
          smaller = true;
      }
      if (s.isDefault || (smaller && !same->isDefault))
        *same = s;
    }
    all = std::move(kept);
    std::stable_sort(all.begin(), all.end(),
                     [](const Scored &a, const Scored &b) { return a.score > b.score; });
    if (all.size() > kMaxTunedCandidates) {
      bool defaultKept = false;
      for (size_t i = 0; i < kMaxTunedCandidates; ++i)
        defaultKept |= all[i].isDefault;
      auto d = std::find_if(all.begin(), all.end(), [](const Scored &s) { return s.isDefault; });
      if (!defaultKept && d != all.end())
        std::swap(all[kMaxTunedCandidates - 1], *d);
      all.resize(kMaxTunedCandidates);
    }
  }
  // The default first: it is the baseline and the fallback.
  auto first = std::find_if(all.begin(), all.end(), [](const Scored &s) { return s.isDefault; });
  if (first != all.end())
    std::rotate(all.begin(), first, first + 1);
  for (Scored &s : all)
    out->push_back(std::move(s.config));
  return Status::success();
}

//===----------------------------------------------------------------------===//
// Keys
//===----------------------------------------------------------------------===//
std::string tuningKey(const KernelInfo &k, const std::string &programIdentity,
                      const std::string &arch,
                      const std::vector<std::pair<std::string, int64_t>> &ints) {
  std::string s = "hyprt-tune-v1;kernel=" + k.name + ";params=";
  for (const ParamInfo &p : k.params) {
    s += p.name + ":" + paramKindName(p.kind);
    if (p.kind == ParamKind::Ptr)
      s += std::string(":") + elemTypeName(p.elem) + ":" + std::to_string(int(p.access));
    s += ",";
  }
  s += ";space=";
  for (const Tunable &t : k.tunables) {
    s += t.name + "[";
    for (int64_t v : t.values)
      s += std::to_string(v) + " ";
    s += "]=" + std::to_string(t.defaultValue) + ",";
  }
  s += ";constraints=";
  for (const std::string &c : k.constraints)
    s += c + ",";
  s += ";grid=";
  for (const GridAxis &a : k.grid)
    s += !a.isConst ? a.extent + "/" + a.tile + ","
         : a.tileTunable >= 0 ? "#" + a.tile + ","
                              : std::to_string(a.constValue) + ",";
  s += ";block=" + (k.blockTunable.empty() ? std::to_string(k.blockConst) : k.blockTunable);
  s += ";smem=" + k.dynamicSmem + ";arch=" + arch + ";program=" + programIdentity + ";ints=";
  for (const auto &[n, v] : ints)
    s += n + ":" + std::to_string(v) + ",";
  return s;
}

std::string tuningFileName(const std::string &key) { return sha256Hex(key) + ".json"; }

//===----------------------------------------------------------------------===//
// Tuning files
//===----------------------------------------------------------------------===//
namespace {
constexpr const char *kTuningFormat = "hyprt-tuning 1";
}

std::string encodeTuningRecord(const TuningRecord &r) {
  llvm::json::Object cfg;
  for (const auto &[n, v] : r.config)
    cfg[n] = v;
  llvm::json::Array cands;
  for (const TunedCandidate &c : r.candidates) {
    llvm::json::Object o{{"config", c.config}};
    if (c.error.empty())
      o["ms"] = c.ms;
    else
      o["error"] = c.error;
    cands.push_back(std::move(o));
  }
  llvm::json::Object root{{"format", kTuningFormat},  {"key", r.key},
                          {"kernel", r.kernel},       {"arch", r.arch},
                          {"config", std::move(cfg)}, {"best_ms", r.bestMs},
                          {"runtime", runtimeVersion()}, {"candidates", std::move(cands)}};
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)));
  os << "\n";
  os.flush();
  return out;
}

Status decodeTuningRecord(const std::string &text, const std::string &expectedKey,
                          TuningRecord *out) {
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(text);
  if (!v)
    return Status::error("tuning file: not valid JSON: " + llvm::toString(v.takeError()));
  const llvm::json::Object *o = v->getAsObject();
  if (!o)
    return Status::error("tuning file: not an object");
  auto fmt = o->getString("format");
  if (!fmt || *fmt != kTuningFormat)
    return Status::error("tuning file: format is not '" + std::string(kTuningFormat) + "'");
  auto key = o->getString("key");
  if (!key || *key != expectedKey)
    return Status::error("tuning file: key mismatch");
  TuningRecord r;
  r.key = key->str();
  if (auto k = o->getString("kernel")) r.kernel = k->str();
  if (auto a = o->getString("arch")) r.arch = a->str();
  if (auto b = o->getNumber("best_ms")) r.bestMs = *b;
  const llvm::json::Object *cfg = o->getObject("config");
  if (!cfg)
    return Status::error("tuning file: no config");
  for (const auto &kv : *cfg) {
    auto iv = kv.second.getAsInteger();
    if (!iv)
      return Status::error("tuning file: config value of " + kv.first.str() +
                           " is not an integer");
    r.config[kv.first.str()] = *iv;
  }
  if (const llvm::json::Array *cs = o->getArray("candidates"))
    for (const llvm::json::Value &cv : *cs)
      if (const llvm::json::Object *co = cv.getAsObject()) {
        TunedCandidate c;
        if (auto s = co->getString("config")) c.config = s->str();
        if (auto m = co->getNumber("ms")) c.ms = *m;
        if (auto e = co->getString("error")) {
          c.error = e->str();
          c.ms = std::numeric_limits<double>::infinity();
        }
        r.candidates.push_back(c);
      }
  *out = std::move(r);
  return Status::success();
}

Status loadTuningRecord(const std::string &dir, const std::string &key, TuningRecord *out,
                        bool *found, std::string *whyNot) {
  *found = false;
  std::string text;
  bool exists = false;
  Status st = readTrustedFile(dir + "/" + tuningFileName(key), &text, &exists);
  if (!st.ok) {
    *whyNot = st.message;
    return Status::success();
  }
  if (!exists) {
    *whyNot = "absent";
    return Status::success();
  }
  st = decodeTuningRecord(text, key, out);
  if (!st.ok) {
    *whyNot = st.message;
    return Status::success();
  }
  *found = true;
  return Status::success();
}

Status storeTuningRecord(const std::string &dir, const TuningRecord &r) {
  return writeFileAtomic(dir + "/" + tuningFileName(r.key), encodeTuningRecord(r));
}

} // namespace hyp::rt
