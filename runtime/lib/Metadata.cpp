//===- Metadata.cpp - parse and validate the kernel metadata JSON ---------===//
#include "hyp/Runtime/Metadata.h"

#include "llvm/Support/JSON.h"

#include <cctype>
#include <optional>
#include <set>

namespace hyp::rt {

const char *paramKindName(ParamKind k) {
  switch (k) {
  case ParamKind::Ptr: return "ptr";
  case ParamKind::I32: return "i32";
  case ParamKind::I64: return "i64";
  case ParamKind::F32: return "f32";
  }
  return "?";
}

const char *elemTypeName(ElemType e) {
  switch (e) {
  case ElemType::None: return "none";
  case ElemType::F32: return "f32";
  case ElemType::BF16: return "bf16";
  case ElemType::F16: return "f16";
  case ElemType::F64: return "f64";
  case ElemType::I32: return "i32";
  }
  return "?";
}

int elemTypeBytes(ElemType e) {
  switch (e) {
  case ElemType::F32: case ElemType::I32: return 4;
  case ElemType::BF16: case ElemType::F16: return 2;
  case ElemType::F64: return 8;
  case ElemType::None: return 0;
  }
  return 0;
}

int KernelInfo::tunableIndex(const std::string &n) const {
  for (size_t i = 0; i < tunables.size(); ++i)
    if (tunables[i].name == n)
      return int(i);
  return -1;
}
int KernelInfo::paramIndex(const std::string &n) const {
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].name == n)
      return int(i);
  return -1;
}
int ProgramMetadata::kernelIndex(const std::string &n) const {
  for (size_t i = 0; i < kernels.size(); ++i)
    if (kernels[i].name == n)
      return int(i);
  return -1;
}

//===----------------------------------------------------------------------===//
// Integer expressions (constraints, dynamic_smem)
//===----------------------------------------------------------------------===//
namespace {
class ExprParser {
public:
  ExprParser(const std::string &text,
             const std::function<bool(const std::string &, int64_t *)> &lookup)
      : s(text), lookup(lookup) {}

  Status parse(int64_t *out) {
    int64_t v = 0;
    HYP_RT_TRY(parseOr(&v));
    skip();
    if (pos != s.size())
      return fail("unexpected '" + s.substr(pos, 1) + "'");
    *out = v;
    return Status::success();
  }

private:
  const std::string &s;
  const std::function<bool(const std::string &, int64_t *)> &lookup;
  size_t pos = 0;

