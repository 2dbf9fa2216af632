//===- HypTensorCore.cuh - tensor-core skeletons (bf16 activations) -*- CUDA -*-===//
//
// Pasted after HypKernelLib.cuh (same translation unit, same rules). Tensor-core
// versions of the skeletons for bf16 activations: the row-reduces
// hyp_tc_fwd_down, hyp_tc_bwd_dy and the column kernels hyp_tc_fwd_up,
// hyp_tc_bwd_db, hyp_tc_bwd_dx (docs/KERNELS.md). The SIMT ones stay for fp32
// and fp16 activations and for ranks that are not a multiple of 8. For
// y += w B^T a tunable picks the tensor-core or the SIMT skeleton (a first
// tensor-core version, y through fp32 shared memory, measured 1.3-1.9x slower
// than SIMT on an H200 from M = 4096 rows; this one keeps y in the MMA
// accumulators).
//
// Products are warp-level mma.sync m16n8k16 (bf16 x bf16 -> fp32) on operands
// staged in shared memory. Activations (x, dY, y, dx) are exact in bf16. The
// fp32 operands (A, B, w, dH) are split v = hi + lo, hi = bf16(v),
// lo = bf16(v - hi), and a product is hi*act + lo*act, or for two fp32
// operands hi*hi + lo*hi + hi*lo: about 2^-16 relative, fp32-like, so only the
// bf16 rounding of the activations' I/O remains (HYPLORA.md section 5).
//
// Emulation: the one function that differs between the GPU and the CPU
// emulation (tests/gtest/capi/CudaEmulation.h) is the MMA itself. Its operands
// are shared-memory pointers; on sm_80+ a lane loads its fragments and issues
// mma.sync, elsewhere (CPU emulation, older GPUs) the lane computes its own
// four outputs with a scalar loop over the same bf16 operands. No lane reads
// another lane's registers, so the emulation needs no warp barrier.
//
// Shared-memory operand layout: every operand is stored "k-contiguous" (the
// reduction index is the fastest one), with a row stride of KT + 8 halves:
// the fragment loads are then 32-bit and bank-conflict free (stride/2 words
// is 4 mod 8). Operands that arrive k-strided from global memory (x and dY
// when the reduction runs over rows, A when it runs over the rank) are
// transposed while being stored, once per element. The row-reduce kernels
// are the exception: their operands arrive through a cp.async ring as raw
// tiles (fp32 weights unsplit) and each warp splits its weight fragments in
// registers (see "Row-reduce on tensor cores" below).
//
//===----------------------------------------------------------------------===//

typedef unsigned short hyp_u16; // a bf16 bit pattern
typedef unsigned int hyp_u32;

/// Rows of activations staged per step: 8 bf16 = one 16-byte transaction.
struct alignas(16) hyp_u16x8 {
  hyp_u16 e[8];
};
/// The same 16 bytes as four words (bf16 pairs, the lower element in the low half).
struct alignas(16) hyp_u32x4 {
  hyp_u32 e[4];
};

HYP_DEVICE_INLINE float hyp_bf16_bits_to_f32(hyp_u16 h) {
  return __uint_as_float(((hyp_u32)h) << 16);
}
/// Round to nearest even (NaN stays a quiet NaN).
HYP_DEVICE_INLINE hyp_u16 hyp_f32_to_bf16_bits(float f) {
  hyp_u32 u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (hyp_u16)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (hyp_u16)(u >> 16);
}
/// v = hi + lo to ~2^-16 relative (both bf16).
HYP_DEVICE_INLINE void hyp_split_bf16(float v, hyp_u16 *hi, hyp_u16 *lo) {
  const hyp_u16 h = hyp_f32_to_bf16_bits(v);
  *hi = h;
  *lo = hyp_f32_to_bf16_bits(v - hyp_bf16_bits_to_f32(h));
}

/// Row stride (in halves) of a k-contiguous operand whose k extent is KT
/// (a multiple of 16): conflict-free 32-bit fragment loads, 16-byte rows.
template <int KT> struct HypLd {
  static_assert(KT % 16 == 0, "k extent must be a multiple of 16");
  static constexpr int value = KT + 8;
};
#define HYP_ROUND_UP(v, m) (((v) + (m)-1) / (m) * (m))

//===----------------------------------------------------------------------===//
// The MMA helper.
// A(i, k) = a[i * lda + k] (16 x 16), B(k, n) = b[n * ldb + k] (16 x 8: the
// "col" operand, stored n-major), acc = this lane's C fragment
// (lane = 4g + t: acc[0..1] = C(g, 2t..2t+1), acc[2..3] = C(g+8, 2t..2t+1)).
// acc += A B. lda, ldb even and a, b 4-byte aligned (32-bit fragment loads).
//===----------------------------------------------------------------------===//
#if defined(HYP_CPU_EMULATION) || !defined(__CUDA_ARCH__) || __CUDA_ARCH__ < 800
#define HYP_MMA_SCALAR 1
#endif

#ifndef HYP_MMA_SCALAR
// Fragments of m16n8k16 (PTX ISA, "Matrix Fragments for mma.m16n8k16"):
// A: a0 = (g, 2t..2t+1), a1 = (g+8, 2t..), a2 = (g, 2t+8..), a3 = (g+8, 2t+8..);
// B: b0 = (k = 2t..2t+1, n = g), b1 = (k = 2t+8..2t+9, n = g).
HYP_DEVICE_INLINE void hyp_mma_a_frag(hyp_u32 (&f)[4], const hyp_u16 *a, int lda) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  f[0] = *reinterpret_cast<const hyp_u32 *>(a + g * lda + 2 * t);
  f[1] = *reinterpret_cast<const hyp_u32 *>(a + (g + 8) * lda + 2 * t);
  f[2] = *reinterpret_cast<const hyp_u32 *>(a + g * lda + 2 * t + 8);
  f[3] = *reinterpret_cast<const hyp_u32 *>(a + (g + 8) * lda + 2 * t + 8);
}
HYP_DEVICE_INLINE void hyp_mma_b_frag(hyp_u32 (&f)[2], const hyp_u16 *b, int ldb) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  f[0] = *reinterpret_cast<const hyp_u32 *>(b + g * ldb + 2 * t);
  f[1] = *reinterpret_cast<const hyp_u32 *>(b + g * ldb + 2 * t + 8);
}
HYP_DEVICE_INLINE void hyp_mma_bf16(float (&acc)[4], const hyp_u32 (&a)[4], const hyp_u32 (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

#ifdef HYP_MMA_SCALAR
/// One k of an emulated split product (the scalar paths of the k-steps
/// below): v, fp32, split hi + lo as the fragments split it, times an exact
/// bf16 b; the small term goes to slo, the large one to shi (the caller adds
/// slo first, as the MMAs are issued).
HYP_DEVICE_INLINE void hyp_emu_split_fma(float v, float b, float &slo, float &shi) {
  hyp_u16 hi, lo;
  hyp_split_bf16(v, &hi, &lo);
  slo = fmaf(hyp_bf16_bits_to_f32(lo), b, slo);
  shi = fmaf(hyp_bf16_bits_to_f32(hi), b, shi);
}
/// The same with b = bh + bl split too: lo*bh + hi*bl to slo, hi*bh to shi.
HYP_DEVICE_INLINE void hyp_emu_split_fma(float v, float bh, float bl, float &slo, float &shi) {
  hyp_u16 hi, lo;
  hyp_split_bf16(v, &hi, &lo);
  slo = fmaf(hyp_bf16_bits_to_f32(lo), bh, slo);
  slo = fmaf(hyp_bf16_bits_to_f32(hi), bl, slo);
  shi = fmaf(hyp_bf16_bits_to_f32(hi), bh, shi);
}
#endif

HYP_DEVICE_INLINE void hyp_mma_tile_16x8(float (&acc)[4], const hyp_u16 *a, int lda,
                                         const hyp_u16 *b, int ldb) {
#ifdef HYP_MMA_SCALAR
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < 2; ++c) {
      const hyp_u16 *ar = a + (g + 8 * h) * lda, *bc = b + (2 * t + c) * ldb;
      float s = 0.f;
      for (int k = 0; k < 16; ++k)
        s = fmaf(hyp_bf16_bits_to_f32(ar[k]), hyp_bf16_bits_to_f32(bc[k]), s);
      acc[2 * h + c] += s;
    }
#else
  hyp_u32 af[4], bf[2];
  hyp_mma_a_frag(af, a, lda);
  hyp_mma_b_frag(bf, b, ldb);
  hyp_mma_bf16(acc, af, bf);
#endif
}

/// acc += (Ahi + Alo)(Bhi + Blo), lo*lo dropped; a null lo means that operand
/// is exact in bf16 (an activation). Small terms first.
HYP_DEVICE_INLINE void hyp_mma_split_16x8(float (&acc)[4], const hyp_u16 *ahi, const hyp_u16 *alo,
                                          int lda, const hyp_u16 *bhi, const hyp_u16 *blo,
                                          int ldb) {
  if (alo) hyp_mma_tile_16x8(acc, alo, lda, bhi, ldb);
  if (blo) hyp_mma_tile_16x8(acc, ahi, lda, blo, ldb);
  hyp_mma_tile_16x8(acc, ahi, lda, bhi, ldb);
}

/// Which 16x8 output tiles warp `warp` owns in an MT x NT block tile: tiles
/// warp, warp + NWARPS, ... in row-major tile order.
template <int MT, int NT, int NWARPS> struct HypWarpTiles {
  static_assert(MT % 16 == 0 && NT % 8 == 0, "block tile must be a multiple of 16 x 8");
  static constexpr int TN = NT / 8;
  static constexpr int TILES = (MT / 16) * TN;
  static constexpr int PER_WARP = (TILES + NWARPS - 1) / NWARPS;
};

/// acc[p] (the warp's p-th tile of the MT x NT block tile C) += A B over KT,
/// A(i, k) = a[i * lda + k], B(k, n) = b[n * ldb + k], both possibly split.
template <int MT, int NT, int KT, int NWARPS>
HYP_DEVICE_INLINE void hyp_block_mma(float (&acc)[HypWarpTiles<MT, NT, NWARPS>::PER_WARP][4],
                                     const hyp_u16 *ahi, const hyp_u16 *alo, int lda,
                                     const hyp_u16 *bhi, const hyp_u16 *blo, int ldb) {
  typedef HypWarpTiles<MT, NT, NWARPS> W;
  const int warp = threadIdx.x >> 5;
#pragma unroll
  for (int p = 0; p < W::PER_WARP; ++p) {
    const int tile = warp + p * NWARPS;
    if (tile >= W::TILES) break;
    const int ti = tile / W::TN, tn = tile % W::TN;
#pragma unroll
    for (int k0 = 0; k0 < KT; k0 += 16) {
      const int ao = ti * 16 * lda + k0, bo = tn * 8 * ldb + k0;
      hyp_mma_split_16x8(acc[p], ahi + ao, alo ? alo + ao : nullptr, lda, bhi + bo,
                         blo ? blo + bo : nullptr, ldb);
    }
  }
}

/// The fp32 tile C (MT x NT, c[i * ldc + n]) <-> the warps' accumulators.
template <int MT, int NT, int NWARPS, bool TO_REGS>
HYP_DEVICE_INLINE void hyp_block_acc_move(float (&acc)[HypWarpTiles<MT, NT, NWARPS>::PER_WARP][4],
                                          float *c, int ldc) {
  typedef HypWarpTiles<MT, NT, NWARPS> W;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int p = 0; p < W::PER_WARP; ++p) {
    const int tile = warp + p * NWARPS;
    if (tile >= W::TILES) break;
    const int ti = tile / W::TN, tn = tile % W::TN;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float &v = c[(ti * 16 + g + 8 * (e >> 1)) * ldc + tn * 8 + 2 * t + (e & 1)];
      if (TO_REGS) acc[p][e] = v;
      else v = acc[p][e];
    }
  }
}

//===----------------------------------------------------------------------===//
// Activation I/O: 8 consecutive bf16 of one row, one 16-byte access when
// `vec` (row length and base pointer allow it), else masked scalars. Rows at
// or past `rows_end` and columns at or past LEN read as zero / are skipped.
//===----------------------------------------------------------------------===//
template <int LEN>
HYP_DEVICE_INLINE hyp_u16x8 hyp_tc_load8(const hyp_u16 *__restrict__ base, long long row,
                                         int col, long long rows_end, bool vec) {
  hyp_u16x8 v;
  if (row < rows_end && vec && col + 8 <= LEN) {
    v = *reinterpret_cast<const hyp_u16x8 *>(base + row * LEN + col);
  } else {
#pragma unroll
    for (int i = 0; i < 8; ++i)
      v.e[i] = (row < rows_end && col + i < LEN) ? base[row * LEN + col + i] : (hyp_u16)0;
  }
  return v;
}
template <int LEN>
HYP_DEVICE_INLINE void hyp_tc_store8(hyp_u16 *__restrict__ base, long long row, int col,
                                     long long rows_end, bool vec, const hyp_u16x8 &v) {
  if (row >= rows_end) return;
  if (vec && col + 8 <= LEN) {
    *reinterpret_cast<hyp_u16x8 *>(base + row * LEN + col) = v;
  } else {
#pragma unroll
    for (int i = 0; i < 8; ++i)
      if (col + i < LEN) base[row * LEN + col + i] = v.e[i];
  }
}

template <int LEN>
HYP_DEVICE_INLINE void hyp_tc_store_pair(hyp_u16 *__restrict__ base, long long row, int col,
                                         long long rows_end, bool vec, float v0, float v1) {
  if (row >= rows_end) return;
  const hyp_u16 lo = hyp_f32_to_bf16_bits(v0), hi = hyp_f32_to_bf16_bits(v1);
  if (vec && col + 2 <= LEN) {
    *reinterpret_cast<hyp_u32 *>(base + row * LEN + col) = (hyp_u32)lo | ((hyp_u32)hi << 16);
    return;
  }
  if (col < LEN) base[row * LEN + col] = lo;
  if (col + 1 < LEN) base[row * LEN + col + 1] = hi;
}

template <int LEN> HYP_DEVICE_INLINE bool hyp_tc_vec_ok(const void *p) {
  return LEN % 8 == 0 && ((unsigned long long)p) % 16ull == 0ull;
}

/// This block's rows [*r0, *r1) in a kernel whose grid's y axis cuts the M
/// rows into chunks (ceil(M / ROWS) of them; ROWS is a launch-only tunable):
/// gridDim.y chunks of equal size rounded up to the row step SUBM. ROWS is not
/// compiled in, so one compiled kernel serves all its values (a cold start
/// compiles one config of each column kernel, not four).
template <int SUBM>
HYP_DEVICE_INLINE void hyp_tc_block_rows(long long M, long long *r0, long long *r1) {
  const long long chunks = gridDim.y;
  const long long per = HYP_ROUND_UP((M + chunks - 1) / chunks, SUBM);
  *r0 = (long long)blockIdx.y * per;
  *r1 = hyp_llmin(*r0 + per, M);
}

/// An activation tile of SUBM rows x BC columns as 16-byte chunks, PER per
/// thread: chunk e = tid + i * THREADS is row e % SUBM, columns
/// 8 * (e / SUBM) ... + 7. Lane-consecutive rows: the column-wise shared-memory
/// stores that follow (transposes, odd-stride fp32 tiles) are conflict-free.
template <int SUBM, int BC, int THREADS> struct HypTcTile {
  static constexpr int CHUNKS = SUBM * (BC / 8);
  static constexpr int PER = (CHUNKS + THREADS - 1) / THREADS;
};
/// Loads the tile of rows [s0, s0 + SUBM) (rows past r1 read as zero) into
/// registers: issued one step ahead, so the loads fly during the MMAs.
template <int SUBM, int BC, int THREADS, int LEN>
HYP_DEVICE_INLINE void hyp_tc_tile_load(hyp_u16x8 (&v)[HypTcTile<SUBM, BC, THREADS>::PER],
                                        const hyp_u16 *__restrict__ base, long long s0, int c0,
                                        long long r1, bool vec) {
  typedef HypTcTile<SUBM, BC, THREADS> T;
#pragma unroll
  for (int i = 0; i < T::PER; ++i) {
    const int e = threadIdx.x + i * THREADS;
    v[i] = hyp_tc_load8<LEN>(base, s0 + e % SUBM, c0 + (e / SUBM) * 8, e < T::CHUNKS ? r1 : 0,
                             vec);
  }
}

