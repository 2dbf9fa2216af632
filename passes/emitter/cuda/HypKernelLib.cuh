//===- HypKernelLib.cuh - loop skeletons of the hyplora kernels -*- CUDA -*-===//
//
// Pasted verbatim into every translation unit the emitter produces, after the
// generated prologue (shape macros HYP_K/HYP_N/HYP_R, the activation type
// hyp_act_t and its converters) and before the generated row-scalar program
// and the extern "C" kernels. It holds what does not depend on the adapter:
//   * forward-mode dual numbers, so one templated row-scalar program gives both
//     the forward scalars and their exact partial derivatives (the backward);
//   * the loop skeletons (docs/KERNELS.md): a row-reduce (x A^T or dY B, tiled
//     through shared memory, then per-row fp32 math), a column strip (rows
//     streamed through a block that owns a few columns: y += w B^T,
//     dx += dH A + beta x with dA accumulated on the way, dB += dY^T w) and the
//     Gram reduction G = B^T B.
// Sizes are template parameters fed from the per-kernel tunable macros, so every
// configuration is a separate, fully unrolled instantiation.
//
// Rules every skeleton keeps (docs/CONTRACTS.md section 2): any M (rows past M
// are masked), any K/N (tails zero-filled), vector loads only when the base
// pointer and the row length allow them, fp32 arithmetic (the backward row
// terms: float64 duals, see below) throughout, no host
// synchronisation, cross-block sums by atomicAdd into caller-zeroed buffers.
// No warp shuffles: block-level shared-memory reductions only, which keeps the
// kernels runnable by the CPU emulation (tests/gtest/capi/CudaEmulation.h).
//
//===----------------------------------------------------------------------===//

#ifndef HYP_DEVICE_INLINE
#define HYP_DEVICE_INLINE static __device__ __forceinline__
#endif

/// K-chunk of the row-reduce skeleton: x and the weights are staged KT columns
/// at a time (64 bf16 = 128 bytes per row, a full cache line).
#define HYP_KT 64

HYP_DEVICE_INLINE int hyp_imin(int a, int b) { return a < b ? a : b; }
HYP_DEVICE_INLINE long long hyp_llmin(long long a, long long b) { return a < b ? a : b; }
#define HYP_CMAX(a, b) ((a) > (b) ? (a) : (b))

//===----------------------------------------------------------------------===//
// Dual numbers: value + 4 tangents (d/dn2, d/dz, d/dk, d/ds of the row scalars).
// Comparisons and min/max/select act on the value and carry the chosen
// operand's tangents, which is exactly the derivative of the clamped formula.
//
// The storage type F is double in the backward (hyp_bwd_row_terms): the row
// program carries c through both factors of f = c * gs (q = c^2 z), so dK of
// a row with a large sinh argument a and |B A x| ~ |x| is a difference of
// terms ~a^2 times the result. Float duals lost ~5e-4 of such a row's dK (the
// generated program emulated in numpy), doubles ~1e-7; the CPU op's fp32 row
// math failed a CI seed the same way. The inputs stay fp32 (stats, z, k, s);
// only the per-row chain rule (a few dozen operations a row, next to the
// r-wide dot products) is in double: +26 registers in hyp_bwd_dy, +1.7..2.7 us
// at M = 8192 on an H100 (bench/results/README.md).
//===----------------------------------------------------------------------===//
template <class F> struct hyp_dual_t {
  F v;
  F d[4];
};
typedef hyp_dual_t<double> hyp_dual64;
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_dual_const(F v) {
  hyp_dual_t<F> r;
  r.v = v;
  r.d[0] = r.d[1] = r.d[2] = r.d[3] = F(0);
  return r;
}
/// The input `v` of the row program, with d/d(input `which`) = 1.
template <class T> HYP_DEVICE_INLINE T hyp_dual_seed(float v, int which) {
  T r = hyp_dual_const<decltype(T::v)>(v);
  r.d[which] = 1;
  return r;
}
/// f(a) with f'(a) = slope.
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_dual_chain(const hyp_dual_t<F> &a, F value,
                                                                  F slope) {
  hyp_dual_t<F> r;
  r.v = value;
#pragma unroll
  for (int i = 0; i < 4; ++i) r.d[i] = slope * a.d[i];
  return r;
}
HYP_DEVICE_INLINE float hyp_value(float a) { return a; }
template <class F> HYP_DEVICE_INLINE F hyp_value(const hyp_dual_t<F> &a) { return a.v; }

