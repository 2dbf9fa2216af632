//===- AdapterProgram.cpp - kernels of the adapter programs ----------------===//
//
// Lays the adapter's computation (CONTRACTS.md section 3) on the skeletons of
// HypKernelLib.cuh. Forward: hyp_gram (G = B^T B), hyp_fwd_down (x read once:
// h = A x, |x|^2, row scalars, w, stats), hyp_fwd_up (y += B w). Backward:
// hyp_gram, then on tensor cores at r <= 32 hyp_bwd_dy_pass (dY read once:
// P = dY B and dB = dY^T w), hyp_bwd_rows (row-scalar chain rule over P: dH,
// beta, R, dk, ds) and hyp_bwd_db_gram (dB += 2 B R); otherwise hyp_bwd_dy
// (dY read once: P, the chain rule) and hyp_bwd_db (dY read again: dB = dY^T w
// + 2 B R); then hyp_bwd_dx (x read once, dx written once: dx = dH A + beta x, the
// adapter's part of the hyp.adapter_grad's dx = dx0 + dH A + beta x, whose
// dx0 = dY W the frontend adds with cuBLAS; and dA += dH^T x on the way).
// LoRA has no gram, no beta, no R.
//
// Tunable value lists are pruned here, per shape, to combinations that
// compile and fit (48 KiB static shared memory, thread tiles covering the
// block tile), so the autotuner never has to handle a failing config.
//
//===----------------------------------------------------------------------===//
#include "hyp/Emitter/AdapterProgram.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace hyp::emitter;