/// Stores the fp32 shared-memory tile Cs (SUBM x BC, row stride LDC) to rows
/// [s0, s0 + SUBM) (rows past r1 skipped) as bf16, 16-byte chunks in the
/// chunk order of hyp_tc_tile_load: the end of every read-modify-write step.
template <int SUBM, int BC, int THREADS, int LEN, int LDC>
HYP_DEVICE_INLINE void hyp_tc_tile_store(const float *Cs, hyp_u16 *__restrict__ base,
                                         long long s0, int c0, long long r1, bool vec) {
  typedef HypTcTile<SUBM, BC, THREADS> T;
#pragma unroll
  for (int i = 0; i < T::PER; ++i) {
    const int e = threadIdx.x + i * THREADS;
    if (e >= T::CHUNKS) continue;
    const int m = e % SUBM, c8 = (e / SUBM) * 8;
    hyp_u16x8 v;
#pragma unroll
    for (int q = 0; q < 8; ++q) v.e[q] = hyp_f32_to_bf16_bits(Cs[m * LDC + c8 + q]);
    hyp_tc_store8<LEN>(base, s0 + m, c0 + c8, r1, vec, v);
  }
}

/// Tile (ti, tn) of a row-update (y += w B^T, dx = beta x + dH A): acc, this
/// lane's C fragments of the 16 x 8 tile (the starting values),
/// += A rows [16 ti, 16 ti + 16) times B rows [8 tn, 8 tn + 8)^T over k < KT
/// (both split hi/lo, k-contiguous, row stride LD), then stored back as bf16
/// pairs at rows s0 + 16 ti + g (+ 8), columns c0 + 8 tn + 2t of `out`.
template <int KT, int LD, int LEN>
HYP_DEVICE_INLINE void hyp_tc_mma_store_tile(float (&acc)[4], const hyp_u16 *ahi, const hyp_u16 *alo,
                                             const hyp_u16 *bhi, const hyp_u16 *blo, int ti, int tn,
                                             hyp_u16 *__restrict__ out, long long s0, int c0,
                                             long long r1, bool vec) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int k0 = 0; k0 < KT; k0 += 16)
    hyp_mma_split_16x8(acc, ahi + ti * 16 * LD + k0, alo + ti * 16 * LD + k0, LD,
                       bhi + tn * 8 * LD + k0, blo + tn * 8 * LD + k0, LD);
#pragma unroll
  for (int h = 0; h < 2; ++h)
    hyp_tc_store_pair<LEN>(out, s0 + ti * 16 + g + 8 * h, c0 + tn * 8 + 2 * t, r1, vec,
                           acc[2 * h], acc[2 * h + 1]);
}

//===----------------------------------------------------------------------===//
// fp32 operand tiles (A, B, w, dH) as 16-byte quads held in registers. Every
// kernel loads the next step's tile while the current one multiplies: a loop
// of scalar loads between two barriers would wait out one L2 round trip per
// few loads (measured: ~4 us per 128-column chunk in the row-reduce, most of
// its time; docs/KERNELS.md).
//===----------------------------------------------------------------------===//
struct alignas(16) hyp_f32x4 {
  float e[4];
};

/// A TR x TC tile (TC a multiple of 4) of a row-major fp32 matrix, quads per
/// thread: quad q = tid + i * THREADS is tile row q / (TC / 4), columns
/// 4 * (q % (TC / 4)) ... + 3, or with QCOLS (quads down the rows: lanes
/// take consecutive rows) row q % TR, columns 4 * (q / TR) ... + 3.
template <int TR, int TC, int THREADS> struct HypF4Tile {
  static_assert(TC % 4 == 0, "tile columns must be a multiple of 4");
  static constexpr int QPR = TC / 4;
  static constexpr int QUADS = TR * QPR;
  static constexpr int PER = (QUADS + THREADS - 1) / THREADS;
};

/// Loads tile rows [r0, r0 + TR) x columns [c0, c0 + TC) of the matrix
/// base[row * ld + col]; rows at or past rows_end and columns at or past
/// cols_end read as zero. `vec`: base 16-byte aligned, ld and c0 multiples of 4.
template <int TR, int TC, int THREADS, bool QCOLS = false>
HYP_DEVICE_INLINE void hyp_f4_tile_load(hyp_f32x4 (&v)[HypF4Tile<TR, TC, THREADS>::PER],
                                        const float *__restrict__ base, long long ld,
                                        long long r0, long long rows_end, long long c0,
                                        long long cols_end, bool vec) {
  typedef HypF4Tile<TR, TC, THREADS> T;
#pragma unroll
  for (int i = 0; i < T::PER; ++i) {
    const int q = threadIdx.x + i * THREADS;
    const long long row = r0 + (QCOLS ? q % TR : q / T::QPR);
    const long long col = c0 + (QCOLS ? q / TR : q % T::QPR) * 4;
    const bool live = q < T::QUADS && row < rows_end;
    if (live && vec && col + 4 <= cols_end) {
      v[i] = *reinterpret_cast<const hyp_f32x4 *>(base + row * ld + col);
    } else {
#pragma unroll
      for (int e = 0; e < 4; ++e) v[i].e[e] = (live && col + e < cols_end) ? base[row * ld + col + e] : 0.f;
    }
  }
}
HYP_DEVICE_INLINE bool hyp_f4_vec_ok(const float *p, long long ld) {
  return ld % 4 == 0 && ((unsigned long long)p) % 16ull == 0ull;
}

/// Calls f(tile_row, tile_col, value) for every element this thread holds.
template <int TR, int TC, int THREADS, bool QCOLS = false, class F>
HYP_DEVICE_INLINE void hyp_f4_tile_each(const hyp_f32x4 (&v)[HypF4Tile<TR, TC, THREADS>::PER],
                                        F f) {
  typedef HypF4Tile<TR, TC, THREADS> T;
#pragma unroll
  for (int i = 0; i < T::PER; ++i) {
    const int q = threadIdx.x + i * THREADS;
    if (q >= T::QUADS) continue;
#pragma unroll
    for (int e = 0; e < 4; ++e)
      f(QCOLS ? q % TR : q / T::QPR, (QCOLS ? q / TR : q % T::QPR) * 4 + e, v[i].e[e]);
  }
}

//===----------------------------------------------------------------------===//
// dx[row][k] = sum_j dH[row][j] A[j][k] + beta[row] x[row][k] (the adapter's
// part; the caller adds dY W) and
// dA[j][k] += sum_rows dH[row][j] x[row][k], the staged kernel (r > 64; the
// ring kernel below takes r <= 64, where its A strip and ring fit 48 KiB).
// Block (bx, by): columns [bx*BK, bx*BK + BK), row chunk by
// (hyp_tc_block_rows) in steps of SUBM. Per step: dH rows split into both layouts, x tile transposed into shared memory (the dA
// operand, and beta x), dx from the MMA accumulators (each lane its own C
// fragments, started at beta x); dx MMA
// (3 terms) with A (split once per block), dA MMA (2 terms) into the warps'
// persistent accumulators. Everything a step reads from global memory is
// loaded one step ahead into registers. x is read once, dx written once.
//===----------------------------------------------------------------------===//
template <int R, int BK> struct HypTcDx {
  static constexpr int SUBM = R <= 64 ? 32 : 16; // (r <= 64: the ring kernel)
  static constexpr int RP = HYP_ROUND_UP(R, 16);
  static constexpr int LDR = HypLd<RP>::value;
  static constexpr int LDM = HypLd<SUBM>::value;
  static constexpr int SMEM_BYTES = 2 * BK * LDR * 2 + 2 * SUBM * LDR * 2 + 2 * RP * LDM * 2 +
                                    BK * LDM * 2 + SUBM * 4;
};

template <int BK, int THREADS, int R, int KDIM, bool HAS_BETA>
HYP_DEVICE_INLINE void hyp_tc_bwd_dx_staged(const hyp_act_t *__restrict__ x_act,
                                            const float *__restrict__ A,
                                            const float *__restrict__ dH,
                                            const float *__restrict__ beta,
                                            hyp_act_t *__restrict__ dx_act, float *dA,
                                            long long M) {
  typedef HypTcDx<R, BK> G;
  constexpr int SUBM = G::SUBM, RP = G::RP, LDR = G::LDR, LDM = G::LDM;
  constexpr int NWARPS = THREADS / 32;
  constexpr int TI = SUBM / 16, TN = BK / 8, TILES = TI * TN; // dx tiles: rows x columns
  static_assert(THREADS % 32 == 0, "whole warps");
  // dx tile L = warp * PER + p (tn = L / TI, ti = L % TI); at r = 128 some warps have none.
  constexpr int PER = (TILES + NWARPS - 1) / NWARPS;
  typedef HypWarpTiles<RP, BK, NWARPS> WA;   // dA tile: rank x columns, k = rows
  static_assert(BK % 8 == 0, "tile geometry");
  static_assert(G::SMEM_BYTES <= 48 * 1024, "static shared memory above 48 KiB");
  alignas(16) __shared__ hyp_u16 Athi[BK * LDR], Atlo[BK * LDR];   // A(j, c) at [c][j]
  alignas(16) __shared__ hyp_u16 dhhi[SUBM * LDR], dhlo[SUBM * LDR]; // dH(m, j) at [m][j]
  alignas(16) __shared__ hyp_u16 dhthi[RP * LDM], dhtlo[RP * LDM];   // dH(m, j) at [j][m]
  alignas(16) __shared__ hyp_u16 xt[BK * LDM];                       // x(m, c) at [c][m]
  __shared__ float betas[SUBM];
  const hyp_u16 *x = reinterpret_cast<const hyp_u16 *>(x_act);
  hyp_u16 *dx = reinterpret_cast<hyp_u16 *>(dx_act);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int k0 = blockIdx.x * BK;
  long long r0, r1;
  hyp_tc_block_rows<SUBM>(M, &r0, &r1);
  if (r1 <= r0) return; // uniform over the block
  const bool vec = hyp_tc_vec_ok<KDIM>(x);
  const bool dvec = KDIM % 2 == 0 && ((unsigned long long)dx) % 4ull == 0ull;
  {
    hyp_f32x4 apre[HypF4Tile<RP, BK, THREADS>::PER];
    hyp_f4_tile_load<RP, BK, THREADS>(apre, A, KDIM, 0, R, k0, KDIM, hyp_f4_vec_ok(A, KDIM));
    hyp_f4_tile_each<RP, BK, THREADS>(apre, [&](int j, int c, float v) {
      hyp_split_bf16(v, &Athi[c * LDR + j], &Atlo[c * LDR + j]);
    });
  }
  float dacc[WA::PER_WARP][4];
#pragma unroll
  for (int p = 0; p < WA::PER_WARP; ++p)
    dacc[p][0] = dacc[p][1] = dacc[p][2] = dacc[p][3] = 0.f;
  typedef HypTcTile<SUBM, BK, THREADS> TT;
  // dH is loaded twice per step (L1/L2 hits): quads along j for the [m][j]
  // layout and quads down the rows for [j][m], so that both sets of stores
  // are bank-conflict free (one set of quads scatters the other layout).
  typedef HypF4Tile<SUBM, RP, THREADS> HT;
  const bool hvec = hyp_f4_vec_ok(dH, R);
  hyp_u16x8 xpre[TT::PER];
  hyp_f32x4 hrow[HT::PER], hcol[HT::PER];
  float bpre = 0.f; // beta of row tid (tid < SUBM)
  auto load_step = [&](long long s0) {
    hyp_tc_tile_load<SUBM, BK, THREADS, KDIM>(xpre, x, s0, k0, r1, vec);
    hyp_f4_tile_load<SUBM, RP, THREADS>(hrow, dH, R, s0, r1, 0, R, hvec);
    hyp_f4_tile_load<SUBM, RP, THREADS, true>(hcol, dH, R, s0, r1, 0, R, hvec);
    if (HAS_BETA && tid < SUBM) bpre = s0 + tid < r1 ? beta[s0 + tid] : 0.f;
  };
  load_step(r0);
  for (long long s0 = r0; s0 < r1; s0 += SUBM) {
    __syncthreads(); // the previous step's MMAs are done with the operands
#pragma unroll
    for (int i = 0; i < TT::PER; ++i) {
      const int e = tid + i * THREADS;
      if (e >= TT::CHUNKS) continue;
      const int m = e % SUBM, c8 = (e / SUBM) * 8;
#pragma unroll
      for (int q = 0; q < 8; ++q) xt[(c8 + q) * LDM + m] = xpre[i].e[q];
    }
    hyp_f4_tile_each<SUBM, RP, THREADS>(hrow, [&](int m, int j, float v) {
      hyp_split_bf16(v, &dhhi[m * LDR + j], &dhlo[m * LDR + j]);
    });
    hyp_f4_tile_each<SUBM, RP, THREADS, true>(hcol, [&](int m, int j, float v) {
      hyp_split_bf16(v, &dhthi[j * LDM + m], &dhtlo[j * LDM + m]);
    });
    if (HAS_BETA && tid < SUBM) betas[tid] = bpre;
    float acc[PER][4] = {};
    if (s0 + SUBM < r1) load_step(s0 + SUBM);
    __syncthreads();
#pragma unroll
    for (int p = 0; p < PER; ++p) {
      const int L = warp * PER + p, ti = L % TI, tn = L / TI;
      if (L >= TILES) break;
      if (HAS_BETA)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int m = ti * 16 + g + 8 * (e >> 1), c = tn * 8 + 2 * t + (e & 1);
          acc[p][e] = fmaf(betas[m], hyp_bf16_bits_to_f32(xt[c * LDM + m]), acc[p][e]);
        }
      hyp_tc_mma_store_tile<RP, LDR, KDIM>(acc[p], dhhi, dhlo, Athi, Atlo, ti, tn, dx, s0, k0, r1,
                                           dvec);
    }
    hyp_block_mma<RP, BK, SUBM, NWARPS>(dacc, dhthi, dhtlo, LDM, xt, nullptr, LDM);
  }
  for (int p = 0; p < WA::PER_WARP; ++p) {
    const int tile = warp + p * NWARPS;
    if (tile >= WA::TILES) break;
    const int ti = tile / WA::TN, tn = tile % WA::TN;
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int j = ti * 16 + g + 8 * (e >> 1), k = k0 + tn * 8 + 2 * t + (e & 1);
      if (j < R && k < KDIM) atomicAdd(&dA[(long long)j * KDIM + k], dacc[p][e]);
    }
  }
}

//===----------------------------------------------------------------------===//
// Asynchronous global -> shared copies (cp.async, sm_80+). The row-reduce
// streams X and its weight through a ring of STAGES shared-memory tiles, two
// chunks in flight while one multiplies, without holding them in registers
// (the register-prefetch version waited out a memory round trip per chunk:
// 5 us a chunk at M = 8192, 10x the bandwidth floor; docs/KERNELS.md).
// The emulation and pre-sm_80 devices copy synchronously: the kernel's
// barriers order those copies just the same.
//===----------------------------------------------------------------------===//
/// A cp.async destination: on the device its 32-bit shared-window address,
/// converted from the generic pointer once per kernel rather than per copy
/// (the conversion and the 64-bit arithmetic around it were about a third of
/// the row-reduce's copy instructions: Nsight Compute source counters,
/// 2026-11-26); in the CPU emulation the pointer itself. Either way `+ bytes`
/// moves it.
#ifdef HYP_MMA_SCALAR
typedef unsigned char *hyp_smem_addr;
HYP_DEVICE_INLINE hyp_smem_addr hyp_to_smem_addr(void *p) { return static_cast<unsigned char *>(p); }
#else
typedef hyp_u32 hyp_smem_addr;
HYP_DEVICE_INLINE hyp_smem_addr hyp_to_smem_addr(void *p) {
  hyp_u32 saddr;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }\n" : "=r"(saddr) : "l"(p));
  return saddr;
}
#endif

