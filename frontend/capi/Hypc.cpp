//===- Hypc.cpp - the C API of libhypc -------------------------------------===//
//
// Validates the descriptor, picks the compile path, and turns every failure
// into text in hypc_output::error. Nothing here aborts: MLIR diagnostics are
// collected by a handler (AdapterBuilder.cpp) and C++ exceptions, where the
// build has them, are caught at this boundary.
//
//===----------------------------------------------------------------------===//
#include "hypc.h"

#include "HypcDriver.h"
#include "hyp/Emitter/AdapterProgram.h"
#include "hyp/Emitter/RowScalarEmitter.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <new>

using namespace hyp;
using namespace hyp::emitter;

#ifndef HYP_VERSION_STRING
#error "HYP_VERSION_STRING must be defined by the build (cmake/HypVersion.cmake)"
#endif

const char *capi::versionString() { return "hypc " HYP_VERSION_STRING; }

bool capi::parseOptions(const char *text, CompileOptions &out, std::string *error) {
  out = CompileOptions();
  if (!text)
    return true;
  llvm::SmallVector<llvm::StringRef> tokens;
  llvm::StringRef(text).split(tokens, ' ', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef tok : tokens) {
    if (tok.consume_front("emit=")) {
      if (tok != "mlir" && tok != "direct" && tok != "auto") {
        *error = "options: emit must be 'auto', 'mlir' or 'direct', got '" + tok.str() + "'";
        return false;
      }
      out.emit = tok.str();
      continue;
    }
    if (tok.consume_front("tensor-cores=")) {
      if (tok != "0" && tok != "1") {
        *error = "options: tensor-cores must be 0 or 1, got '" + tok.str() + "'";
        return false;
      }
      out.tensorCores = tok == "1";
      continue;
    }
    if (tok.consume_front("dy-pass=")) {
      if (tok != "0" && tok != "1") {
        *error = "options: dy-pass must be 0 or 1, got '" + tok.str() + "'";
        return false;
      }
      out.dyPass = tok == "1";
      continue;
    }
    if (tok.consume_front("row-split-cols=")) {
      if (tok == "tuned") {
        out.rowSplitCols = hyp::emitter::kRowSplitTuned;
        continue;
      }
      long long n = -1;
      if (tok.getAsInteger(10, n) || n < 0 || n > (1ll << 30)) {
        *error = "options: row-split-cols must be 'tuned' or an integer in [0, 2^30], got '" +
                 tok.str() + "'";
        return false;
      }
      out.rowSplitCols = n;
      continue;
    }
    if (!out.pipelineOptions.empty())
      out.pipelineOptions += ' ';
    out.pipelineOptions += tok.str();
  }
  return true;
}

void capi::dumpArtifact(const std::string &name, const std::string &text) {
  const char *dir = std::getenv("HYP_DUMP_DIR");
  if (!dir || !*dir)
    return;
  if (llvm::sys::fs::create_directories(dir))
    return;
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (!ec)
    os << text;
}