namespace {
constexpr int64_t kSmemLimitBytes = 48 * 1024;
// The tensor-core row-reduces' dynamic shared memory (HYP_TC_ROW_SMEM_BUDGET
// of HypTensorCore.cuh): two blocks an SM on sm_90 (228 KiB, 1 KiB of it
// reserved a block).
constexpr int64_t kTcRowSmemBudget = 113 * 1024;
constexpr int64_t kKT = 64; // HYP_KT in HypKernelLib.cuh

/// Mirrors HypTile<BM, R, THREADS> of HypKernelLib.cuh (kept in sync by the
/// kernel's static_asserts, which the NVRTC all-configs test exercises).
struct TileShape {
  int64_t per, tj, tm, jg, mg;
  TileShape(int64_t bm, int64_t r, int64_t threads) {
    per = (bm * r + threads - 1) / threads;
    tj = per < 4 ? std::min(per, r) : std::min<int64_t>(r, 4);
    tm = (per + tj - 1) / tj;
    jg = (r + tj - 1) / tj;
    mg = (bm + tm - 1) / tm;
  }
};

bool rowReduceFits(int64_t bm, int64_t r, int64_t threads, bool backward) {
  if (threads % bm != 0)
    return false;
  TileShape t(bm, r, threads);
  if (t.mg * t.jg > threads)
    return false;
  int64_t load = (bm + r) * (kKT + 1);
  int64_t post = backward ? bm * (r + 1) + 2 * bm * t.jg + 4 * bm
                          : bm * (r + 1) + bm * t.jg + threads + bm;
  return std::max(load, post) * 4 <= kSmemLimitBytes;
}

std::string actElem(ActDType d) { return toString(d); }

KernelParam ptr(std::string name, std::string elem, std::string access) {
  return {std::move(name), KernelParam::Ptr, std::move(elem), std::move(access)};
}
KernelParam i64(std::string name) { return {std::move(name), KernelParam::I64, "", ""}; }
KernelParam f32(std::string name) { return {std::move(name), KernelParam::F32, "", ""}; }

/// Row-reduce tunables: BLOCK_M rows per block, THREADS, VEC activation
/// elements per load (at most 16 bytes).
std::vector<Tunable> rowReduceTunables(const std::string &prefix, const AdapterSpec &spec,
                                       bool backward) {
  std::vector<int64_t> vecs;
  for (int64_t v : {1, 2, 4, 8})
    if (v * byteWidth(spec.actDType) <= 16)
      vecs.push_back(v);
  std::vector<int64_t> threads = {64, 128, 256}, blocks;
  for (int64_t bm : {8, 16, 32, 64}) {
    bool all = true;
    for (int64_t t : threads)
      all &= rowReduceFits(bm, spec.rank, t, backward);
    if (all)
      blocks.push_back(bm);
  }
  int64_t defBlock = std::find(blocks.begin(), blocks.end(), 16) != blocks.end() ? 16 : blocks[0];
  return {{prefix + "BLOCK_M", blocks, defBlock},
          {prefix + "THREADS", threads, 128},
          {prefix + "VEC", vecs, 16 / byteWidth(spec.actDType)}};
}

/// Column-strip geometry: a fixed column tile (the grid's column axis must
/// not depend on a tunable, since K and N are not kernel parameters).
int64_t stripCols(int64_t r) { return r <= 64 ? 128 : 64; }

std::vector<Tunable> stripTunables(const std::string &prefix, const AdapterSpec &spec,
                                   bool registerAccumulators, int64_t defaultRows) {
  int64_t cols = stripCols(spec.rank);
  std::vector<int64_t> threads;
  for (int64_t t : {64, 128})
    if (t <= cols && (!registerAccumulators || (cols / t) * spec.rank <= 64))
      threads.push_back(t);
  if (threads.empty())
    threads.push_back(std::min<int64_t>(cols, 128));
  int64_t defThreads = std::find(threads.begin(), threads.end(), 128) != threads.end()
                           ? 128 : threads.back();
  return {{prefix + "THREADS", threads, defThreads},
          {prefix + "ROWS", {64, 128, 256, 512}, defaultRows}};
}

std::string flag(bool b) { return b ? "true" : "false"; }

//===----------------------------------------------------------------------===//
// Tensor-core column skeletons (HypTensorCore.cuh): bf16 activations, rank a
// multiple of 8. fp16 stays on SIMT: the fp32 operands (w, dH, A, B) would be
// split into fp16 hi/lo parts, whose 5-bit exponent overflows past 65504 and
// loses the lo part below 6e-8 (bf16 keeps fp32's range).
// The geometry below mirrors the structs HypTcDb/HypTcDx (kept in
// sync by their static_asserts, which the NVRTC all-configs test compiles).
//===----------------------------------------------------------------------===//
/// When asked for (spec.tensorCores: libhypc tensor-cores=1, hyp-translate
/// --hyp-tensor-cores; the torch JIT asks by default) and the layer fits:
/// bf16 with r % 8 == 0, r <= 128.
bool useTensorCores(const AdapterSpec &spec) {
  return spec.tensorCores && spec.actDType == ActDType::BF16 && spec.rank % 8 == 0 &&
         spec.rank <= 128;
}
int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
int64_t tcLd(int64_t kt) { return kt + 8; }
/// Column tile of each skeleton: as wide as 48 KiB of static shared memory allows.
int64_t tcDxCols(int64_t r) { return r <= 64 ? 64 : 32; }
/// Mirrors HypTcDbRing<R, THREADS>: 64-column blocks, a 4-stage ring of
/// 32-row dY steps (16 KiB at every rank; with the steps' w rows beside them,
/// 34 KiB at r = 32, where that fits 48 KiB); 4 warps share the rank x 64 tile,
/// 8 when there are more than 4 rank tiles (r > 64: one each).
constexpr int64_t kTcDbCols = 64;
int64_t tcDbThreads(int64_t r) { return roundUp(r, 16) / 16 > 4 ? 256 : 128; }
/// Mirrors HypTcUp<R, THREADS> (y += w B^T): 64-column blocks, a warp owns a
/// 16 x WN tile, SUBM = 16 * warps / (64 / WN) rows per step; the B strip
/// (hi + lo, row stride hyp_tc_up_ldr) and a 3-stage ring of y steps.
constexpr int64_t kTcUpCols = 64;
int64_t tcUpSmem(int64_t r, int64_t threads) {
  int64_t rp = roundUp(r, 16), ldr = rp % 32 == 16 ? rp : rp + 16;
  int64_t wn = r <= 64 ? 64 : 32, subm = 16 * (threads / 32) / (kTcUpCols / wn);
  return 2 * kTcUpCols * ldr * 2 + 3 * subm * kTcUpCols * 2;
}
/// hyp_tc_fwd_up_wide_body (HypTensorCoreWide.cuh) at r <= 32: 256 columns a
/// block, 128 threads, B in registers, results stored in whole lines (62 us
/// at 4096 x 4096, M = 8192, H100, where the 64-column kernel with fragment
/// stores took 101). Its ROWS go to 1024: each block loads its B slice once.
constexpr int64_t kTcUpWideCols = 256, kTcUpWideMaxRank = 32;
/// ROWS of the column kernels that keep per-block state over their row chunk
/// (the wide fwd_up's B slice, bwd_db's and bwd_dx's persistent dB / dA
/// tiles, flushed by atomics at the end): 1024 too, which halves those loads
/// and atomics again; the tuner picked the largest offered (512) for both
/// backward kernels at every M = 8192 shape of bench-full b8fdac9 (H100).
const std::vector<int64_t> kTcLongRows = {64, 128, 256, 512, 1024};
/// THREADS of hyp_tc_fwd_up: 128 (fits every r <= 128: at r = 128 the B
/// strip and the ring take the 48 KiB exactly), else 64 as a fallback.
std::vector<int64_t> tcUpThreads(int64_t r) {
  for (int64_t t : {128, 64})
    if (tcUpSmem(r, t) <= kSmemLimitBytes)
      return {t};
  return {};
}
/// Mirrors HypTcDxRing<R, kTcDxRingThreads> (r <= 64: the A strip, hi + lo in
/// MMA order, a 3-stage ring of x steps of 16 * warps / 2 rows and a step's
/// dx buffer, with the steps' dH rows beside them where that fits 48 KiB: r <= 48)
/// and HypTcDx<R, BK> (r > 64, the staged kernel).
constexpr int64_t kTcDxRingThreads = 128;
int64_t tcDxSmem(int64_t r) {
  int64_t rp = roundUp(r, 16), bk = tcDxCols(r);
  if (r <= 64) {
    int64_t ldr = rp % 32 == 16 ? rp : rp + 16, subm = 16 * (kTcDxRingThreads / 32) / 2;
    // A strip, the 3-stage x ring, the dx line buffer; then the dH ring.
    int64_t base = 2 * bk * ldr * 2 + 3 * subm * bk * 2 + subm * bk * 2,
            dhRing = 3 * subm * (r + 4) * 4;
    return base + dhRing <= kSmemLimitBytes ? base + dhRing : base;
  }
  int64_t subm = 16, ldr = tcLd(rp), ldm = tcLd(subm);
  return 2 * bk * ldr * 2 + 2 * subm * ldr * 2 + 2 * rp * ldm * 2 + bk * ldm * 2 + subm * 4;
}
/// Mirrors HypTcRow<BM, R, THREADS>::SMEM_BYTES (tensor-core row-reduce,
/// dynamic shared memory: the row parts, then a 3-stage ring of X + weight
/// chunks, the widest chunk of 128/64/32/16 columns that fits
/// kTcRowSmemBudget, then the epilogue's partial sums in the ring's bytes).
int64_t tcRowLd(int64_t kc) { return kc == 16 ? 16 : kc + 16; }
int64_t tcRowStageBytes(int64_t bm, int64_t r, int64_t kc) {
  int64_t rp = roundUp(r, 16);
  return bm * tcRowLd(kc) * 2 + std::max(rp * tcRowLd(kc) * 4, kc * (r + 2) * 4);
}
int64_t tcRowSmem(int64_t bm, int64_t r, int64_t threads) {
  constexpr int64_t stages = 3;
  auto ringFits = [&](int64_t kc) {
    return stages * tcRowStageBytes(bm, r, kc) + bm * (kc / 8) * 4 + bm * 16 <= kTcRowSmemBudget;
  };
  int64_t kc = ringFits(128) ? 128 : ringFits(64) ? 64 : (ringFits(32) ? 32 : 16);
  int64_t rt = roundUp(r, 16) / 16, warps = threads / 32, ks = rt >= warps ? 1 : warps / rt;
  int64_t ring = stages * tcRowStageBytes(bm, r, kc);
  int64_t epi = std::max<int64_t>(ks, 3) * bm * (r + 1) * 4;
  return std::max(ring, epi) + bm * (kc / 8) * 4 + bm * 16;
}
/// Mirrors HypTcDyPass<R>::SMEM_BYTES (HypTensorCoreDyPass.cuh): a 4-stage
/// ring of 32 rows x 256 columns of dY and those rows of w (R + 4 floats
/// apart), then two steps' P partials of the two column halves.
constexpr int64_t kTcDyPassCols = 256, kTcDyPassThreads = 256, kTcDyPassMaxRank = 32;
int64_t tcDyPassSmem(int64_t r) {
  const int64_t subm = 32, stages = 4;
  return stages * (subm * kTcDyPassCols * 2 + subm * (r + 4) * 4) + 2 * 2 * subm * r * 4;
}
/// Rows a hyp_bwd_rows block takes by default (hyp_tc_bwd_rows_body's BM,
/// the tunable BWD_ROWS_BLOCK_M): 256 blocks at M = 8192 (one wave, two an
/// SM), 32 at M = 1024.
constexpr int64_t kTcRowsBlockM = 32;
// Why the tensor-core spaces below are small: a cold start compiles every
// candidate (NVRTC, ~0.5-5 s each), and the first training step of a new layer
// shape waits for them. bench-full at e8bb9e7 (H200; 91 tunings per kernel
// over the LLaMA3/Qwen2.5/SmolLM2 shapes, M 1024-8192, r 32 and 64) had
// 256 threads win 90 of 91 row-reduce and 74-84 of 91 column tunings, and
// BLOCK_M = 64 win none; restricted to what is left, the tuned time lost on
// average <= 1% (worst: 5% fwd_down, 8% bwd_db, 23% bwd_dx at one r = 64,
// M = 1024 point), for 19 configs per layer shape instead of 41 (compiled in
// 10 NVRTC runs since ROWS became launch-only). Since the row-reduces' rings
// moved to dynamic shared memory (128-column chunks), BLOCK_M 64 unsplit and
// 512 threads for hyp_fwd_down are back in: see addTcRowTunables.
constexpr int64_t kTcThreads = 256;

/// Split-K of one tensor-core row-reduce (AdapterSpec::rowSplitCols):
/// `count` slices of its reduction at most (1: none); `tuned`: the count is
/// the tunable <prefix>SPLIT, {1, count}, and grid.y its value.
struct RowSplit {
  int64_t count = 1;
  bool tuned = false;
};

/// Row-reduce on tensor cores: BLOCK_M rows {8, 16, 32, 64} unsplit, {16, 32}
/// split over grid.y (16-row blocks fill the GPU at M = 1024); those that fit
/// (kTcRowSmemBudget). A tuned split takes both sets, tied to the SPLIT
/// value by a constraint. `wideBlocks512`: blocks of 32 rows or more run 512
/// threads (16 warps: twice the k-slices), else 256, again by a constraint;
/// off, 256 always. Measured on an H200 (2026-11-26, r = 32, 4096 x 4096,
/// every config timed by the tuner): hyp_fwd_down at M = 8192 took 39 us at
/// 64 rows x 512 threads (46 at 32 x 256), at M = 1024 18 us at 32 x 512
/// split (20 at 32 x 256); hyp_bwd_dy gained nothing from 512 threads (53
/// us at 64 x 256, 54 at 64 x 512), and split BLOCK_M 64 won nowhere.
/// "dynamic_smem" is exact for every config: a sum of (BLOCK_M == b) * bytes
/// terms (the thread count follows from BLOCK_M).
void addTcRowTunables(KernelDef &k, const std::string &prefix, int64_t r, RowSplit split,
                      bool wideBlocks512) {
  auto threadsFor = [&](int64_t bm) {
    return wideBlocks512 && bm >= 32 ? 2 * kTcThreads : kTcThreads;
  };
  auto fitting = [&](std::vector<int64_t> candidates) {
    std::vector<int64_t> out;
    for (int64_t bm : candidates)
      if (tcRowSmem(bm, r, threadsFor(bm)) <= kTcRowSmemBudget)
        out.push_back(bm);
    return out;
  };
  const std::vector<int64_t> whole = fitting({8, 16, 32, 64}), sliced = fitting({16, 32});
  assert(!whole.empty() && !sliced.empty() && "16-row blocks fit every rank <= kMaxRank");
  const std::vector<int64_t> &blocks = split.count == 1 || split.tuned ? whole : sliced;
  int64_t def = std::find(sliced.begin(), sliced.end(), 32) != sliced.end() ? 32 : sliced.back();
  std::vector<int64_t> threads = {kTcThreads};
  if (wideBlocks512)
    threads.push_back(2 * kTcThreads);
  k.tunables = {{prefix + "BLOCK_M", blocks, def}, {prefix + "THREADS", threads, threadsFor(def)}};
  std::string smem;
  for (int64_t bm : blocks)
    smem += llvm::formatv("{0}({1}BLOCK_M == {2}) * {3}", smem.empty() ? "" : " + ", prefix, bm,
                          tcRowSmem(bm, r, threadsFor(bm)))
                .str();
  k.dynamicSmem = smem;
  if (wideBlocks512)
    k.constraints.push_back(
        llvm::formatv("{0}THREADS == {1} + {1} * ({0}BLOCK_M >= 32)", prefix, kTcThreads).str());
  if (!split.tuned)
    return;
  // Unsplit is the default: the tuner's baseline and what autotune=off runs.
  k.tunables.push_back({prefix + "SPLIT", {1, split.count}, 1});
  k.constraints.push_back(llvm::formatv("{0}SPLIT == 1 || ({0}BLOCK_M >= {1} && {0}BLOCK_M <= {2})",
                                        prefix, sliced.front(), sliced.back())
                              .str());
}
/// ROWS of a tensor-core column kernel ({64, 128, 256, 512} unless given): rows per block,
/// launch-only (the kernel takes its row chunk from the grid,
/// hyp_tc_block_rows), so its values share one compile.
Tunable tcRowsTunable(const std::string &prefix, int64_t defaultRows,
                      std::vector<int64_t> values = {64, 128, 256, 512}) {
  Tunable t{prefix + "ROWS", std::move(values), defaultRows};
  t.launchOnly = true;
  return t;
}
/// Blocks a tensor-core row-reduce may split its reduction of `len` columns
/// into (grid.y; hyp_tc_row_split_meet joins them): slices of about `cols`
/// columns, at most 16; none below two slices' worth, where a row block's
/// stream is short anyway. rowSplitCols: AdapterSpec's.
RowSplit rowSplit(int64_t len, int64_t rowSplitCols) {
  const bool tuned = rowSplitCols == kRowSplitTuned;
  const int64_t cols = tuned ? kRowSplitTunedCols : rowSplitCols;
  RowSplit split;
  split.count = cols <= 0 || len < 2 * cols ? 1 : std::min<int64_t>(16, len / cols);
  split.tuned = tuned && split.count > 1;
  return split;
}
/// Tiles (16 x 8) per warp of an mt x nt accumulator tile.
int64_t tilesPerWarp(int64_t mt, int64_t nt, int64_t threads) {
  int64_t tiles = (mt / 16) * (nt / 8), warps = threads / 32;
  return (tiles + warps - 1) / warps;
}
/// ROWS {64, 128, 256, 512} at kTcThreads. Persistent accumulators above 64
/// registers per thread (accTiles 16x8 tiles per warp, 4 registers each)
/// are an internal error: no rank the family takes (r <= 128) gets there.
template <class AccTiles>
std::vector<Tunable> tcTunables(const std::string &prefix, AccTiles accTiles,
                                int64_t defaultRows) {
  assert(accTiles(kTcThreads) * 4 <= 64 && "tensor-core accumulators above 64 registers");
  (void)accTiles;
  return {{prefix + "THREADS", {kTcThreads}, kTcThreads}, tcRowsTunable(prefix, defaultRows)};
}
} // namespace

