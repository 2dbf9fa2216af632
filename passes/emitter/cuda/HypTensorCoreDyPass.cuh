//===- HypTensorCoreDyPass.cuh - one pass over dY ---------------*- CUDA -*-===//
//
// Pasted after HypTensorCore.cuh (uses its ring, split, MMA and row-epilogue
// helpers).
//
// The backward's two products of dY, P = dY B (M x r) and dB = dY^T w
// (N x r), from ONE read of dY (r <= 32, bf16). Before, hyp_bwd_dy (rows of
// dY, P and the row chain rule) and hyp_bwd_db (columns of dY, dB) each read
// all of dY: 50 + 47 us at 4096 x 4096 and 135 + 160 us at 4096 -> 14336,
// M = 8192 on an H100 (twelfth session), where one read of dY costs ~25 us.
//
// * hyp_bwd_dy_pass: a block owns 256 columns of dY (four 64-column ring
//   tiles) and a row chunk (grid.y, launch-only ROWS), streamed in steps of
//   32 rows through a 4-stage cp.async ring (dynamic shared memory), the
//   step's rows of w beside them.
//   - dB^T += w^T dY as hyp_bwd_db computes it (same k-step helper: dY by
//     ldmatrix.trans, w^T split hi/lo), in accumulators held over the whole
//     chunk, then one atomic an element: ceil(M / ROWS) partials.
//   - P += dY B over the block's 256 columns: warp (prt, pch) takes rank
//     n-tile prt (8 ranks) over column half pch (8 k-steps of 16), with its
//     B fragments (split hi/lo) in registers for the whole chunk (32 at
//     r = 32); dY is the A operand by ldmatrix (rows permuted as the ring's
//     swizzle needs, hyp_tc_dy_pass_row). The two halves' partials meet in
//     shared memory and leave one step later as one coalesced atomic an
//     element into P (fp32, zeroed by the caller): ceil(N / 256) partials.
// * hyp_bwd_rows: the row chain rule (hyp_tc_bwd_row_epilogue, the same code
//   as hyp_bwd_dy's) over complete rows of P: dH, beta, R, dk, ds.
// * hyp_bwd_db_gram: dB += 2 B R, which needs every row's R (the old
//   hyp_bwd_db added it in its first row chunk, after hyp_bwd_dy).
// Measured (H100, M = 8192, r = 32, same process as the two passes,
// bench/dy_pass_ab.py): dy_pass + rows + db_gram 45 + 14 + 3 us against 48 + 41
// at 4096 x 4096, 179 + 16 + 7 against 124 + 149 at 4096 -> 14336
// (docs/KERNELS.md, "One pass over dY").
//===----------------------------------------------------------------------===//

template <int R> struct HypTcDyPass {
  static constexpr int THREADS = 256;
  static constexpr int NWARPS = THREADS / 32;
  static constexpr int BN = 256;                      // block columns
  static constexpr int QN = BN / 64;                  // 64-column ring tiles
  static constexpr int SUBM = 32;                     // rows per step
  static constexpr int MS = SUBM / 16;                // row k-steps of dB^T += w^T dY
  static constexpr int RT = HYP_ROUND_UP(R, 16) / 16; // dB rank tiles (16 ranks)
  static constexpr int DCG = NWARPS / RT;             // dB column groups
  static constexpr int DNT = (BN / 8) / DCG;          // dB n-tiles a warp (inside one ring tile)
  static constexpr int NTR = R / 8;                   // P rank n-tiles (8 ranks)
  static constexpr int PRG = 4;                       // P rank groups: warp % PRG
  static constexpr int PCG = NWARPS / PRG;            // P column groups: warp / PRG
  static constexpr int PKS = BN / PCG / 16;           // P k-steps a warp
  static constexpr int LDW = R + 4;                   // staged w rows (as HypTcDbRing's)
  static constexpr int STAGES = 4;                    // three steps in flight
  static constexpr int DY_HALVES = QN * SUBM * 64;
  static constexpr int STAGE_BYTES = DY_HALVES * 2 + SUBM * LDW * 4;
  static constexpr int PBUF_FLOATS = PCG * SUBM * R;  // one step's P partials
  /// Dynamic shared memory (AdapterProgram.cpp tcDyPassSmem computes the same):
  /// the ring, then two steps' P partials.
  static constexpr int SMEM_BYTES = STAGES * STAGE_BYTES + 2 * PBUF_FLOATS * 4;
  static_assert(R % 8 == 0 && R <= 32, "the one pass over dY takes r <= 32, r % 8 == 0");
  static_assert(NTR <= PRG && DNT % 2 == 0 && 8 % DNT == 0, "warp tiles");
  static_assert(STAGE_BYTES % 16 == 0, "16-byte aligned stages");
};