/// Copies BYTES (4, 8 or 16; dst and src aligned to it) when `live`, else
/// zero-fills dst (src is not read).
template <int BYTES>
HYP_DEVICE_INLINE void hyp_cp_async_to(hyp_smem_addr dst, const void *src, bool live) {
#ifdef HYP_MMA_SCALAR
  const unsigned char *s = static_cast<const unsigned char *>(src);
  for (int i = 0; i < BYTES; ++i) dst[i] = live ? s[i] : (unsigned char)0;
#else
  const hyp_u32 saddr = dst;
  const int n = live ? BYTES : 0;
  if constexpr (BYTES == 16)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(saddr), "l"(src), "r"(n)
                 : "memory");
  else
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;\n" ::"r"(saddr), "l"(src),
                 "n"(BYTES), "r"(n)
                 : "memory");
#endif
}
/// The same from a generic pointer into shared memory.
template <int BYTES>
HYP_DEVICE_INLINE void hyp_cp_async(void *dst, const void *src, bool live) {
  hyp_cp_async_to<BYTES>(hyp_to_smem_addr(dst), src, live);
}
HYP_DEVICE_INLINE void hyp_cp_async_commit() {
#ifndef HYP_MMA_SCALAR
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
/// Waits until at most N of this thread's committed copy groups are pending.
template <int N> HYP_DEVICE_INLINE void hyp_cp_async_wait() {
#ifndef HYP_MMA_SCALAR
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

/// The block's dynamic shared memory and its size (the launch's, from the
/// metadata's "dynamic_smem"). The CPU emulation provides both
/// (CudaEmulation.h: one buffer, blocks run one after another).
#ifdef HYP_CPU_EMULATION
HYP_DEVICE_INLINE unsigned char *hyp_dynamic_smem() { return hyp_emu_dynamic_smem(); }
HYP_DEVICE_INLINE unsigned hyp_dynamic_smem_bytes() { return hyp_emu_dynamic_smem_bytes; }
HYP_DEVICE_INLINE void hyp_trap() { hyp_emu_trap(); }
#else
HYP_DEVICE_INLINE unsigned char *hyp_dynamic_smem() {
  extern __shared__ __attribute__((aligned(16))) unsigned char hyp_dyn_smem[];
  return hyp_dyn_smem;
}
HYP_DEVICE_INLINE unsigned hyp_dynamic_smem_bytes() {
  unsigned n;
  asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(n));
  return n;
}
/// Ends the launch with an error (cudaErrorIllegalInstruction): a launch
/// given less shared memory than its layout needs must not run.
HYP_DEVICE_INLINE void hyp_trap() { asm volatile("trap;"); }
#endif

/// Named barrier ID (1..15; 0 is __syncthreads') of THREADS threads (whole
/// warps); immediates, so ptxas reserves only the ids used (a register id
/// reserves all 16). The emulation runs a block barrier: callers reach it
/// from every thread of the block equally often, which keeps that equivalent.
template <int ID, int THREADS> HYP_DEVICE_INLINE void hyp_tc_warps_barrier() {
  static_assert(ID >= 1 && ID <= 15 && THREADS % 32 == 0, "named barrier of whole warps");
#ifdef HYP_CPU_EMULATION
  __syncthreads();
#else
  asm volatile("bar.sync %0, %1;\n" ::"n"(ID), "n"(THREADS) : "memory");
#endif
}

//===----------------------------------------------------------------------===//
// y[row][n] += sum_j w[row][j] B[n][j] on tensor cores. Block (bx, by):
// columns [bx*BN, bx*BN + BN), BN = 64, row chunk by (hyp_tc_block_rows) in
// steps of SUBM.
// A warp owns a 16-row x WN-column tile of every step (WN / 8 MMA n-tiles
// sharing one set of w fragments).
// * y streams through a 3-stage cp.async ring (two steps in flight, none of
//   it in registers); each lane reads its C fragments from the stage into the
//   MMA accumulators, adds w B^T (3 terms: both operands fp32, split) and
//   stores the result straight to global memory.
// * Columns are permuted so that y moves in 16-byte pieces and every store
//   instruction writes whole 32-byte sectors: lane (g, t) owns, of rows g and
//   g + 8, the 8-column pieces v = 0 .. WN/32 - 1 at columns 32v + 8t .. + 7,
//   i.e. its element ce = 8v + q (MMA n-tile ce / 2, C-fragment column
//   2t + ce % 2) is column 32v + 8t + q; the B strip is stored in that (MMA)
//   order, so the product is unchanged. In the ring a row's 16-byte chunks
//   are swizzled (hyp_tc_ring_chunk) so that the two rows a quarter-warp
//   reads fall in different banks without padding.
// * The k index inside a 16-wide step is permuted as in the row-reduce (lane
//   t takes k = 4t .. 4t + 3 of both operands): the w fragments are two
//   16-byte global reads per k-step (rows g, g + 8; L2 hits: w is M x r),
//   loaded a step ahead and split hi/lo in registers; no w in shared memory.
// (Earlier versions: y fragment pairs as 4-byte words, 211 registers, 137 us
// at 4096x4096, M = 8192 on an H200; then 16-byte pieces with one step of y
// in registers, 128 registers, 160 us: each warp waited out about one memory
// latency per step; docs/KERNELS.md.)
//===----------------------------------------------------------------------===//
/// Row stride (halves) of the B strip, k-contiguous: 2 * LDR mod 128 bytes is
/// 32 or 96, so the 8-byte fragment reads of a half-warp (rows g, k 4t) hit
/// distinct banks.
HYP_DEVICE_INLINE constexpr int hyp_tc_up_ldr(int rp) { return rp % 32 == 16 ? rp : rp + 16; }

template <int R, int THREADS> struct HypTcUp {
  static constexpr int BN = 64;                // block columns
  static constexpr int WN = R <= 64 ? 64 : 32; // columns of a warp's tile
  static constexpr int CG = BN / WN;           // warp tiles across the block's columns
  static constexpr int NWARPS = THREADS / 32;
  static constexpr int TI = NWARPS / CG;       // 16-row tiles per step
  static constexpr int SUBM = 16 * TI;         // rows per step
  static constexpr int RP = HYP_ROUND_UP(R, 16);
  static constexpr int KS = RP / 16;           // k-steps
  static constexpr int LDR = hyp_tc_up_ldr(RP);
  static constexpr int NT = WN / 8;            // MMA n-tiles of a warp tile
  static constexpr int LC = WN / 4;            // columns a lane owns in a row
  static constexpr int NV = LC / 8;            // its 16-byte pieces
  static constexpr int STAGES = 3;
  static constexpr int LDY = BN;               // y stage row stride (chunks swizzled)
  static constexpr int CPR = BN / 8;           // 16-byte chunks per y row
  static constexpr int PIECES = (SUBM * CPR + THREADS - 1) / THREADS; // per thread per stage
  static constexpr int SMEM_BYTES = 2 * BN * LDR * 2 + STAGES * SUBM * LDY * 2;
};

/// MMA-order row of the B strip that holds column p (0 <= p < WN) of a warp
/// tile (the permutation above, inverted).
HYP_DEVICE_INLINE int hyp_tc_up_mma_row(int p) {
  const int v = p >> 5, t = (p >> 3) & 3, ce = 8 * v + (p & 7);
  return 8 * (ce >> 1) + 2 * t + (ce & 1);
}
/// Position of 16-byte chunk c (0..7) of row m in a ring stage of 64-half
/// (128-byte) rows, every row starting at bank 0. Two read patterns must hit
/// 8 distinct 16-byte bank groups: a quarter-warp's C-fragment reads (rows 2a,
/// 2a + 1, four chunks 4b .. 4b + 3: bit 2 of the XOR differs between the two
/// rows) and an ldmatrix's 8 row addresses (rows 16s + {0, 1, 4, 5, 8, 9, 12,
/// 13} or + 2, one chunk: (m & 1, (m >> 2) & 3) differs between all 8 rows).
HYP_DEVICE_INLINE int hyp_tc_ring_chunk(int m, int c) {
  return c ^ (((m & 1) << 2) | ((m >> 2) & 3));
}

/// Two floats as a bf16 pair (lo first), round to nearest even.
HYP_DEVICE_INLINE hyp_u32 hyp_pack_bf16x2(float lo, float hi) {
#ifdef HYP_MMA_SCALAR
  return (hyp_u32)hyp_f32_to_bf16_bits(lo) | ((hyp_u32)hyp_f32_to_bf16_bits(hi) << 16);
#else
  hyp_u32 r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
#endif
}

/// The 8 bf16 of this lane's 16-byte output piece v in row g + 8h, from its C
/// fragments (n-tiles 4v .. 4v + 3, elements 2h and 2h + 1: the permuted
/// columns of the row-updates), rounded to nearest even.
template <int NT>
HYP_DEVICE_INLINE hyp_u16x8 hyp_tc_pack_piece(const float (&acc)[NT][4], int v, int h) {
  hyp_u16x8 o;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const hyp_u32 p = hyp_pack_bf16x2(acc[4 * v + k][2 * h], acc[4 * v + k][2 * h + 1]);
    o.e[2 * k] = (hyp_u16)(p & 0xffffu);
    o.e[2 * k + 1] = (hyp_u16)(p >> 16);
  }
  return o;
}

/// Four consecutive fp32 values split hi + lo into hi[0..3], lo[0..3] (4-byte
/// aligned), two at a time and stored as words: the same bits as
/// hyp_split_bf16 on each (but for NaN payloads), in fewer instructions.
HYP_DEVICE_INLINE void hyp_split_bf16x4(const hyp_f32x4 &v, hyp_u16 *hi, hyp_u16 *lo) {
#pragma unroll
  for (int p = 0; p < 2; ++p) {
    const float v0 = v.e[2 * p], v1 = v.e[2 * p + 1];
    const hyp_u32 top = hyp_pack_bf16x2(v0, v1);
    reinterpret_cast<hyp_u32 *>(hi)[p] = top;
    reinterpret_cast<hyp_u32 *>(lo)[p] = hyp_pack_bf16x2(v0 - __uint_as_float(top << 16),
                                                         v1 - __uint_as_float(top & 0xffff0000u));
  }
}

#ifndef HYP_MMA_SCALAR
/// An A fragment of fp32 values held by the lane, split hi + lo: wv[h][i] is
/// row g + 8h, k = 4t + i of a 16-wide k-step whose k index is permuted (lane t
/// takes 4t .. 4t + 3); fragment register h + 2p is logical k pair p (physical
/// 4t + 2p, 4t + 2p + 1), low half first. Rounds like hyp_split_bf16.
HYP_DEVICE_INLINE void hyp_split_a_frag(const float (&wv)[2][4], hyp_u32 (&hi)[4],
                                        hyp_u32 (&lo)[4]) {
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int p = 0; p < 2; ++p) {
      const float v0 = wv[h][2 * p], v1 = wv[h][2 * p + 1];
      const hyp_u32 top = hyp_pack_bf16x2(v0, v1);
      hi[h + 2 * p] = top;
      lo[h + 2 * p] = hyp_pack_bf16x2(v0 - __uint_as_float(top << 16),
                                      v1 - __uint_as_float(top & 0xffff0000u));
    }
}
#endif

/// Copies (or zero-fills) the activation tile of rows [s0, s0 + SUBM) x
/// columns [c0, c0 + 64) of src (row length LEN) into ring stage `stage`
/// (rows of 64 halves, chunks swizzled by hyp_tc_ring_chunk): cp.async when
/// `vec` (aligned rows of a multiple of 8 columns), else plain masked loads
/// (odd lengths, offset views), which the ring's barriers order the same way.
/// Rows at or past r1 and columns past LEN are zero-filled.
template <int SUBM, int THREADS, int LEN>
HYP_DEVICE_INLINE void hyp_tc_ring_issue(const hyp_u16 *__restrict__ src, hyp_u16 *stage,
                                         long long s0, long long r1, int c0, bool vec) {
  constexpr int CPR = 8, PIECES = (SUBM * CPR + THREADS - 1) / THREADS;
  static_assert(THREADS % CPR == 0, "a thread's pieces share their 16-byte column");
  // Piece i of this thread: row m0 + i * RSTEP, column chunk c (the same in
  // every piece), so the row, column, swizzle and both addresses are computed
  // once and each piece adds constants. Per piece they cost ~45 instructions
  // (64-bit row products, the generic-to-shared conversion): a third of
  // hyp_fwd_up's instructions (Nsight Compute source counters, 2026-11-26).
  constexpr int RSTEP = THREADS / CPR;
  const int m0 = threadIdx.x / CPR, c = threadIdx.x % CPR, col = c0 + 8 * c;
  if (vec) {
    const hyp_smem_addr dst = hyp_to_smem_addr(stage);
    const bool colLive = col + 8 <= LEN;
    const long long rowsLeft = r1 - s0 - m0; // piece i is live while i * RSTEP < rowsLeft
    const hyp_u16 *base = src + (s0 + m0) * LEN + col;
#pragma unroll
    for (int i = 0; i < PIECES; ++i) {
      const int m = m0 + i * RSTEP;
      if constexpr ((SUBM * CPR) % THREADS != 0)
        if (m >= SUBM) break;
      const bool live = colLive && i * RSTEP < rowsLeft;
      hyp_cp_async_to<16>(dst + 2 * (m * 64 + 8 * hyp_tc_ring_chunk(m, c)),
                          live ? base + (long long)i * RSTEP * LEN : src, live);
    }
    return;
  }
#pragma unroll
  for (int i = 0; i < PIECES; ++i) {
    const int m = m0 + i * RSTEP;
    if (m >= SUBM) break;
    *reinterpret_cast<hyp_u16x8 *>(stage + m * 64 + 8 * hyp_tc_ring_chunk(m, c)) =
        hyp_tc_load8<LEN>(src, s0 + m, col, r1, false);
  }
}

/// Stores ring stage `stage` (rows [s0, s0 + SUBM) x columns [c0, c0 + 64),
/// chunks swizzled as hyp_tc_ring_issue left them) to dst in whole 128-byte
/// lines: 8 threads a row, a warp 4 rows. y += w B^T puts its result back
/// into the stage it read and stores it from there: stored straight from the
/// MMA fragments, each instruction wrote half lines (64 bytes of 8 rows) and
/// the L2 took in ~3.3x y's sectors (Nsight Compute "L2 compression input
/// sectors", H100, 2026-11-26); with the wide kernel, fwd_up 101 -> 62 us.
/// Rows at or past r1 and columns past LEN are not written.
template <int SUBM, int THREADS, int LEN>
HYP_DEVICE_INLINE void hyp_tc_ring_store(hyp_u16 *__restrict__ dst, const hyp_u16 *stage,
                                         long long s0, long long r1, int c0, bool vec) {
  constexpr int CPR = 8, PIECES = (SUBM * CPR + THREADS - 1) / THREADS;
#pragma unroll
  for (int i = 0; i < PIECES; ++i) {
    const int e = threadIdx.x + i * THREADS;
    if ((SUBM * CPR) % THREADS != 0 && e >= SUBM * CPR) break;
    const int m = e / CPR, c = e % CPR;
    const hyp_u16x8 o = *reinterpret_cast<const hyp_u16x8 *>(stage + m * 64 + 8 * hyp_tc_ring_chunk(m, c));
    hyp_tc_store8<LEN>(dst, s0 + m, c0 + 8 * c, r1, vec, o);
  }
}

/// This lane's A-fragment values of a row-update's fp32 left operand P (rows
/// of R floats, LD apart; w in y += w B^T, dH in dx += dH A), k permuted as in
/// the row-reduce: v[kk][h][i] = P(row0 + 8h, 16 kk + 4t + i), zero at or past
/// row r1 or rank R; one 16-byte read per row and k-step when `vec`.
template <int KS, int R, int LD = R>
HYP_DEVICE_INLINE void hyp_tc_load_a_rows(float (&v)[KS][2][4], const float *__restrict__ P,
                                          long long row0, long long r1, bool vec) {
  const int t = threadIdx.x & 3;
#pragma unroll
  for (int kk = 0; kk < KS; ++kk)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const long long row = row0 + 8 * h;
      const int k = kk * 16 + 4 * t;
      if (row < r1 && k < R && vec) {
        const hyp_f32x4 q = *reinterpret_cast<const hyp_f32x4 *>(P + row * LD + k);
#pragma unroll
        for (int i = 0; i < 4; ++i) v[kk][h][i] = q.e[i];
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) v[kk][h][i] = (row < r1 && k + i < R) ? P[row * LD + k + i] : 0.f;
      }
    }
}