const char *hyp::emitter::toString(Variant v) {
  switch (v) {
  case Variant::HypLoRA: return "hyplora";
  case Variant::Simplified: return "hyplora_simplified";
  case Variant::LoRA: return "lora";
  }
  return "?";
}
const char *hyp::emitter::toString(Convention c) {
  return c == Convention::Reference ? "reference" : "lorentz";
}
const char *hyp::emitter::toString(ActDType d) {
  switch (d) {
  case ActDType::F32: return "f32";
  case ActDType::BF16: return "bf16";
  case ActDType::F16: return "f16";
  }
  return "?";
}
int hyp::emitter::byteWidth(ActDType d) { return d == ActDType::F32 ? 4 : 2; }

llvm::Error hyp::emitter::validateSpec(const AdapterSpec &spec) {
  auto bad = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  if (spec.inFeatures <= 0)
    return bad("in_features (K) must be >= 1, got " + llvm::Twine(spec.inFeatures));
  if (spec.outFeatures <= 0)
    return bad("out_features (N) must be >= 1, got " + llvm::Twine(spec.outFeatures));
  if (spec.rank <= 0 || spec.rank > kMaxRank)
    return bad("rank r must be in [1, " + llvm::Twine(kMaxRank) + "], got " +
               llvm::Twine(spec.rank));
  if (spec.inFeatures > (int64_t(1) << 30) || spec.outFeatures > (int64_t(1) << 30))
    return bad("in_features/out_features above 2^30 are not supported");
  if (!std::isfinite(spec.maxSinhArg) || spec.maxSinhArg <= 0 || spec.maxSinhArg > 80)
    return bad("max_sinh_arg must be finite and in (0, 80] (sinh overflows fp32 past ~89), got " +
               llvm::Twine(std::to_string(spec.maxSinhArg)));
  for (double eps : {spec.normEps, spec.curvatureEps, spec.timeEps, spec.smallThEps,
                     spec.acoshEps, spec.outNormEps})
    if (!std::isfinite(eps) || eps <= 0)
      return bad("adapter clamps (eps attributes) must be finite and > 0");
  if (!std::isfinite(spec.smallTh) || spec.smallTh < 1)
    return bad("small_th must be finite and >= 1");
  if (spec.rowSplitCols < 0 && spec.rowSplitCols != kRowSplitTuned)
    return bad("row_split_cols must be >= 0 (0: no split-K), or -1 (tuned), got " +
               llvm::Twine(spec.rowSplitCols));
  return llvm::Error::success();
}