  Status fail(const std::string &why) {
    return Status::error("expression '" + s + "' at offset " + std::to_string(pos) + ": " +
                         why);
  }
  void skip() {
    while (pos < s.size() && std::isspace((unsigned char)s[pos]))
      ++pos;
  }
  bool eat(const char *tok) {
    skip();
    size_t n = std::char_traits<char>::length(tok);
    if (s.compare(pos, n, tok) == 0) {
      pos += n;
      return true;
    }
    return false;
  }
  Status parseOr(int64_t *v) {
    HYP_RT_TRY(parseAnd(v));
    while (eat("||")) {
      int64_t r;
      HYP_RT_TRY(parseAnd(&r));
      *v = (*v != 0 || r != 0);
    }
    return Status::success();
  }
  Status parseAnd(int64_t *v) {
    HYP_RT_TRY(parseCmp(v));
    while (eat("&&")) {
      int64_t r;
      HYP_RT_TRY(parseCmp(&r));
      *v = (*v != 0 && r != 0);
    }
    return Status::success();
  }
  Status parseCmp(int64_t *v) {
    HYP_RT_TRY(parseAdd(v));
    for (;;) {
      int op;
      if (eat("<=")) op = 0;
      else if (eat(">=")) op = 1;
      else if (eat("==")) op = 2;
      else if (eat("!=")) op = 3;
      else if (eat("<")) op = 4;
      else if (eat(">")) op = 5;
      else return Status::success();
      int64_t r;
      HYP_RT_TRY(parseAdd(&r));
      switch (op) {
      case 0: *v = *v <= r; break;
      case 1: *v = *v >= r; break;
      case 2: *v = *v == r; break;
      case 3: *v = *v != r; break;
      case 4: *v = *v < r; break;
      default: *v = *v > r; break;
      }
    }
  }
  Status parseAdd(int64_t *v) {
    HYP_RT_TRY(parseMul(v));
    for (;;) {
      bool plus;
      if (eat("+")) plus = true;
      else if (eat("-")) plus = false;
      else return Status::success();
      int64_t r;
      HYP_RT_TRY(parseMul(&r));
      *v = plus ? *v + r : *v - r;
    }
  }
  Status parseMul(int64_t *v) {
    HYP_RT_TRY(parseUnary(v));
    for (;;) {
      char op;
      if (eat("*")) op = '*';
      else if (eat("/")) op = '/';
      else if (eat("%")) op = '%';
      else return Status::success();
      int64_t r;
      HYP_RT_TRY(parseUnary(&r));
      if (op == '*') {
        *v = *v * r;
      } else {
        if (r == 0)
          return fail("division by zero");
        *v = op == '/' ? *v / r : *v % r;
      }
    }
  }
  Status parseUnary(int64_t *v) {
    if (eat("-")) {
      HYP_RT_TRY(parseUnary(v));
      *v = -*v;
      return Status::success();
    }
    if (eat("!")) {
      HYP_RT_TRY(parseUnary(v));
      *v = !*v;
      return Status::success();
    }
    return parsePrimary(v);
  }
  Status parsePrimary(int64_t *v) {
    skip();
    if (pos >= s.size())
      return fail("unexpected end");
    if (eat("(")) {
      HYP_RT_TRY(parseOr(v));
      if (!eat(")"))
        return fail("missing ')'");
      return Status::success();
    }
    char c = s[pos];
    if (std::isdigit((unsigned char)c)) {
      int64_t n = 0;
      while (pos < s.size() && std::isdigit((unsigned char)s[pos])) {
        if (n > (INT64_MAX - 9) / 10)
          return fail("integer too large");
        n = n * 10 + (s[pos++] - '0');
      }
      *v = n;
      return Status::success();
    }
    if (std::isalpha((unsigned char)c) || c == '_') {
      size_t start = pos;
      while (pos < s.size() && (std::isalnum((unsigned char)s[pos]) || s[pos] == '_'))
        ++pos;
      std::string name = s.substr(start, pos - start);
      if (!lookup(name, v))
        return fail("unknown name '" + name + "'");
      return Status::success();
    }
    return fail(std::string("unexpected '") + c + "'");
  }
};

bool isIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum((unsigned char)c) || c == '_'))
      return false;
  return true;
}
} // namespace

Status evalIntExpr(const std::string &expr,
                   const std::function<bool(const std::string &, int64_t *)> &lookup,
                   int64_t *out) {
  return ExprParser(expr, lookup).parse(out);
}

//===----------------------------------------------------------------------===//
// Configs
//===----------------------------------------------------------------------===//
TuningConfig defaultConfig(const KernelInfo &k) {
  TuningConfig c;
  for (const Tunable &t : k.tunables)
    c.push_back(t.defaultValue);
  return c;
}

std::string configToString(const KernelInfo &k, const TuningConfig &c) {
  std::string s;
  for (size_t i = 0; i < k.tunables.size() && i < c.size(); ++i) {
    if (i)
      s += ",";
    s += k.tunables[i].name + "=" + std::to_string(c[i]);
  }
  return s;
}

static std::function<bool(const std::string &, int64_t *)>
configLookup(const KernelInfo &k, const TuningConfig &c) {
  return [&k, &c](const std::string &name, int64_t *v) {
    int i = k.tunableIndex(name);
    if (i < 0 || size_t(i) >= c.size())
      return false;
    *v = c[i];
    return true;
  };
}

