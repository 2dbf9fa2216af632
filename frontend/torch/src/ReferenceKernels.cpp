//===- ReferenceKernels.cpp - ATen implementation of the adapter ----------===//
//
// HYPLORA.md section 3 written with ATen tensor ops over whole columns of row
// scalars, plus its backward derived by hand through those scalars (section 4):
// every hyperbolic step is a per-row scalar times a row, so the chain rule only
// ever needs r-wide and per-row quantities besides dY and x.
//
// It runs on any device ATen supports (CPU kernel, CUDA fallback) and in any
// float dtype: the forward's row math is float32 for half/float activations
// and float64 for float64 activations, so a float64 call is an exact oracle;
// the backward's row math is float64 always (see referenceBackward).
//
// The backward recomputes the row scalars from x_adapter instead of reading
// `stats`, so it can follow a forward from either backend (the stats columns
// are backend-private, CONTRACTS.md section 5). `w` is shared meaning.
//
// Clamps follow torch's autograd conventions so gradients match the Python
// transcription (python/hyplora/reference.py) where a clamp is active:
// clamp_min/clamp_max pass the gradient where the input is >= / <= the bound.
//
//===----------------------------------------------------------------------===//
#include "AdapterKernels.h"

#include <cmath>

namespace hyplora {
namespace {

constexpr double kNormEps = 1e-7;   // min row norm of x and of u
constexpr double kCurvEps = 1e-6;   // K = softplus(k) + 1e-6, max(K, 1e-6)
constexpr double kThetaLin = 1.01;  // below: arccosh(th) ~ sqrt(2(th - 1))
constexpr double kThetaEps = 1e-6;  // max(th - 1, 1e-6)
constexpr double kAcoshMin = 1.0 + 1e-7;

/// Derivative of softplus with threshold 20 (linear above it).
// torch.nn.functional.softplus is at::softplus (beta 1, threshold 20).
at::Tensor softplusGrad(const at::Tensor &k) { return at::where(k > 20.0, at::ones_like(k), at::sigmoid(k)); }

at::Tensor rowDot(const at::Tensor &a, const at::Tensor &b) { return (a * b).sum(1); }
at::Tensor col(const at::Tensor &rowScalar) { return rowScalar.unsqueeze(1); }
at::Tensor maskOf(const at::Tensor &cond, at::ScalarType dt) { return cond.to(dt); }

/// The curvature scalars of a layer in the compute dtype (0-dim tensors).
struct Curvature {
  at::Tensor k, K, S;
  Curvature(const at::Tensor &rawK, at::ScalarType ct) {
    k = rawK.reshape({}).to(ct);
    K = at::softplus(k) + kCurvEps;
    S = at::sqrt(K);
  }
};

/// Row scalars of variant hyplora, from the row norms and q = |u|^2.
struct HypLoRARows {
  at::Tensor n, a, sinhA, c;          // expmap0 side
  at::Tensor t, th, thm1, ac, uNorm, nu, g; // logmap0 side (hyploraOutputSide)
};

HypLoRARows hyploraInputSide(const at::Tensor &nRaw, const Curvature &cv, const at::Tensor &s,
                             double maxSinhArg) {
  HypLoRARows rows;
  rows.n = nRaw.clamp_min(kNormEps);
  rows.a = (rows.n / s / cv.S).clamp_max(maxSinhArg);
  rows.sinhA = at::sinh(rows.a);
  rows.c = cv.S * rows.sinhA / rows.n; // xs = c * x
  return rows;
}

/// `timeOffset` is what is added to |u|^2 under the square root: 1/max(K,1e-6)
/// in the reference convention, K in the textbook one.
at::Tensor timeOffset(const Curvature &cv, Convention conv) {
  return conv == Convention::Reference ? 1.0 / cv.K.clamp_min(kCurvEps) : cv.K;
}

void hyploraOutputSide(HypLoRARows &rows, const at::Tensor &q, const Curvature &cv,
                       Convention conv) {
  if (conv == Convention::Lorentz) {
    // time sqrt(K + |u|^2): arccosh(time / S) = asinh(|u| / S) exactly, no
    // dead zone; |u| clamped before the asinh too, so g -> 1 as u -> 0 (the
    // compiler's lowering, passes/lib/AdapterPrograms.cpp, does the same).
    rows.uNorm = at::sqrt(q);
    rows.nu = rows.uNorm.clamp_min(kNormEps);
    rows.ac = at::asinh(rows.nu / cv.S);
    rows.g = cv.S * rows.ac / rows.nu;
    return;
  }
  at::Tensor offset = timeOffset(cv, conv);
  rows.t = at::sqrt(q + offset);
  rows.th = rows.t / cv.S;
  // th - 1 without the cancellation of forming th first: (t^2 - K) / (S (t + S))
  // (fp32 cannot resolve th - 1 ~ 1e-6 from th itself).
  rows.thm1 = (q + (offset - cv.K)) / (cv.S * (rows.t + cv.S));
  at::Tensor small = at::sqrt(2.0 * rows.thm1.clamp_min(kThetaEps));
  at::Tensor large = at::acosh(rows.th.clamp_min(kAcoshMin));
  rows.ac = at::where(rows.th < kThetaLin, small, large);
  rows.uNorm = at::sqrt(q);
  rows.nu = rows.uNorm.clamp_min(kNormEps);
  rows.g = cv.S * rows.ac / rows.nu;
}

at::Tensor emptyLike0(const at::Tensor &like) { return at::empty({0}, like.options()); }

} // namespace

at::ScalarType computeDtype(at::ScalarType activation) {
  return activation == at::kDouble ? at::kDouble : at::kFloat;
}

ForwardResult referenceForward(const at::Tensor &x, const at::Tensor &xAdapter,
                               const at::Tensor &weight, const std::optional<at::Tensor> &bias,
                               const at::Tensor &loraA, const at::Tensor &loraB,
                               const at::Tensor &loraK, const at::Tensor &normScale,
                               const AdapterConfig &cfg) {
  const at::ScalarType ct = computeDtype(x.scalar_type());
  const int64_t M = x.size(0);
  // Base layer in the activation dtype, as the frozen model computes it.
  at::Tensor base = bias ? at::linear(x, weight, *bias) : at::linear(x, weight);
  at::Tensor xa = xAdapter.to(ct);
  at::Tensor A = loraA.to(ct), B = loraB.to(ct);
  at::Tensor h = at::matmul(xa, A.t()); // M x r
  at::Tensor w, delta, stats;

  switch (cfg.variant) {
  case Variant::LoRA: {
    w = h * cfg.scaling;
    delta = at::matmul(w, B.t());
    stats = at::zeros({M, 4}, xa.options());
    break;
  }
  case Variant::HypLoRA: {
    Curvature cv(loraK, ct);
    at::Tensor s = normScale.reshape({}).to(ct);
    at::Tensor nRaw = at::linalg_vector_norm(xa, 2, {1});
    HypLoRARows rows = hyploraInputSide(nRaw, cv, s, cfg.maxSinhArg);
    at::Tensor v = col(rows.c) * h;
    at::Tensor u = at::matmul(v, B.t()); // the CPU path forms u: exact norm
    at::Tensor q = (u * u).sum(1);
    hyploraOutputSide(rows, q, cv, cfg.convention);
    at::Tensor gs = rows.g * cfg.scaling;
    w = col(gs) * v;
    delta = col(gs) * u;
    stats = at::stack({nRaw, rows.c, q, rows.g}, 1);
    break;
  }
  case Variant::Simplified: {
    Curvature cv(loraK, ct);
    at::Tensor n2 = (xa * xa).sum(1);
    at::Tensor c = 2.0 / (1.0 + cv.K * n2);
    at::Tensor v = col(c) * h;
    at::Tensor u = at::matmul(v, B.t());
    at::Tensor q = (u * u).sum(1);
    at::Tensor z0 = at::sqrt(q + cv.K);
    at::Tensor g = 1.0 / (1.0 + cv.S * z0);
    at::Tensor gs = g * cfg.scaling;
    w = col(gs) * v;
    delta = col(gs) * u;
    stats = at::stack({n2, c, q, g}, 1);
    break;
  }
  }
  at::Tensor y = (base.to(ct) + delta).to(x.scalar_type());
  return {y, w, stats};
}

BackwardResult referenceBackward(const at::Tensor &gradY, const at::Tensor &x,
                                 const at::Tensor &xAdapter, const at::Tensor &weight,
                                 const at::Tensor &loraA, const at::Tensor &loraB,
                                 const at::Tensor &loraK, const at::Tensor &normScale,
                                 const at::Tensor &w, const at::Tensor &stats,
                                 const AdapterConfig &cfg, std::array<bool, 2> xGrads) {
  (void)stats; // recomputed: see the file comment
  const at::ScalarType ct = computeDtype(x.scalar_type());
  at::Tensor dy = gradY.to(ct);
  at::Tensor xa = xAdapter.to(ct);
  at::Tensor A = loraA.to(ct), B = loraB.to(ct);
  at::Tensor wc = w.to(ct);
  at::Tensor dB = at::matmul(dy.t(), wc); // N x r, through w directly
  // The row math (r-wide and per-row: a few M x r tensors next to the M x K
  // products) is in float64 whatever the activations: its chain rule carries c
  // through both factors of w = g(c^2 z) c h, so dK of a row with a large sinh
  // argument and |B A x| ~ |x| is a difference of terms ~a^2 times the result.
  // In fp32 that lost ~1e-3 of the row's dK, several times what a direct fp32
  // autograd evaluation loses (a CI seed failed on it). The big products stay
  // in the compute dtype; their results are rounded once, like the direct
  // evaluation's.
  const at::ScalarType rt = at::kDouble;
  at::Tensor h = at::matmul(xa, A.t()).to(rt); // M x r
  at::Tensor p = at::matmul(dy, B).to(rt);     // M x r: dL/dw
  B = B.to(rt);
  at::Tensor dh, dxRowCoef; // dL/dh and the coefficient of x in dL/dx_adapter
  at::Tensor dk = at::zeros({}, h.options()), ds = at::zeros({}, h.options());
  at::Tensor dK;

  switch (cfg.variant) {
  case Variant::LoRA: {
    dh = p * cfg.scaling;
    break;
  }
  case Variant::HypLoRA: {
    Curvature cv(loraK, rt);
    at::Tensor s = normScale.reshape({}).to(rt);
    at::Tensor nRaw = at::linalg_vector_norm(xa, 2, {1}).to(rt);
    HypLoRARows r = hyploraInputSide(nRaw, cv, s, cfg.maxSinhArg);
    at::Tensor v = col(r.c) * h;
    at::Tensor G = at::matmul(B.t(), B);
    at::Tensor Gv = at::matmul(v, G);
    at::Tensor q = rowDot(Gv, v).clamp_min(0.0);
    hyploraOutputSide(r, q, cv, cfg.convention);

    at::Tensor dgdq, dgdK, dSdK = 0.5 / cv.S;
    // d nu / d q (nu = max(sqrt q, 1e-7)).
    at::Tensor dnudq = maskOf(r.uNorm >= kNormEps, rt) / (2.0 * r.uNorm.clamp_min(kNormEps));
    if (cfg.convention == Convention::Lorentz) {
      // g = asinh(z) / z with z = nu / S: dg/dz = (z / sqrt(1 + z^2) - asinh z) / z^2.
      at::Tensor z = r.nu / cv.S;
      at::Tensor dgdz = (z / at::sqrt(1.0 + z * z) - r.ac) / (z * z);
      dgdq = dgdz / cv.S * dnudq;
      dgdK = dgdz * (-r.nu / (cv.S * cv.S)) * dSdK;
    } else {
    // d ac / d th, zero where a clamp holds the value constant.
    at::Tensor invAcSmall = maskOf(r.thm1 >= kThetaEps, rt) / r.ac;
    at::Tensor thSafe = r.th.clamp_min(kThetaLin);
    at::Tensor invAcLarge = maskOf(r.th >= kAcoshMin, rt) / at::sqrt(thSafe * thSafe - 1.0);
    at::Tensor dacdth = at::where(r.th < kThetaLin, invAcSmall, invAcLarge);
    at::Tensor dthdq = 1.0 / (2.0 * r.t * cv.S);
    dgdq = cv.S / r.nu * dacdth * dthdq - cv.S * r.ac / (r.nu * r.nu) * dnudq;
    // d offset / dK = -1/K^2 where K >= 1e-6 (offset = 1/max(K, 1e-6)).
    at::Tensor doffdK = maskOf(cv.K >= kCurvEps, rt) * (-1.0 / (cv.K * cv.K));
    // th = t / S: dth/dK = (doff/dK K - t^2) / (2 t S^3) with t^2 = q + offset.
    at::Tensor constPart = doffdK * cv.K - timeOffset(cv, cfg.convention);
    at::Tensor dthdK = (constPart - q) / (2.0 * r.t * cv.S * cv.K);
    dgdK = dSdK * r.ac / r.nu + cv.S / r.nu * dacdth * dthdK;
    }

    at::Tensor dg = rowDot(p, v) * cfg.scaling; // w = scaling * g * v
    at::Tensor dq = dg * dgdq;
    at::Tensor dv = p * col(r.g * cfg.scaling) + 2.0 * col(dq) * Gv;
    // q = v^T (B^T B) v  =>  dB += 2 B (V^T diag(dq) V).
    dB = dB + (2.0 * at::matmul(B, at::matmul(v.t(), col(dq) * v))).to(ct);
    dh = col(r.c) * dv;
    at::Tensor dc = rowDot(dv, h);

    // c = S sinh(a) / n with a = min(n / (s S), amax).
    at::Tensor pass = maskOf((r.n / s / cv.S) <= cfg.maxSinhArg, rt);
    at::Tensor dcda = cv.S * at::cosh(r.a) / r.n;
    at::Tensor dcdn = -cv.S * r.sinhA / (r.n * r.n);
    at::Tensor dcdS = r.sinhA / r.n;
    at::Tensor dadn = pass / (s * cv.S);
    at::Tensor dads = -pass * r.n / (s * s * cv.S);
    at::Tensor dadS = -pass * r.n / (s * cv.S * cv.S);
    at::Tensor dn = dc * (dcdn + dcda * dadn);
    ds = (dc * dcda * dads).sum();
    at::Tensor dSc = dc * (dcdS + dcda * dadS);
    dK = (dg * dgdK).sum() + dSc.sum() * dSdK;
    dk = dK * softplusGrad(cv.k);
    // n = max(|x|, 1e-7): d n / d x = x / |x| where |x| >= 1e-7.
    dxRowCoef = dn * maskOf(nRaw >= kNormEps, rt) / nRaw.clamp_min(kNormEps);
    break;
  }
  case Variant::Simplified: {
    Curvature cv(loraK, rt);
    at::Tensor n2 = (xa * xa).sum(1).to(rt);
    at::Tensor den = 1.0 + cv.K * n2;
    at::Tensor c = 2.0 / den;
    at::Tensor v = col(c) * h;
    at::Tensor G = at::matmul(B.t(), B);
    at::Tensor Gv = at::matmul(v, G);
    at::Tensor q = rowDot(Gv, v).clamp_min(0.0);
    at::Tensor z0 = at::sqrt(q + cv.K);
    at::Tensor g = 1.0 / (1.0 + cv.S * z0);
    at::Tensor dgdq = -g * g * cv.S / (2.0 * z0);
    at::Tensor dgdK = -g * g * (z0 / (2.0 * cv.S) + cv.S / (2.0 * z0));
    at::Tensor dg = rowDot(p, v) * cfg.scaling;
    at::Tensor dq = dg * dgdq;
    at::Tensor dv = p * col(g * cfg.scaling) + 2.0 * col(dq) * Gv;
    dB = dB + (2.0 * at::matmul(B, at::matmul(v.t(), col(dq) * v))).to(ct);
    dh = col(c) * dv;
    at::Tensor dc = rowDot(dv, h);
    at::Tensor dcdn2 = -2.0 * cv.K / (den * den);
    at::Tensor dcdK = -2.0 * n2 / (den * den);
    dK = (dg * dgdK).sum() + (dc * dcdK).sum();
    dk = dK * softplusGrad(cv.k);
    dxRowCoef = 2.0 * dc * dcdn2; // d n2 / d x = 2 x
    break;
  }
  }

  dh = dh.to(ct);
  at::Tensor dA = at::matmul(dh.t(), xa); // r x K
  at::Tensor gradX = emptyLike0(x), gradXAdapter = emptyLike0(x);
  const bool fold = xGrads[0] && !xGrads[1];
  if (xGrads[0] || xGrads[1]) {
    at::Tensor dxa = at::matmul(dh, A);
    if (dxRowCoef.defined())
      dxa = dxa + col(dxRowCoef.to(ct)) * xa;
    if (xGrads[1])
      gradXAdapter = dxa.to(x.scalar_type());
    if (xGrads[0]) {
      at::Tensor base = at::matmul(gradY, weight); // dY W in the activation dtype
      gradX = fold ? (base.to(ct) + dxa).to(x.scalar_type()) : base;
    }
  }
  return {gradX,
          gradXAdapter,
          dA.to(loraA.scalar_type()),
          dB.to(loraB.scalar_type()),
          dk.reshape(loraK.sizes()).to(loraK.scalar_type()),
          ds.reshape(normScale.sizes()).to(normScale.scalar_type())};
}

} // namespace hyplora