/// Physical row (0..15) of logical row g (0..7) of half h of a 16-row A
/// fragment of P: rows 4(g >> 1) + (g & 1) + 2h, i.e. an ldmatrix's 8 rows are
/// {0, 1, 4, 5, 8, 9, 12, 13} (+ 2 for the second half), which
/// hyp_tc_ring_chunk puts in 8 distinct bank groups (consecutive rows would
/// pair up: rows m and m + 2 share a swizzle).
HYP_DEVICE_INLINE int hyp_tc_dy_pass_row(int g, int h) { return 4 * (g >> 1) + (g & 1) + 2 * h; }

#ifndef HYP_MMA_SCALAR
/// This lane's B fragments of P's product: k-step s covers block columns
/// c0 + 16 s .. + 15, rank n-tile prt; bf[s][0] hi, bf[s][1] lo (the
/// standard layout: register 0 is k = 2t, 2t + 1, register 1 k = 2t + 8, 2t + 9,
/// low half first, of rank 8 prt + g). Columns past NDIM read as zero.
template <int R, int NDIM, int PKS>
HYP_DEVICE_INLINE void hyp_tc_dy_pass_b_frags(hyp_u32 (&bf)[PKS][2][2], const float *__restrict__ B,
                                              int c0, int prt) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3, j = 8 * prt + g;
#pragma unroll
  for (int s = 0; s < PKS; ++s)
#pragma unroll
    for (int p = 0; p < 2; ++p) {
      const int n = c0 + 16 * s + 2 * t + 8 * p;
      const float v0 = n < NDIM ? B[(long long)n * R + j] : 0.f;
      const float v1 = n + 1 < NDIM ? B[(long long)(n + 1) * R + j] : 0.f;
      const hyp_u32 top = hyp_pack_bf16x2(v0, v1);
      bf[s][0][p] = top;
      bf[s][1][p] = hyp_pack_bf16x2(v0 - __uint_as_float(top << 16),
                                    v1 - __uint_as_float(top & 0xffff0000u));
    }
}
#endif

#ifdef HYP_MMA_SCALAR
/// The emulation's P += dY B for this lane's outputs of 16-row tile rt2 of the
/// step (rows hyp_tc_dy_pass_row, ranks 8 prt + 2t (+ 1)) over block k-step kg
/// (columns 16 kg .. 16 kg + 15: ring tile kg / 4): the MMAs' split products,
/// summed in another order; B from global memory (columns from n0).
template <int R, int NDIM>
HYP_DEVICE_INLINE void hyp_tc_dy_pass_p_kstep(float (&acc)[4], const hyp_u16 *ys, int rt2, int kg,
                                              const float *__restrict__ B, int n0, int prt) {
  constexpr int SUBM = HypTcDyPass<R>::SUBM;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const hyp_u16 *qs = ys + (kg >> 2) * SUBM * 64; // the k-step's ring tile
  for (int e = 0; e < 4; ++e) {
    const int m = rt2 * 16 + hyp_tc_dy_pass_row(g, e >> 1), j = 8 * prt + 2 * t + (e & 1);
    float slo = 0.f, shi = 0.f;
    for (int kk = 0; kk < 16; ++kk) {
      const int c = (kg & 3) * 16 + kk, n = n0 + (kg >> 2) * 64 + c;
      const float v = n < NDIM ? B[(long long)n * R + j] : 0.f;
      hyp_emu_split_fma(v, hyp_bf16_bits_to_f32(qs[m * 64 + 8 * hyp_tc_ring_chunk(m, c >> 3) + (c & 7)]),
                        slo, shi);
    }
    acc[e] += slo;
    acc[e] += shi;
  }
}
#endif