template <class F>
HYP_DEVICE_INLINE hyp_dual_t<F> operator+(const hyp_dual_t<F> &a, const hyp_dual_t<F> &b) {
  hyp_dual_t<F> r;
  r.v = a.v + b.v;
#pragma unroll
  for (int i = 0; i < 4; ++i) r.d[i] = a.d[i] + b.d[i];
  return r;
}
template <class F>
HYP_DEVICE_INLINE hyp_dual_t<F> operator-(const hyp_dual_t<F> &a, const hyp_dual_t<F> &b) {
  hyp_dual_t<F> r;
  r.v = a.v - b.v;
#pragma unroll
  for (int i = 0; i < 4; ++i) r.d[i] = a.d[i] - b.d[i];
  return r;
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> operator-(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, -a.v, F(-1));
}
template <class F>
HYP_DEVICE_INLINE hyp_dual_t<F> operator*(const hyp_dual_t<F> &a, const hyp_dual_t<F> &b) {
  hyp_dual_t<F> r;
  r.v = a.v * b.v;
#pragma unroll
  for (int i = 0; i < 4; ++i) r.d[i] = a.d[i] * b.v + a.v * b.d[i];
  return r;
}
template <class F>
HYP_DEVICE_INLINE hyp_dual_t<F> operator/(const hyp_dual_t<F> &a, const hyp_dual_t<F> &b) {
  hyp_dual_t<F> r;
  r.v = a.v / b.v;
  const F inv = F(1) / b.v;
#pragma unroll
  for (int i = 0; i < 4; ++i) r.d[i] = (a.d[i] - r.v * b.d[i]) * inv;
  return r;
}
// Mixed with the program's float literals (the constants of HYPLORA.md s.3).
#define HYP_DUAL_MIXED(op)                                                                     \
  template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> operator op(const hyp_dual_t<F> &a, float b) { \
    return a op hyp_dual_const<F>(b);                                                          \
  }                                                                                            \
  template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> operator op(float a, const hyp_dual_t<F> &b) { \
    return hyp_dual_const<F>(a) op b;                                                          \
  }
HYP_DUAL_MIXED(+)
HYP_DUAL_MIXED(-)
HYP_DUAL_MIXED(*)
HYP_DUAL_MIXED(/)
#undef HYP_DUAL_MIXED

