//===- PythonModule.cpp - hyplora._C: compiler and runtime controls -------===//
//
// Importing this module loads libhyplora_torch (it is linked), which registers
// the torch ops. The functions themselves deal in strings and numbers only
// (no tensors), so this TU does not need torch's Python bindings: it exposes
// the compiler C API (CONTRACTS.md section 1), the runtime's cache and
// autotuning controls (section 4) and the JIT switches of the ops.
// In a build without libhypc/libhyprt those functions raise RuntimeError
// with the reason; the ops still work (CPU reference, ATen on CUDA).
//
//===----------------------------------------------------------------------===//
#include "JitAdapter.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#ifdef HYP_HAVE_JIT
#include "hyp/Runtime/Autotune.h"
#include "hyp/Runtime/KernelCache.h"
#include "hyp/Runtime/Runtime.h"
#include "hypc.h"

#include <memory>
#endif

namespace py = pybind11;

namespace {

#ifdef HYP_HAVE_JIT
void throwIfFailed(const hyp::rt::Status &st) {
  if (!st.ok)
    throw std::runtime_error(st.message);
}

py::dict outputToDict(int rc, hypc_output *out) {
  py::dict d;
  d["ok"] = rc == 0;
  d["error"] = out ? std::string(hypc_output_error(out)) : std::string("no output");
  d["cuda_source"] = out ? std::string(hypc_output_cuda_source(out)) : std::string();
  d["metadata_json"] = out ? std::string(hypc_output_metadata_json(out)) : std::string();
  d["input_ir"] = out ? std::string(hypc_output_input_ir(out)) : std::string();
  return d;
}

using OutputPtr = std::unique_ptr<hypc_output, void (*)(hypc_output *)>;
#else
[[noreturn]] void noJit() {
  throw std::runtime_error("hyplora._C was built without the compiler and runtime "
                           "(libhypc/libhyprt): rebuild with HYP_BUILD_COMPILER/RUNTIME=ON "
                           "or HYP_PREBUILT_DIR");
}
#endif

} // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "hyplora native module: torch ops library + compiler/runtime controls";
  m.attr("__version__") = HYP_VERSION_STRING;
  m.def("jit_compiled_in", &hyplora::jitCompiledIn,
        "True when this build links the compiler (libhypc) and runtime (libhyprt).");
  m.def("jit_unavailable_reason", &hyplora::jitUnavailableReason,
        "Why CUDA calls do not use the JIT ('' when they do).");
  m.def("set_jit_enabled", &hyplora::setJitEnabled, py::arg("enabled"),
        "Turn the JIT path of the CUDA ops on/off for this process (HYP_JIT=0 at start).");
  m.def("jit_loaded_programs", &hyplora::jitLoadedPrograms,
        "Layer keys of the adapter programs compiled and loaded in this process.");
  m.def("jit_forward_orders", &hyplora::jitForwardOrders,
        "The forward orders around the frozen GEMM the JIT tuned (add after it / store before it).");
  m.def("jit_compile_options", &hyplora::jitCompileOptions,
        "The libhypc options the JIT compiles layers with now (from HYP_TENSOR_CORES, "
        "HYP_ROW_SPLIT_COLS, HYP_DY_PASS and their defaults).");
  m.def("jit_clear_programs", &hyplora::jitClearPrograms,
        "Forget the loaded programs (they are recompiled, or read from the disk cache, on next use).");
  m.def("jit_counters", []() {
    auto c = hyplora::jitCounters();
    py::dict d;
    d["forward_calls"] = c.forwardCalls;
    d["backward_calls"] = c.backwardCalls;
    d["fallbacks"] = c.fallbacks;
    d["storing_forward_calls"] = c.storingForwardCalls;
    return d;
  });

