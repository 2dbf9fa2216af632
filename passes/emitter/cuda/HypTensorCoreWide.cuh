//===- HypTensorCoreWide.cuh - wide column-strip skeletons -------*- CUDA -*-===//
//
// Pasted after HypTensorCore.cuh (uses its ring, split and MMA helpers).
//
// y += w B^T for r <= 32, 256 columns a block (four warps side by side, 64
// columns each). Each warp keeps its B slice (64 columns x r, split hi / lo)
// in registers for the block's whole row chunk, and the step's rows of w are
// staged once for all four warps through the same cp.async ring as y: no B
// strip in shared memory, so the ring fits four stages (three steps in
// flight), and w / B come from L2 at r / 256 and r / ROWS of y's bytes (the
// 64-column hyp_tc_fwd_up_body: r / 64 and r / ROWS).
//
// What made it fast was not that traffic but the stores (H100, 4096 x 4096,
// M = 8192, r = 32, 2026-11-26): built for the L2 re-reads, this layout ran
// 109 us with stores straight from the MMA fragments, no better than the
// 64-column kernel's 101. The same update in Triton took 51-55 us; Nsight
// Compute showed ours putting ~3.3x y's sectors into the L2 (its 1x): each
// fragment store wrote half of 8 lines. Results now go back into the stage
// and leave in whole 128-byte lines: 62 us. A warp's 64 columns are exactly
// one line of each of its rows, so that store needs only a warp barrier (the
// 64-column kernel with the same store path, which needs a block barrier:
// 95 us, and 394 us at N = 14336 where this one takes 211). The
// B slice takes 2 * NT * KS * 2 = 64 registers at r = 32; larger ranks keep
// hyp_tc_fwd_up_body (same store path, through a block barrier).
//===----------------------------------------------------------------------===//

template <int R> struct HypTcUpWide {
  static constexpr int THREADS = 128;
  static constexpr int NWARPS = THREADS / 32;
  static constexpr int WN = 64;              // columns of a warp (all rows of a step)
  static constexpr int BN = NWARPS * WN;     // block columns
  static constexpr int SUBM = 16;            // rows per step
  static constexpr int RP = HYP_ROUND_UP(R, 16);
  static constexpr int KS = RP / 16;         // k-steps
  static constexpr int NT = WN / 8;          // MMA n-tiles of a warp
  static constexpr int NV = WN / 32;         // 16-byte pieces of a lane in a row
  static constexpr int CPR = BN / 8;         // 16-byte chunks per y row
  static constexpr int WQ = RP / 4;          // float4 per staged w row (zero past r)
  static constexpr int STAGES = 4;
  static constexpr int Y_HALVES = SUBM * BN; // per stage
  static constexpr int W_FLOATS = SUBM * RP; // per stage, after y
  static constexpr int STAGE_BYTES = Y_HALVES * 2 + W_FLOATS * 4;
  static constexpr int SMEM_BYTES = STAGES * STAGE_BYTES;
};

/// Orders a warp's shared-memory writes before its lanes read each other's:
/// __syncwarp on the device; the CPU emulation runs lanes as threads of one
/// block barrier, which every thread of the block reaches here too.
HYP_DEVICE_INLINE void hyp_warp_sync() {
#ifdef HYP_CPU_EMULATION
  __syncthreads();
#else
  __syncwarp();
#endif
}

/// Physical 16-byte chunk of logical chunk c of row m in a ring row of any
/// multiple of 64 halves: hyp_tc_ring_chunk inside each 128-byte group (the
/// groups all start at bank 0, so the same swizzle keeps a quarter-warp's two
/// rows apart).
HYP_DEVICE_INLINE int hyp_tc_wide_chunk(int m, int c) {
  return (c & ~7) | hyp_tc_ring_chunk(m, c & 7);
}
/// Physical float4 of quad q of staged w row m: rows of 8 or 16 quads start
/// at bank 0, so odd rows take the other half of the 128 bytes (a quarter-warp
/// reads quads 4kk .. 4kk + 3 of rows 2a, 2a + 1); rows of 4 or 12 quads are
/// 64 or 192 bytes apart already.
template <int WQ> HYP_DEVICE_INLINE int hyp_tc_wide_wquad(int m, int q) {
  return WQ % 8 == 0 ? q ^ ((m & 1) << 2) : q;
}
/// Column (0 .. WN - 1) of MMA row p of a warp's B slice: the inverse of
/// hyp_tc_up_mma_row (the permutation that lets each lane store y in 16-byte
/// pieces): p = 8i + g is element ce = 2i + (g & 1) of lane t = g >> 1.
HYP_DEVICE_INLINE int hyp_tc_up_col_of_mma_row(int p) {
  const int g = p & 7, ce = 2 * (p >> 3) + (g & 1);
  return 32 * (ce >> 3) + 8 * (g >> 1) + (ce & 7);
}

