// four_point_delta.cu - Gromov delta of a point set from its distance matrix.
//
// For base point w the Gromov products are G[i][j] = (D[w][i] + D[w][j] - D[i][j]) / 2
// and delta_w = max_{i,j} ( max_k min(G[i][k], G[k][j]) - G[i][j] ): a (max,min)
// "matrix product" of G with itself, tiled exactly like a GEMM (fminf/fmaxf in
// place of the multiply-add). G is never stored: each tile is recomputed from D
// while it is staged in shared memory, so the kernel reads only D (n*n floats).
//
// One launch covers w_count base points (grid z). With after_base = 1 base point
// w only looks at points with index > w: every quadruple is then visited once,
// from its smallest index, and max over w of the outputs is the exact
// (four-point) delta. With after_base = 0 it computes delta_w over all points.
// The excess matrix is symmetric in (i, j), so only tiles with j-tile >= i-tile
// do work.
//
// out_bits[w] receives atomicMax of the float bit pattern (the excess is >= 0,
// and non-negative floats order like their bits); the caller zeroes it.
#ifndef TILE
#define TILE 64
#endif
#ifndef THREADS
#define THREADS 256
#endif
#ifndef K_STEP
#define K_STEP 16
#endif

#define COLS_PER_THREAD 4
#define THREADS_X (TILE / COLS_PER_THREAD)
#define THREADS_Y (THREADS / THREADS_X)
#define ROWS_PER_THREAD (TILE / THREADS_Y)

#if (TILE % COLS_PER_THREAD) != 0 || (THREADS % THREADS_X) != 0 || (TILE % THREADS_Y) != 0 || (THREADS % 32) != 0
#error "four_point_delta: TILE/THREADS combination does not tile"
#endif

#define NEG_INF (__int_as_float(0xff800000))

extern "C" __global__ void __launch_bounds__(THREADS)
hyp_four_point_delta(const float *__restrict__ D, long long n, long long w_begin,
                     long long w_count, int after_base, long long extent,
                     unsigned int *__restrict__ out_bits) {
  (void)w_count; (void)extent;  // they only size the grid
  const long long w = w_begin + (long long)blockIdx.z;
  if (w >= n) return;
  if (blockIdx.x < blockIdx.y) return;                 // symmetric excess matrix
  const long long lo = after_base ? w + 1 : 0;         // first point this base looks at
  const long long i0 = lo + (long long)blockIdx.y * TILE;
  const long long j0 = lo + (long long)blockIdx.x * TILE;
  if (i0 >= n || j0 >= n) return;

  __shared__ float a_tile[K_STEP][TILE];   // G[i0 + t][k0 + kk], stored transposed
  __shared__ float b_tile[K_STEP][TILE];   // G[k0 + kk][j0 + t]
  __shared__ float warp_best[THREADS / 32];

  const float *to_base = D + w * n;
  const int tid = threadIdx.x;
  const int tx = tid % THREADS_X, ty = tid / THREADS_X;

  float acc[ROWS_PER_THREAD][COLS_PER_THREAD];
#pragma unroll
  for (int r = 0; r < ROWS_PER_THREAD; ++r)
#pragma unroll
    for (int c = 0; c < COLS_PER_THREAD; ++c) acc[r][c] = NEG_INF;

  for (long long k0 = lo; k0 < n; k0 += K_STEP) {
    // D is symmetric, so both tiles read rows k of D with the point index
    // fastest: coalesced loads.
    for (int idx = tid; idx < K_STEP * TILE; idx += THREADS) {
      const int kk = idx / TILE, t = idx % TILE;
      const long long k = k0 + kk, i = i0 + t, j = j0 + t;
      float a = NEG_INF, b = NEG_INF;
      if (k < n) {
        const float dk = to_base[k];
        const float *row_k = D + k * n;
        if (i < n) a = 0.5f * (dk + to_base[i] - row_k[i]);
        if (j < n) b = 0.5f * (dk + to_base[j] - row_k[j]);
      }
      a_tile[kk][t] = a;
      b_tile[kk][t] = b;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < K_STEP; ++kk) {
      float a[ROWS_PER_THREAD], b[COLS_PER_THREAD];
#pragma unroll
      for (int r = 0; r < ROWS_PER_THREAD; ++r) a[r] = a_tile[kk][ty + r * THREADS_Y];
#pragma unroll
      for (int c = 0; c < COLS_PER_THREAD; ++c) b[c] = b_tile[kk][tx + c * THREADS_X];
#pragma unroll
      for (int r = 0; r < ROWS_PER_THREAD; ++r)
#pragma unroll
        for (int c = 0; c < COLS_PER_THREAD; ++c) acc[r][c] = fmaxf(acc[r][c], fminf(a[r], b[c]));
    }
    __syncthreads();
  }

  // Excess over the Gromov product itself, computed with the same expression
  // as the staged tiles so the k = i term cancels exactly.
  float best = 0.0f;
#pragma unroll
  for (int r = 0; r < ROWS_PER_THREAD; ++r) {
    const long long i = i0 + ty + r * THREADS_Y;
    if (i >= n) continue;
    const float *row_i = D + i * n;
    const float di = to_base[i];
#pragma unroll
    for (int c = 0; c < COLS_PER_THREAD; ++c) {
      const long long j = j0 + tx + c * THREADS_X;
      if (j >= n) continue;
      const float g = 0.5f * (di + to_base[j] - row_i[j]);
      best = fmaxf(best, acc[r][c] - g);
    }
  }
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) best = fmaxf(best, __shfl_xor_sync(0xffffffffu, best, off));
  if ((tid & 31) == 0) warp_best[tid >> 5] = best;
  __syncthreads();
  if (tid == 0) {
    float block_best = 0.0f;
#pragma unroll
    for (int i = 0; i < THREADS / 32; ++i) block_best = fmaxf(block_best, warp_best[i]);
    if (block_best > 0.0f) atomicMax(out_bits + w, __float_as_uint(block_best));
  }
}