#ifndef HYP_MMA_SCALAR
/// This lane's B fragments of a strip k-step (rows in MMA order, k-contiguous,
/// stride LDB; columns k0 .. k0 + 15): n-tile i is strip row 8i + g, logical
/// k pairs at physical 4t .. 4t + 3; bf[i][0] hi, bf[i][1] lo.
template <int NT, int LDB>
HYP_DEVICE_INLINE void hyp_tc_strip_frags(hyp_u32 (&bf)[NT][2][2], const hyp_u16 *bhi,
                                          const hyp_u16 *blo, int k0) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int i = 0; i < NT; ++i) {
    const uint2 bh = *reinterpret_cast<const uint2 *>(bhi + (8 * i + g) * LDB + k0 + 4 * t);
    const uint2 bl = *reinterpret_cast<const uint2 *>(blo + (8 * i + g) * LDB + k0 + 4 * t);
    bf[i][0][0] = bh.x;
    bf[i][0][1] = bh.y;
    bf[i][1][0] = bl.x;
    bf[i][1][1] = bl.y;
  }
}

/// acc += w B^T over one k-step: the A fragment wv split hi/lo, times the B
/// fragments bf (hi, lo); three products, small terms first.
template <int NT>
HYP_DEVICE_INLINE void hyp_tc_up_mma(float (&acc)[NT][4], const float (&wv)[2][4],
                                     const hyp_u32 (&bf)[NT][2][2]) {
  hyp_u32 ahi[4], alo[4];
  hyp_split_a_frag(wv, ahi, alo);
#pragma unroll
  for (int i = 0; i < NT; ++i) {
    hyp_mma_bf16(acc[i], alo, bf[i][0]);
    hyp_mma_bf16(acc[i], ahi, bf[i][1]);
    hyp_mma_bf16(acc[i], ahi, bf[i][0]);
  }
}
#endif

/// One k-step of y += w B^T for a warp's NT n-tiles: w rows g, g + 8 of the
/// warp's tile (wv[h][i] = w(row g + 8h, k0 + 4t + i), fp32; the emulation
/// reads all 16 k of its rows from `wrow[h]`, null past M) times the B strip
/// rows of the warp (MMA order, k-contiguous, stride LDB), both split hi/lo.
template <int NT, int R, int LDB>
HYP_DEVICE_INLINE void hyp_tc_up_kstep(float (&acc)[NT][4], const float (&wv)[2][4],
                                       const float *const (&wrow)[2], const hyp_u16 *bhi,
                                       const hyp_u16 *blo, int k0) {
#ifdef HYP_MMA_SCALAR
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  (void)wv;
  for (int i = 0; i < NT; ++i)
    for (int e = 0; e < 4; ++e) {
      const float *wr = wrow[e >> 1];
      const int n = 8 * i + 2 * t + (e & 1);
      float slo = 0.f, shi = 0.f;
      for (int k = k0; k < k0 + 16; ++k) {
        hyp_emu_split_fma((wr && k < R) ? wr[k] : 0.f, hyp_bf16_bits_to_f32(bhi[n * LDB + k]),
                          hyp_bf16_bits_to_f32(blo[n * LDB + k]), slo, shi);
      }
      acc[i][e] += slo;
      acc[i][e] += shi;
    }
#else
  (void)wrow;
  hyp_u32 bf[NT][2][2];
  hyp_tc_strip_frags<NT, LDB>(bf, bhi, blo, k0);
  hyp_tc_up_mma<NT>(acc, wv, bf);
#endif
}

/// hyp_tc_up_kstep with the strip's fragments already in registers (`bf`,
/// from hyp_tc_strip_frags); the emulation reads the strip (bhi, blo) as
/// hyp_tc_up_kstep does, having no fragments.
template <int NT, int R, int LDB>
HYP_DEVICE_INLINE void hyp_tc_up_kstep_held(float (&acc)[NT][4], const float (&wv)[2][4],
                                            const float *const (&wrow)[2],
                                            const hyp_u32 (&bf)[NT][2][2], const hyp_u16 *bhi,
                                            const hyp_u16 *blo, int k0) {
#ifdef HYP_MMA_SCALAR
  (void)bf;
  hyp_tc_up_kstep<NT, R, LDB>(acc, wv, wrow, bhi, blo, k0);
#else
  (void)wrow;
  (void)bhi;
  (void)blo;
  (void)k0;
  hyp_tc_up_mma<NT>(acc, wv, bf);
#endif
}

template <int BN, int THREADS, int R, int NDIM, bool ACCUMULATE>
HYP_DEVICE_INLINE void hyp_tc_fwd_up_body(const float *__restrict__ w, const float *__restrict__ B,
                                          hyp_act_t *__restrict__ y_act, long long M) {
  typedef HypTcUp<R, THREADS> G;
  constexpr int SUBM = G::SUBM, RP = G::RP, LDR = G::LDR, WN = G::WN, NT = G::NT,
                NV = G::NV, LDY = G::LDY, STAGES = G::STAGES;
  static_assert(BN == G::BN && G::CPR == 8, "the emitter's column tile is HypTcUp::BN (64)");
  static_assert(THREADS % 32 == 0 && BN % WN == 0 && G::NWARPS % G::CG == 0 && G::TI >= 1,
                "tile geometry");
  static_assert(R % 4 == 0, "w rows are read as float4");
  static_assert(G::SMEM_BYTES <= 48 * 1024, "static shared memory above 48 KiB");
  alignas(16) __shared__ hyp_u16 Bhi[BN * LDR], Blo[BN * LDR]; // B(n, j) at [MMA row][j]
  alignas(16) __shared__ hyp_u16 ring[STAGES * SUBM * LDY];    // y(m, n) at [stage][m][n]
  hyp_u16 *y = reinterpret_cast<hyp_u16 *>(y_act);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int cg = warp % G::CG, ti = warp / G::CG;
  const int n0 = blockIdx.x * BN;
  long long r0, r1;
  hyp_tc_block_rows<SUBM>(M, &r0, &r1);
  if (r1 <= r0) return; // uniform over the block
  const bool yvec = hyp_tc_vec_ok<NDIM>(y);
  // The storing update (!ACCUMULATE) never reads y: the ring only stages
  // its results for whole-line stores, and the copy groups stay empty.
  if (ACCUMULATE)
    hyp_tc_ring_issue<SUBM, THREADS, NDIM>(y, ring, r0, r1, n0, yvec);
  hyp_cp_async_commit();
  if (ACCUMULATE)
    hyp_tc_ring_issue<SUBM, THREADS, NDIM>(y, ring + SUBM * LDY, r0 + SUBM, r1, n0, yvec);
  hyp_cp_async_commit();
  {
    typedef HypF4Tile<BN, RP, THREADS> Q;
    hyp_f32x4 bq[Q::PER];
    hyp_f4_tile_load<BN, RP, THREADS>(bq, B, R, n0, NDIM, 0, R, hyp_f4_vec_ok(B, R));
    // A quad is ranks j .. j + 3 of column n, contiguous in the strip's MMA row
    // (LDR and j are multiples of 4): split and stored a word at a time rather
    // than element by element (the block's setup was half of this kernel's
    // instructions at the tuned row chunks; Nsight Compute, 2026-11-26).
    static_assert(LDR % 4 == 0, "4-byte aligned quads in the B strip");
#pragma unroll
    for (int i = 0; i < Q::PER; ++i) {
      const int q = tid + i * THREADS;
      if (q >= Q::QUADS) continue;
      const int n = q / Q::QPR, j = (q % Q::QPR) * 4;
      const int row = (n / WN) * WN + hyp_tc_up_mma_row(n % WN);
      hyp_split_bf16x4(bq[i], &Bhi[row * LDR + j], &Blo[row * LDR + j]);
    }
  }
  const bool wvec = ((unsigned long long)w) % 16ull == 0ull;
  // This lane's w values of the step at s0: rows g, g + 8 of its tile, k = 4t..
  auto load_w = [&](float (&wv)[G::KS][2][4], long long s0) {
    hyp_tc_load_a_rows<G::KS, R>(wv, w, s0 + ti * 16 + g, r1, wvec);
  };
  float wnext[G::KS][2][4];
  load_w(wnext, r0);
  const hyp_u16 *bh = Bhi + cg * WN * LDR, *bl = Blo + cg * WN * LDR;
  int stage = 0;
  for (long long s0 = r0; s0 < r1; s0 += SUBM) {
    hyp_cp_async_wait<1>(); // this thread's copies of this step have landed
    __syncthreads();        // everyone's; and the stage refilled below is free
    {
      const int refill = stage == 0 ? STAGES - 1 : stage - 1;
      if (ACCUMULATE)
        hyp_tc_ring_issue<SUBM, THREADS, NDIM>(y, ring + refill * SUBM * LDY, s0 + 2 * SUBM, r1,
                                               n0, yvec);
      hyp_cp_async_commit(); // (possibly empty: keeps the group count)
    }
    const hyp_u16 *ys = ring + stage * SUBM * LDY + (ti * 16) * LDY;
    // Column q of this lane's piece v is n-tile (8v + q) / 2, fragment element
    // 2h + q % 2 (rows ti*16 + g + 8h have the parity of g).
    float acc[NT][4];
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        if (!ACCUMULATE) {
#pragma unroll
          for (int c = 0; c < 8; ++c) acc[(8 * v + c) >> 1][2 * h + (c & 1)] = 0.f;
          continue;
        }
        const int chunk = hyp_tc_ring_chunk(g + 8 * h, cg * (WN / 8) + 4 * v + t);
        const hyp_u16x8 q = *reinterpret_cast<const hyp_u16x8 *>(ys + (g + 8 * h) * LDY + 8 * chunk);
#pragma unroll
        for (int c = 0; c < 8; ++c)
          acc[(8 * v + c) >> 1][2 * h + (c & 1)] = hyp_bf16_bits_to_f32(q.e[c]);
      }
    float wv[G::KS][2][4];
#pragma unroll
    for (int kk = 0; kk < G::KS; ++kk)
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int i = 0; i < 4; ++i) wv[kk][h][i] = wnext[kk][h][i];
    if (s0 + SUBM < r1) load_w(wnext, s0 + SUBM);
    const long long rowg = s0 + ti * 16 + g;
    const float *const wrow[2] = {rowg < r1 ? w + rowg * R : nullptr,
                                  rowg + 8 < r1 ? w + (rowg + 8) * R : nullptr};
#pragma unroll
    for (int kk = 0; kk < G::KS; ++kk)
      hyp_tc_up_kstep<NT, R, LDR>(acc, wv[kk], wrow, bh, bl, kk * 16);
    // Back into the stage where this lane read y, then out in whole lines
    // (hyp_tc_ring_store; at r > 64 two warps share a row: a block barrier).
    hyp_u16 *yw = ring + stage * SUBM * LDY + (ti * 16) * LDY;
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int chunk = hyp_tc_ring_chunk(g + 8 * h, cg * (WN / 8) + 4 * v + t);
        *reinterpret_cast<hyp_u16x8 *>(yw + (g + 8 * h) * LDY + 8 * chunk) =
            hyp_tc_pack_piece<NT>(acc, v, h);
      }
    __syncthreads();
    hyp_tc_ring_store<SUBM, THREADS, NDIM>(y, ring + stage * SUBM * LDY, s0, r1, n0, yvec);
    stage = stage == STAGES - 1 ? 0 : stage + 1;
  }
  hyp_cp_async_wait<0>(); // no copy may outlive the block
}

//===----------------------------------------------------------------------===//
// dx[row][c] = sum_j dH[row][j] A[j][c] + beta[row] x[row][c] (the adapter's
// part: the caller adds dY W with cuBLAS, beta = 1, inside a GEMM that is
// compute bound, instead of this kernel reading dx) and
// dA[j][c] += sum_rows dH[row][j] x[row][c] for r <= 64, on the pattern of
// y += w B^T above. Block (bx, by): columns [bx*64, bx*64 + 64), row chunk
// by (hyp_tc_block_rows) in steps of SUBM = 16 * warps / 2; a warp owns a
// 16-row x 32-column dx tile of every step.
// * x streams through a 3-stage cp.async ring (64-half rows, chunks
//   swizzled by hyp_tc_ring_chunk).
// * dx: the lane starts its C fragments (one 16-byte piece per row: columns
//   permuted as in y += w B^T, whole-sector stores) at beta x, adds dH A (3
//   terms: the A strip split once per block in MMA order, dH fragments read
//   from global memory a step ahead, k permuted, split in registers) and
//   stores straight to global memory.
// * dA: the rank x 64 tile lives in the warps' accumulators over the block's
//   rows (a warp owns rank tile(s) x a column group). The MMA's k is the row
//   index: x arrives as its B operand by ldmatrix.trans straight from the
//   ring (row-major x is the "col" operand transposed), with the rows of each
//   8x8 matrix picked so that lane t's k values are the rows 4t .. 4t + 3;
//   then dH^T's fragment is dH at rows 4t .. 4t + 3 of the lane's two ranks,
//   read from global memory a step ahead and split in registers.
// (The staged kernel above: x transposed by 2-byte shared stores, dH split
// into two shared layouts, dx as 4-byte pairs through registers: 241 us at
// 4096x4096, M = 8192 on an H200, 0.8 TB/s; this one 113 us; docs/KERNELS.md.)
//===----------------------------------------------------------------------===//
/// How NWARPS warps share a rank x 64-column W^T X accumulator tile (16 x 8
/// MMA tiles, hyp_tc_ring_wtx_kstep): warp w takes column group w % DCG (DNT
/// n-tiles) of the rank tiles w / DCG + p * RSTRIDE, p < RPW (those < RT).
template <int R, int NWARPS> struct HypTcWtxTiles {
  static constexpr int RP = HYP_ROUND_UP(R, 16);
  static constexpr int RT = RP / 16;                                   // rank tiles
  static constexpr int DCG = RT >= NWARPS ? 1 : NWARPS / RT;           // column groups
  static constexpr int RSTRIDE = NWARPS / DCG;                         // between a warp's rank tiles
  static constexpr int RPW = (RT + RSTRIDE - 1) / RSTRIDE;             // rank tiles a warp
  static constexpr int DNT = 8 / DCG;                                  // n-tiles a warp
  static_assert(8 % DCG == 0 && DNT % 2 == 0, "ldmatrix.x4 takes n-tiles in pairs");
};

template <int R, int THREADS> struct HypTcDxRing {
  static constexpr int BK = 64;                // block columns
  static constexpr int WN = 32;                // dx columns of a warp tile
  static constexpr int CG = BK / WN;           // warp tiles across the block's columns
  static constexpr int NWARPS = THREADS / 32;
  static constexpr int TI = NWARPS / CG;       // 16-row tiles per step
  static constexpr int SUBM = 16 * TI;         // rows per step
  static constexpr int RP = HYP_ROUND_UP(R, 16);
  static constexpr int KS = RP / 16;           // rank k-steps of dx += dH A
  static constexpr int MS = SUBM / 16;         // row k-steps of dA += dH^T x
  static constexpr int LDR = hyp_tc_up_ldr(RP);
  static constexpr int NT = WN / 8;            // dx n-tiles of a warp tile
  typedef HypTcWtxTiles<R, NWARPS> DA;         // the dA tile's warps
  static constexpr int STAGES = 3;             // x steps in the ring (two in flight)
  // The warp's A fragments live in registers (4 * KS * NT of them: 32 at r = 32).
  static constexpr bool A_HELD = RP <= 32;
  static constexpr int TILE = SUBM * BK;       // halves of one activation tile
  // dH's rows of a step ride the ring beside x (fp32, row stride LDH: 16-byte
  // rows for cp.async, +4 floats so the two read patterns below conflict at
  // most 2-way) where the 48 KiB allow it (r <= 48). Read from global memory
  // instead, every lane took its dH fragments from L2 twice (dx's and dA's
  // layouts) in scalar loads, 16 KiB a step for a 4 KiB tile of x: Nsight
  // Compute put the kernel at 76-79% of L1 and L2 throughput and 42% of DRAM
  // (H100, 4096 x 4096, M = 8192, 94912c4).
  static constexpr int LDH = R + 4;
  // dx leaves through a per-row-tile buffer in whole 128-byte lines
  // (LINE_STORES; see hyp_tc_bwd_dx_ring): SUBM x BK halves.
  static constexpr bool LINE_STORES = true;
  static constexpr int OUT_BYTES = LINE_STORES ? SUBM * BK * 2 : 0;
  static constexpr int BASE_BYTES = 2 * BK * LDR * 2 + STAGES * TILE * 2 + OUT_BYTES;
  static constexpr int DH_BYTES = STAGES * SUBM * LDH * 4;
  static constexpr bool DH_RING = BASE_BYTES + DH_BYTES <= 48 * 1024;
  static constexpr int SMEM_BYTES = BASE_BYTES + (DH_RING ? DH_BYTES : 0);
  static_assert(NWARPS % CG == 0 && TI >= 1, "tile geometry");
};