namespace {

bool parseDesc(const hypc_adapter_desc *desc, AdapterSpec &spec, std::string &error) {
  if (!desc) {
    error = "hypc_compile_adapter: desc is NULL";
    return false;
  }
  llvm::StringRef variant = desc->variant ? desc->variant : "";
  if (variant == "hyplora")
    spec.variant = Variant::HypLoRA;
  else if (variant == "hyplora_simplified")
    spec.variant = Variant::Simplified;
  else if (variant == "lora")
    spec.variant = Variant::LoRA;
  else {
    error = "unknown variant '" + variant.str() +
            "' (expected hyplora, hyplora_simplified or lora)";
    return false;
  }
  llvm::StringRef convention = desc->convention ? desc->convention : "reference";
  if (convention == "reference" || convention.empty())
    spec.convention = Convention::Reference;
  else if (convention == "lorentz")
    spec.convention = Convention::Lorentz;
  else if (spec.variant == Variant::HypLoRA) {
    error = "unknown convention '" + convention.str() + "' (expected reference or lorentz)";
    return false;
  }
  llvm::StringRef dtype = desc->act_dtype ? desc->act_dtype : "";
  if (dtype == "f32")
    spec.actDType = ActDType::F32;
  else if (dtype == "bf16")
    spec.actDType = ActDType::BF16;
  else if (dtype == "f16")
    spec.actDType = ActDType::F16;
  else {
    error = "unknown act_dtype '" + dtype.str() + "' (expected f32, bf16 or f16)";
    return false;
  }
  spec.inFeatures = desc->in_features;
  spec.outFeatures = desc->out_features;
  spec.rank = desc->rank;
  spec.maxSinhArg = desc->max_sinh_arg;
  if (auto err = validateSpec(spec)) {
    error = llvm::toString(std::move(err));
    return false;
  }
  return true;
}

bool compileDirect(const AdapterSpec &spec, hypc_output &out,
                   const std::string &mlirPathError = "") {
  auto prog = buildAdapterProgram(spec, referenceRowScalarsSource(spec));
  if (!prog) {
    out.error = llvm::toString(prog.takeError());
    return false;
  }
  prog->mlirPathError = mlirPathError;
  out.cudaSource = printCudaSource(*prog, capi::versionString());
  out.metadataJson = printMetadataJson(*prog, capi::versionString());
  return true;
}

template <class Fn> int guarded(hypc_output **out, Fn &&fn) {
  if (!out)
    return -1;
  *out = new (std::nothrow) hypc_output();
  if (!*out)
    return -1;
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
  try {
    if (fn(**out))
      return 0;
  } catch (const std::exception &e) {
    (*out)->error = std::string("hypc: internal error: ") + e.what();
  } catch (...) {
    (*out)->error = "hypc: internal error (unknown exception)";
  }
#else
  if (fn(**out))
    return 0;
#endif
  if ((*out)->error.empty())
    (*out)->error = "hypc: compilation failed without a diagnostic";
  (*out)->cudaSource.clear();
  (*out)->metadataJson.clear();
  return 1;
}

} // namespace

// The library is built with hidden visibility; the C API is the exception.
#pragma GCC visibility push(default)
extern "C" {

const char *hypc_version(void) { return capi::versionString(); }

int hypc_compile_adapter(const hypc_adapter_desc *desc, const char *options, hypc_output **out) {
  return guarded(out, [&](hypc_output &o) {
    capi::CompileOptions opts;
    if (!capi::parseOptions(options, opts, &o.error))
      return false;
    AdapterSpec spec;
    if (!parseDesc(desc, spec, o.error))
      return false;
    spec.tensorCores = opts.tensorCores;
    spec.rowSplitCols = opts.rowSplitCols;
    spec.dyPass = opts.dyPass;
    bool ok;
    if (opts.emit == "direct") {
      ok = compileDirect(spec, o);
    } else {
      ok = capi::compileAdapterThroughMlir(spec, opts, o);
      if (!ok && opts.emit == "auto") {
        std::string mlirError = o.error;
        std::string inputIr = o.inputIr;
        o = hypc_output();
        o.inputIr = inputIr;
        ok = compileDirect(spec, o, mlirError);
      }
    }
    if (ok) {
      capi::dumpArtifact("hyp_kernels.cu", o.cudaSource);
      capi::dumpArtifact("hyp_kernels.json", o.metadataJson);
    }
    return ok;
  });
}

int hypc_compile_ir(const char *ir_text, const char *options, hypc_output **out) {
  return guarded(out, [&](hypc_output &o) {
    if (!ir_text) {
      o.error = "hypc_compile_ir: ir_text is NULL";
      return false;
    }
    capi::CompileOptions opts;
    if (!capi::parseOptions(options, opts, &o.error))
      return false;
    if (opts.emit == "direct") {
      o.error = "hypc_compile_ir: emit=direct needs an adapter descriptor, not IR";
      return false;
    }
    bool ok = capi::compileIrThroughMlir(ir_text, opts, o);
    if (ok) {
      capi::dumpArtifact("hyp_kernels.cu", o.cudaSource);
      capi::dumpArtifact("hyp_kernels.json", o.metadataJson);
    }
    return ok;
  });
}

const char *hypc_output_error(const hypc_output *o) { return o ? o->error.c_str() : "hypc: NULL output"; }
const char *hypc_output_cuda_source(const hypc_output *o) { return o ? o->cudaSource.c_str() : ""; }
const char *hypc_output_metadata_json(const hypc_output *o) { return o ? o->metadataJson.c_str() : ""; }
const char *hypc_output_input_ir(const hypc_output *o) { return o ? o->inputIr.c_str() : ""; }
void hypc_output_free(hypc_output *o) { delete o; }

} // extern "C"
#pragma GCC visibility pop