/// One step's P partials (pbuf: PCG column groups x SUBM rows x R, rows from
/// s0) into P (M x R fp32): summed over the groups, one coalesced atomic an
/// element; rows at or past r1 are not the block's.
template <int R>
HYP_DEVICE_INLINE void hyp_tc_dy_pass_flush(const float *pbuf, float *P, long long s0,
                                            long long r1) {
  typedef HypTcDyPass<R> G;
#pragma unroll
  for (int e0 = 0; e0 < G::SUBM * R; e0 += G::THREADS) {
    const int e = e0 + threadIdx.x;
    if ((G::SUBM * R) % G::THREADS != 0 && e >= G::SUBM * R) break;
    if (s0 + e / R >= r1) break; // e grows with the row
    float v = pbuf[e];
#pragma unroll
    for (int c = 1; c < G::PCG; ++c) v += pbuf[c * G::SUBM * R + e];
    atomicAdd(P + s0 * R + e, v);
  }
}

/// This thread's copies of one ring step, planned once (aligned dY and w:
/// every copy a cp.async): piece (row m0, 16-byte chunk c) of each 64-column
/// ring tile, and one 16-byte piece of the step's w rows. Per step only the
/// row liveness and the source rows change. The generic per-call address
/// arithmetic of hyp_tc_ring_issue was a large share of the kernel's
/// instructions (Nsight Compute, H100: ~540 instructions a warp and step, 64
/// of them MMAs).
template <int R, int NDIM> struct HypTcDyPassCopies {
  typedef HypTcDyPass<R> G;
  static constexpr int CPR = 8, WPPR = R / 4, WPIECES = G::SUBM * WPPR;
  static_assert(G::THREADS == G::SUBM * CPR && WPIECES <= G::THREADS, "one piece a thread");
  const hyp_u16 *ybase; // dY row (r0-relative row 0 + m0), columns n0 + 8c
  const float *wbase;   // w row m0w, ranks 4 cw
  int ydst, wdst;       // bytes from a stage's start
  int m0, m0w;
  unsigned colLive;     // bit q: ring tile q's piece lies inside N
  bool wpiece;

  __device__ __forceinline__ void init(const hyp_u16 *dY, const float *w, int n0) {
    const int tid = threadIdx.x, c = tid % CPR;
    m0 = tid / CPR;
    ybase = dY + (long long)m0 * NDIM + n0 + 8 * c;
    ydst = 2 * (m0 * 64 + 8 * hyp_tc_ring_chunk(m0, c));
    colLive = 0u;
#pragma unroll
    for (int q = 0; q < G::QN; ++q)
      if (n0 + 64 * q + 8 * c + 8 <= NDIM) colLive |= 1u << q;
    wpiece = tid < WPIECES;
    m0w = tid / WPPR;
    wbase = w + (long long)m0w * R + 4 * (tid % WPPR);
    wdst = G::DY_HALVES * 2 + 4 * (m0w * G::LDW + 4 * (tid % WPPR));
  }
  /// The copies of the step whose rows start at s into the stage at `stage`.
  __device__ __forceinline__ void issue(hyp_smem_addr stage, long long s, long long r1,
                                        const hyp_u16 *dY, const float *w) const {
    const bool rowLive = s + m0 < r1;
    const hyp_u16 *ys = ybase + s * NDIM;
#pragma unroll
    for (int q = 0; q < G::QN; ++q) {
      const bool live = rowLive && ((colLive >> q) & 1u);
      hyp_cp_async_to<16>(stage + ydst + q * G::SUBM * 128, live ? ys + 64 * q : dY, live);
    }
    if (wpiece) {
      const bool live = s + m0w < r1;
      hyp_cp_async_to<16>(stage + wdst, live ? wbase + s * R : w, live);
    }
  }
};

#ifndef HYP_MMA_SCALAR
/// ldmatrix.x4 (.trans when TRANS) at shared address base + OFF.
template <bool TRANS, int OFF>
HYP_DEVICE_INLINE void hyp_tc_ldsm_x4(hyp_u32 (&r)[4], hyp_u32 base) {
  if constexpr (TRANS)
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4+%5];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(base), "n"(OFF));
  else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4+%5];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(base), "n"(OFF));
}
#endif