// Elementary functions, float and dual. Precise libm versions (no fast-math):
// the row scalars need them to a few ulp (HYPLORA.md section 5). The float
// overloads are the forward's; the duals call the overload of their F.
HYP_DEVICE_INLINE float hyp_sqrt(float a) { return sqrtf(a); }
HYP_DEVICE_INLINE float hyp_sinh(float a) { return sinhf(a); }
HYP_DEVICE_INLINE float hyp_cosh(float a) { return coshf(a); }
HYP_DEVICE_INLINE float hyp_acosh(float a) { return acoshf(a); }
HYP_DEVICE_INLINE float hyp_asinh(float a) { return asinhf(a); }
HYP_DEVICE_INLINE float hyp_exp(float a) { return expf(a); }
HYP_DEVICE_INLINE float hyp_log(float a) { return logf(a); }
HYP_DEVICE_INLINE float hyp_log1p(float a) { return log1pf(a); }
HYP_DEVICE_INLINE float hyp_tanh(float a) { return tanhf(a); }
HYP_DEVICE_INLINE float hyp_abs(float a) { return fabsf(a); }
HYP_DEVICE_INLINE double hyp_sqrt(double a) { return sqrt(a); }
HYP_DEVICE_INLINE double hyp_sinh(double a) { return sinh(a); }
HYP_DEVICE_INLINE double hyp_cosh(double a) { return cosh(a); }
HYP_DEVICE_INLINE double hyp_acosh(double a) { return acosh(a); }
HYP_DEVICE_INLINE double hyp_asinh(double a) { return asinh(a); }
HYP_DEVICE_INLINE double hyp_exp(double a) { return exp(a); }
HYP_DEVICE_INLINE double hyp_log(double a) { return log(a); }
HYP_DEVICE_INLINE double hyp_log1p(double a) { return log1p(a); }
HYP_DEVICE_INLINE double hyp_tanh(double a) { return tanh(a); }
HYP_DEVICE_INLINE double hyp_abs(double a) { return fabs(a); }
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_sqrt(const hyp_dual_t<F> &a) {
  const F v = hyp_sqrt(a.v);
  return hyp_dual_chain(a, v, F(0.5) / v);
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_sinh(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, hyp_sinh(a.v), hyp_cosh(a.v));
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_cosh(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, hyp_cosh(a.v), hyp_sinh(a.v));
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_acosh(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, hyp_acosh(a.v), F(1) / hyp_sqrt((a.v - F(1)) * (a.v + F(1))));
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_asinh(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, hyp_asinh(a.v), F(1) / hyp_sqrt(a.v * a.v + F(1)));
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_exp(const hyp_dual_t<F> &a) {
  const F v = hyp_exp(a.v);
  return hyp_dual_chain(a, v, v);
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_log(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, hyp_log(a.v), F(1) / a.v);
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_log1p(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, hyp_log1p(a.v), F(1) / (F(1) + a.v));
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_tanh(const hyp_dual_t<F> &a) {
  const F v = hyp_tanh(a.v);
  return hyp_dual_chain(a, v, F(1) - v * v);
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_abs(const hyp_dual_t<F> &a) {
  return hyp_dual_chain(a, hyp_abs(a.v), a.v < F(0) ? F(-1) : F(1));
}
// min/max return the selected operand (tangents included); ties pick `a`.
template <class T> HYP_DEVICE_INLINE T hyp_min(const T &a, const T &b) {
  return hyp_value(b) < hyp_value(a) ? b : a;
}
template <class T> HYP_DEVICE_INLINE T hyp_max(const T &a, const T &b) {
  return hyp_value(b) > hyp_value(a) ? b : a;
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_min(const hyp_dual_t<F> &a, float b) {
  return hyp_min(a, hyp_dual_const<F>(b));
}
template <class F> HYP_DEVICE_INLINE hyp_dual_t<F> hyp_max(const hyp_dual_t<F> &a, float b) {
  return hyp_max(a, hyp_dual_const<F>(b));
}
template <class T> HYP_DEVICE_INLINE T hyp_select(bool c, const T &a, const T &b) { return c ? a : b; }
/// Lifts a constant to the row program's scalar type (float or a dual).
template <class T> HYP_DEVICE_INLINE T hyp_lift(float v) {
  if constexpr (sizeof(T) == sizeof(float)) return v;
  else return hyp_dual_const<decltype(T::v)>(v);
}

/// The per-row scalar program of the adapter, generated from the IR for each
/// translation unit (after this file): from the row's |x|^2 (n2), z = h^T G h
/// (h = A x), the raw curvature k and the norm scale s it gives the row
/// scalars c (x -> c x is the expmap0 / Poincare map), q = |u|^2 and gs
/// (= scaling * g, g the logmap0 factor), so that w = c * gs * h.
template <class T>
HYP_DEVICE_INLINE void hyp_row_scalars(T n2, T z, T k, T s, float scaling, T *c, T *q, T *gs);

/// One row of the backward epilogue, shared by the SIMT and tensor-core
/// hyp_bwd_dy: the chain rule through the row scalars (f = c * gs as a
/// function of (n2, z, k, s), by dual numbers; dfd = dL/df = P.h, z = h^T G h)
/// gives the row's [f, dz, dk part, ds part] in rowsc[0..3] and
/// beta[row] = 2 dL/d|x|^2 (rows past M: zeros). A template only so that it is
/// instantiated after the generated hyp_row_scalars is defined.
template <class T = hyp_dual64>
HYP_DEVICE_INLINE void hyp_bwd_row_terms(long long row, long long M, float dfd, float z,
                                         const float *__restrict__ stats, float kv, float sv,
                                         float scaling, float *__restrict__ beta, float *rowsc) {
  float f = 0.f, dz = 0.f, dkp = 0.f, dsp = 0.f;
  if (row < M) {
    f = stats[row * 4 + 2] * stats[row * 4 + 3];
    T c, q, gs;
    hyp_row_scalars<T>(hyp_dual_seed<T>(stats[row * 4 + 0], 0), hyp_dual_seed<T>(z, 1),
                       hyp_dual_seed<T>(kv, 2), hyp_dual_seed<T>(sv, 3), scaling, &c, &q, &gs);
    const T fd = c * gs;
    dz = dfd * float(fd.d[1]);
    dkp = dfd * float(fd.d[2]);
    dsp = dfd * float(fd.d[3]);
    if (beta) beta[row] = 2.f * dfd * float(fd.d[0]);
  }
  rowsc[0] = f;
  rowsc[1] = dz;
  rowsc[2] = dkp;
  rowsc[3] = dsp;
}

//===----------------------------------------------------------------------===//
// Activation loads. A VEC-wide load is one 4/8/16-byte transaction; callers
// use it only when the address is VEC-aligned (checked once per kernel).
//===----------------------------------------------------------------------===//
template <int VEC> struct alignas(VEC * sizeof(hyp_act_t)) hyp_act_vec {
  hyp_act_t e[VEC];
};
template <int VEC>
HYP_DEVICE_INLINE void hyp_load_act_vec(const hyp_act_t *p, float *out) {
  const hyp_act_vec<VEC> t = *reinterpret_cast<const hyp_act_vec<VEC> *>(p);
#pragma unroll
  for (int i = 0; i < VEC; ++i) out[i] = hyp_act_to_f32(t.e[i]);
}
template <int VEC> HYP_DEVICE_INLINE bool hyp_vec_aligned(const void *p, int row_len) {
  return (row_len % VEC) == 0 &&
         ((unsigned long long)p) % (unsigned long long)(VEC * sizeof(hyp_act_t)) == 0ull;
}

//===----------------------------------------------------------------------===//
// Row-reduce skeleton. A block owns BM consecutive rows; each thread owns a
// TM x TJ tile of the BM x R outputs (rows x rank), so every shared-memory
// value it reads feeds TM or TJ FMAs.
//===----------------------------------------------------------------------===//
template <int BM, int R, int THREADS> struct HypTile {
  static constexpr int OUT = BM * R;
  static constexpr int PER = (OUT + THREADS - 1) / THREADS; // outputs per thread
  static constexpr int TJ = PER < 4 ? (PER < R ? PER : R) : (R < 4 ? R : 4);
  static constexpr int TM = (PER + TJ - 1) / TJ;
  static constexpr int JG = (R + TJ - 1) / TJ; // column groups
  static constexpr int MG = (BM + TM - 1) / TM; // row groups
  static constexpr int SQ_PARTS = THREADS / BM; // threads summing one row's squares
  static_assert(MG * JG <= THREADS, "thread tiles must cover the block tile");
  static_assert(THREADS % BM == 0, "THREADS must be a multiple of BLOCK_M");
  // Tiles are row-major (x: [BM][KS], weights: [R][KS]) with an odd stride, so
  // the coalesced tile stores and the compute loop's column reads (threads of a
  // warp on different rows, same k) hit distinct banks.
  static constexpr int KS = HYP_KT + 1;
  static constexpr int LOAD_FLOATS = (BM + R) * KS;
};

/// acc[u][t] = sum_k X[m0 + tm*TM + u][k] * W(tj*TJ + t, k) over k < KDIM,
/// where W(j, k) = Wt[j*KDIM + k] (A: R x K) or Wt[k*R + j] (B: N x R, so the
/// product is dY B). With WANT_SQ, `sq` gets this thread's share of one row's
/// sum of squares (row tid % BM). Ends with a barrier: smem is free afterwards.
template <int BM, int R, int THREADS, int VEC, int KDIM, bool W_IS_KxR, bool WANT_SQ>
HYP_DEVICE_INLINE void hyp_row_dot(const hyp_act_t *__restrict__ X, const float *__restrict__ Wt,
                                   long long M, long long m0, float *smem,
                                   float (&acc)[HypTile<BM, R, THREADS>::TM]
                                               [HypTile<BM, R, THREADS>::TJ],
                                   float &sq) {
  typedef HypTile<BM, R, THREADS> T;
  float *xs = smem;             // [BM][KS]: x tile, fp32
  float *ws = smem + BM * T::KS; // [R][KS]: weight tile
  const int tid = threadIdx.x;
  const int tj = tid % T::JG, tm = tid / T::JG;
  const bool active = tm < T::MG;
  const bool vec_ok = hyp_vec_aligned<VEC>(X, KDIM);
#pragma unroll
  for (int u = 0; u < T::TM; ++u)
#pragma unroll
    for (int t = 0; t < T::TJ; ++t) acc[u][t] = 0.f;
  sq = 0.f;
  for (int k0 = 0; k0 < KDIM; k0 += HYP_KT) {
    for (int e = tid * VEC; e < BM * HYP_KT; e += THREADS * VEC) {
      const int m = e / HYP_KT, kk = e % HYP_KT;
      const long long row = m0 + m;
      const int gk = k0 + kk;
      float v[VEC];
      if (row < M && gk < KDIM && vec_ok) {
        hyp_load_act_vec<VEC>(X + row * KDIM + gk, v);
      } else {
#pragma unroll
        for (int i = 0; i < VEC; ++i)
          v[i] = (row < M && gk + i < KDIM) ? hyp_act_to_f32(X[row * KDIM + gk + i]) : 0.f;
      }
#pragma unroll
      for (int i = 0; i < VEC; ++i) xs[m * T::KS + kk + i] = v[i];
    }
    for (int e = tid; e < R * HYP_KT; e += THREADS) {
      const int j = W_IS_KxR ? e % R : e / HYP_KT;
      const int kk = W_IS_KxR ? e / R : e % HYP_KT;
      const int gk = k0 + kk;
      float v = 0.f;
      if (gk < KDIM) v = W_IS_KxR ? Wt[(long long)gk * R + j] : Wt[(long long)j * KDIM + gk];
      ws[j * T::KS + kk] = v;
    }
    __syncthreads();
    if (WANT_SQ && tid < T::SQ_PARTS * BM) {
      const int m = tid % BM;
      for (int kk = tid / BM; kk < HYP_KT; kk += T::SQ_PARTS) {
        const float v = xs[m * T::KS + kk];
        sq = fmaf(v, v, sq);
      }
    }
    if (active) {
#pragma unroll 4
      for (int kk = 0; kk < HYP_KT; ++kk) {
        float xv[T::TM], wv[T::TJ];
#pragma unroll
        for (int u = 0; u < T::TM; ++u) xv[u] = xs[hyp_imin(tm * T::TM + u, BM - 1) * T::KS + kk];
#pragma unroll
        for (int t = 0; t < T::TJ; ++t) wv[t] = ws[hyp_imin(tj * T::TJ + t, R - 1) * T::KS + kk];
#pragma unroll
        for (int u = 0; u < T::TM; ++u)
#pragma unroll
          for (int t = 0; t < T::TJ; ++t) acc[u][t] = fmaf(xv[u], wv[t], acc[u][t]);
      }
    }
    __syncthreads();
  }
}

/// Forward, first half: h = A x, n2 = |x|^2, the row scalars (c, q, gs) of the
/// generated program hyp_row_scalars, w = c*gs*h, stats = [n2, q, c, gs].
/// HAS_G: the variant needs z = h^T G h (hyperbolic ones; LoRA does not).
template <int BM, int R, int THREADS, int VEC, int KDIM, bool HAS_G>
HYP_DEVICE_INLINE void hyp_fwd_down_body(const hyp_act_t *__restrict__ x,
                                         const float *__restrict__ A,
                                         const float *__restrict__ G, const float *kp,
                                         const float *sp, float *__restrict__ w,
                                         float *__restrict__ stats, long long M, float scaling) {
  typedef HypTile<BM, R, THREADS> T;
  constexpr int POST_FLOATS = BM * (R + 1) + BM * T::JG + THREADS + BM;
  __shared__ float smem[HYP_CMAX(T::LOAD_FLOATS, POST_FLOATS)];
  const long long m0 = (long long)blockIdx.x * BM;
  float acc[T::TM][T::TJ];
  float sq;
  hyp_row_dot<BM, R, THREADS, VEC, KDIM, false, true>(x, A, M, m0, smem, acc, sq);

  float *hs = smem;                  // [BM][R+1]: h rows
  float *zpart = hs + BM * (R + 1);  // [BM][JG]: partial h^T G h
  float *sqpart = zpart + BM * T::JG; // [THREADS]: partial |x|^2
  float *rowf = sqpart + THREADS;    // [BM]: f = c * gs
  const int tid = threadIdx.x;
  const int tj = tid % T::JG, tm = tid / T::JG;
  const bool active = tm < T::MG;
  if (active) {
#pragma unroll
    for (int u = 0; u < T::TM; ++u)
#pragma unroll
      for (int t = 0; t < T::TJ; ++t) {
        const int m = tm * T::TM + u, j = tj * T::TJ + t;
        if (m < BM && j < R) hs[m * (R + 1) + j] = acc[u][t];
      }
  }
  sqpart[tid] = sq;
  __syncthreads();
  if (HAS_G && active) {
#pragma unroll
    for (int u = 0; u < T::TM; ++u) {
      const int m = tm * T::TM + u;
      if (m >= BM) continue;
      float zp = 0.f;
#pragma unroll
      for (int t = 0; t < T::TJ; ++t) {
        const int j = tj * T::TJ + t;
        if (j >= R) continue;
        float gh = 0.f;
#pragma unroll 8
        for (int l = 0; l < R; ++l) gh = fmaf(G[j * R + l], hs[m * (R + 1) + l], gh);
        zp = fmaf(acc[u][t], gh, zp);
      }
      zpart[m * T::JG + tj] = zp;
    }
  }
  __syncthreads();
  const float kv = kp ? *kp : 0.f;
  const float sv = sp ? *sp : 1.f;
  for (int m = tid; m < BM; m += THREADS) {
    const long long row = m0 + m;
    if (row >= M) continue;
    float n2 = 0.f;
    for (int p = 0; p < T::SQ_PARTS; ++p) n2 += sqpart[p * BM + m];
    float z = 0.f;
    if (HAS_G)
      for (int g = 0; g < T::JG; ++g) z += zpart[m * T::JG + g];
    float c, q, gs;
    hyp_row_scalars<float>(n2, z, kv, sv, scaling, &c, &q, &gs);
    stats[row * 4 + 0] = n2;
    stats[row * 4 + 1] = q;
    stats[row * 4 + 2] = c;
    stats[row * 4 + 3] = gs;
    rowf[m] = c * gs;
  }
  __syncthreads();
  for (int e = tid; e < BM * R; e += THREADS) {
    const int m = e / R, j = e % R;
    const long long row = m0 + m;
    if (row < M) w[row * R + j] = rowf[m] * hs[m * (R + 1) + j];
  }
}

/// Backward, first half: P = dY B; h = w / f; the chain rule through the row
/// scalars (dual numbers over hyp_row_scalars) gives dz = dL/d(h^T G h),
/// beta = dL/d|x|^2 * 2 and the dk/ds terms; then dH = f P + 2 dz G h,
/// R += sum_rows dz h h^T, dk += ..., ds += ... (atomics, caller-zeroed).
template <int BM, int R, int THREADS, int VEC, int NDIM, bool HAS_G>
HYP_DEVICE_INLINE void
hyp_bwd_dy_body(const hyp_act_t *__restrict__ dY, const float *__restrict__ B,
                const float *__restrict__ w, const float *__restrict__ stats,
                const float *__restrict__ G, const float *kp, const float *sp,
                float *__restrict__ dH, float *__restrict__ beta, float *Racc, float *dk,
                float *ds, long long M, float scaling) {
  typedef HypTile<BM, R, THREADS> T;
  constexpr int POST_FLOATS = BM * (R + 1) + 2 * BM * T::JG + 4 * BM;
  __shared__ float smem[HYP_CMAX(T::LOAD_FLOATS, POST_FLOATS)];
  const long long m0 = (long long)blockIdx.x * BM;
  float acc[T::TM][T::TJ]; // P = dY B
  float unused_sq;
  hyp_row_dot<BM, R, THREADS, VEC, NDIM, true, false>(dY, B, M, m0, smem, acc, unused_sq);

  float *hs = smem;                       // [BM][R+1]: h = w / f
  float *pdpart = hs + BM * (R + 1);      // [BM][JG]: partial P.h
  float *zpart = pdpart + BM * T::JG;     // [BM][JG]: partial h^T G h
  float *rowsc = zpart + BM * T::JG;      // [BM][4]: f, dz, dk part, ds part
  const int tid = threadIdx.x;
  const int tj = tid % T::JG, tm = tid / T::JG;
  const bool active = tm < T::MG;
  for (int e = tid; e < BM * R; e += THREADS) {
    const int m = e / R, j = e % R;
    const long long row = m0 + m;
    float hv = 0.f;
    if (row < M) {
      const float f = stats[row * 4 + 2] * stats[row * 4 + 3];
      hv = f != 0.f ? w[row * R + j] / f : 0.f;
    }
    hs[m * (R + 1) + j] = hv;
  }
  __syncthreads();
  float gh[T::TM][T::TJ];
  if (active) {
#pragma unroll
    for (int u = 0; u < T::TM; ++u) {
      const int m = tm * T::TM + u;
      float pd = 0.f, zp = 0.f;
#pragma unroll
      for (int t = 0; t < T::TJ; ++t) {
        const int j = tj * T::TJ + t;
        gh[u][t] = 0.f;
        if (m >= BM || j >= R) continue;
        const float hv = hs[m * (R + 1) + j];
        pd = fmaf(acc[u][t], hv, pd);
        if (HAS_G) {
          float g = 0.f;
#pragma unroll 8
          for (int l = 0; l < R; ++l) g = fmaf(G[j * R + l], hs[m * (R + 1) + l], g);
          gh[u][t] = g;
          zp = fmaf(hv, g, zp);
        }
      }
      if (m < BM) {
        pdpart[m * T::JG + tj] = pd;
        zpart[m * T::JG + tj] = zp;
      }
    }
  }
  __syncthreads();
  const float kv = kp ? *kp : 0.f;
  const float sv = sp ? *sp : 1.f;
  for (int m = tid; m < BM; m += THREADS) {
    float dfd = 0.f, z = 0.f;
    for (int g = 0; g < T::JG; ++g) {
      dfd += pdpart[m * T::JG + g];
      z += zpart[m * T::JG + g];
    }
    hyp_bwd_row_terms<>(m0 + m, M, dfd, z, stats, kv, sv, scaling, beta, rowsc + m * 4);
  }
  __syncthreads();
  if (active) {
#pragma unroll
    for (int u = 0; u < T::TM; ++u)
#pragma unroll
      for (int t = 0; t < T::TJ; ++t) {
        const int m = tm * T::TM + u, j = tj * T::TJ + t;
        if (m >= BM || j >= R || m0 + m >= M) continue;
        dH[(m0 + m) * R + j] = rowsc[m * 4 + 0] * acc[u][t] + 2.f * rowsc[m * 4 + 1] * gh[u][t];
      }
  }
  if (HAS_G) {
    for (int e = tid; e < R * R; e += THREADS) {
      const int j = e / R, l = e % R;
      float v = 0.f;
      for (int m = 0; m < BM; ++m)
        v = fmaf(rowsc[m * 4 + 1] * hs[m * (R + 1) + j], hs[m * (R + 1) + l], v);
      if (v != 0.f) atomicAdd(&Racc[e], v);
    }
  }
  if (tid == 0 && (dk || ds)) {
    float sk = 0.f, ss = 0.f;
    for (int m = 0; m < BM; ++m) {
      sk += rowsc[m * 4 + 2];
      ss += rowsc[m * 4 + 3];
    }
    if (dk) atomicAdd(dk, sk);
    if (ds) atomicAdd(ds, ss);
  }
}

//===----------------------------------------------------------------------===//
// Column-strip skeleton. Block (bx, by) owns COLS columns and the rows
// [by*ROWS, by*ROWS + ROWS); each thread owns CPT = COLS/THREADS columns
// (strided by THREADS, so a warp's accesses are contiguous). The r-wide
// per-row vectors (w or dH) stream through shared memory SUB rows at a time;
// the weight strip (A or B^T, R x COLS) stays in shared memory.
//===----------------------------------------------------------------------===//
template <int R> struct HypStrip {
  static constexpr int SUB = R <= 64 ? 32 : 16;
};

/// y[row][n] += sum_j w[row][j] B[n][j]  (y updated in place, activation
/// dtype), or with !ACCUMULATE y[row][n] = that sum (y never read: the caller
/// adds W x + b afterwards).
template <int COLS, int THREADS, int ROWS, int R, int NDIM, bool ACCUMULATE>
HYP_DEVICE_INLINE void hyp_fwd_up_body(const float *__restrict__ w, const float *__restrict__ B,
                                       hyp_act_t *__restrict__ y, long long M) {
  constexpr int CPT = COLS / THREADS;
  constexpr int SUB = HypStrip<R>::SUB;
  static_assert(COLS % THREADS == 0, "COLS must be a multiple of THREADS");
  __shared__ float Bs[R * COLS]; // Bs[j*COLS + c] = B[n0 + c][j]
  __shared__ float wsub[SUB * R];
  const int tid = threadIdx.x;
  const int n0 = blockIdx.x * COLS;
  const long long r0 = (long long)blockIdx.y * ROWS;
  const long long r1 = hyp_llmin(r0 + ROWS, M);
  for (int e = tid; e < COLS * R; e += THREADS) {
    const int c = e / R, j = e % R;
    Bs[j * COLS + c] = n0 + c < NDIM ? B[(long long)(n0 + c) * R + j] : 0.f;
  }
  for (long long s0 = r0; s0 < r1; s0 += SUB) {
    const int rows = (int)hyp_llmin(SUB, r1 - s0);
    __syncthreads();
    for (int e = tid; e < rows * R; e += THREADS) wsub[e] = w[s0 * R + e];
    __syncthreads();
    for (int mm = 0; mm < rows; ++mm) {
#pragma unroll
      for (int i = 0; i < CPT; ++i) {
        const int c = tid + i * THREADS, n = n0 + c;
        if (n >= NDIM) continue;
        float a = 0.f;
#pragma unroll 8
        for (int j = 0; j < R; ++j) a = fmaf(wsub[mm * R + j], Bs[j * COLS + c], a);
        const long long idx = (s0 + mm) * NDIM + n;
        y[idx] = hyp_f32_to_act(ACCUMULATE ? hyp_act_to_f32(y[idx]) + a : a);
      }
    }
  }
}

/// dx[row][k] = sum_j dH[row][j] A[j][k] + beta[row] x[row][k] (the adapter's
/// part: the caller adds dY W with cuBLAS, beta = 1), and on the way
/// dA[j][k] += sum_rows dH[row][j] x[row][k] (one atomic per element per
/// block): x is read once, dx written once.
template <int COLS, int THREADS, int ROWS, int R, int KDIM, bool HAS_BETA>
HYP_DEVICE_INLINE void hyp_bwd_dx_body(const hyp_act_t *__restrict__ x,
                                       const float *__restrict__ A,
                                       const float *__restrict__ dH,
                                       const float *__restrict__ beta,
                                       hyp_act_t *__restrict__ dx, float *dA, long long M) {
  constexpr int CPT = COLS / THREADS;
  constexpr int SUB = HypStrip<R>::SUB;
  static_assert(COLS % THREADS == 0, "COLS must be a multiple of THREADS");
  __shared__ float As[R * COLS];        // As[j*COLS + c] = A[j][k0 + c]
  __shared__ float hsub[SUB * (R + 1)]; // dH rows, beta in column R
  const int tid = threadIdx.x;
  const int k0 = blockIdx.x * COLS;
  const long long r0 = (long long)blockIdx.y * ROWS;
  const long long r1 = hyp_llmin(r0 + ROWS, M);
  for (int e = tid; e < R * COLS; e += THREADS) {
    const int j = e / COLS, c = e % COLS;
    As[e] = k0 + c < KDIM ? A[(long long)j * KDIM + k0 + c] : 0.f;
  }
  float dacc[CPT][R];
#pragma unroll
  for (int i = 0; i < CPT; ++i)
#pragma unroll
    for (int j = 0; j < R; ++j) dacc[i][j] = 0.f;
  for (long long s0 = r0; s0 < r1; s0 += SUB) {
    const int rows = (int)hyp_llmin(SUB, r1 - s0);
    __syncthreads();
    for (int e = tid; e < rows * R; e += THREADS) hsub[(e / R) * (R + 1) + e % R] = dH[s0 * R + e];
    for (int m = tid; m < rows; m += THREADS) hsub[m * (R + 1) + R] = HAS_BETA ? beta[s0 + m] : 0.f;
    __syncthreads();
    for (int mm = 0; mm < rows; ++mm) {
      const float *hrow = hsub + mm * (R + 1);
#pragma unroll
      for (int i = 0; i < CPT; ++i) {
        const int c = tid + i * THREADS, k = k0 + c;
        if (k >= KDIM) continue;
        const long long idx = (s0 + mm) * KDIM + k;
        const float xv = hyp_act_to_f32(x[idx]);
        float a = hrow[R] * xv;
#pragma unroll 8
        for (int j = 0; j < R; ++j) {
          a = fmaf(hrow[j], As[j * COLS + c], a);
          dacc[i][j] = fmaf(hrow[j], xv, dacc[i][j]);
        }
        dx[idx] = hyp_f32_to_act(a);
      }
    }
  }
  if (r1 <= r0) return;
#pragma unroll
  for (int i = 0; i < CPT; ++i) {
    const int k = k0 + tid + i * THREADS;
    if (k >= KDIM) continue;
#pragma unroll 8
    for (int j = 0; j < R; ++j) atomicAdd(&dA[(long long)j * KDIM + k], dacc[i][j]);
  }
}

/// dB[n][j] += sum_rows dY[row][n] w[row][j]  (+ 2 (B R)[n][j], added once,
/// by the blocks of row chunk 0, when HAS_G: the Gram matrix's share).
template <int COLS, int THREADS, int ROWS, int R, int NDIM, bool HAS_G>
HYP_DEVICE_INLINE void hyp_bwd_db_body(const hyp_act_t *__restrict__ dY,
                                       const float *__restrict__ w,
                                       const float *__restrict__ B,
                                       const float *__restrict__ Rm, float *dB, long long M) {
  constexpr int CPT = COLS / THREADS;
  constexpr int SUB = HypStrip<R>::SUB;
  static_assert(COLS % THREADS == 0, "COLS must be a multiple of THREADS");
  __shared__ float wsub[SUB * R];
  const int tid = threadIdx.x;
  const int n0 = blockIdx.x * COLS;
  const long long r0 = (long long)blockIdx.y * ROWS;
  const long long r1 = hyp_llmin(r0 + ROWS, M);
  float acc[CPT][R];
#pragma unroll
  for (int i = 0; i < CPT; ++i)
#pragma unroll
    for (int j = 0; j < R; ++j) acc[i][j] = 0.f;
  for (long long s0 = r0; s0 < r1; s0 += SUB) {
    const int rows = (int)hyp_llmin(SUB, r1 - s0);
    __syncthreads();
    for (int e = tid; e < rows * R; e += THREADS) wsub[e] = w[s0 * R + e];
    __syncthreads();
    for (int mm = 0; mm < rows; ++mm) {
#pragma unroll
      for (int i = 0; i < CPT; ++i) {
        const int n = n0 + tid + i * THREADS;
        if (n >= NDIM) continue;
        const float dyv = hyp_act_to_f32(dY[(s0 + mm) * NDIM + n]);
#pragma unroll 8
        for (int j = 0; j < R; ++j) acc[i][j] = fmaf(dyv, wsub[mm * R + j], acc[i][j]);
      }
    }
  }
  if (r1 <= r0) return;
#pragma unroll
  for (int i = 0; i < CPT; ++i) {
    const int n = n0 + tid + i * THREADS;
    if (n >= NDIM) continue;
    for (int j = 0; j < R; ++j) {
      float v = acc[i][j];
      if (HAS_G && blockIdx.y == 0) {
        float br = 0.f;
        for (int l = 0; l < R; ++l) br = fmaf(B[(long long)n * R + l], Rm[l * R + j], br);
        v = fmaf(2.f, br, v);
      }
      atomicAdd(&dB[(long long)n * R + j], v);
    }
  }
}

/// G += B^T B over the block's GROWS rows of B (N x R). Few rows per block
/// and the row loop outside the output loop: G is tiny (R x R) but every one
/// of its entries is a sum over all N rows, so a block that walks many rows is
/// one long chain of dependent shared-memory loads and FMAs (46 us whatever N
/// with 256 rows a block on an H200); GROWS = 32 spreads the rows over N/32
/// blocks and each thread keeps OPT independent chains in flight.
/// BT (nullable): B transposed (R x N), written from the staged rows for the
/// tensor-core hyp_bwd_dy, which reads it like A (16-byte pieces of k-rows)
/// instead of B's 8-byte pieces (15% of its time: kernel A/B on an H200).
template <int THREADS, int GROWS, int R, int NDIM>
HYP_DEVICE_INLINE void hyp_gram_body(const float *__restrict__ B, float *G,
                                     float *__restrict__ BT) {
  constexpr int SUBROWS = GROWS < 64 ? GROWS : 64;
  constexpr int OPT = (R * R + THREADS - 1) / THREADS;
  static_assert(GROWS % SUBROWS == 0, "GROWS must be a multiple of the staged rows");
  // Row stride R + 1: the BT copy reads a column of the stage (consecutive
  // rows across a warp), which a stride of R (a multiple of 32) would put in
  // one bank.
  constexpr int LDS = R + 1;
  __shared__ float bs[SUBROWS * LDS];
  const int tid = threadIdx.x;
  const int n0 = blockIdx.x * GROWS;
  float acc[OPT];
#pragma unroll
  for (int o = 0; o < OPT; ++o) acc[o] = 0.f;
  for (int s0 = n0; s0 < n0 + GROWS && s0 < NDIM; s0 += SUBROWS) {
    __syncthreads();
    for (int e = tid; e < SUBROWS * R; e += THREADS) {
      const int n = s0 + e / R;
      bs[(e / R) * LDS + e % R] = n < NDIM ? B[(long long)s0 * R + e] : 0.f;
    }
    __syncthreads();
    if (BT) // consecutive threads take consecutive rows n: whole-line stores
      for (int e = tid; e < SUBROWS * R; e += THREADS) {
        const int j = e / SUBROWS, mm = e % SUBROWS;
        if (s0 + mm < NDIM) BT[(long long)j * NDIM + s0 + mm] = bs[mm * LDS + j];
      }
    for (int mm = 0; mm < SUBROWS; ++mm) {
#pragma unroll
      for (int o = 0; o < OPT; ++o) {
        const int e = tid + o * THREADS;
        if (e >= R * R) continue;
        const int j = e / R, l = e % R;
        acc[o] = fmaf(bs[mm * LDS + j], bs[mm * LDS + l], acc[o]);
      }
    }
  }
#pragma unroll
  for (int o = 0; o < OPT; ++o) {
    const int e = tid + o * THREADS;
    if (e < R * R) atomicAdd(&G[e], acc[o]);
  }
}