/// Copies (or zero-fills) rows [s0, s0 + ROWS) of the fp32 matrix src (R
/// columns, R % 4 == 0) into stage (row stride LD floats): cp.async when `vec`
/// (16-byte aligned src), else plain loads, which the ring's barriers order
/// the same way. Rows at or past r1 are zero-filled.
template <int ROWS, int THREADS, int R, int LD>
HYP_DEVICE_INLINE void hyp_tc_f32_rows_issue(const float *__restrict__ src, float *stage,
                                             long long s0, long long r1, bool vec) {
  static_assert(R % 4 == 0 && LD % 4 == 0, "16-byte pieces");
  constexpr int PPR = R / 4, PIECES = ROWS * PPR;
#pragma unroll
  for (int e0 = 0; e0 < PIECES; e0 += THREADS) {
    const int e = e0 + threadIdx.x;
    if (PIECES % THREADS != 0 && e >= PIECES) break;
    const int m = e / PPR, c = 4 * (e % PPR);
    const long long row = s0 + m;
    const bool live = row < r1;
    if (vec) {
      hyp_cp_async<16>(stage + m * LD + c, live ? src + row * R + c : src, live);
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i) stage[m * LD + c + i] = live ? src[row * R + c + i] : 0.f;
    }
  }
}

/// This lane's W^T fragments of hyp_tc_ring_wtx_kstep for MS k-steps and its
/// RPW rank tiles rtw, rtw + RSTRIDE, ...: v[kk][p][h][i] = W(row 16 kk + 4t + i,
/// rank 16 (rtw + p RSTRIDE) + g + 8h) of a step whose rows start at `rows`
/// (LD floats apart, `valid` of them), zero past them or past rank R. (dH in
/// dA += dH^T x, w in dB^T += w^T dY; from a ring stage or global memory.)
template <int MS, int RPW, int RSTRIDE, int R, int LD>
HYP_DEVICE_INLINE void hyp_tc_load_wt_frags(float (&v)[MS][RPW][2][4], const float *rows,
                                            long long valid, int rtw) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int kk = 0; kk < MS; ++kk)
#pragma unroll
    for (int p = 0; p < RPW; ++p)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int j = (rtw + p * RSTRIDE) * 16 + g + 8 * h;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int m = kk * 16 + 4 * t + i;
          v[kk][p][h][i] = (m < valid && j < R) ? rows[(long long)m * LD + j] : 0.f;
        }
      }
}

#ifndef HYP_MMA_SCALAR
/// The products of one ldmatrix.x4.trans of X (b: two n-tiles' B fragments)
/// with a split W^T fragment (alo, ahi): small terms first. Shared by
/// hyp_tc_ring_wtx_kstep (dA, dB) and the one pass over dY's dB.
HYP_DEVICE_INLINE void hyp_tc_wtx_mma_pair(float (&acc0)[4], float (&acc1)[4],
                                           const hyp_u32 (&alo)[4], const hyp_u32 (&ahi)[4],
                                           const hyp_u32 (&b)[4]) {
  const hyp_u32 b0[2] = {b[0], b[1]}, b1[2] = {b[2], b[3]};
  hyp_mma_bf16(acc0, alo, b0);
  hyp_mma_bf16(acc0, ahi, b0);
  hyp_mma_bf16(acc1, alo, b1);
  hyp_mma_bf16(acc1, ahi, b1);
}
#endif

/// acc += W^T X over one 16-row k-step (rows 16 kk .. of the ring stage xs;
/// W fp32 with R columns, X bf16) for rank tile rt and the n-tiles nt0 ..
/// nt0 + DNT - 1 (8 columns each): dA += dH^T x, and dB^T += w^T dY.
/// dv[h][i] = W(row 16 kk + 4t + i, rank 16 rt + g + 8h) (zero past the
/// step's rows); the emulation reads W's rows from `dhs` (the step's first
/// row, `rows` of them valid, LDW floats apart) instead.
template <int DNT, int R, int LDW = R>
HYP_DEVICE_INLINE void hyp_tc_ring_wtx_kstep(float (&acc)[DNT][4], const float (&dv)[2][4],
                                          const float *dhs, long long rows, const hyp_u16 *xs,
                                          int nt0, int kk, int rt) {
  const int lane = threadIdx.x & 31;
#ifdef HYP_MMA_SCALAR
  const int g = lane >> 2, t = lane & 3;
  (void)dv;
  for (int i = 0; i < DNT; ++i)
    for (int e = 0; e < 4; ++e) { // rank j, column c
      const int j = rt * 16 + g + 8 * (e >> 1), c = 8 * (nt0 + i) + 2 * t + (e & 1);
      float slo = 0.f, shi = 0.f;
      for (int mm = 0; mm < 16; ++mm) {
        const int m = kk * 16 + mm;
        const float v = (j < R && m < rows) ? dhs[(long long)m * LDW + j] : 0.f;
        hyp_emu_split_fma(
            v, hyp_bf16_bits_to_f32(xs[m * 64 + 8 * hyp_tc_ring_chunk(m, c >> 3) + (c & 7)]), slo,
            shi);
      }
      acc[i][e] += slo;
      acc[i][e] += shi;
    }
#else
  (void)dhs;
  (void)rows;
  hyp_u32 ahi[4], alo[4];
  hyp_split_a_frag(dv, ahi, alo);
  // ldmatrix.x4.trans: lane l addresses row l & 7 of matrix l >> 3 (matrices:
  // n-tile 2p, k slots 0-7 | 8-15, then n-tile 2p + 1). Slot i of the first
  // half is row 4(i >> 1) + (i & 1), of the second 4(i >> 1) + 2 + (i & 1), so
  // the B fragment's k pairs (2t, 2t + 1 | 2t + 8, 2t + 9) are rows 4t .. 4t + 3.
  const int q = lane >> 3, i = lane & 7;
  const int m = kk * 16 + 4 * (i >> 1) + 2 * (q & 1) + (i & 1);
#pragma unroll
  for (int p = 0; p < DNT / 2; ++p) {
    const hyp_u16 *src = xs + m * 64 + 8 * hyp_tc_ring_chunk(m, nt0 + 2 * p + (q >> 1));
    hyp_u32 saddr, b[4];
    asm volatile("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }\n"
                 : "=r"(saddr) : "l"(src));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3]) : "r"(saddr));
    hyp_tc_wtx_mma_pair(acc[2 * p], acc[2 * p + 1], alo, ahi, b);
  }
#endif
}

template <int BK, int THREADS, int R, int KDIM, bool HAS_BETA>
HYP_DEVICE_INLINE void hyp_tc_bwd_dx_ring(const hyp_act_t *__restrict__ x_act,
                                          const float *__restrict__ A,
                                          const float *__restrict__ dH,
                                          const float *__restrict__ beta,
                                          hyp_act_t *__restrict__ dx_act, float *dA,
                                          long long M) {
  typedef HypTcDxRing<R, THREADS> G;
  constexpr int SUBM = G::SUBM, RP = G::RP, LDR = G::LDR, WN = G::WN, NT = G::NT, KS = G::KS,
                MS = G::MS, DNT = G::DA::DNT, RPW = G::DA::RPW, TILE = G::TILE,
                STAGES = G::STAGES;
  static_assert(BK == G::BK, "the emitter's column tile is HypTcDxRing::BK (64)");
  static_assert(R % 4 == 0 && R <= 64, "dH rows are read as float4; r <= 64");
  static_assert(G::SMEM_BYTES <= 48 * 1024, "static shared memory above 48 KiB");
  alignas(16) __shared__ hyp_u16 Ahi[BK * LDR], Alo[BK * LDR]; // A(j, c) at [MMA row of c][j]
  alignas(16) __shared__ hyp_u16 ring[STAGES * TILE];          // [stage][m][c] of x
  constexpr bool DH_RING = G::DH_RING;
  constexpr int LDH = G::LDH;
  alignas(16) __shared__ float dhring[DH_RING ? STAGES * SUBM * LDH : 4]; // [stage][m][j] of dH
  alignas(16) __shared__ hyp_u16 obuf[G::LINE_STORES ? SUBM * BK : 8];   // [m][c] of dx
  const hyp_u16 *x = reinterpret_cast<const hyp_u16 *>(x_act);
  hyp_u16 *dx = reinterpret_cast<hyp_u16 *>(dx_act);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int cg = warp % G::CG, ti = warp / G::CG;       // dx tile
  const int dcg = warp % G::DA::DCG, rtw = warp / G::DA::DCG; // dA tiles
  const int k0 = blockIdx.x * BK;
  long long r0, r1;
  hyp_tc_block_rows<SUBM>(M, &r0, &r1);
  if (r1 <= r0) return; // uniform over the block
  const bool xvec = hyp_tc_vec_ok<KDIM>(x), dvec = hyp_tc_vec_ok<KDIM>(dx);
  const bool hvec = ((unsigned long long)dH) % 16ull == 0ull;
  auto issue = [&](int st, long long s0) {
    hyp_tc_ring_issue<SUBM, THREADS, KDIM>(x, ring + st * TILE, s0, r1, k0, xvec);
    if constexpr (DH_RING)
      hyp_tc_f32_rows_issue<SUBM, THREADS, R, LDH>(dH, dhring + st * SUBM * LDH, s0, r1, hvec);
  };
#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    issue(st, r0 + st * SUBM);
    hyp_cp_async_commit();
  }
  {
    hyp_f32x4 aq[HypF4Tile<RP, BK, THREADS>::PER];
    hyp_f4_tile_load<RP, BK, THREADS>(aq, A, KDIM, 0, R, k0, KDIM, hyp_f4_vec_ok(A, KDIM));
    hyp_f4_tile_each<RP, BK, THREADS>(aq, [&](int j, int c, float v) {
      const int row = (c / WN) * WN + hyp_tc_up_mma_row(c % WN);
      hyp_split_bf16(v, &Ahi[row * LDR + j], &Alo[row * LDR + j]);
    });
  }
  // dx's A operand from global memory (no dH ring), a step ahead:
  // dH(row ti*16 + g + 8h, rank 16 kk + 4t + i).
  auto load_dh = [&](float (&dh)[KS][2][4], long long s0) {
    hyp_tc_load_a_rows<KS, R>(dh, dH, s0 + ti * 16 + g, r1, hvec);
  };
  float dacc[RPW][DNT][4];
#pragma unroll
  for (int p = 0; p < RPW; ++p)
#pragma unroll
    for (int i = 0; i < DNT; ++i) dacc[p][i][0] = dacc[p][i][1] = dacc[p][i][2] = dacc[p][i][3] = 0.f;
  float dhnext[KS][2][4];
  if constexpr (!DH_RING)
    load_dh(dhnext, r0);
  const hyp_u16 *ah = Ahi + cg * WN * LDR, *al = Alo + cg * WN * LDR;
  // The warp's slice of the A strip as MMA B fragments, held in registers for
  // the whole row chunk (A_HELD): read from shared memory every step, they were
  // 4 KiB a warp a step beside 1 KiB of x, and Nsight Compute had the kernel
  // at 79% of L1 throughput and 22% of DRAM (H200, 4096 x 4096, M = 8192).
  constexpr bool A_HELD = G::A_HELD;
  hyp_u32 afr[A_HELD ? KS : 1][NT][2][2];
#ifndef HYP_MMA_SCALAR
  if constexpr (A_HELD) {
    __syncthreads(); // the strip is complete
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) hyp_tc_strip_frags<NT, LDR>(afr[kk], ah, al, kk * 16);
  }
#else
  (void)afr;
#endif
  int stage = 0;
  for (long long s0 = r0; s0 < r1; s0 += SUBM) {
    hyp_cp_async_wait<STAGES - 2>(); // this thread's copies of this step have landed
    __syncthreads();                 // everyone's; and the stage refilled below is free
    issue(stage == 0 ? STAGES - 1 : stage - 1, s0 + (STAGES - 1) * SUBM);
    hyp_cp_async_commit(); // (possibly empty: keeps the group count)
    const hyp_u16 *xs = ring + stage * TILE;
    // The step's dH rows: its ring stage (zero-filled past r1), or global memory.
    constexpr int LDHR = DH_RING ? LDH : R;
    const float *hs = DH_RING ? dhring + stage * SUBM * LDH : dH + s0 * R;
    float dh[KS][2][4];
    if constexpr (DH_RING) {
      hyp_tc_load_a_rows<KS, R, LDH>(dh, hs, ti * 16 + g, SUBM, true); // (zero past r1)
    } else {
#pragma unroll
      for (int kk = 0; kk < KS; ++kk)
#pragma unroll
        for (int h = 0; h < 2; ++h)
#pragma unroll
          for (int i = 0; i < 4; ++i) dh[kk][h][i] = dhnext[kk][h][i];
      if (s0 + SUBM < r1) load_dh(dhnext, s0 + SUBM);
    }
    // dA's A operand and beta, loaded now and used after the dx part (from
    // the ring, or L2 hits: dH and beta are small; one step ahead cost 34
    // more registers).
    float dht[MS][RPW][2][4], bet[2];
    // (a stage holds SUBM rows, zero past r1: no row test there)
    hyp_tc_load_wt_frags<MS, RPW, G::DA::RSTRIDE, R, LDHR>(dht, hs, DH_RING ? SUBM : r1 - s0, rtw);
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const long long row = s0 + ti * 16 + g + 8 * h;
      bet[h] = HAS_BETA && row < r1 ? beta[row] : 0.f;
    }
    // beta x into the C fragments: column c of this lane's piece is n-tile
    // c / 2, element 2h + c % 2 (rows ti*16 + g + 8h).
    float acc[NT][4];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int m = ti * 16 + g + 8 * h, off = m * 64 + 8 * hyp_tc_ring_chunk(m, cg * (WN / 8) + t);
      const hyp_u16x8 xv = *reinterpret_cast<const hyp_u16x8 *>(xs + off);