template <int R, int NDIM>
HYP_DEVICE_INLINE void hyp_tc_bwd_dy_pass_body(const hyp_act_t *__restrict__ dY_act,
                                                const float *__restrict__ B,
                                                const float *__restrict__ w, float *P, float *dB,
                                                long long M) {
  typedef HypTcDyPass<R> G;
  constexpr int THREADS = G::THREADS, SUBM = G::SUBM, MS = G::MS, STAGES = G::STAGES,
                DNT = G::DNT, LDW = G::LDW, PKS = G::PKS, TILE_BYTES = SUBM * 128;
  unsigned char *smem = hyp_dynamic_smem();
  if (hyp_dynamic_smem_bytes() < (unsigned)G::SMEM_BYTES) hyp_trap();
  const hyp_smem_addr ring = hyp_to_smem_addr(smem);
  auto dys = [&](int st) { return reinterpret_cast<hyp_u16 *>(smem + st * G::STAGE_BYTES); };
  auto wst = [&](int st) {
    return reinterpret_cast<float *>(smem + st * G::STAGE_BYTES + G::DY_HALVES * 2);
  };
  float *pbuf = reinterpret_cast<float *>(smem + STAGES * G::STAGE_BYTES); // [2][PBUF_FLOATS]
  const hyp_u16 *dY = reinterpret_cast<const hyp_u16 *>(dY_act);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
  const int n0 = blockIdx.x * G::BN;
  long long r0, r1;
  hyp_tc_block_rows<SUBM>(M, &r0, &r1);
  if (r1 <= r0) return; // uniform over the block
  const bool fast = hyp_tc_vec_ok<NDIM>(dY) && ((unsigned long long)w) % 16ull == 0ull;
  HypTcDyPassCopies<R, NDIM> copies;
  copies.init(dY, w, n0);
  auto issue = [&](int st, long long s0) {
    if (fast) {
      copies.issue(ring + st * G::STAGE_BYTES, s0, r1, dY, w);
      return;
    }
#pragma unroll
    for (int q = 0; q < G::QN; ++q) // (plain loads: odd N, unaligned views)
      hyp_tc_ring_issue<SUBM, THREADS, NDIM>(dY, dys(st) + q * SUBM * 64, s0, r1, n0 + 64 * q,
                                             false);
    hyp_tc_f32_rows_issue<SUBM, THREADS, R, LDW>(w, wst(st), s0, r1, false);
  };
#pragma unroll
  for (int st = 0; st < STAGES - 1; ++st) {
    issue(st, r0 + st * SUBM);
    hyp_cp_async_commit();
  }
  // dB: warp (dcg, rtw) owns rank tile rtw of DNT n-tiles from nt0 of ring tile dq.
  const int dcg = warp % G::DCG, rtw = warp / G::DCG;
  const int dq = dcg * DNT / 8, nt0 = (dcg * DNT) % 8;
  float dacc[DNT][4];
#pragma unroll
  for (int i = 0; i < DNT; ++i) dacc[i][0] = dacc[i][1] = dacc[i][2] = dacc[i][3] = 0.f;
  // P: warp (prt, pch) owns rank n-tile prt over column group pch.
  const int prt = warp % G::PRG, pch = warp / G::PRG;
  const bool pwarp = prt < G::NTR; // (r < 32: some warps make no P)
  // This lane's w^T values (hyp_tc_load_wt_frags' layout): rows 4t + i, ranks
  // 16 rtw + g + 8h of a stage's w rows; ranks past R read as zero.
  const int wj = rtw * 16 + g;
  const int woff = 4 * t * LDW + wj;
#ifndef HYP_MMA_SCALAR
  hyp_u32 bfr[PKS][2][2];
  if (pwarp) hyp_tc_dy_pass_b_frags<R, NDIM, PKS>(bfr, B, n0 + pch * PKS * 16, prt);
  // ldmatrix row addresses (bytes from a stage's start), fixed per lane: the
  // swizzle of a row (hyp_tc_ring_chunk) depends on its row within 16 only.
  const int lq = lane >> 3, li = lane & 7;
  hyp_u32 poff[4], doff[DNT / 2];
  {
    // P's A operand (non-transposed): rows hyp_tc_dy_pass_row, chunks 2 ks + lq / 2.
    const int m = hyp_tc_dy_pass_row(li, lq & 1), sw = hyp_tc_ring_chunk(m, 0);
#pragma unroll
    for (int ks = 0; ks < 4; ++ks)
      poff[ks] = (2 * pch) * TILE_BYTES + m * 128 + 16 * ((2 * ks + (lq >> 1)) ^ sw);
    // dB's B operand (transposed, hyp_tc_ring_wtx_kstep's rows and chunks).
    const int mt = 4 * (li >> 1) + 2 * (lq & 1) + (li & 1), swt = hyp_tc_ring_chunk(mt, 0);
#pragma unroll
    for (int p = 0; p < DNT / 2; ++p)
      doff[p] = dq * TILE_BYTES + mt * 128 + 16 * ((nt0 + 2 * p + (lq >> 1)) ^ swt);
  }
#else
  (void)lane;
#endif
  int stage = 0, par = 0;
  for (long long s0 = r0; s0 < r1; s0 += SUBM) {
    hyp_cp_async_wait<STAGES - 2>(); // this thread's copies of this step have landed
    __syncthreads();                 // everyone's; the stage refilled below is free, and so
                                     // are the partials of two steps ago
    issue(stage == 0 ? STAGES - 1 : stage - 1, s0 + (STAGES - 1) * SUBM);
    hyp_cp_async_commit(); // (possibly empty: keeps the group count)
    if (s0 > r0) hyp_tc_dy_pass_flush<R>(pbuf + (par ^ 1) * G::PBUF_FLOATS, P, s0 - SUBM, r1);
    const float *ws = wst(stage);
#pragma unroll
    for (int kk = 0; kk < MS; ++kk) { // dB^T += w^T dY, a k-step of 16 rows
      float wt[2][4];
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int i = 0; i < 4; ++i)
          wt[h][i] = wj + 8 * h < R ? ws[woff + (16 * kk + i) * LDW + 8 * h] : 0.f;
#ifdef HYP_MMA_SCALAR
      hyp_tc_ring_wtx_kstep<DNT, R, LDW>(dacc, wt, ws, r1 - s0, dys(stage) + dq * SUBM * 64, nt0,
                                         kk, rtw);
#else
      hyp_u32 ahi[4], alo[4];
      hyp_split_a_frag(wt, ahi, alo);
      const hyp_u32 sb = ring + stage * G::STAGE_BYTES;
#pragma unroll
      for (int p = 0; p < DNT / 2; ++p) {
        hyp_u32 b[4];
        if (kk == 0) hyp_tc_ldsm_x4<true, 0>(b, sb + doff[p]);
        else hyp_tc_ldsm_x4<true, 16 * 128>(b, sb + doff[p]);
        hyp_tc_wtx_mma_pair(dacc[2 * p], dacc[2 * p + 1], alo, ahi, b);
      }
#endif
    }
    if (pwarp) { // P += dY B over this warp's column group
      float pacc[MS][4];
#pragma unroll
      for (int rt2 = 0; rt2 < MS; ++rt2) pacc[rt2][0] = pacc[rt2][1] = pacc[rt2][2] = pacc[rt2][3] = 0.f;
#ifdef HYP_MMA_SCALAR
#pragma unroll
      for (int rt2 = 0; rt2 < MS; ++rt2)
        for (int s = 0; s < PKS; ++s)
          hyp_tc_dy_pass_p_kstep<R, NDIM>(pacc[rt2], dys(stage), rt2, pch * PKS + s, B, n0, prt);
#else
      const hyp_u32 sb = ring + stage * G::STAGE_BYTES;
      hyp_u32 pb[4];
#pragma unroll
      for (int ks = 0; ks < 4; ++ks) pb[ks] = sb + poff[ks];
#pragma unroll
      for (int s = 0; s < PKS; ++s) {
        static_assert(PKS == 8 && MS == 2, "the unrolled offsets below: 8 k-steps, 2 row tiles");
        hyp_u32 a0[4], a1[4];
        // k-step s: ring tile 2 pch + s / 4 (in poff), chunk pair s % 4; row tiles 0, 1.
        switch (s >> 2) {
        case 0:
          hyp_tc_ldsm_x4<false, 0>(a0, pb[s & 3]);
          hyp_tc_ldsm_x4<false, 16 * 128>(a1, pb[s & 3]);
          break;
        default:
          hyp_tc_ldsm_x4<false, TILE_BYTES>(a0, pb[s & 3]);
          hyp_tc_ldsm_x4<false, TILE_BYTES + 16 * 128>(a1, pb[s & 3]);
          break;
        }
        hyp_mma_bf16(pacc[0], a0, bfr[s][1]); // small terms first
        hyp_mma_bf16(pacc[1], a1, bfr[s][1]);
        hyp_mma_bf16(pacc[0], a0, bfr[s][0]);
        hyp_mma_bf16(pacc[1], a1, bfr[s][0]);
      }
#endif
      float *pb_out = pbuf + par * G::PBUF_FLOATS + pch * SUBM * R;
#pragma unroll
      for (int rt2 = 0; rt2 < MS; ++rt2)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int m = rt2 * 16 + hyp_tc_dy_pass_row(g, h), j = 8 * prt + 2 * t;
          pb_out[m * R + j] = pacc[rt2][2 * h];
          pb_out[m * R + j + 1] = pacc[rt2][2 * h + 1];
        }
    }
    par ^= 1;
    stage = stage == STAGES - 1 ? 0 : stage + 1;
  }
  hyp_cp_async_wait<0>(); // no copy may outlive the block
  __syncthreads();        // the last step's partials are complete
  {
    const long long last = r0 + (r1 - r0 - 1) / SUBM * SUBM;
    hyp_tc_dy_pass_flush<R>(pbuf + (par ^ 1) * G::PBUF_FLOATS, P, last, r1);
  }
