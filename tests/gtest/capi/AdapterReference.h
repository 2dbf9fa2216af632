//===- AdapterReference.h - float64 HypLoRA for the kernel tests -*- C++ -*-===//
//
// HYPLORA.md section 3, transcribed literally in double precision (the direct
// formula: expmap0, u = B (A xs), time recompute, logmap0; no fusion
// identity), plus central finite differences for every gradient. This is the
// oracle the CPU-emulated kernels are compared with; it shares no code with
// the emitter.
//
//===----------------------------------------------------------------------===//
#ifndef HYP_TESTS_ADAPTERREFERENCE_H
#define HYP_TESTS_ADAPTERREFERENCE_H

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace hyp::test {

struct AdapterRef {
  std::string variant, convention;
  int K = 0, N = 0, r = 0;
  double scaling = 1, maxSinhArg = 12;
  std::vector<double> A, B; // r x K, N x r
  double k = 1, s = 1;

  double curvature(double kraw) const {
    return (kraw > 20 ? kraw : std::log1p(std::exp(kraw))) + 1e-6;
  }

  /// g of out = g u (logmap0). reference: t = sqrt(|u|^2 + 1/K) and the
  /// code's th < 1.01 branch; lorentz: t = sqrt(|u|^2 + K), i.e.
  /// ac = asinh(|u| / S) (HYPLORA.md s. 3: "no dead zone"), |u| clamped at 1e-7.
  double upFactor(double un2, double Kc, double S, bool *deadZone) const {
    if (convention == "lorentz") {
      const double m = std::max(std::sqrt(un2), 1e-7);
      return S * std::asinh(m / S) / m;
    }
    const double th = std::sqrt(un2 + 1.0 / std::max(Kc, 1e-6)) / S;
    if (deadZone)
      *deadZone = th < 1.01;
    const double ac = th < 1.01 ? std::sqrt(2.0 * std::max(th - 1.0, 1e-6))
                                : std::acosh(std::max(th, 1.0 + 1e-7));
    return S * ac / std::max(std::sqrt(un2), 1e-7);
  }

  /// out (N, before scaling) and the saved w (r) of one row; `deadZone` tells
  /// whether the reference branch th < 1.01 was taken.
  void row(const double *x, const std::vector<double> &Am, const std::vector<double> &Bm,
           double kraw, double sv, std::vector<double> &out, std::vector<double> *w = nullptr,
           bool *deadZone = nullptr) const {
    std::vector<double> h(r, 0.0), u(N, 0.0);
    for (int j = 0; j < r; ++j)
      for (int i = 0; i < K; ++i) h[j] += Am[j * K + i] * x[i];
    double n2 = 0;
    for (int i = 0; i < K; ++i) n2 += x[i] * x[i];
    out.assign(N, 0.0);
    if (variant == "lora") {
      for (int n = 0; n < N; ++n)
        for (int j = 0; j < r; ++j) out[n] += Bm[n * r + j] * h[j];
      if (w)
        for (int j = 0; j < r; ++j) (*w)[j] = scaling * h[j];
      return;
    }
    const double Kc = curvature(kraw), S = std::sqrt(Kc);
    if (variant == "hyplora_simplified") {
      const double c = 2.0 / (1.0 + Kc * n2); // y' = 2 x / (1 + K |x|^2)
      for (int n = 0; n < N; ++n)
        for (int j = 0; j < r; ++j) u[n] += Bm[n * r + j] * c * h[j];
      double un2 = 0;
      for (double v : u) un2 += v * v;
      const double z0 = std::sqrt(un2 + Kc);
      for (int n = 0; n < N; ++n) out[n] = u[n] / (1.0 + S * z0);
      if (w)
        for (int j = 0; j < r; ++j) (*w)[j] = scaling * c * h[j] / (1.0 + S * z0);
      return;
    }
    // hyplora: xs = S sinh(a) x / n, u = B (A xs)
    const double n = std::max(std::sqrt(n2), 1e-7);
    const double a = std::min(n / sv / S, maxSinhArg);
    const double c = S * std::sinh(a) / n;
    for (int nn = 0; nn < N; ++nn)
      for (int j = 0; j < r; ++j) u[nn] += Bm[nn * r + j] * c * h[j];
    double un2 = 0;
    for (double v : u) un2 += v * v;
    const double g = upFactor(un2, Kc, S, deadZone);
    for (int nn = 0; nn < N; ++nn) out[nn] = g * u[nn];
    if (w)
      for (int j = 0; j < r; ++j) (*w)[j] = scaling * g * c * h[j];
  }

  /// The row scalars of the fused form (w = c * gs * h): c the input map's
  /// factor, gs = scaling * g the output map's. Used only to size the
  /// tolerance of dk/ds, whose per-row terms c' gs + c gs' can cancel.
  void rowFactors(const double *x, double kraw, double sv, double &c, double &gs) const {
    c = 1;
    gs = scaling;
    if (variant == "lora")
      return;
    std::vector<double> h(r, 0.0), u(N, 0.0);
    for (int j = 0; j < r; ++j)
      for (int i = 0; i < K; ++i) h[j] += A[j * K + i] * x[i];
    double n2 = 0;
    for (int i = 0; i < K; ++i) n2 += x[i] * x[i];
    const double Kc = curvature(kraw), S = std::sqrt(Kc);
    if (variant == "hyplora_simplified") {
      c = 2.0 / (1.0 + Kc * n2);
    } else {
      const double n = std::max(std::sqrt(n2), 1e-7);
      c = S * std::sinh(std::min(n / sv / S, maxSinhArg)) / n;
    }
    for (int nn = 0; nn < N; ++nn)
      for (int j = 0; j < r; ++j) u[nn] += B[nn * r + j] * c * h[j];
    double un2 = 0;
    for (double v : u) un2 += v * v;
    if (variant == "hyplora_simplified") {
      gs = scaling / (1.0 + S * std::sqrt(un2 + Kc));
      return;
    }
    gs = scaling * upFactor(un2, Kc, S, nullptr);
  }

  /// scaling * dY_row . out(row): the loss whose gradients the backward computes.
  double rowLoss(const double *x, const double *dy, const std::vector<double> &Am,
                 const std::vector<double> &Bm, double kraw, double sv) const {
    std::vector<double> out;
    row(x, Am, Bm, kraw, sv, out);
    double l = 0;
    for (int n = 0; n < N; ++n) l += dy[n] * scaling * out[n];
    return l;
  }
};

/// Central difference of f at p (step relative to |p|).
template <class F> double centralDiff(double &p, F &&f) {
  const double keep = p, h = 1e-6 * std::max(1.0, std::fabs(p));
  p = keep + h;
  const double fp = f();
  p = keep - h;
  const double fm = f();
  p = keep;
  return (fp - fm) / (2 * h);
}

/// Relative Frobenius error |got - want| / |want| (want != 0 assumed).
inline double relError(const std::vector<double> &got, const std::vector<double> &want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (got[i] - want[i]) * (got[i] - want[i]);
    den += want[i] * want[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

} // namespace hyp::test

#endif // HYP_TESTS_ADAPTERREFERENCE_H