#pragma unroll
      for (int c = 0; c < 8; ++c)
        acc[c >> 1][2 * h + (c & 1)] = HAS_BETA ? bet[h] * hyp_bf16_bits_to_f32(xv.e[c]) : 0.f;
    }
    const long long rowg = s0 + ti * 16 + g;
    const float *const hrow[2] = {rowg < r1 ? hs + (ti * 16 + g) * LDHR : nullptr,
                                  rowg + 8 < r1 ? hs + (ti * 16 + g + 8) * LDHR : nullptr};
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
      if constexpr (A_HELD)
        hyp_tc_up_kstep_held<NT, R, LDR>(acc, dh[kk], hrow, afr[kk], ah, al, kk * 16);
      else
        hyp_tc_up_kstep<NT, R, LDR>(acc, dh[kk], hrow, ah, al, kk * 16);
    }
    if constexpr (G::LINE_STORES) {
      // A warp's dx tile is 32 columns (64 bytes) of 16 rows: stored from its
      // fragments, every instruction wrote half lines, and with the math and
      // the ring left in place those stores cost 24 of 89 us (4096 x 4096)
      // and 163 of 361 us (14336 -> 4096, M = 8192, H100; kernel_source_ab
      // with the stores made conditional). So the two warps of a row tile
      // put their pieces into the tile's buffer (chunks swizzled as in the
      // ring), meet at a barrier of their own (not the block's: the other row
      // tile's warps go on), and each stores 8 whole rows, 4 lines an
      // instruction. The buffer is free again at the next step's block
      // barrier. (Through the x stage instead, 2026-11-26, it took a second
      // block barrier a step and measured slower.)
      static_assert(G::CG == 2 && G::CG * WN == 64 && BK == 64 && G::TI <= 2,
                    "two warps span a 64-column row; two row tiles (barriers 1, 2)");
      hyp_u16 *ob = obuf + ti * 16 * 64;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int m = g + 8 * h;
        *reinterpret_cast<hyp_u16x8 *>(ob + m * 64 + 8 * hyp_tc_ring_chunk(m, cg * (WN / 8) + t)) =
            hyp_tc_pack_piece<NT>(acc, 0, h);
      }
      if (ti == 0) // (an immediate id each: see hyp_tc_warps_barrier)
        hyp_tc_warps_barrier<1, G::CG * 32>();
      else
        hyp_tc_warps_barrier<2, G::CG * 32>();
      const int p = cg * 32 + lane;
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        const int m = p / 8 + 8 * i, c = p % 8;
        hyp_tc_store8<KDIM>(dx, s0 + ti * 16 + m, k0 + 8 * c, r1, dvec,
                            *reinterpret_cast<const hyp_u16x8 *>(ob + m * 64 +
                                                                 8 * hyp_tc_ring_chunk(m, c)));
      }
    } else {
#pragma unroll
      for (int h = 0; h < 2; ++h)
        hyp_tc_store8<KDIM>(dx, rowg + 8 * h, k0 + cg * WN + 8 * t, r1, dvec,
                            hyp_tc_pack_piece<NT>(acc, 0, h));
    }
#pragma unroll
    for (int kk = 0; kk < MS; ++kk)
#pragma unroll
      for (int p = 0; p < RPW; ++p) {
        const int rt = rtw + p * G::DA::RSTRIDE;
        if (rt < G::DA::RT)
          hyp_tc_ring_wtx_kstep<DNT, R, LDHR>(dacc[p], dht[kk][p], hs, r1 - s0, xs, dcg * DNT,
                                              kk, rt);
      }
    stage = stage == STAGES - 1 ? 0 : stage + 1;
  }
  hyp_cp_async_wait<0>(); // no copy may outlive the block
#pragma unroll
  for (int p = 0; p < RPW; ++p) {
    const int rt = rtw + p * G::DA::RSTRIDE;
    if (rt >= G::DA::RT) break;
#pragma unroll
    for (int i = 0; i < DNT; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int j = rt * 16 + g + 8 * (e >> 1), k = k0 + 8 * (dcg * DNT + i) + 2 * t + (e & 1);
        if (j < R && k < KDIM) atomicAdd(&dA[(long long)j * KDIM + k], dacc[p][i][e]);
      }
  }
}

/// dx = dH A + beta x, dA += dH^T x: the ring kernel for r <= 64, else the
/// staged one (at r = 128 the ring kernel's A strip alone takes 36 KiB).
template <int BK, int THREADS, int R, int KDIM, bool HAS_BETA>
HYP_DEVICE_INLINE void hyp_tc_bwd_dx_body(const hyp_act_t *__restrict__ x,
                                          const float *__restrict__ A,
                                          const float *__restrict__ dH,
                                          const float *__restrict__ beta,
                                          hyp_act_t *__restrict__ dx, float *dA, long long M) {
  if constexpr (R <= 64)
    hyp_tc_bwd_dx_ring<BK, THREADS, R, KDIM, HAS_BETA>(x, A, dH, beta, dx, dA, M);
  else
    hyp_tc_bwd_dx_staged<BK, THREADS, R, KDIM, HAS_BETA>(x, A, dH, beta, dx, dA, M);
}

//===----------------------------------------------------------------------===//
// dB[n][j] += sum_rows dY[row][n] w[row][j] (+ 2 (B R)[n][j] once, by the
// blocks of row chunk 0, when HAS_G), as dB^T = w^T dY with the dA product
// of the dx ring kernel: block (bx, by) owns columns [bx*64, bx*64 + 64) and
// row chunk by (hyp_tc_block_rows) in 32-row steps; dY streams through a
// 4-stage cp.async ring (three steps in flight) and reaches the MMAs by ldmatrix.trans; w^T's
// fragments (w at rows 4t .. 4t + 3 of the lane's two ranks, L2 hits) are
// loaded a step ahead and split in registers. The rank x 64 result stays in
// the warps' accumulators over the row chunk; one atomicAdd per element per
// block at the end. (The previous kernel transposed dY into shared memory
// with 2-byte stores and split w into a transposed shared tile per step: 99 us
// at 4096x4096, M = 8192 on an H200, 0.65 TB/s; this one 49 us; docs/KERNELS.md.)
//===----------------------------------------------------------------------===//
template <int R, int THREADS, int NDIM> struct HypTcDbRing {
  static constexpr int BN = 64;                // block columns
  static constexpr int NWARPS = THREADS / 32;
  static constexpr int SUBM = 32;              // rows per step
  static constexpr int MS = SUBM / 16;         // k-steps per step
  static constexpr int STAGES = 4;             // dY steps in the ring (three in flight)
  static constexpr int TILE = SUBM * BN;       // halves of one dY tile
  // w's rows of a step ride the ring beside dY, for the reason HypTcDxRing
  // gives for dH (LDW: their row stride), at r <= 32 and N >= 2048 only:
  // bench/kernel_source_ab.py (H200, M = 8192, tuned, 2026-11-26) measured
  // 31.6 us against 37.7 at r = 16 and 44.1 against 46.4 at r = 32 (N = 4096),
  // but 19.0 against 18.6 at N = 1024, 62.4 against 61.3 at r = 48 and
  // 16.0 against 15.6 at M = 1024 (the ring is larger, the blocks fewer).
  static constexpr int LDW = R + 4;
  static constexpr int W_BYTES = STAGES * SUBM * LDW * 4;
  static constexpr bool W_RING = R <= 32 && NDIM >= 2048 &&
                                 STAGES * TILE * 2 + W_BYTES <= 48 * 1024;
  static constexpr int SMEM_BYTES = STAGES * TILE * 2 + (W_RING ? W_BYTES : 0);
  typedef HypTcWtxTiles<R, NWARPS> T;
};

template <int BN, int THREADS, int R, int NDIM, bool HAS_G>
HYP_DEVICE_INLINE void hyp_tc_bwd_db_body(const hyp_act_t *__restrict__ dY_act,
                                          const float *__restrict__ w,
                                          const float *__restrict__ B,
                                          const float *__restrict__ Rm, float *dB, long long M) {
  typedef HypTcDbRing<R, THREADS, NDIM> G;
  typedef typename G::T T;
  constexpr int SUBM = G::SUBM, MS = G::MS, STAGES = G::STAGES, TILE = G::TILE, DNT = T::DNT,
                RPW = T::RPW;
  static_assert(BN == G::BN, "the emitter's column tile is HypTcDbRing::BN (64)");
  static_assert(G::SMEM_BYTES <= 48 * 1024, "static shared memory above 48 KiB");
  alignas(16) __shared__ hyp_u16 ring[STAGES * TILE]; // dY(m, n) at [stage][m][n]
  constexpr bool W_RING = G::W_RING;
  constexpr int LDW = G::LDW;
  alignas(16) __shared__ float wring[W_RING ? STAGES * SUBM * LDW : 4]; // w(m, j) at [stage][m][j]
  const hyp_u16 *dY = reinterpret_cast<const hyp_u16 *>(dY_act);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int dcg = warp % T::DCG, rtw = warp / T::DCG;
  const int n0 = blockIdx.x * BN;
  long long r0, r1;
  hyp_tc_block_rows<SUBM>(M, &r0, &r1);
  if (r1 <= r0) return; // uniform over the block
  const bool vec = hyp_tc_vec_ok<NDIM>(dY), wvec = ((unsigned long long)w) % 16ull == 0ull;
  auto issue = [&](int st, long long s0) {
    hyp_tc_ring_issue<SUBM, THREADS, NDIM>(dY, ring + st * TILE, s0, r1, n0, vec);
    if constexpr (W_RING)
      hyp_tc_f32_rows_issue<SUBM, THREADS, R, LDW>(w, wring + st * SUBM * LDW, s0, r1, wvec);
  };
#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    issue(st, r0 + st * SUBM);
    hyp_cp_async_commit();
  }
  float acc[RPW][DNT][4];
#pragma unroll
  for (int p = 0; p < RPW; ++p)
#pragma unroll
    for (int i = 0; i < DNT; ++i) acc[p][i][0] = acc[p][i][1] = acc[p][i][2] = acc[p][i][3] = 0.f;
  // w^T's A operand (hyp_tc_load_wt_frags): without the w ring, from global
  // memory a step ahead; in the ring it is a shared-memory read away.
  float wnext[MS][RPW][2][4];
  if constexpr (!W_RING)
    hyp_tc_load_wt_frags<MS, RPW, T::RSTRIDE, R, R>(wnext, w + r0 * R, r1 - r0, rtw);
  int stage = 0;
  for (long long s0 = r0; s0 < r1; s0 += SUBM) {
    hyp_cp_async_wait<STAGES - 2>(); // this thread's copies of this step have landed
    __syncthreads();                 // everyone's; and the stage refilled below is free
    issue(stage == 0 ? STAGES - 1 : stage - 1, s0 + (STAGES - 1) * SUBM);
    hyp_cp_async_commit(); // (possibly empty: keeps the group count)
    // The step's w rows: its ring stage (zero-filled past r1), or global memory.
    constexpr int LDWR = W_RING ? LDW : R;
    const float *ws = W_RING ? wring + stage * SUBM * LDW : w + s0 * R;
    float wt[MS][RPW][2][4];
    if constexpr (W_RING) {
      hyp_tc_load_wt_frags<MS, RPW, T::RSTRIDE, R, LDW>(wt, ws, SUBM, rtw); // (zero past r1)
    } else {
#pragma unroll
      for (int kk = 0; kk < MS; ++kk)
#pragma unroll
        for (int p = 0; p < RPW; ++p)
#pragma unroll
          for (int h = 0; h < 2; ++h)
#pragma unroll
            for (int i = 0; i < 4; ++i) wt[kk][p][h][i] = wnext[kk][p][h][i];
      if (s0 + SUBM < r1)
        hyp_tc_load_wt_frags<MS, RPW, T::RSTRIDE, R, R>(wnext, w + (s0 + SUBM) * R,
                                                         r1 - s0 - SUBM, rtw);
    }
    const hyp_u16 *ys = ring + stage * TILE;
#pragma unroll
    for (int kk = 0; kk < MS; ++kk)
#pragma unroll
      for (int p = 0; p < RPW; ++p) {
        const int rt = rtw + p * T::RSTRIDE;
        if (rt < T::RT)
          hyp_tc_ring_wtx_kstep<DNT, R, LDWR>(acc[p], wt[kk][p], ws, r1 - s0, ys, dcg * DNT, kk,
                                              rt);
      }
    stage = stage == STAGES - 1 ? 0 : stage + 1;
  }
  hyp_cp_async_wait<0>(); // no copy may outlive the block
#pragma unroll
  for (int p = 0; p < RPW; ++p) {
    const int rt = rtw + p * T::RSTRIDE;
    if (rt >= T::RT) break;
#pragma unroll
    for (int i = 0; i < DNT; ++i)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int j = rt * 16 + g + 8 * (e >> 1), n = n0 + 8 * (dcg * DNT + i) + 2 * t + (e & 1);
        if (j >= R || n >= NDIM) continue;
        float v = acc[p][i][e];
        if (HAS_G && blockIdx.y == 0) {
          float br = 0.f;
          for (int l = 0; l < R; ++l) br = fmaf(B[(long long)n * R + l], Rm[l * R + j], br);
          v = fmaf(2.f, br, v);
        }
        atomicAdd(&dB[(long long)n * R + j], v);
      }
  }
}


//===----------------------------------------------------------------------===//
// Row-reduce on tensor cores (hyp_fwd_down: h = A x, hyp_bwd_dy: P = dY B).
// A block owns BM (8..64) rows and streams K in chunks of KC columns through
// a 3-stage cp.async ring: X as bf16, the weight (A: rank x k, or B: k x
// rank) as raw fp32. The product is computed transposed, C^T (rank x rows) =
// W X^T: the rows are the MMA's n dimension (8 per tile), so BM = 8 needs no
// padding. A warp owns one 16-rank tile (or several when the rank has more
// tiles than the block has warps) for ALL the block's rows and every KS-th
// k-step: it splits each weight fragment into bf16 hi + lo once, in
// registers, and uses it for all its row tiles; the k-slices' partial sums
// meet in shared memory at the end.
// The k index inside a 16-wide step is permuted (lane t's four k values are
// the contiguous columns 4t..4t+3 of both operands; a sum does not care), so
// a fragment is one 8-byte (X) or 16-byte (A) shared-memory read; the row
// strides make those reads bank-conflict free.
// Afterwards the per-row epilogue (row scalars, dual numbers) reads h (or P)
// from shared memory, in the same meaning as the SIMT skeleton's. With SPLIT
// > 1 (split-K over grid.y) a block reduces only its slice of the chunks and
// the blocks of a row block meet in hyp_tc_row_split_meet before the epilogue.
//===----------------------------------------------------------------------===//
/// Row stride (elements) of a KC-column stage tile: 2*LD mod 128 bytes is 32
/// or 96 (bf16 X rows, 8-byte reads by 4 rows x 4 lanes) and LD mod 32 == 16
/// (fp32 A rows, 16-byte reads by 2 rows x 4 lanes).
HYP_DEVICE_INLINE constexpr int hyp_tc_row_ld(int kc) { return kc == 16 ? 16 : kc + 16; }
/// Bytes of one stage: X tile + the larger of the two weight layouts (A:
/// RP rows x LD, B: KC rows x (R + 2) fp32; R + 2 makes the column reads of B
/// conflict free: lane (g, t) reads k = 4t + i, rank g -> bank 8t + g).
HYP_DEVICE_INLINE constexpr int hyp_tc_row_stage_bytes(int bm, int r, int kc) {
  return bm * hyp_tc_row_ld(kc) * 2 +
         (HYP_ROUND_UP(r, 16) * hyp_tc_row_ld(kc) * 4 > kc * (r + 2) * 4
              ? HYP_ROUND_UP(r, 16) * hyp_tc_row_ld(kc) * 4
              : kc * (r + 2) * 4);
}
/// The ring depth (the chunk width is chosen for it). Deeper rings were tried: a
/// launch-only tunable that gave 32-row blocks 7 stages timed the same as 3
/// on an H200 (hyp_fwd_down 49.1 vs 48.6 us, hyp_bwd_dy 52.7 vs 51.5, 4096 x
/// 4096, M = 8192; bench/results/*-row-reduce-tuning), so bytes in flight
/// were not what held the row-reduces near 1.5 TB/s, and it was dropped.
HYP_DEVICE_INLINE constexpr int hyp_tc_row_stages() { return 3; }
/// Dynamic shared memory a row-reduce may take: two blocks an SM on sm_90
/// (228 KiB, 1 KiB reserved a block; AdapterProgram.cpp kTcRowSmemBudget).
/// The widest chunk whose ring fits it is taken: with 128-column chunks (256
/// contiguous bytes of each x row, not 128) hyp_fwd_down at 64 rows x 512
/// threads took 39.3 us instead of 49.7 at 4096 x 4096, M = 8192, and 112
/// instead of 150 at 14336 -> 4096 (H200, two calls), where neither a deeper
/// ring, 64-row blocks (half the weight re-reads) nor 512 threads had moved
/// it. hyp_bwd_dy (B copied 8 bytes at a time) stayed at ~52 us.
#define HYP_TC_ROW_SMEM_BUDGET (113 * 1024)
HYP_DEVICE_INLINE constexpr bool hyp_tc_row_kc_fits(int bm, int r, int kc) {
  return hyp_tc_row_stages() * hyp_tc_row_stage_bytes(bm, r, kc) + bm * (kc / 8) * 4 + bm * 16 <=
         HYP_TC_ROW_SMEM_BUDGET;
}
/// Widest chunk (128, 64, 32 or 16 columns) whose ring fits.
HYP_DEVICE_INLINE constexpr int hyp_tc_row_kc(int bm, int r) {
  return hyp_tc_row_kc_fits(bm, r, 128) ? 128 : hyp_tc_row_kc_fits(bm, r, 64) ? 64 : (hyp_tc_row_kc_fits(bm, r, 32) ? 32 : 16);
}

