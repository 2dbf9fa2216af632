//===- ReferenceRowScalars.cpp - HYPLORA.md s.3 row scalars as C++ text ----===//
//
// The per-row scalar program written directly from HYPLORA.md section 3 (and
// python/hyplora/reference.py), for the direct AdapterSpec -> CUDA path that
// libhypc uses when it is asked not to run the MLIR pipeline (or while a stage
// of it is missing). The MLIR path emits the same function op by op from the
// IR's hyp.row_map (RowScalarEmitter.cpp); the CPU-emulation test checks both
// against a float64 evaluation of the formula.
//
//===----------------------------------------------------------------------===//
#include "hyp/Emitter/RowScalarEmitter.h"

#include "llvm/Support/FormatVariadic.h"

using namespace hyp::emitter;

static std::string lit(double v) { return llvm::formatv("{0:e9}f", v).str(); }

std::string hyp::emitter::referenceRowScalarsSource(const AdapterSpec &s) {
  std::string head = "template <class T>\n"
                     "HYP_DEVICE_INLINE void hyp_row_scalars(T n2, T z, T k, T s, float "
                     "scaling, T *c_out, T *q_out, T *gs_out) {\n";
  std::string curvature =
      "  const T kc = hyp_select(hyp_value(k) > 20.f, k, hyp_log1p(hyp_exp(k))) + " +
      lit(s.curvatureEps) + "; // softplus(k) + eps\n  const T S = hyp_sqrt(kc);\n";
  switch (s.variant) {
  case Variant::LoRA:
    return head + "  (void)n2; (void)z; (void)k; (void)s;\n"
                  "  *c_out = hyp_lift<T>(1.f);\n  *q_out = hyp_lift<T>(0.f);\n"
                  "  *gs_out = hyp_lift<T>(scaling);\n}\n";
  case Variant::Simplified:
    return head + "  (void)s;\n" + curvature +
           "  const T c = 2.f / (1.f + kc * n2);                 // Poincare -> hyperboloid\n"
           "  const T q = hyp_max(c * c * z, 0.f);               // |z|^2 of the low-rank image\n"
           "  const T gs = scaling / (1.f + S * hyp_sqrt(q + kc)); // back to the ball\n"
           "  *c_out = c; *q_out = q; *gs_out = gs;\n}\n";
  case Variant::HypLoRA:
    break;
  }
  std::string head2 = head + curvature + "  const T n = hyp_max(hyp_sqrt(n2), " + lit(s.normEps) +
                      ");\n" + "  const T a = hyp_min(n / s / S, " + lit(s.maxSinhArg) + ");\n" +
                      "  const T c = S * hyp_sinh(a) / n;                 // expmap0 (norm rescaled by s)\n"
                      "  const T q = hyp_max(c * c * z, 0.f);             // |u|^2 = c^2 h^T G h\n";
  if (s.convention == Convention::Lorentz)
    // Textbook time sqrt(K + |u|^2): arccosh(t / S) = asinh(|u| / S), no dead
    // zone; the norm is clamped before the asinh too, so g -> 1 (its limit) as
    // u -> 0 and B can leave its zero initialization (same as the IR's
    // hyp-expand-adapter, passes/lib/AdapterPrograms.cpp).
    return head2 + "  const T m = hyp_max(hyp_sqrt(q), " + lit(s.outNormEps) + ");\n" +
           "  const T gs = scaling * S * hyp_asinh(m / S) / m;  // logmap0\n"
           "  *c_out = c; *q_out = q; *gs_out = gs;\n}\n";
  return head2 + "  const T t = hyp_sqrt(q + 1.f / hyp_max(kc, " + lit(s.timeEps) +
         ")); // reference: 1/K\n"
         "  const T th = t / S;\n"
         "  const T ac = hyp_select(hyp_value(th) < " + lit(s.smallTh) +
         ",\n      hyp_sqrt(2.f * hyp_max(th - 1.f, " + lit(s.smallThEps) +
         ")),\n      hyp_acosh(hyp_max(th, 1.f + " + lit(s.acoshEps) + ")));\n" +
         "  const T gs = scaling * S * ac / hyp_max(hyp_sqrt(q), " + lit(s.outNormEps) +
         "); // logmap0\n"
         "  *c_out = c; *q_out = q; *gs_out = gs;\n}\n";
}