#ifdef HYP_HAVE_JIT
  m.def("compiler_version", []() { return std::string(hypc_version()); });
  m.def(
      "compile_adapter",
      [](const std::string &variant, const std::string &convention, const std::string &actDtype,
         int64_t inFeatures, int64_t outFeatures, int64_t rank, double maxSinhArg,
         std::optional<std::string> options) {
        hypc_adapter_desc desc{};
        desc.variant = variant.c_str();
        desc.convention = convention.c_str();
        desc.act_dtype = actDtype.c_str();
        desc.in_features = inFeatures;
        desc.out_features = outFeatures;
        desc.rank = rank;
        desc.max_sinh_arg = maxSinhArg;
        hypc_output *out = nullptr;
        int rc;
        {
          py::gil_scoped_release release;
          rc = hypc_compile_adapter(&desc, options ? options->c_str() : nullptr, &out);
        }
        OutputPtr guard(out, hypc_output_free);
        return outputToDict(rc, out);
      },
      py::arg("variant"), py::arg("convention"), py::arg("act_dtype"), py::arg("in_features"),
      py::arg("out_features"), py::arg("rank"), py::arg("max_sinh_arg") = 12.0,
      py::arg("options") = py::none(),
      "Compile one adapted layer with libhypc: dict(ok, error, cuda_source, metadata_json, input_ir).");
  m.def(
      "compile_ir",
      [](const std::string &irText, std::optional<std::string> options) {
        hypc_output *out = nullptr;
        int rc;
        {
          py::gil_scoped_release release;
          rc = hypc_compile_ir(irText.c_str(), options ? options->c_str() : nullptr, &out);
        }
        OutputPtr guard(out, hypc_output_free);
        return outputToDict(rc, out);
      },
      py::arg("ir_text"), py::arg("options") = py::none(),
      "Run the pipeline on hyp IR text: dict(ok, error, cuda_source, metadata_json, input_ir).");
  m.def("driver_available", []() {
    std::string why;
    bool ok = hyp::rt::driverAvailable(&why);
    return py::make_tuple(ok, why);
  });
  m.def("cache_dir", &hyp::rt::defaultCacheDir);
  m.def(
      "cache_stats",
      [](const std::string &dir) {
        hyp::rt::CacheStats st;
        throwIfFailed(hyp::rt::cacheStats(&st, dir));
        py::dict d;
        d["path"] = st.path;
        d["kernel_entries"] = st.kernelEntries;
        d["tuning_entries"] = st.tuningEntries;
        d["bytes"] = st.bytes;
        return d;
      },
      py::arg("dir") = "");
  m.def(
      "clear_cache", [](const std::string &dir) { throwIfFailed(hyp::rt::clearCache(dir)); },
      py::arg("dir") = "");
  m.def("autotune_mode", []() {
    switch (hyp::rt::autotuneMode()) {
    case hyp::rt::AutotuneMode::Off: return std::string("0");
    case hyp::rt::AutotuneMode::Exhaustive: return std::string("exhaustive");
    default: return std::string("1");
    }
  });
  m.def(
      "set_autotune_mode",
      [](const std::string &text) {
        hyp::rt::AutotuneMode mode;
        throwIfFailed(hyp::rt::parseAutotuneMode(text, &mode));
        hyp::rt::setAutotuneMode(mode);
      },
      py::arg("mode"), "'0' | '1' | 'exhaustive' (as HYP_AUTOTUNE).");
  // Any hand-written kernel with metadata (docs/CONTRACTS.md section 2) runs
  // through the same NVRTC/cache/autotuner as the compiler's kernels; the
  // analysis package's four-point delta kernel is the first user. Arguments
  // are plain numbers: tensors travel as data_ptr() integers, typed by the
  // metadata's param kinds, so this TU still needs no torch Python bindings.
  py::class_<hyp::rt::Program, std::shared_ptr<hyp::rt::Program>>(m, "RuntimeProgram")
      .def_property_readonly("kernels", [](const hyp::rt::Program &p) {
        std::vector<std::string> names;
        for (const auto &k : p.metadata().kernels) names.push_back(k.name);
        return names;
      });
  m.def(
      "runtime_load_program",
      [](const std::string &cudaSource, const std::string &metadataJson) {
        std::shared_ptr<hyp::rt::Program> program;
        throwIfFailed(hyp::rt::loadProgram(cudaSource, metadataJson, &program));
        return program;
      },
      py::arg("cuda_source"), py::arg("metadata_json"),
      "Parse metadata + keep source; kernels compile (NVRTC, disk cache) on first launch.");
  m.def(
      "runtime_launch_kernel",
      [](hyp::rt::Program &program, const std::string &kernel, const py::dict &args,
         uintptr_t stream) {
        const hyp::rt::KernelInfo *info = nullptr;
        for (const auto &k : program.metadata().kernels)
          if (k.name == kernel) info = &k;
        if (!info)
          throw std::invalid_argument("runtime_launch_kernel: program has no kernel '" + kernel + "'");
        hyp::rt::ArgMap map;
        for (const auto &param : info->params) {
          if (!args.contains(param.name))
            throw std::invalid_argument("runtime_launch_kernel: missing argument '" + param.name +
                                        "' of kernel '" + kernel + "'");
          py::handle v = args[py::str(param.name)];
          switch (param.kind) {
          case hyp::rt::ParamKind::Ptr:
            map[param.name] = hyp::rt::ArgValue::pointer(
                reinterpret_cast<void *>(static_cast<uintptr_t>(v.cast<unsigned long long>())));
            break;
          case hyp::rt::ParamKind::I32: map[param.name] = hyp::rt::ArgValue::int32(v.cast<int32_t>()); break;
          case hyp::rt::ParamKind::I64: map[param.name] = hyp::rt::ArgValue::int64(v.cast<int64_t>()); break;
          case hyp::rt::ParamKind::F32: map[param.name] = hyp::rt::ArgValue::float32(v.cast<float>()); break;
          }
        }
        for (auto item : args)
          if (!map.count(item.first.cast<std::string>()))
            throw std::invalid_argument("runtime_launch_kernel: kernel '" + kernel +
                                        "' has no parameter '" + item.first.cast<std::string>() + "'");
        hyp::rt::Status st;
        {
          py::gil_scoped_release release;
          st = hyp::rt::launchKernel(program, kernel, map, reinterpret_cast<void *>(stream));
        }
        throwIfFailed(st);
      },
      py::arg("program"), py::arg("kernel"), py::arg("args"), py::arg("stream") = 0,
      "Launch one kernel (autotuned per shape bucket on first use). args: metadata param "
      "name -> int (pointers as data_ptr()) or float; stream: a CUstream as int.");
  m.def("print_autotuning", &hyp::rt::printAutotuning);
  m.def("set_print_autotuning", &hyp::rt::setPrintAutotuning, py::arg("enabled"));
#else
  for (const char *name : {"compiler_version", "compile_adapter", "compile_ir", "driver_available",
                           "cache_dir", "cache_stats", "clear_cache", "autotune_mode",
                           "set_autotune_mode", "print_autotuning", "set_print_autotuning",
                           "runtime_load_program", "runtime_launch_kernel"})
    m.def(name, [](py::args, py::kwargs) { noJit(); });
#endif
}