Status validateConfig(const KernelInfo &k, const TuningConfig &c) {
  if (c.size() != k.tunables.size())
    return Status::error("kernel " + k.name + ": config has " + std::to_string(c.size()) +
                         " values for " + std::to_string(k.tunables.size()) + " tunables");
  for (size_t i = 0; i < c.size(); ++i) {
    const Tunable &t = k.tunables[i];
    bool allowed = false;
    for (int64_t v : t.values)
      allowed |= v == c[i];
    if (!allowed)
      return Status::error("kernel " + k.name + ": " + t.name + "=" + std::to_string(c[i]) +
                           " is not one of its values");
  }
  auto lookup = configLookup(k, c);
  for (const std::string &expr : k.constraints) {
    int64_t v = 0;
    HYP_RT_TRY(evalIntExpr(expr, lookup, &v));
    if (!v)
      return Status::error("kernel " + k.name + ": config " + configToString(k, c) +
                           " violates constraint '" + expr + "'");
  }
  return Status::success();
}

Status configFromMap(const KernelInfo &k, const std::map<std::string, int64_t> &values,
                     TuningConfig *out) {
  TuningConfig c = defaultConfig(k);
  for (const auto &[name, v] : values) {
    int i = k.tunableIndex(name);
    if (i < 0)
      return Status::error("kernel " + k.name + " has no tunable '" + name + "'");
    c[i] = v;
  }
  HYP_RT_TRY(validateConfig(k, c));
  *out = std::move(c);
  return Status::success();
}

int64_t blockThreads(const KernelInfo &k, const TuningConfig &c) {
  if (k.blockTunableIndex >= 0 && size_t(k.blockTunableIndex) < c.size())
    return c[k.blockTunableIndex];
  return k.blockConst;
}