template <int BM, int R, int THREADS> struct HypTcRow {
  static constexpr int STAGES = hyp_tc_row_stages();
  static constexpr int KC = hyp_tc_row_kc(BM, R);     // k columns per chunk
  static constexpr int LD = hyp_tc_row_ld(KC);        // X and A stage row stride
  static constexpr int LDB = R + 2;                   // B stage row stride
  static constexpr int CPR = KC / 8;                  // 16-byte X pieces per row
  static constexpr int RP = HYP_ROUND_UP(R, 16);
  static constexpr int LDH = R + 1;                   // fp32 [BM][R+1] results
  static constexpr int NWARPS = THREADS / 32;
  static constexpr int RT = RP / 16;                  // rank tiles
  static constexpr int NT = BM / 8;                   // row tiles
  static constexpr int RPW = RT > NWARPS ? (RT + NWARPS - 1) / NWARPS : 1; // rank tiles a warp
  static constexpr int KS = RT >= NWARPS ? 1 : NWARPS / RT;               // k-slices
  static constexpr int CH = (BM * CPR + THREADS - 1) / THREADS; // X pieces per thread (|x|^2)
  static constexpr int STAGE_X = BM * LD * 2;
  static constexpr int STAGE_BYTES = hyp_tc_row_stage_bytes(BM, R, KC);
  static constexpr int EPI_FLOATS = (KS > 3 ? KS : 3) * BM * LDH;
  // Dynamic shared memory: FIXED_BYTES (|x|^2 parts, then the row scalars)
  // and from there `raw`, the ring and later the epilogue's partial results.
  static constexpr int FIXED_BYTES = BM * CPR * 4 + BM * 4 * 4;
  static constexpr int EPI_BYTES = EPI_FLOATS * 4;
  /// Bytes of dynamic shared memory a launch needs (AdapterProgram.cpp
  /// tcRowSmem computes the same for the metadata); the kernel traps on less.
  static constexpr int SMEM_BYTES =
      FIXED_BYTES + (STAGES * STAGE_BYTES > EPI_BYTES ? STAGES * STAGE_BYTES : EPI_BYTES);
  static_assert(BM % 8 == 0 && THREADS % 32 == 0 && R % 8 == 0, "row tile geometry");
  static_assert(STAGE_X % 16 == 0 && STAGE_BYTES % 16 == 0, "16-byte aligned stage tiles");
  static_assert(SMEM_BYTES <= HYP_TC_ROW_SMEM_BUDGET, "the 3-stage ring above its budget");
  static_assert(FIXED_BYTES % 16 == 0, "16-byte aligned ring");
};

/// One 16-column k-step of the row-reduce for rank tile rt (ranks
/// 16 rt .. 16 rt + 15): acc[j] (the C^T fragment of rank tile x row tile j)
/// += W(ranks, k) X(rows of tile j, k) over stage columns c0 .. c0 + 15.
/// W(j, k) is ws[j * LD + k] (A) or ws[k * LDB + j] (B, W_IS_KxR); X(m, k) is
/// xs[m * LD + k]. The weight is split hi + lo (~2^-16 relative, HYPLORA.md
/// section 5); X is exact in bf16.
template <int NT, int R, int LD, int LDB, bool W_IS_KxR>
HYP_DEVICE_INLINE void hyp_tc_row_kstep(float (&acc)[NT][4], const float *ws, const hyp_u16 *xs,
                                        int rt, int c0) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#ifdef HYP_MMA_SCALAR
  // This lane's outputs: ranks rt*16 + g (+ 8), rows 8 j + 2t (+ 1); the same
  // bf16 products as the MMA, summed in another order.
  for (int j = 0; j < NT; ++j)
    for (int e = 0; e < 4; ++e) {
      const int r = rt * 16 + g + 8 * (e >> 1), m = j * 8 + 2 * t + (e & 1);
      float slo = 0.f, shi = 0.f;
      for (int k = c0; k < c0 + 16; ++k) {
        const float v = r >= R ? 0.f : (W_IS_KxR ? ws[k * LDB + r] : ws[r * LD + k]);
        hyp_emu_split_fma(v, hyp_bf16_bits_to_f32(xs[m * LD + k]), slo, shi);
      }
      acc[j][e] += slo;
      acc[j][e] += shi;
    }
#else
  // wv[h][i] = W(rank rt*16 + g + 8h, k = c0 + 4t + i).
  float wv[2][4];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = rt * 16 + g + 8 * h;
    if constexpr (!W_IS_KxR) {
      const hyp_f32x4 q = *reinterpret_cast<const hyp_f32x4 *>(ws + r * LD + c0 + 4 * t);
#pragma unroll
      for (int i = 0; i < 4; ++i) wv[h][i] = q.e[i];
    } else {
#pragma unroll
      for (int i = 0; i < 4; ++i) wv[h][i] = r < R ? ws[(c0 + 4 * t + i) * LDB + r] : 0.f;
    }
  }
  // A fragment rows: ranks g + 8h (hyp_split_a_frag).
  hyp_u32 ahi[4], alo[4];
  hyp_split_a_frag(wv, ahi, alo);
#pragma unroll
  for (int j = 0; j < NT; ++j) {
    const uint2 b = *reinterpret_cast<const uint2 *>(xs + (j * 8 + g) * LD + c0 + 4 * t);
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(acc[j][0]), "+f"(acc[j][1]), "+f"(acc[j][2]), "+f"(acc[j][3])
                 : "r"(alo[0]), "r"(alo[1]), "r"(alo[2]), "r"(alo[3]), "r"(b.x), "r"(b.y));
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
                 : "+f"(acc[j][0]), "+f"(acc[j][1]), "+f"(acc[j][2]), "+f"(acc[j][3])
                 : "r"(ahi[0]), "r"(ahi[1]), "r"(ahi[2]), "r"(ahi[3]), "r"(b.x), "r"(b.y));
  }
#endif
}

/// Issues the copies of chunk `c` (columns c * KC ...) into stage tiles xs,
/// ws: X rows m0 .. m0 + BM (rows past M and columns past KDIM zero-filled),
/// the weight's RP x KC (A) or KC x R (B) block. `xvec` / `wvec`: aligned
/// rows allow cp.async; else plain loads (odd K, offset views), which the
/// ring's barriers order the same way. The general path: aligned operands
/// take HypTcRowCopies below.
template <int BM, int R, int THREADS, int KDIM, bool W_IS_KxR>
HYP_DEVICE_INLINE void hyp_tc_row_issue(const hyp_u16 *__restrict__ X,
                                        const float *__restrict__ Wt, long long M, long long m0,
                                        int c, hyp_u16 *xs, float *ws, bool xvec, bool wvec) {
  typedef HypTcRow<BM, R, THREADS> T;
  constexpr int KC = T::KC, LD = T::LD, CPR = T::CPR;
  const int k0 = c * KC;
  for (int e = threadIdx.x; e < BM * CPR; e += THREADS) {
    const int m = e / CPR, col = k0 + (e % CPR) * 8;
    const long long row = m0 + m;
    hyp_u16 *dst = xs + m * LD + (e % CPR) * 8;
    if (xvec) {
      const bool live = row < M && col < KDIM;
      hyp_cp_async<16>(dst, live ? X + row * KDIM + col : X, live);
    } else {
      for (int q = 0; q < 8; ++q)
        dst[q] = (row < M && col + q < KDIM) ? X[row * KDIM + col + q] : (hyp_u16)0;
    }
  }
  if constexpr (!W_IS_KxR) {
    constexpr int QPR = KC / 4; // 16-byte pieces per rank row
    for (int e = threadIdx.x; e < T::RP * QPR; e += THREADS) {
      const int j = e / QPR, col = k0 + (e % QPR) * 4;
      float *dst = ws + j * LD + (e % QPR) * 4;
      if (wvec) {
        const bool live = j < R && col < KDIM;
        hyp_cp_async<16>(dst, live ? Wt + (long long)j * KDIM + col : Wt, live);
      } else {
        for (int q = 0; q < 4; ++q)
          dst[q] = (j < R && col + q < KDIM) ? Wt[(long long)j * KDIM + col + q] : 0.f;
      }
    }
  } else {
    constexpr int PPR = R / 2; // 8-byte pieces per k row of B
    for (int e = threadIdx.x; e < KC * PPR; e += THREADS) {
      const int kk = e / PPR, j = (e % PPR) * 2;
      const long long krow = (long long)k0 + kk;
      float *dst = ws + kk * T::LDB + j;
      if (wvec) {
        const bool live = krow < KDIM;
        hyp_cp_async<8>(dst, live ? Wt + krow * R + j : Wt, live);
      } else {
        for (int q = 0; q < 2; ++q) dst[q] = krow < KDIM ? Wt[krow * R + j + q] : 0.f;
      }
    }
  }
}

/// The fast path of hyp_tc_row_issue (aligned rows: every copy a cp.async):
/// a thread's pieces are the same in every chunk but for the column, so their
/// source pointers, stage offsets and row masks are computed once (the
/// per-chunk index arithmetic was a large share of the kernel's instructions;
/// Nsight Compute, 2026-11-26: 0.42 issued instructions per scheduler-cycle).
/// Destinations are byte offsets from the stage's shared address; when KDIM
/// is a whole number of chunks no column is ever past the end, so a copy's
/// liveness is its row's, fixed per thread (the per-chunk column test, the
/// selects it fed and the generic-to-shared conversion of every destination
/// were 70 of the main loop's ~150 instructions per warp and chunk at
/// 4096x4096: Nsight Compute source counters, 2026-11-26).
template <int BM, int R, int THREADS, int KDIM, bool W_IS_KxR> struct HypTcRowCopies {
  typedef HypTcRow<BM, R, THREADS> T;
  static constexpr int XP = (BM * T::CPR + THREADS - 1) / THREADS;
  static constexpr int WPIECES = W_IS_KxR ? T::KC * (R / 2) : T::RP * (T::KC / 4);
  static constexpr int WP = (WPIECES + THREADS - 1) / THREADS;
  static constexpr bool WHOLE_CHUNKS = KDIM % T::KC == 0;
  const hyp_u16 *xsrc[XP];
  int xdst[XP], xcol[XP]; // xdst, wdst: bytes from the stage's start
  bool xlive[XP];
  const float *wsrc[WP];
  int wdst[WP], wcol[WP]; // wcol: column (A) or k row (B) within the chunk
  bool wlive[WP];

  __device__ __forceinline__ void init(const hyp_u16 *X, const float *Wt, long long M, long long m0) {
    constexpr int CPR = T::CPR;
#pragma unroll
    for (int i = 0; i < XP; ++i) {
      const int e = threadIdx.x + i * THREADS, m = e / CPR, col = (e % CPR) * 8;
      xlive[i] = e < BM * CPR && m0 + m < M;
      xsrc[i] = xlive[i] ? X + (m0 + m) * KDIM + col : X;
      xdst[i] = (m * T::LD + col) * 2;
      xcol[i] = col;
    }
#pragma unroll
    for (int i = 0; i < WP; ++i) {
      const int e = threadIdx.x + i * THREADS;
      if constexpr (!W_IS_KxR) {
        constexpr int QPR = T::KC / 4;
        const int j = e / QPR, col = (e % QPR) * 4;
        wlive[i] = e < WPIECES && j < R;
        wsrc[i] = wlive[i] ? Wt + (long long)j * KDIM + col : Wt;
        wdst[i] = T::STAGE_X + (j * T::LD + col) * 4;
        wcol[i] = col;
      } else {
        constexpr int PPR = R / 2;
        const int kk = e / PPR, j = (e % PPR) * 2;
        wlive[i] = e < WPIECES;
        wsrc[i] = Wt + (long long)kk * R + j;
        wdst[i] = T::STAGE_X + (kk * T::LDB + j) * 4;
        wcol[i] = kk;
      }
    }
  }
  /// The copies of chunk c into the stage at shared address `stage` (X tile,
  /// then the weight's; columns past KDIM zero-filled). A dead copy's source
  /// is not read: with whole chunks it is X (or Wt) moved by k0 < KDIM.
  __device__ __forceinline__ void issue(int c, hyp_smem_addr stage) const {
    const int k0 = c * T::KC;
#pragma unroll
    for (int i = 0; i < XP; ++i) {
      if constexpr ((BM * T::CPR) % THREADS != 0)
        if (threadIdx.x + i * THREADS >= BM * T::CPR) break;
      if constexpr (WHOLE_CHUNKS) {
        hyp_cp_async_to<16>(stage + xdst[i], xsrc[i] + k0, xlive[i]);
      } else {
        const bool live = xlive[i] && k0 + xcol[i] < KDIM;
        hyp_cp_async_to<16>(stage + xdst[i], live ? xsrc[i] + k0 : xsrc[i], live);
      }
    }
#pragma unroll
    for (int i = 0; i < WP; ++i) {
      if constexpr (WPIECES % THREADS != 0)
        if (threadIdx.x + i * THREADS >= WPIECES) break;
      const bool live = WHOLE_CHUNKS ? wlive[i] : wlive[i] && k0 + wcol[i] < KDIM;
      if constexpr (!W_IS_KxR)
        hyp_cp_async_to<16>(stage + wdst[i], live || WHOLE_CHUNKS ? wsrc[i] + k0 : wsrc[i], live);
      else
        hyp_cp_async_to<8>(stage + wdst[i],
                           live || WHOLE_CHUNKS ? wsrc[i] + (long long)k0 * R : wsrc[i], live);
    }
  }
};