/// Issues the copies of one step: y rows [s0, s0 + SUBM) x columns
/// [n0, n0 + BN) (only when LOAD_Y: the storing update never reads y) and
/// the same rows of w (r floats, zero-filled to RP) into `stage`; rows at or
/// past r1, columns past LEN and ranks past R read as zero.
/// Without `yvec` / `wvec` (odd lengths, unaligned views) plain loads store
/// the same values (the ring's barriers order them alike).
template <int R, int LEN, bool LOAD_Y>
HYP_DEVICE_INLINE void hyp_tc_wide_issue(const hyp_u16 *__restrict__ y,
                                         const float *__restrict__ w, unsigned char *stage,
                                         long long s0, long long r1, int n0, bool yvec,
                                         bool wvec) {
  typedef HypTcUpWide<R> G;
  constexpr int THREADS = G::THREADS, CPR = G::CPR, RSTEP = THREADS / CPR;
  static_assert(THREADS % CPR == 0 && G::SUBM % RSTEP == 0, "whole rows per pass");
  // Byte offsets from the stage: its 32-bit shared address is converted once.
  const hyp_smem_addr base = hyp_to_smem_addr(stage);
  // y: thread = chunk c of rows m0, m0 + RSTEP, ... (a warp: 512 contiguous bytes).
  const int m0 = threadIdx.x / CPR, c = threadIdx.x % CPR, col = n0 + 8 * c;
  const bool colLive = col + 8 <= LEN;
#pragma unroll
  for (int i = 0; i < (LOAD_Y ? G::SUBM / RSTEP : 0); ++i) {
    const int m = m0 + i * RSTEP;
    const int off = 2 * (m * G::BN + 8 * hyp_tc_wide_chunk(m, c));
    if (yvec) {
      const bool live = colLive && s0 + m < r1;
      hyp_cp_async_to<16>(base + off, live ? y + (s0 + m) * LEN + col : y, live);
    } else {
      *reinterpret_cast<hyp_u16x8 *>(stage + off) = hyp_tc_load8<LEN>(y, s0 + m, col, r1, false);
    }
  }
  // w: one float4 per thread and pass.
  constexpr int QUADS = G::SUBM * G::WQ;
#pragma unroll
  for (int e0 = 0; e0 < QUADS; e0 += THREADS) {
    const int e = e0 + threadIdx.x;
    if (QUADS % THREADS != 0 && e >= QUADS) break;
    const int m = e / G::WQ, q = e % G::WQ;
    const bool live = s0 + m < r1 && 4 * q < R;
    const int off = G::Y_HALVES * 2 + 16 * (m * G::WQ + hyp_tc_wide_wquad<G::WQ>(m, q));
    if (wvec) {
      hyp_cp_async_to<16>(base + off, live ? w + (s0 + m) * R + 4 * q : w, live);
    } else {
      float *dst = reinterpret_cast<float *>(stage + off);
#pragma unroll
      for (int k = 0; k < 4; ++k) dst[k] = live ? w[(s0 + m) * R + 4 * q + k] : 0.f;
    }
  }
}

/// This lane's B fragments of a warp's 64 columns (from n0w), split hi / lo:
/// n-tile i, k-step kk holds columns hyp_tc_up_col_of_mma_row(8i + g) and
/// physical k = 16 kk + 4t .. + 3 (the permuted k of hyp_tc_up_kstep).
template <int R, int LEN, int NT, int KS>
HYP_DEVICE_INLINE void hyp_tc_wide_b_regs(hyp_u32 (&bhi)[NT][KS][2], hyp_u32 (&blo)[NT][KS][2],
                                          const float *__restrict__ B, int n0w) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const bool vec = ((unsigned long long)B) % 16ull == 0ull && R % 4 == 0;
#pragma unroll
  for (int i = 0; i < NT; ++i) {
    const int n = n0w + hyp_tc_up_col_of_mma_row(8 * i + g);
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
      const int k = 16 * kk + 4 * t;
      hyp_f32x4 v;
      if (n < LEN && k + 4 <= R && vec) {
        v = *reinterpret_cast<const hyp_f32x4 *>(B + (long long)n * R + k);
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) v.e[e] = (n < LEN && k + e < R) ? B[(long long)n * R + k + e] : 0.f;
      }