Status dynamicSmemBytes(const KernelInfo &k, const TuningConfig &c, int64_t *out) {
  return evalIntExpr(k.dynamicSmem, configLookup(k, c), out);
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//
namespace {
using llvm::json::Array;
using llvm::json::Object;
using llvm::json::Value;

Status bad(const std::string &path, const std::string &why) {
  return Status::error("metadata: " + path + ": " + why);
}

Status getString(const Object &o, const std::string &path, const char *key, std::string *out,
                 bool required = true) {
  const Value *v = o.get(key);
  if (!v) {
    if (required)
      return bad(path + "." + key, "missing");
    return Status::success();
  }
  auto s = v->getAsString();
  if (!s)
    return bad(path + "." + key, "not a string");
  *out = s->str();
  return Status::success();
}

Status parseElem(const std::string &s, const std::string &path, ElemType *out) {
  if (s == "f32") *out = ElemType::F32;
  else if (s == "bf16") *out = ElemType::BF16;
  else if (s == "f16") *out = ElemType::F16;
  else if (s == "f64") *out = ElemType::F64;
  else if (s == "i32") *out = ElemType::I32;
  else return bad(path, "unknown elem '" + s + "' (f32|bf16|f16|f64|i32)");
  return Status::success();
}

Status parseParam(const Value &v, const std::string &path, ParamInfo *p) {
  const Object *o = v.getAsObject();
  if (!o)
    return bad(path, "not an object");
  HYP_RT_TRY(getString(*o, path, "name", &p->name));
  if (!isIdentifier(p->name))
    return bad(path + ".name", "'" + p->name + "' is not an identifier");
  std::string kind;
  HYP_RT_TRY(getString(*o, path, "kind", &kind));
  if (kind == "ptr") p->kind = ParamKind::Ptr;
  else if (kind == "i32") p->kind = ParamKind::I32;
  else if (kind == "i64") p->kind = ParamKind::I64;
  else if (kind == "f32") p->kind = ParamKind::F32;
  else return bad(path + ".kind", "unknown kind '" + kind + "' (ptr|i32|i64|f32)");
  if (p->kind != ParamKind::Ptr)
    return Status::success();
  std::string elem, access;
  HYP_RT_TRY(getString(*o, path, "elem", &elem));
  HYP_RT_TRY(parseElem(elem, path + ".elem", &p->elem));
  HYP_RT_TRY(getString(*o, path, "access", &access));
  if (access == "read") p->access = Access::Read;
  else if (access == "write") p->access = Access::Write;
  else if (access == "readwrite") p->access = Access::ReadWrite;
  else if (access == "accumulate") p->access = Access::Accumulate;
  else return bad(path + ".access", "unknown access '" + access +
                                        "' (read|write|readwrite|accumulate)");
  return Status::success();
}

Status parseInt(const Value &v, const std::string &path, int64_t *out) {
  auto i = v.getAsInteger();
  if (!i)
    return bad(path, "not an integer");
  *out = *i;
  return Status::success();
}

Status parseKernel(const Value &v, const std::string &path, KernelInfo *k) {
  const Object *o = v.getAsObject();
  if (!o)
    return bad(path, "not an object");
  HYP_RT_TRY(getString(*o, path, "name", &k->name));
  if (!isIdentifier(k->name))
    return bad(path + ".name", "'" + k->name + "' is not a C identifier");

  const Array *params = o->getArray("params");
  if (!params)
    return bad(path + ".params", "missing or not an array");
  std::set<std::string> seen;
  for (size_t i = 0; i < params->size(); ++i) {
    ParamInfo p;
    HYP_RT_TRY(parseParam((*params)[i], path + ".params[" + std::to_string(i) + "]", &p));
    if (!seen.insert(p.name).second)
      return bad(path + ".params[" + std::to_string(i) + "]", "duplicate name '" + p.name + "'");
    k->params.push_back(p);
  }

  if (const Value *tv = o->get("tunables")) {
    const Array *ts = tv->getAsArray();
    if (!ts)
      return bad(path + ".tunables", "not an array");
    for (size_t i = 0; i < ts->size(); ++i) {
      std::string tp = path + ".tunables[" + std::to_string(i) + "]";
      const Object *to = (*ts)[i].getAsObject();
      if (!to)
        return bad(tp, "not an object");
      Tunable t;
      HYP_RT_TRY(getString(*to, tp, "name", &t.name));
      if (!isIdentifier(t.name))
        return bad(tp + ".name", "'" + t.name + "' is not an identifier");
      if (k->tunableIndex(t.name) >= 0)
        return bad(tp + ".name", "duplicate tunable '" + t.name + "'");
      const Array *vals = to->getArray("values");
      if (!vals || vals->empty())
        return bad(tp + ".values", "missing or empty");
      for (size_t j = 0; j < vals->size(); ++j) {
        int64_t x;
        HYP_RT_TRY(parseInt((*vals)[j], tp + ".values[" + std::to_string(j) + "]", &x));
        t.values.push_back(x);
      }
      const Value *dv = to->get("default");
      if (!dv)
        return bad(tp + ".default", "missing");
      HYP_RT_TRY(parseInt(*dv, tp + ".default", &t.defaultValue));
      bool inValues = false;
      for (int64_t x : t.values)
        inValues |= x == t.defaultValue;
      if (!inValues)
        return bad(tp + ".default", std::to_string(t.defaultValue) + " is not one of its values");
      if (const Value *lv = to->get("launch_only")) {
        std::optional<bool> b = lv->getAsBoolean();
        if (!b)
          return bad(tp + ".launch_only", "not a boolean");
        t.launchOnly = *b;
      }
      k->tunables.push_back(t);
    }
  }

  const Array *grid = o->getArray("grid");
  if (!grid || grid->empty() || grid->size() > 3)
    return bad(path + ".grid", "missing, or not 1 to 3 axes");
  for (size_t i = 0; i < grid->size(); ++i) {
    std::string gp = path + ".grid[" + std::to_string(i) + "]";
    const Object *go = (*grid)[i].getAsObject();
    if (!go)
      return bad(gp, "not an object");
    GridAxis &ax = k->grid[i];
    if (const Value *cv = go->get("const")) {
      HYP_RT_TRY(parseInt(*cv, gp + ".const", &ax.constValue));
      if (ax.constValue < 1)
        return bad(gp + ".const", "must be >= 1");
      continue;
    }
    // A grid axis's tunable (a tile, or the block count itself): it must
    // exist and every value be >= 1 (it divides, or is, a block count).
    auto axisTunable = [&](const char *key) -> Status {
      ax.tileTunable = k->tunableIndex(ax.tile);
      if (ax.tileTunable < 0)
        return bad(gp + "." + key, "'" + ax.tile + "' is not a tunable");
      for (int64_t x : k->tunables[ax.tileTunable].values)
        if (x < 1)
          return bad(gp + "." + key, "tunable '" + ax.tile + "' has a value < 1");
      return Status::success();
    };
    if (go->get("tunable")) { // as many blocks as the tunable's value
      HYP_RT_TRY(getString(*go, gp, "tunable", &ax.tile));
      HYP_RT_TRY(axisTunable("tunable"));
      continue;
    }
    ax.isConst = false;
    HYP_RT_TRY(getString(*go, gp, "extent", &ax.extent));
    ax.extentParam = k->paramIndex(ax.extent);
    if (ax.extentParam < 0 || (k->params[ax.extentParam].kind != ParamKind::I32 &&
                               k->params[ax.extentParam].kind != ParamKind::I64))
      return bad(gp + ".extent", "'" + ax.extent + "' is not an integer parameter");
    HYP_RT_TRY(getString(*go, gp, "tile", &ax.tile, /*required=*/false));
    if (!ax.tile.empty())
      HYP_RT_TRY(axisTunable("tile"));
  }

  const Value *bv = o->get("block");
  if (!bv)
    return bad(path + ".block", "missing");
  if (auto bs = bv->getAsString()) {
    k->blockTunable = bs->str();
    k->blockTunableIndex = k->tunableIndex(k->blockTunable);
    if (k->blockTunableIndex < 0)
      return bad(path + ".block", "'" + k->blockTunable + "' is not a tunable");
    if (k->tunables[k->blockTunableIndex].launchOnly) // __launch_bounds__ compiles it in
      return bad(path + ".block", "'" + k->blockTunable + "' is launch_only, but a block size "
                                  "is compiled into the kernel");
  } else {
    HYP_RT_TRY(parseInt(*bv, path + ".block", &k->blockConst));
    if (k->blockConst < 1 || k->blockConst > 1024)
      return bad(path + ".block", "must be in [1, 1024]");
  }

  if (const Value *cv = o->get("constraints")) {
    const Array *cs = cv->getAsArray();
    if (!cs)
      return bad(path + ".constraints", "not an array");
    for (size_t i = 0; i < cs->size(); ++i) {
      auto s = (*cs)[i].getAsString();
      if (!s)
        return bad(path + ".constraints[" + std::to_string(i) + "]", "not a string");
      k->constraints.push_back(s->str());
    }
  }

  if (const Value *sv = o->get("dynamic_smem")) {
    if (auto s = sv->getAsString())
      k->dynamicSmem = s->str();
    else {
      int64_t n;
      HYP_RT_TRY(parseInt(*sv, path + ".dynamic_smem", &n));
      if (n < 0)
        return bad(path + ".dynamic_smem", "negative");
      k->dynamicSmem = std::to_string(n);
    }
  }

  // The default config must be valid: it is what HYP_AUTOTUNE=0 launches.
  TuningConfig d = defaultConfig(*k);
  Status st = validateConfig(*k, d);
  if (!st.ok)
    return bad(path, "default config invalid: " + st.message);
  int64_t smem = 0;
  st = dynamicSmemBytes(*k, d, &smem);
  if (!st.ok)
    return bad(path + ".dynamic_smem", st.message);
  return Status::success();
}
} // namespace

Status parseMetadata(const std::string &json, ProgramMetadata *out) {
  llvm::Expected<Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return Status::error("metadata: not valid JSON: " + llvm::toString(parsed.takeError()));
  const Object *root = parsed->getAsObject();
  if (!root)
    return bad("<root>", "not an object");
  ProgramMetadata md;
  const Value *schema = root->get("schema");
  if (!schema)
    return bad("schema", "missing");
  int64_t sch = 0;
  HYP_RT_TRY(parseInt(*schema, "schema", &sch));
  if (sch != 1)
    return bad("schema", "version " + std::to_string(sch) + " not supported (this runtime reads 1)");
  md.schema = 1;
  HYP_RT_TRY(getString(*root, "<root>", "compiler", &md.compiler));
  if (md.compiler.empty())
    return bad("compiler", "empty (it goes into every cache key)");

  const Array *kernels = root->getArray("kernels");
  if (!kernels || kernels->empty())
    return bad("kernels", "missing or empty");
  for (size_t i = 0; i < kernels->size(); ++i) {
    KernelInfo k;
    HYP_RT_TRY(parseKernel((*kernels)[i], "kernels[" + std::to_string(i) + "]", &k));
    if (md.kernelIndex(k.name) >= 0)
      return bad("kernels[" + std::to_string(i) + "].name", "duplicate kernel '" + k.name + "'");
    md.kernels.push_back(std::move(k));
  }

  const Object *programs = root->getObject("programs");
  if (!programs || programs->empty())
    return bad("programs", "missing or empty");
  for (const auto &kv : *programs) {
    std::string entry = kv.first.str();
    const Array *list = kv.second.getAsArray();
    if (!list || list->empty())
      return bad("programs." + entry, "not a non-empty array");
    std::vector<int> idx;
    for (size_t i = 0; i < list->size(); ++i) {
      auto s = (*list)[i].getAsString();
      int k = s ? md.kernelIndex(s->str()) : -1;
      if (k < 0)
        return bad("programs." + entry + "[" + std::to_string(i) + "]",
                   s ? "unknown kernel '" + s->str() + "'" : "not a string");
      idx.push_back(k);
    }
    md.programs[entry] = idx;
  }

  if (const Object *buffers = root->getObject("buffers")) {
    for (const auto &kv : *buffers) {
      std::string bp = "buffers." + kv.first.str();
      const Object *bo = kv.second.getAsObject();
      if (!bo)
        return bad(bp, "not an object");
      BufferInfo b;
      std::string elem;
      HYP_RT_TRY(getString(*bo, bp, "elem", &elem));
      HYP_RT_TRY(parseElem(elem, bp + ".elem", &b.elem));
      const Array *shape = bo->getArray("shape");
      if (!shape)
        return bad(bp + ".shape", "missing or not an array");
      for (const Value &d : *shape) {
        if (auto s = d.getAsString())
          b.shape.push_back(s->str());
        else if (auto n = d.getAsInteger())
          b.shape.push_back(std::to_string(*n));
        else
          return bad(bp + ".shape", "entries must be names or integers");
      }
      md.buffers[kv.first.str()] = b;
    }
  }

  if (const Object *cs = root->getObject("constants")) {
    for (const auto &kv : *cs) {
      int64_t v;
      HYP_RT_TRY(parseInt(kv.second, "constants." + kv.first.str(), &v));
      md.constants[kv.first.str()] = v;
    }
  }
  // The tuning-key extensions: lists of integer parameter names; present,
  // they replace the default.
  for (auto [key, names] : {std::pair{"bucketed", &md.bucketed}, {"untuned", &md.untuned}}) {
    const Value *v = root->get(key);
    if (!v)
      continue;
    const Array *list = v->getAsArray();
    if (!list)
      return bad(key, "must be an array of parameter names");
    names->clear();
    for (const Value &entry : *list) {
      auto s = entry.getAsString();
      if (!s)
        return bad(key, "entries must be parameter names");
      names->push_back(s->str());
    }
  }

  if (const Array *no = root->getArray("nvrtc_options")) {
    for (size_t i = 0; i < no->size(); ++i) {
      auto s = (*no)[i].getAsString();
      if (!s || !s->starts_with("-"))
        return bad("nvrtc_options[" + std::to_string(i) + "]", "not an option string ('-...')");
      // The runtime owns the target: an arch here would contradict the key.
      if (s->contains("arch") || s->starts_with("--include-path") || s->starts_with("-I"))
        return bad("nvrtc_options[" + std::to_string(i) + "]",
                   "'" + s->str() + "' is set by the runtime (arch, include path)");
      md.nvrtcOptions.push_back(s->str());
    }
  }

  // A name shared by several kernels must mean the same thing everywhere:
  // arguments are passed once per name.
  std::map<std::string, const ParamInfo *> byName;
  for (const KernelInfo &k : md.kernels)
    for (const ParamInfo &p : k.params) {
      auto [it, inserted] = byName.emplace(p.name, &p);
      if (!inserted && (it->second->kind != p.kind || it->second->elem != p.elem))
        return bad("kernels." + k.name + ".params." + p.name,
                   "kind/elem differ from another kernel's parameter of the same name");
    }

  *out = std::move(md);
  return Status::success();
}

} // namespace hyp::rt