/// res[m * LDH + j] (res = (float *)raw) = sum_k X[m0 + m][k] W(j, k), with
/// W(j, k) = Wt[j * KDIM + k] (A: R x K) or Wt[k * R + j] (B: N x R, so the
/// product is dY B). WANT_SQ: sqpart[m * CPR + i] holds partial sums of
/// X[m0 + m][.]^2 (add the CPR of them). Ends with a barrier.
template <int BM, int R, int THREADS, int KDIM, bool W_IS_KxR, bool WANT_SQ, int SPLIT>
HYP_DEVICE_INLINE void hyp_tc_row_dot(const hyp_act_t *__restrict__ X_act,
                                      const float *__restrict__ Wt, long long M, long long m0,
                                      unsigned char *raw, float *sqpart) {
  typedef HypTcRow<BM, R, THREADS> T;
  constexpr int KC = T::KC, CPR = T::CPR, LD = T::LD, LDH = T::LDH, STAGES = T::STAGES;
  // Split-K: block y takes chunks [cbeg, NCH) of the reduction (SPLIT == 1: all).
  constexpr int NCH_ALL = (KDIM + KC - 1) / KC, CPS = (NCH_ALL + SPLIT - 1) / SPLIT;
  const int cbeg = SPLIT == 1 ? 0 : int(blockIdx.y) * CPS;
  const int NCH = SPLIT == 1 ? NCH_ALL : (cbeg + CPS < NCH_ALL ? cbeg + CPS : NCH_ALL);
  const hyp_u16 *X = reinterpret_cast<const hyp_u16 *>(X_act);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  // Rank tiles rt0 + i * NWARPS of this warp; its k-slice ks takes the global
  // k-steps congruent to ks mod KS (all warps busy even when KS > KC / 16).
  const int rt0 = warp % (T::RT < T::NWARPS ? T::RT : T::NWARPS);
  const int ks = T::RT >= T::NWARPS ? 0 : warp / T::RT;
  const bool xvec = hyp_tc_vec_ok<KDIM>(X);
  const bool wvec = W_IS_KxR ? ((unsigned long long)Wt) % 8ull == 0ull : hyp_f4_vec_ok(Wt, KDIM);
  auto xs_of = [&](int st) { return reinterpret_cast<hyp_u16 *>(raw + st * T::STAGE_BYTES); };
  auto ws_of = [&](int st) {
    return reinterpret_cast<float *>(raw + st * T::STAGE_BYTES + T::STAGE_X);
  };
  float acc[T::RPW][T::NT][4];
#pragma unroll
  for (int p = 0; p < T::RPW; ++p)
#pragma unroll
    for (int j = 0; j < T::NT; ++j) acc[p][j][0] = acc[p][j][1] = acc[p][j][2] = acc[p][j][3] = 0.f;
  float sq[T::CH];
#pragma unroll
  for (int i = 0; i < T::CH; ++i) sq[i] = 0.f;
  HypTcRowCopies<BM, R, THREADS, KDIM, W_IS_KxR> copies;
  const bool fast = xvec && wvec;
  if (fast) copies.init(X, Wt, M, m0);
  const hyp_smem_addr ring = hyp_to_smem_addr(raw);
  auto issue = [&](int c, int st) {
    if (fast) copies.issue(c, ring + st * T::STAGE_BYTES);
    else hyp_tc_row_issue<BM, R, THREADS, KDIM, W_IS_KxR>(X, Wt, M, m0, c, xs_of(st), ws_of(st),
                                                          xvec, wvec);
  };

#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    if (cbeg + st < NCH) issue(cbeg + st, st);
    hyp_cp_async_commit();
  }
  // Chunk c sits in stage `stage`; chunk c + STAGES - 1 goes to the one before
  // it, freed by the barrier. A counter, not (c - cbeg) % STAGES: the division
  // was a dozen instructions a chunk.
  int stage = 0;
  for (int c = cbeg; c < NCH; ++c) {
    hyp_cp_async_wait<STAGES - 2>(); // this thread's copies of chunk c landed
    __syncthreads();                 // everyone's did; chunk c - 1's stage is free
    const int nc = c + STAGES - 1;
    if (nc < NCH) issue(nc, stage == 0 ? STAGES - 1 : stage - 1);
    hyp_cp_async_commit(); // one group per iteration, empty or not: the wait counts them
    const hyp_u16 *xs = xs_of(stage);
    const float *ws = ws_of(stage);
    stage = stage == STAGES - 1 ? 0 : stage + 1;
    if (WANT_SQ) {
#pragma unroll
      for (int i = 0; i < T::CH; ++i) {
        const int e = tid + i * THREADS;
        if (e >= BM * CPR) continue;
        // Two bf16 a 32-bit word, the lower first (the order of the sum as
        // element by element): each widens with one shift or mask.
        const hyp_u32x4 v = *reinterpret_cast<const hyp_u32x4 *>(xs + (e / CPR) * LD + (e % CPR) * 8);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const float lo = __uint_as_float(v.e[q] << 16), hi = __uint_as_float(v.e[q] & 0xffff0000u);
          sq[i] = fmaf(lo, lo, sq[i]);
          sq[i] = fmaf(hi, hi, sq[i]);
        }
      }
    }
    if (ks < T::KS) {
#pragma unroll
      for (int s = 0; s < KC / 16; ++s) {
        if ((c * (KC / 16) + s) % T::KS != ks) continue;
#pragma unroll
        for (int p = 0; p < T::RPW; ++p) {
          const int rt = rt0 + p * T::NWARPS;
          if (rt < T::RT)
            hyp_tc_row_kstep<T::NT, R, LD, T::LDB, W_IS_KxR>(acc[p], ws, xs, rt, s * 16);
        }
      }
    }
  }
  hyp_cp_async_wait<0>();
  __syncthreads(); // raw becomes the partial results
  float *part = reinterpret_cast<float *>(raw);
  if (ks < T::KS) {
#pragma unroll
    for (int p = 0; p < T::RPW; ++p) {
      const int rt = rt0 + p * T::NWARPS;
      if (rt >= T::RT) continue;
#pragma unroll
      for (int jt = 0; jt < T::NT; ++jt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int j = rt * 16 + g + 8 * (e >> 1), m = jt * 8 + 2 * t + (e & 1);
          if (j < R) part[ks * BM * LDH + m * LDH + j] = acc[p][jt][e];
        }
    }
  }
  if (WANT_SQ) {
#pragma unroll
    for (int i = 0; i < T::CH; ++i) {
      const int e = tid + i * THREADS;
      if (e < BM * CPR) sqpart[e] = sq[i]; // e = m * CPR + (column piece)
    }
  }
  __syncthreads();
  if (T::KS > 1) {
    for (int e = tid; e < BM * R; e += THREADS) {
      const int m = e / R, j = e % R;
      float s = part[m * LDH + j];
      for (int q = 1; q < T::KS; ++q) s += part[q * BM * LDH + m * LDH + j];
      part[m * LDH + j] = s;
    }
    __syncthreads();
  }
}

/// ghs[m][j] = (G h_m)_j for the block's BM rows h (row stride LDH), then a
/// barrier: the z = h^T G h of the row epilogues. G = B^T B is symmetric, so
/// G(j, l) is read as G[l][j]: the lanes (consecutive j) read one 128-byte
/// line per load (read as G[j][l], each load touched 32 lines: 32K L1
/// wavefronts per 32-row block at r = 32).
template <int BM, int R, int THREADS, int LDH>
HYP_DEVICE_INLINE void hyp_tc_gram_rows(const float *__restrict__ G, const float *hs, float *ghs) {
  for (int e = threadIdx.x; e < BM * R; e += THREADS) {
    const int m = e / R, j = e % R;
    float gh = 0.f;
    for (int l = 0; l < R; ++l) gh = fmaf(G[l * R + j], hs[m * LDH + l], gh);
    ghs[m * LDH + j] = gh;
  }
  __syncthreads();
}

/// Split-K meeting point of the row-reduces (SPLIT blocks per row block, one
/// per blockIdx.y, each over a slice of the reduction): each publishes its
/// partial sums (part: [BM][R+1] in shared memory; with WANT_SQ also the
/// |x|^2 pieces sqpart[BM][CPR]) to `parts` (M x SPLIT x (R+1) fp32: row,
/// split, then R sums and |x|^2), then counts itself in tickets[blockIdx.x]
/// (zero on entry: an accumulate buffer; left zero). The block that arrives last sums
/// the SPLIT partials in split order (the result does not depend on which
/// block that is) back into part and sqpart (piece 0), and returns true: it
/// runs the row epilogue; the others return false. Why: at M = 8192 a row
/// block a CTA made 256 CTAs (under 2 an SM) that could not keep enough bytes
/// in flight, and smaller row blocks re-read the weight from L2 more often.
template <int BM, int R, int THREADS, int CPR, int SPLIT, bool WANT_SQ>
HYP_DEVICE_INLINE bool hyp_tc_row_split_meet(float *part, float *sqpart, float *parts,
                                             float *tickets, long long M, long long m0) {
  constexpr int LDH = R + 1, W = R + 1;
  __shared__ int last;
  const int tid = threadIdx.x;
  for (int e = tid; e < BM * W; e += THREADS) {
    const int m = e / W, j = e % W;
    const long long row = m0 + m;
    if (row >= M) continue;
    float v = 0.f;
    if (j < R) {
      v = part[m * LDH + j];
    } else if (WANT_SQ) {
      for (int p = 0; p < CPR; ++p) v += sqpart[m * CPR + p];
    }
    parts[(row * SPLIT + blockIdx.y) * W + j] = v;
  }
  __threadfence(); // this block's partials are visible before its ticket is
  __syncthreads();
  if (tid == 0) {
    unsigned int *ticket = reinterpret_cast<unsigned int *>(tickets) + blockIdx.x;
    last = atomicAdd(ticket, 1u) == SPLIT - 1;
    // The last arrival re-arms the ticket (every other block of the row block
    // has counted itself): a launch that follows on the stream finds zeros
    // again, as the autotuner's back-to-back timing launches need (without
    // it, launches after the first skipped the epilogue and timed short).
    if (last)
      *ticket = 0u;
  }
  __syncthreads();
  if (!last)
    return false;
  __threadfence(); // the other blocks' partials are read after their tickets
  for (int e = tid; e < BM * W; e += THREADS) {
    const int m = e / W, j = e % W;
    const long long row = m0 + m;
    float v = 0.f;
    if (row < M)
      for (int q = 0; q < SPLIT; ++q) v += __ldcg(parts + (row * SPLIT + q) * W + j);
    if (j < R) {
      part[m * LDH + j] = v;
    } else if (WANT_SQ) {
      sqpart[m * CPR] = v;
      for (int p = 1; p < CPR; ++p) sqpart[m * CPR + p] = 0.f;
    }
  }
  __syncthreads();
  return true;
}

/// hyp_fwd_down_body on tensor cores (same outputs, same meaning).
template <int BM, int R, int THREADS, int KDIM, bool HAS_G, int SPLIT>
HYP_DEVICE_INLINE void hyp_tc_fwd_down_body(const hyp_act_t *__restrict__ x,
                                            const float *__restrict__ A,
                                            const float *__restrict__ G, const float *kp,
                                            const float *sp, float *__restrict__ w,
                                            float *__restrict__ stats, long long M,
                                            float scaling, float *parts, float *tickets) {
  typedef HypTcRow<BM, R, THREADS> T;
  constexpr int LDH = T::LDH;
  unsigned char *smem = hyp_dynamic_smem();
  if (hyp_dynamic_smem_bytes() < (unsigned)T::SMEM_BYTES) hyp_trap();
  float *sqpart = reinterpret_cast<float *>(smem);   // [BM * CPR]
  float *rowf = sqpart + BM * T::CPR;                 // [BM]
  unsigned char *raw = smem + T::FIXED_BYTES;
  const long long m0 = (long long)blockIdx.x * BM;
  hyp_tc_row_dot<BM, R, THREADS, KDIM, false, true, SPLIT>(x, A, M, m0, raw, sqpart);
  if constexpr (SPLIT > 1)
    if (!hyp_tc_row_split_meet<BM, R, THREADS, T::CPR, SPLIT, true>(
            reinterpret_cast<float *>(raw), sqpart, parts, tickets, M, m0))
      return;
  const float *hs = reinterpret_cast<float *>(raw); // [BM][R+1]: h rows
  float *ghs = reinterpret_cast<float *>(raw) + BM * LDH; // [BM][R+1]: G h
  const int tid = threadIdx.x;
  if (HAS_G)
    hyp_tc_gram_rows<BM, R, THREADS, LDH>(G, hs, ghs);
  const float kv = kp ? *kp : 0.f;
  const float sv = sp ? *sp : 1.f;
  for (int m = tid; m < BM; m += THREADS) {
    const long long row = m0 + m;
    if (row >= M) continue;
    float n2 = 0.f;
    for (int p = 0; p < T::CPR; ++p) n2 += sqpart[m * T::CPR + p];
    float z = 0.f;
    if (HAS_G)
      for (int j = 0; j < R; ++j) z = fmaf(hs[m * LDH + j], ghs[m * LDH + j], z);
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
    if (row < M) w[row * R + j] = rowf[m] * hs[m * LDH + j];
  }
}

/// The row chain rule of the backward for the BM rows from m0 (rows past M
/// ignored), from P = dY B in raw[0 .. BM * (R + 1)) (complete sums, after a
/// barrier): h = w / f, G h, the dual-number row terms, dH, beta, R += dz h
/// h^T, dk, ds. raw holds 3 BM (R + 1) floats, rowsc 4 BM. Shared by
/// hyp_bwd_dy (P from its own reduction) and hyp_bwd_rows (P from the one
/// pass over dY, HypTensorCoreDyPass.cuh).
template <int BM, int R, int THREADS, bool HAS_G>
HYP_DEVICE_INLINE void
hyp_tc_bwd_row_epilogue(float *raw, float *rowsc, const float *__restrict__ w,
                        const float *__restrict__ stats, const float *__restrict__ G,
                        const float *kp, const float *sp, float *__restrict__ dH,
                        float *__restrict__ beta, float *Racc, float *dk, float *ds, long long M,
                        float scaling, long long m0) {
  constexpr int LDH = R + 1;
  const float *Ps = raw;        // [BM][R+1]: P = dY B
  float *hs = raw + BM * LDH;   // [BM][R+1]: h = w / f
  float *ghs = raw + 2 * BM * LDH; // [BM][R+1]: G h
  const int tid = threadIdx.x;
  for (int e = tid; e < BM * R; e += THREADS) {
    const int m = e / R, j = e % R;
    const long long row = m0 + m;
    float hv = 0.f;
    if (row < M) {
      const float f = stats[row * 4 + 2] * stats[row * 4 + 3];
      hv = f != 0.f ? w[row * R + j] / f : 0.f;
    }
    hs[m * LDH + j] = hv;
  }
  __syncthreads();
  if (HAS_G)
    hyp_tc_gram_rows<BM, R, THREADS, LDH>(G, hs, ghs);
  const float kv = kp ? *kp : 0.f;
  const float sv = sp ? *sp : 1.f;
  for (int m = tid; m < BM; m += THREADS) {
    float dfd = 0.f, z = 0.f; // rows past M have h = 0 (and are ignored below)
    for (int j = 0; j < R; ++j) {
      dfd = fmaf(Ps[m * LDH + j], hs[m * LDH + j], dfd);
      if (HAS_G) z = fmaf(hs[m * LDH + j], ghs[m * LDH + j], z);
    }
    hyp_bwd_row_terms<>(m0 + m, M, dfd, z, stats, kv, sv, scaling, beta, rowsc + m * 4);
  }
  __syncthreads();
  for (int e = tid; e < BM * R; e += THREADS) {
    const int m = e / R, j = e % R;
    const long long row = m0 + m;
    if (row >= M) continue;
    const float gh = HAS_G ? ghs[m * LDH + j] : 0.f;
    dH[row * R + j] = rowsc[m * 4 + 0] * Ps[m * LDH + j] + 2.f * rowsc[m * 4 + 1] * gh;
  }
  if (HAS_G) {
    for (int e = tid; e < R * R; e += THREADS) {
      const int j = e / R, l = e % R;
      float v = 0.f;
      for (int m = 0; m < BM; ++m)
        v = fmaf(rowsc[m * 4 + 1] * hs[m * LDH + j], hs[m * LDH + l], v);
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

/// hyp_bwd_dy_body on tensor cores (same outputs, same meaning).
/// B_TRANSPOSED: `B` holds B^T (R x N, hyp_gram's BT), read like A.
template <int BM, int R, int THREADS, int NDIM, bool HAS_G, int SPLIT, bool B_TRANSPOSED = false>
HYP_DEVICE_INLINE void
hyp_tc_bwd_dy_body(const hyp_act_t *__restrict__ dY, const float *__restrict__ B,
                   const float *__restrict__ w, const float *__restrict__ stats,
                   const float *__restrict__ G, const float *kp, const float *sp,
                   float *__restrict__ dH, float *__restrict__ beta, float *Racc, float *dk,
                   float *ds, long long M, float scaling, float *parts, float *tickets) {
  typedef HypTcRow<BM, R, THREADS> T;
  unsigned char *smem = hyp_dynamic_smem();
  if (hyp_dynamic_smem_bytes() < (unsigned)T::SMEM_BYTES) hyp_trap();
  float *rowsc = reinterpret_cast<float *>(smem); // [BM * 4]: f, dz, dk part, ds part
  unsigned char *raw = smem + T::FIXED_BYTES;
  const long long m0 = (long long)blockIdx.x * BM;
  hyp_tc_row_dot<BM, R, THREADS, NDIM, !B_TRANSPOSED, false, SPLIT>(dY, B, M, m0, raw, nullptr);
  if constexpr (SPLIT > 1)
    if (!hyp_tc_row_split_meet<BM, R, THREADS, T::CPR, SPLIT, false>(
            reinterpret_cast<float *>(raw), nullptr, parts, tickets, M, m0))
      return;
  hyp_tc_bwd_row_epilogue<BM, R, THREADS, HAS_G>(reinterpret_cast<float *>(raw), rowsc, w, stats,
                                                  G, kp, sp, dH, beta, Racc, dk, ds, M, scaling,
                                                  m0);
}