#pragma unroll
      for (int p = 0; p < 2; ++p) {
        const hyp_u32 top = hyp_pack_bf16x2(v.e[2 * p], v.e[2 * p + 1]);
        bhi[i][kk][p] = top;
        blo[i][kk][p] = hyp_pack_bf16x2(v.e[2 * p] - __uint_as_float(top << 16),
                                        v.e[2 * p + 1] - __uint_as_float(top & 0xffff0000u));
      }
    }
  }
}

/// One k-step of a warp's y += w B^T with B in registers: the MMA order of
/// hyp_tc_up_kstep (lo x hi, hi x lo, hi x hi). The emulation has no
/// cross-lane fragments: it reads its rows of w from the stage `ws` (so the
/// staging and its swizzle are checked on the CPU too) and B's columns from
/// global memory, split as the registers hold them.
template <int NT, int KS, int R, int LEN, int WQ>
HYP_DEVICE_INLINE void hyp_tc_wide_kstep(float (&acc)[NT][4], const float (&wv)[2][4],
                                         const hyp_u32 (&bhi)[NT][KS][2],
                                         const hyp_u32 (&blo)[NT][KS][2], int kk,
                                         const float *ws, const float *__restrict__ B, int n0w) {
#ifdef HYP_MMA_SCALAR
  (void)wv, (void)bhi, (void)blo;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  for (int i = 0; i < NT; ++i)
    for (int e = 0; e < 4; ++e) {
      const int m = g + 8 * (e >> 1);
      const int n = n0w + hyp_tc_up_col_of_mma_row(8 * i + 2 * t + (e & 1));
      float slo = 0.f, shi = 0.f;
      for (int k = 16 * kk; k < 16 * kk + 16; ++k) {
        hyp_u16 bh = 0, bl = 0;
        if (n < LEN && k < R) hyp_split_bf16(B[(long long)n * R + k], &bh, &bl);
        const float wk = ws[4 * (m * WQ + hyp_tc_wide_wquad<WQ>(m, k >> 2)) + (k & 3)];
        hyp_emu_split_fma(wk, hyp_bf16_bits_to_f32(bh), hyp_bf16_bits_to_f32(bl), slo, shi);
      }
      acc[i][e] += slo;
      acc[i][e] += shi;
    }
#else
  (void)ws, (void)B, (void)n0w;
  hyp_u32 ahi[4], alo[4];
  hyp_split_a_frag(wv, ahi, alo);
#pragma unroll
  for (int i = 0; i < NT; ++i) {
    hyp_mma_bf16(acc[i], alo, bhi[i][kk]);
    hyp_mma_bf16(acc[i], ahi, blo[i][kk]);
    hyp_mma_bf16(acc[i], ahi, bhi[i][kk]);
  }
#endif
}