#pragma unroll
  for (int i = 0; i < DNT; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int j = rtw * 16 + g + 8 * (e >> 1);
      const int n = n0 + 64 * dq + 8 * (nt0 + i) + 2 * t + (e & 1);
      if (j < R && n < NDIM) atomicAdd(&dB[(long long)n * R + j], dacc[i][e]);
    }
}

/// The row chain rule over BM rows of a complete P (hyp_bwd_dy_pass's): the
/// epilogue of hyp_bwd_dy, same outputs, same meaning.
template <int BM, int R, int THREADS, bool HAS_G>
HYP_DEVICE_INLINE void hyp_tc_bwd_rows_body(const float *__restrict__ P,
                                            const float *__restrict__ w,
                                            const float *__restrict__ stats,
                                            const float *__restrict__ G, const float *kp,
                                            const float *sp, float *__restrict__ dH,
                                            float *__restrict__ beta, float *Racc, float *dk,
                                            float *ds, long long M, float scaling) {
  constexpr int LDH = R + 1;
  alignas(16) __shared__ float raw[3 * BM * LDH]; // P, h, G h rows
  __shared__ float rowsc[BM * 4];                 // f, dz, dk part, ds part
  const long long m0 = (long long)blockIdx.x * BM;
  for (int e = threadIdx.x; e < BM * R; e += THREADS) {
    const int m = e / R, j = e % R;
    raw[m * LDH + j] = m0 + m < M ? P[(m0 + m) * R + j] : 0.f;
  }
  __syncthreads();
  hyp_tc_bwd_row_epilogue<BM, R, THREADS, HAS_G>(raw, rowsc, w, stats, G, kp, sp, dH, beta, Racc,
                                                  dk, ds, M, scaling, m0);
}

/// dB += 2 B R (R = sum over rows of dz h h^T, complete after hyp_bwd_rows):
/// one thread an element of dB, no atomics (nothing else writes dB now).
template <int R, int NDIM>
HYP_DEVICE_INLINE void hyp_bwd_db_gram_body(const float *__restrict__ B,
                                            const float *__restrict__ Rm, float *dB) {
  const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (long long)NDIM * R) return;
  const long long n = e / R;
  const int j = int(e % R);
  float v = 0.f;
  for (int l = 0; l < R; ++l) v = fmaf(B[n * R + l], Rm[l * R + j], v);
  dB[e] += 2.f * v;
}