bool hyp::emitter::backwardReadsDyOnce(const AdapterSpec &spec) {
  return useTensorCores(spec) && spec.dyPass && spec.rank <= kTcDyPassMaxRank;
}

llvm::Expected<ProgramDef> hyp::emitter::buildAdapterProgram(const AdapterSpec &spec,
                                                             std::string rowScalarsSource) {
  if (auto err = validateSpec(spec))
    return std::move(err);
  ProgramDef prog;
  prog.spec = spec;
  prog.rowScalarsSource = std::move(rowScalarsSource);
  const std::string act = actElem(spec.actDType);
  const bool hasG = spec.hyperbolic(), hasK = spec.hasCurvature(), hasS = spec.hasNormScale();
  const int64_t cols = stripCols(spec.rank);
  // Tensor-core skeletons (HypTensorCore.cuh) when asked for and the layer fits.
  const bool tc = useTensorCores(spec);
  if (tc && (tcDxSmem(spec.rank) > kSmemLimitBytes ||
             tcUpThreads(spec.rank).empty()))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "internal: tensor-core tile geometry exceeds 48 KiB for r = " +
                                       llvm::Twine(spec.rank));
  auto ceilDiv = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  auto kArg = [&] { return hasK ? "k" : "nullptr"; };
  auto sArg = [&] { return hasS ? "s" : "nullptr"; };
  auto gArg = [&] { return hasG ? "G" : "nullptr"; };
  // The two skeleton families take the same arguments; the SIMT row-reduce
  // skeletons have one more template parameter (the load width, a tunable).
  const char *skel = tc ? "hyp_tc_" : "hyp_";
  auto rowVec = [&](const char *prefix) { return tc ? std::string() : std::string(prefix) + "VEC, "; };
  // ROWS is a template argument of the SIMT column skeletons only (the
  // tensor-core ones take their row chunk from the grid: launch-only).
  auto rowsArg = [&](const char *prefix) { return tc ? std::string() : std::string(prefix) + "ROWS, "; };
  // Split-K of the tensor-core row-reduces (rowSplit): the skeleton's SPLIT
  // argument (a number, or the SPLIT tunable when the tuner picks it) and,
  // when it may split, its scratch (partial sums, arrival tickets).
  // The backward reads dY once (hyp_bwd_dy_pass, hyp_bwd_rows, hyp_bwd_db_gram)
  // or twice (hyp_bwd_dy, hyp_bwd_db): AdapterSpec::dyPass.
  const bool dyPass = backwardReadsDyOnce(spec);
  const RowSplit downSplit = tc ? rowSplit(spec.inFeatures, spec.rowSplitCols) : RowSplit();
  const RowSplit dySplit =
      tc && !dyPass ? rowSplit(spec.outFeatures, spec.rowSplitCols) : RowSplit();
  auto splitArg = [&](RowSplit split, const char *prefix) {
    if (!tc)
      return std::string();
    return ", " + (split.tuned ? std::string(prefix) + "SPLIT" : std::to_string(split.count));
  };
  auto splitPtrs = [&](RowSplit split, const char *prefix) {
    if (!tc)
      return std::string();
    if (split.count == 1)
      return std::string(", nullptr, nullptr");
    return std::string(", ") + prefix + "parts, " + prefix + "tickets";
  };
  auto splitGrid = [](RowSplit split, const char *prefix) {
    return split.tuned ? GridAxis::countOf(std::string(prefix) + "SPLIT")
                       : GridAxis::fixed(split.count);
  };
  // The launch of a row-reduce (hyp_fwd_down, hyp_bwd_dy): its split-K
  // scratch parameters (`scratch` prefix), BLOCK_M rows a block along grid.x,
  // the split along grid.y, THREADS, and the family's tunables.
  auto setRowReduceLaunch = [&](KernelDef &k, const char *prefix, RowSplit split,
                                const std::string &scratch, bool backward) {
    if (split.count > 1) {
      k.params.push_back(ptr(scratch + "parts", "f32", "write"));
      k.params.push_back(ptr(scratch + "tickets", "f32", "accumulate"));
    }
    k.grid[0] = GridAxis::over("M", std::string(prefix) + "BLOCK_M");
    k.grid[1] = splitGrid(split, prefix);
    k.grid[2] = GridAxis::fixed(1);
    k.blockTunable = std::string(prefix) + "THREADS";
    if (tc)
      addTcRowTunables(k, prefix, spec.rank, split, /*wideBlocks512=*/!backward);
    else
      k.tunables = rowReduceTunables(prefix, spec, backward);
  };

  // The tensor-core hyp_bwd_dy reads B transposed (BT, r x N), which hyp_gram
  // writes on its way through B: like A in hyp_fwd_down, 16-byte pieces of
  // k-contiguous rows instead of B's 8-byte pieces of r-contiguous ones
  // (hyp_bwd_dy 56 -> 47 us at 4096x4096, M = 8192, H200: kernel A/B). In
  // both programs (one gram kernel, one compile); the forward's copy is unused.
  const bool transposedB = tc && hasG && !dyPass;
  if (hasG) {
    KernelDef k;
    k.name = "hyp_gram";
    k.summary = "G = B^T B (r x r), column-reduce over the N rows of B, atomics into G";
    k.params = {ptr("B", "f32", "read"), ptr("G", "f32", "accumulate")};
    if (transposedB) k.params.push_back(ptr("BT", "f32", "write"));
    // Rows of B per block (HypKernelLib.cuh says why few): N / gramRows blocks
    // each add R*R atomics into G, so wider ranks take more rows per block.
    const int64_t gramRows = spec.rank <= 32 ? 32 : 64;
    k.grid[0] = GridAxis::fixed(ceilDiv(spec.outFeatures, gramRows));
    k.grid[1] = k.grid[2] = GridAxis::fixed(1);
    k.blockConst = 256;
    k.body = llvm::formatv("hyp_gram_body<256, {0}, HYP_R, HYP_N>(B, G, {1});", gramRows,
                           transposedB ? "BT" : "nullptr")
                 .str();
    prog.kernels.push_back(k);
  }
  {
    KernelDef k;
    k.name = "hyp_fwd_down";
    k.summary = "row-reduce over x: h = A x, |x|^2, row scalars, w = c*gs*h, stats";
    k.params = {ptr("x", act, "read"), ptr("A", "f32", "read")};
    if (hasG) k.params.push_back(ptr("G", "f32", "read"));
    if (hasK) k.params.push_back(ptr("k", "f32", "read"));
    if (hasS) k.params.push_back(ptr("s", "f32", "read"));
    k.params.push_back(ptr("w", "f32", "write"));
    k.params.push_back(ptr("stats", "f32", "write"));
    k.params.push_back(i64("M"));
    k.params.push_back(f32("scaling"));
    setRowReduceLaunch(k, "FWD_DOWN_", downSplit, "down_", /*backward=*/false);
    k.body = llvm::formatv("{0}fwd_down_body<FWD_DOWN_BLOCK_M, HYP_R, FWD_DOWN_THREADS, "
                           "{1}HYP_K, {2}{6}>(x, A, {3}, {4}, {5}, w, stats, M, scaling{7});",
                           skel, rowVec("FWD_DOWN_"), flag(hasG), gArg(), kArg(), sArg(),
                           splitArg(downSplit, "FWD_DOWN_"), splitPtrs(downSplit, "down_"))
                 .str();
    prog.kernels.push_back(k);
  }
  // y's update, twice: hyp_fwd_up adds into y (programs.forward: y holds
  // W x + b on entry), hyp_fwd_up_store writes it (programs.forward_store: the
  // caller adds W x afterwards with cuBLAS, beta = 1, where the GEMM's
  // epilogue reads y nearly for free, so the update moves |y| instead of 2 |y|).
  auto addFwdUp = [&](bool accumulate) {
    KernelDef k;
    k.name = accumulate ? "hyp_fwd_up" : "hyp_fwd_up_store";
    k.summary = accumulate ? "row-update of y: y += w B^T (y holds W x + b on entry)"
                           : "row-store of y: y = w B^T (y not read; the caller adds W x + b)";
    k.params = {ptr("w", "f32", "read"), ptr("B", "f32", "read"),
                ptr("y", act, accumulate ? "readwrite" : "write"), i64("M")};
    const char *accum = accumulate ? "true" : "false";
    const bool wideUp = tc && spec.rank <= kTcUpWideMaxRank;
    k.grid[0] = GridAxis::fixed(
        ceilDiv(spec.outFeatures, wideUp ? kTcUpWideCols : tc ? kTcUpCols : cols));
    if (wideUp) {
      k.tunables = {{"FWD_UP_THREADS", {128}, 128},
                    tcRowsTunable("FWD_UP_", 256, kTcLongRows)};
      k.body = llvm::formatv("hyp_tc_fwd_up_wide_body<HYP_R, HYP_N, {0}>(w, B, y, M);", accum)
                   .str();
    } else if (tc) {
      const std::vector<int64_t> threads = tcUpThreads(spec.rank);
      k.tunables = {{"FWD_UP_THREADS", threads, threads.front()},
                    tcRowsTunable("FWD_UP_", 128)};
      k.body = llvm::formatv("hyp_tc_fwd_up_body<{0}, FWD_UP_THREADS, HYP_R, HYP_N, {1}>"
                             "(w, B, y, M);",
                             kTcUpCols, accum)
                   .str();
    } else {
      k.tunables = stripTunables("FWD_UP_", spec, /*registerAccumulators=*/false, 64);
      k.body = llvm::formatv("hyp_fwd_up_body<{0}, FWD_UP_THREADS, FWD_UP_ROWS, HYP_R, HYP_N, "
                             "{1}>(w, B, y, M);",
                             cols, accum)
                   .str();
    }
    k.grid[1] = GridAxis::over("M", "FWD_UP_ROWS");
    k.grid[2] = GridAxis::fixed(1);
    k.blockTunable = "FWD_UP_THREADS";
    // Three blocks an SM: capped at 128 registers (four blocks) ptxas spills
    // (Nsight Compute counted 192 K spill requests a launch, H100). The
    // storing update holds no y values: 125 registers at four blocks, no
    // spills, 45.5 -> 41.6 us at 4096x4096, M = 8192 (H100, kernel_source_ab).
    if (wideUp)
      k.minBlocksPerSM = accumulate ? 3 : 4;
    prog.kernels.push_back(k);
  };
  addFwdUp(/*accumulate=*/true);
  addFwdUp(/*accumulate=*/false);
  // The row chain rule's parameters after P's source (hyp_bwd_dy and
  // hyp_bwd_rows take the same): G, k, s, then dH, beta, R, dk, ds, M, scaling.
  auto addRowChainParams = [&](KernelDef &k) {
    if (hasG) k.params.push_back(ptr("G", "f32", "read"));
    if (hasK) k.params.push_back(ptr("k", "f32", "read"));
    if (hasS) k.params.push_back(ptr("s", "f32", "read"));
    k.params.push_back(ptr("dH", "f32", "write"));
    if (hasG) k.params.push_back(ptr("beta", "f32", "write"));
    if (hasG) k.params.push_back(ptr("R", "f32", "accumulate"));
    if (hasK) k.params.push_back(ptr("dk", "f32", "accumulate"));
    if (hasS) k.params.push_back(ptr("ds", "f32", "accumulate"));
    k.params.push_back(i64("M"));
    k.params.push_back(f32("scaling"));
  };
  // Their arguments, in that order.
  const std::string rowChainArgs =
      llvm::formatv("{0}, {1}, {2}, dH, {3}, {4}, {5}, {6}, M, scaling", gArg(), kArg(), sArg(),
                    hasG ? "beta" : "nullptr", hasG ? "R" : "nullptr", hasK ? "dk" : "nullptr",
                    hasS ? "ds" : "nullptr")
          .str();
  if (dyPass) {
    {
      KernelDef k;
      k.name = "hyp_bwd_dy_pass";
      k.summary = "one pass over dY: P += dY B (column partials, atomics into P) and "
                  "dB += dY^T w (row-chunk partials, atomics into dB)";
      k.params = {ptr("dY", act, "read"), ptr("B", "f32", "read"), ptr("w", "f32", "read"),
                  ptr("P", "f32", "accumulate"), ptr("dB", "f32", "accumulate"), i64("M")};
      k.tunables = {{"BWD_DY_PASS_THREADS", {kTcDyPassThreads}, kTcDyPassThreads},
                    tcRowsTunable("BWD_DY_PASS_", 256, kTcLongRows)};
      k.grid[0] = GridAxis::fixed(ceilDiv(spec.outFeatures, kTcDyPassCols));
      k.grid[1] = GridAxis::over("M", "BWD_DY_PASS_ROWS");
      k.grid[2] = GridAxis::fixed(1);
      k.blockTunable = "BWD_DY_PASS_THREADS";
      // Two blocks an SM (98 KiB of dynamic shared memory each at r = 32).
      k.minBlocksPerSM = 2;
      k.dynamicSmem = std::to_string(tcDyPassSmem(spec.rank));
      k.body = "hyp_tc_bwd_dy_pass_body<HYP_R, HYP_N>(dY, B, w, P, dB, M);";
      prog.kernels.push_back(k);
    }
    {
      KernelDef k;
      k.name = "hyp_bwd_rows";
      k.summary = "row chain rule over complete rows of P = dY B: dH, beta, R += dz h h^T, dk, ds";
      k.params = {ptr("P", "f32", "read"), ptr("w", "f32", "read"), ptr("stats", "f32", "read")};
      addRowChainParams(k);
      // The kernel is latency bound (a row's dual-number chain is one
      // thread's; phases meet at block barriers), so the fewer waves of
      // blocks the better, and larger blocks also add fewer R atomics into
      // the same r x r addresses: 16-row blocks took 18-23 us at M = 8192
      // (512 blocks, two waves; H100, Nsight Compute: barrier and long
      // scoreboard stalls). Three configs of the dual-number code, where the
      // two-pass hyp_bwd_dy compiled four to ten.
      k.tunables = {{"BWD_ROWS_BLOCK_M", {16, 32, 64}, kTcRowsBlockM}};
      k.grid[0] = GridAxis::over("M", "BWD_ROWS_BLOCK_M");
      k.grid[1] = k.grid[2] = GridAxis::fixed(1);
      k.blockConst = kTcThreads;
      k.body = llvm::formatv("hyp_tc_bwd_rows_body<BWD_ROWS_BLOCK_M, HYP_R, {0}, {1}>(P, w, "
                             "stats, {2});",
                             kTcThreads, flag(hasG), rowChainArgs)
                   .str();
      prog.kernels.push_back(k);
    }
    if (hasG) {
      KernelDef k;
      k.name = "hyp_bwd_db_gram";
      k.summary = "dB += 2 B R (R complete after hyp_bwd_rows), one thread an element";
      k.params = {ptr("B", "f32", "read"), ptr("R", "f32", "read"), ptr("dB", "f32", "accumulate")};
      k.grid[0] = GridAxis::fixed(ceilDiv(spec.outFeatures * spec.rank, kTcThreads));
      k.grid[1] = k.grid[2] = GridAxis::fixed(1);
      k.blockConst = kTcThreads;
      k.body = "hyp_bwd_db_gram_body<HYP_R, HYP_N>(B, R, dB);";
      prog.kernels.push_back(k);
    }
  } else {
    {
      KernelDef k;
      k.name = "hyp_bwd_dy";
      k.summary = "row-reduce over dY: P = dY B, chain rule through the row scalars, dH, beta, "
                  "R += dz h h^T, dk, ds";
      k.params = {ptr("dY", act, "read"), ptr(transposedB ? "BT" : "B", "f32", "read"),
                  ptr("w", "f32", "read"), ptr("stats", "f32", "read")};
      addRowChainParams(k);
      setRowReduceLaunch(k, "BWD_DY_", dySplit, "dy_", /*backward=*/true);
      k.body = llvm::formatv("{0}bwd_dy_body<BWD_DY_BLOCK_M, HYP_R, BWD_DY_THREADS, {1}HYP_N, "
                             "{2}{3}{4}>({5}, {6}{7});",
                             skel, rowVec("BWD_DY_"), flag(hasG), splitArg(dySplit, "BWD_DY_"),
                             transposedB ? ", true" : "",
                             transposedB ? "dY, BT, w, stats" : "dY, B, w, stats", rowChainArgs,
                             splitPtrs(dySplit, "dy_"))
                   .str();
      prog.kernels.push_back(k);
    }
    {
      KernelDef k;
      k.name = "hyp_bwd_db";
      k.summary = "column-reduce over dY: dB += dY^T w (+ 2 B R), atomics into dB";
      k.params = {ptr("dY", act, "read"), ptr("w", "f32", "read")};
      if (hasG) {
        k.params.push_back(ptr("B", "f32", "read"));
        k.params.push_back(ptr("R", "f32", "read"));
      }
      k.params.push_back(ptr("dB", "f32", "accumulate"));
      k.params.push_back(i64("M"));
      const int64_t bn = tc ? kTcDbCols : cols;
      if (tc) {
        const int64_t threads = tcDbThreads(spec.rank);
        k.tunables = {{"BWD_DB_THREADS", {threads}, threads},
                      tcRowsTunable("BWD_DB_", 256, kTcLongRows)};
      } else {
        k.tunables = stripTunables("BWD_DB_", spec, /*registerAccumulators=*/true, 256);
      }
      k.grid[0] = GridAxis::fixed(ceilDiv(spec.outFeatures, bn));
      k.body = llvm::formatv("{0}bwd_db_body<{1}, BWD_DB_THREADS, {5}HYP_R, HYP_N, "
                             "{2}>(dY, w, {3}, {4}, dB, M);",
                             skel, bn, flag(hasG), hasG ? "B" : "nullptr", hasG ? "R" : "nullptr",
                             rowsArg("BWD_DB_"))
                   .str();
      k.grid[1] = GridAxis::over("M", "BWD_DB_ROWS");
      k.grid[2] = GridAxis::fixed(1);
      k.blockTunable = "BWD_DB_THREADS";
      prog.kernels.push_back(k);
    }
  }
  {
    KernelDef k;
    k.name = "hyp_bwd_dx";
    k.summary = "the adapter's part of dx: dx = dH A + beta x (the caller adds dY W), "
                "column-reduce dA += dH^T x on the way";
    k.params = {ptr("x", act, "read"), ptr("A", "f32", "read"), ptr("dH", "f32", "read")};
    if (hasG) k.params.push_back(ptr("beta", "f32", "read"));
    // Written, not updated: the frontend adds dY W afterwards with cuBLAS
    // (beta = 1), which reads dx inside a compute-bound GEMM. Updating it
    // here cost a read of dx: 64 of bwd_dx's 192 MiB at 4096 x 4096,
    // M = 8192, and 224 of 672 MiB at 14336 -> 4096; cuBLAS's beta = 1
    // measured +6 / -17 us there (bench/cublas_accumulate_probe.py, H100).
    k.params.push_back(ptr("dx", act, "write"));
    k.params.push_back(ptr("dA", "f32", "accumulate"));
    k.params.push_back(i64("M"));
    const int64_t bk = tc ? tcDxCols(spec.rank) : cols, rp = roundUp(spec.rank, 16);
    if (tc && spec.rank <= 64)
      k.tunables = {{"BWD_DX_THREADS", {kTcDxRingThreads}, kTcDxRingThreads},
                    tcRowsTunable("BWD_DX_", 256, kTcLongRows)};
    else
      k.tunables = tc ? tcTunables("BWD_DX_", [&](int64_t t) { return tilesPerWarp(rp, bk, t); }, 256)
                      : stripTunables("BWD_DX_", spec, /*registerAccumulators=*/true, 256);
    // Four 4-warp blocks an SM at r <= 32: ptxas fits the ring kernel in 128
    // registers without spilling (164 otherwise: three blocks). At r = 64 it
    // would spill, so that rank keeps the default bound.
    if (tc && spec.rank <= 32)
      k.minBlocksPerSM = 4;
    k.grid[0] = GridAxis::fixed(ceilDiv(spec.inFeatures, bk));
    k.body = llvm::formatv("{0}bwd_dx_body<{1}, BWD_DX_THREADS, {4}HYP_R, HYP_K, "
                           "{2}>(x, A, dH, {3}, dx, dA, M);",
                           skel, bk, flag(hasG), hasG ? "beta" : "nullptr", rowsArg("BWD_DX_"))
                 .str();
    k.grid[1] = GridAxis::over("M", "BWD_DX_ROWS");
    k.grid[2] = GridAxis::fixed(1);
    k.blockTunable = "BWD_DX_THREADS";
    prog.kernels.push_back(k);
  }

  if (hasG)
    prog.forward = {"hyp_gram", "hyp_fwd_down"};
  else
    prog.forward = {"hyp_fwd_down"};
  prog.forwardStore = prog.forward;
  prog.forward.push_back("hyp_fwd_up");
  prog.forwardStore.push_back("hyp_fwd_up_store");
  if (hasG)
    prog.backward.push_back("hyp_gram");
  if (dyPass) {
    prog.backward.push_back("hyp_bwd_dy_pass");
    prog.backward.push_back("hyp_bwd_rows");
    if (hasG)
      prog.backward.push_back("hyp_bwd_db_gram");
  } else {
    prog.backward.push_back("hyp_bwd_dy");
    prog.backward.push_back("hyp_bwd_db");
  }
  prog.backward.push_back("hyp_bwd_dx");

  auto buf = [&](std::string name, std::vector<std::string> shape, std::string elem,
                 std::string role, std::string doc) {
    BufferDef b;
    b.name = std::move(name);
    b.shape = std::move(shape);
    b.elem = std::move(elem);
    b.role = std::move(role);
    b.doc = std::move(doc);
    prog.buffers.push_back(std::move(b));
  };
  buf("x", {"M", "K"}, act, "input", "adapter input (the dropped-out x)");
  buf("A", {"r", "K"}, "f32", "input", "lora_A");
  buf("B", {"N", "r"}, "f32", "input", "lora_B");
  if (hasK) buf("k", {"1"}, "f32", "input", "raw curvature (K = softplus(k) + 1e-6)");
  if (hasS) buf("s", {"1"}, "f32", "input", "norm scale");
  buf("y", {"M", "N"}, act, "output",
      "forward: W x + b on entry, adapted output on exit; forward_store: written w B^T "
      "(the caller adds W x + b)");
  buf("w", {"M", "r"}, "f32", "saved", "w = c * gs * (A x), y += w B^T");
  buf("stats", {"M", "4"}, "f32", "saved", "per-row scalars saved for the backward");
  prog.buffers.back().columns = {"xnorm2", "unorm2", "c", "scaled_g"};
  if (hasG) buf("G", {"r", "r"}, "f32", "scratch", "B^T B (accumulate: zero before each program)");
  if (transposedB)
    buf("BT", {"r", "N"}, "f32", "scratch", "B transposed (hyp_gram writes it, hyp_bwd_dy reads it)");
  auto splitBuffers = [&](RowSplit split, const std::string &prefix, const char *kernel,
                          const char *what) {
    if (split.count == 1)
      return;
    buf(prefix + "parts", {"M", std::to_string(split.count * (spec.rank + 1))}, "f32", "scratch",
        std::string("split-K partial sums of ") + what + " (" + kernel + ", " +
            std::to_string(split.count) + " splits" + (split.tuned ? " at most, tuned)" : ")"));
    buf(prefix + "tickets", {"M"}, "f32", "scratch",
        std::string("split-K arrivals per row block of ") + kernel +
            " (accumulate: zero before each program)");
  };
  splitBuffers(downSplit, "down_", "hyp_fwd_down", "h and |x|^2");
  buf("dY", {"M", "N"}, act, "input", "backward: gradient of y");
  splitBuffers(dySplit, "dy_", "hyp_bwd_dy", "P = dY B");
  if (dyPass)
    buf("P", {"M", "r"}, "f32", "scratch",
        "P = dY B, summed over hyp_bwd_dy_pass's column blocks (accumulate: zero before each "
        "program)");
  buf("dH", {"M", "r"}, "f32", "scratch", "gradient w.r.t. h = A x");
  if (hasG) {
    buf("beta", {"M"}, "f32", "scratch", "dx += beta * x (the norm's gradient)");
    buf("R", {"r", "r"}, "f32", "scratch", "sum_rows dz h h^T (accumulate)");
  }
  if (hasK) buf("dk", {"1"}, "f32", "output", "gradient of the raw curvature (accumulate, unclipped)");
  if (hasS) buf("ds", {"1"}, "f32", "output", "gradient of the norm scale (accumulate)");
  buf("dA", {"r", "K"}, "f32", "output", "gradient of A (accumulate)");
  buf("dB", {"N", "r"}, "f32", "output", "gradient of B (accumulate)");
  buf("dx", {"M", "K"}, act, "output",
      "the adapter's input gradient dH A + beta x (written; the caller adds dY W)");
  return prog;
}