/// y[row][n] += sum_j w[row][j] B[n][j] (ACCUMULATE) or y[row][n] = that sum
/// (the storing update: y is never read, the caller adds W x with cuBLAS
/// afterwards, beta = 1, and the update moves half the bytes), block (bx, by):
/// columns [bx * 256, bx * 256 + 256), row chunk by (hyp_tc_block_rows) in
/// 16-row steps.
template <int R, int NDIM, bool ACCUMULATE>
HYP_DEVICE_INLINE void hyp_tc_fwd_up_wide_body(const float *__restrict__ w,
                                               const float *__restrict__ B,
                                               hyp_act_t *__restrict__ y_act, long long M) {
  typedef HypTcUpWide<R> G;
  constexpr int SUBM = G::SUBM, NT = G::NT, KS = G::KS, NV = G::NV, STAGES = G::STAGES,
                WN = G::WN, BN = G::BN;
  static_assert(R <= 32 && R % 4 == 0, "the wide y += w B^T takes r <= 32 (w rows as float4)");
  static_assert(G::SMEM_BYTES <= 48 * 1024, "static shared memory above 48 KiB");
  alignas(16) __shared__ unsigned char ring[STAGES * G::STAGE_BYTES];
  hyp_u16 *y = reinterpret_cast<hyp_u16 *>(y_act);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int n0 = blockIdx.x * BN, n0w = n0 + warp * WN;
  long long r0, r1;
  hyp_tc_block_rows<SUBM>(M, &r0, &r1);
  if (r1 <= r0) return; // uniform over the block
  const bool yvec = hyp_tc_vec_ok<NDIM>(y);
  const bool wvec = ((unsigned long long)w) % 16ull == 0ull;
  // Prologue: STAGES - 1 steps in flight while the B slice loads.
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    hyp_tc_wide_issue<R, NDIM, ACCUMULATE>(y, w, ring + s * G::STAGE_BYTES, r0 + s * SUBM, r1, n0, yvec, wvec);
    hyp_cp_async_commit();
  }
  hyp_u32 bhi[NT][KS][2], blo[NT][KS][2];
  hyp_tc_wide_b_regs<R, NDIM, NT, KS>(bhi, blo, B, n0w);
  int stage = 0;
  for (long long s0 = r0; s0 < r1; s0 += SUBM) {
    hyp_cp_async_wait<STAGES - 2>(); // this thread's copies of this step have landed
    __syncthreads();                 // everyone's; and the stage refilled below is free
    {
      const int refill = stage == 0 ? STAGES - 1 : stage - 1;
      hyp_tc_wide_issue<R, NDIM, ACCUMULATE>(y, w, ring + refill * G::STAGE_BYTES,
                                 s0 + (STAGES - 1) * SUBM, r1, n0, yvec, wvec);
      hyp_cp_async_commit(); // (possibly empty: keeps the group count)
    }
    unsigned char *st = ring + stage * G::STAGE_BYTES;
    hyp_u16 *ys = reinterpret_cast<hyp_u16 *>(st);
    const float *ws = reinterpret_cast<const float *>(st + G::Y_HALVES * 2);
    // C fragments: lane piece v of row g + 8h is columns 32v + 8t .. + 7 of
    // the warp's 64, element ce = 8v + c -> n-tile ce / 2, slot 2h + ce % 2.
    float acc[NT][4];
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int m = g + 8 * h;
        if (!ACCUMULATE) {
#pragma unroll
          for (int c = 0; c < 8; ++c) acc[(8 * v + c) >> 1][2 * h + (c & 1)] = 0.f;
          continue;
        }
        const hyp_u16x8 q = *reinterpret_cast<const hyp_u16x8 *>(
            ys + m * BN + 8 * hyp_tc_wide_chunk(m, warp * (WN / 8) + 4 * v + t));
#pragma unroll
        for (int c = 0; c < 8; ++c)
          acc[(8 * v + c) >> 1][2 * h + (c & 1)] = hyp_bf16_bits_to_f32(q.e[c]);
      }
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
      float wv[2][4];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int m = g + 8 * h;
        const hyp_f32x4 q = *reinterpret_cast<const hyp_f32x4 *>(
            ws + 4 * (m * G::WQ + hyp_tc_wide_wquad<G::WQ>(m, 4 * kk + t)));
#pragma unroll
        for (int i = 0; i < 4; ++i) wv[h][i] = q.e[i];
      }
      hyp_tc_wide_kstep<NT, KS, R, NDIM, G::WQ>(acc, wv, bhi, blo, kk, ws, B, n0w);
    }
    // The result goes back into the stage where this lane read y, and out
    // from there in whole 128-byte lines (8 lanes a row): stored straight
    // from the fragments, each instruction wrote half lines (64 bytes of 8
    // rows), and the L2 took in ~3.3x y's sectors (Nsight Compute "L2
    // compression input sectors", H100, 2026-11-26; Triton's update: 1x).
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int m = g + 8 * h;
        *reinterpret_cast<hyp_u16x8 *>(ys + m * BN +
                                        8 * hyp_tc_wide_chunk(m, warp * (WN / 8) + 4 * v + t)) =
            hyp_tc_pack_piece<NT>(acc, v, h);
      }
    hyp_warp_sync();
    constexpr int CPW = WN / 8; // chunks of a warp's row
#pragma unroll
    for (int i = 0; i < SUBM * CPW / 32; ++i) {
      const int m = i * (32 / CPW) + lane / CPW, c = warp * CPW + lane % CPW;
      const hyp_u16x8 o = *reinterpret_cast<const hyp_u16x8 *>(ys + m * BN + 8 * hyp_tc_wide_chunk(m, c));
      hyp_tc_store8<NDIM>(y, s0 + m, n0 + 8 * c, r1, yvec, o);
    }
    stage = stage == STAGES - 1 ? 0 : stage + 1;
  }
  hyp_cp_async_wait<0>(); // no copy may outlive the block
}
