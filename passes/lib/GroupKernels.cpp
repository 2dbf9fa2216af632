//===- GroupKernels.cpp - primitive ops -> hyp.kernel regions -------------===//
//
// One hyp.kernel per loop skeleton the emitter knows (docs/IR.md stage 3):
//   weight  ops without per-row operands (G = B^T B)
//   row     per-row work: reductions over wide rows (x A^T, dY B, |x|^2),
//           row maps, r-wide vector ops, and sums over rows of r-wide values
//           (R, dk, ds) done at the kernel's end
//   update  matmul/matmul_t with `acc` (y = y0 + w B^T, dx = dx0 + dH A),
//           with the elementwise chain on its accumulator and its result
//   colsum  matmul_tn over a wide argument (dY^T w, dH^T x); it joins the
//           update kernel that reads the same argument (one read of x), and
//           the weight ops that finish it (dB = dY^T w + B R)
// Anything downstream of a sum over all rows needs a grid-wide sync, i.e. a
// later kernel: `level` counts those syncs and row kernels never mix levels.
// dy-pass: a column sum over a wide argument that no update kernel reads
// (dY^T w) also takes the row products of that argument (P = dY B), so the
// argument is read once; the rows that consume P become their own kernel and
// the weight ops after the sync (dB += B R) theirs, since they need every
// row's R, which the rows kernel sums after the pass.
//
//===----------------------------------------------------------------------===//
#include "hyp/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "hyp-group-kernels"

namespace mlir::hyp {
#define GEN_PASS_DEF_HYPGROUPKERNELS
#include "hyp/Transforms/Passes.h.inc"

namespace {

enum class Skeleton { Weight = 0, Row = 1, ColSum = 2, Update = 3 };

struct OpInfo {
  Skeleton skeleton = Skeleton::Row;
  unsigned level = 0;
  unsigned index = 0; // position in the function, for stable orders
};

struct Group {
  SmallVector<Operation *> ops; // in function order
  Skeleton skeleton = Skeleton::Weight;
  unsigned level = 0;
  bool readsWideOnce = false; // a dy-pass column sum with its row products
  std::string name;
};

int64_t colsOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getDimSize(1);
}

Value accOf(Operation *op) {
  if (auto mm = dyn_cast<MatmulOp>(op))
    return mm.getAcc();
  if (auto mt = dyn_cast<MatmulTOp>(op))
    return mt.getAcc();
  return {};
}

bool isRowsSum(Operation *op) { return isa<MatmulTNOp, ReduceRowsOp>(op); }

class KernelGrouper {
public:
  KernelGrouper(func::FuncOp func, StringRef prefix, bool dyPass)
      : func(func), prefix(prefix), dyPass(dyPass) {}
  LogicalResult run();

private:
  bool isPerRow(Value v) const { return perRow.contains(v); }
  bool isWideArg(Value v) const {
    return isa<BlockArgument>(v) && isPerRow(v) &&
           cast<RankedTensorType>(v.getType()).getRank() == 2;
  }
  void classify();
  Operation *updateReadingColsum(Operation *colsum);
  void pairWideProducts();
  void unite();
  LogicalResult orderGroups();
  void nameGroups();
  LogicalResult buildKernels();

  func::FuncOp func;
  StringRef prefix;
  bool dyPass;
  SmallVector<Operation *> ops;
  llvm::DenseSet<Value> perRow;
  llvm::DenseMap<Operation *, OpInfo> info;
  llvm::DenseMap<Operation *, Value> colsumArg;
  // dy-pass: column sums that took the row products of their wide argument,
  // and those products (both read the argument in one kernel).
  llvm::DenseSet<Operation *> pairedColsums, wideProducts;
  llvm::EquivalenceClasses<Operation *> classes;
  SmallVector<Group> groups; // in launch order after orderGroups()
};

void KernelGrouper::classify() {
  // The token rows are those of the first matrix argument (x or dY).
  std::optional<int64_t> rowDim;
  for (BlockArgument arg : func.getArguments())
    if (auto t = dyn_cast<RankedTensorType>(arg.getType());
        t && t.getRank() == 2) {
      rowDim = t.getDimSize(0);
      break;
    }
  for (BlockArgument arg : func.getArguments())
    if (auto t = dyn_cast<RankedTensorType>(arg.getType());
        t && t.getRank() >= 1 && rowDim && t.getDimSize(0) == *rowDim)
      perRow.insert(arg);

  for (auto [i, op] : llvm::enumerate(ops)) {
    OpInfo oi;
    oi.index = i;
    bool rowOperand =
        llvm::any_of(op->getOperands(), [&](Value v) { return isPerRow(v); });
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (!def || !info.count(def))
        continue;
      bool sync = isRowsSum(def) && llvm::any_of(def->getOperands(), [&](Value d) {
                    return isPerRow(d);
                  });
      oi.level = std::max(oi.level, info[def].level + (sync ? 1u : 0u));
    }
    if (!rowOperand) {
      oi.skeleton = Skeleton::Weight;
    } else if (auto mm = dyn_cast<MatmulTNOp>(op)) {
      // The wide operand is an argument strictly wider than the other
      // operand (dY in dY^T w, x in dH^T x); sums of r-wide values (R)
      // are row-kernel epilogues.
      auto wider = [](Value a, Value b) {
        int64_t ca = colsOf(a), cb = colsOf(b);
        if (ShapedType::isDynamic(ca))
          return !ShapedType::isDynamic(cb);
        return !ShapedType::isDynamic(cb) && ca > cb;
      };
      Value wide;
      if (isWideArg(mm.getA()) && wider(mm.getA(), mm.getB()))
        wide = mm.getA();
      else if (isWideArg(mm.getB()) && wider(mm.getB(), mm.getA()))
        wide = mm.getB();
      oi.skeleton = wide ? Skeleton::ColSum : Skeleton::Row;
      if (wide)
        colsumArg[op] = wide;
    } else if (accOf(op)) {
      oi.skeleton = Skeleton::Update;
    }
    if (rowOperand && !isRowsSum(op))
      for (Value r : op->getResults())
        perRow.insert(r);
    info[op] = oi;
    classes.insert(op);
  }
}

/// The update kernel a column sum joins: one reading the same wide argument
/// (one read of x for dx and dA), else one reading its other operand (dH for
/// LoRA, whose dx update does not read x); null if none.
Operation *KernelGrouper::updateReadingColsum(Operation *colsum) {
  Value wide = colsumArg.lookup(colsum);
  SmallVector<Value> candidates{wide};
  for (Value v : colsum->getOperands())
    if (v != wide)
      candidates.push_back(v);
  for (Value v : candidates) {
    Operation *update = nullptr;
    for (Operation *user : v.getUsers())
      if (info.count(user) && info[user].skeleton == Skeleton::Update)
        update = user;
    if (update)
      return update;
  }
  return nullptr;
}

/// dy-pass: each column sum no update kernel takes also takes the products
/// `matmul %wide, %weight` (P = dY B), which become column-sum ops, so the
/// row unions leave them out of the rows kernel that reads P. Runs before
/// the row unions: a product already united with its row users could not be
/// taken out again.
void KernelGrouper::pairWideProducts() {
  for (Operation *op : ops) {
    auto it = colsumArg.find(op);
    if (it == colsumArg.end() || updateReadingColsum(op))
      continue;
    Value wide = it->second;
    for (Operation *user : wide.getUsers()) {
      auto product = dyn_cast<MatmulOp>(user);
      if (!product || product.getAcc() || product.getA() != wide ||
          isPerRow(product.getB()) || !info.count(user))
        continue;
      info[user].skeleton = Skeleton::ColSum;
      classes.unionSets(op, user);
      wideProducts.insert(user);
      pairedColsums.insert(op);
    }
  }
}

void KernelGrouper::unite() {
  // Update kernels: the elementwise chain that builds the accumulator
  // (dx0 + beta x) and casts of the result run in the same row loop.
  for (Operation *op : ops) {
    if (info[op].skeleton != Skeleton::Update || !accOf(op))
      continue;
    int64_t width = colsOf(op->getResult(0));
    auto joins = [&](Operation *def) {
      if (!def || !info.count(def) || !isa<AddOp, CastOp, RowScaleOp>(def))
        return false;
      auto t = dyn_cast<RankedTensorType>(def->getResult(0).getType());
      return t && t.getRank() == 2 && t.getDimSize(1) == width &&
             !classes.isEquivalent(def, op);
    };
    SmallVector<Value> work{accOf(op)};
    while (!work.empty()) {
      Value v = work.pop_back_val();
      Operation *def = v.getDefiningOp();
      if (!joins(def))
        continue;
      classes.unionSets(def, op);
      info[def].skeleton = Skeleton::Update;
      // A row_scale reads a per-row scalar from elsewhere: stop there.
      if (isa<AddOp, CastOp>(def))
        work.append(def->operand_begin(), def->operand_end());
    }
    for (Operation *user : op->getResult(0).getUsers())
      if (isa<CastOp>(user) && info.count(user)) {
        classes.unionSets(user, op);
        info[user].skeleton = Skeleton::Update;
      }
  }
  // After the update chains are known (a column sum that joins an update
  // keeps its reads there), before the row unions.
  if (dyPass)
    pairWideProducts();
  // Row kernels: the row ops connected by data flow within one sync level
  // (two independent adapters in one function get two kernels). Weight ops
  // without syncs: one kernel.
  Operation *weightLeader = nullptr;
  for (Operation *op : ops) {
    OpInfo &oi = info[op];
    if (oi.skeleton == Skeleton::Row) {
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp();
            def && info.count(def) && info[def].skeleton == Skeleton::Row &&
            info[def].level == oi.level)
          classes.unionSets(def, op);
    } else if (oi.skeleton == Skeleton::Weight && oi.level == 0) {
      if (weightLeader)
        classes.unionSets(weightLeader, op);
      else
        weightLeader = op;
    }
  }
  // Column sums join the update kernel that reads the same wide argument.
  llvm::DenseMap<Value, Operation *> colsumLeader;
  for (Operation *op : ops) {
    auto it = colsumArg.find(op);
    if (it == colsumArg.end())
      continue;
    Value wide = it->second;
    if (Operation *update = updateReadingColsum(op)) {
      classes.unionSets(update, op);
      continue;
    }
    auto [leader, inserted] = colsumLeader.try_emplace(wide, op);
    if (!inserted)
      classes.unionSets(leader->second, op);
  }
  // Weight ops after a sync (B R) finish the column sum they are added to,
  // unless that sum is a dy-pass one: its kernel also makes P, which the
  // rows kernel needs before R exists, so they run in a kernel of their own.
  for (Operation *op : ops) {
    if (info[op].skeleton != Skeleton::Weight || info[op].level == 0)
      continue;
    for (Operation *user : op->getUsers())
      if (info.count(user) && info[user].skeleton == Skeleton::Weight)
        classes.unionSets(op, user);
    for (Value v : op->getOperands())
      if (Operation *def = v.getDefiningOp();
          def && info.count(def) && info[def].skeleton == Skeleton::ColSum &&
          !pairedColsums.contains(def) && !wideProducts.contains(def))
        classes.unionSets(op, def);
  }
}

LogicalResult KernelGrouper::orderGroups() {
  llvm::DenseMap<Operation *, unsigned> groupOf;
  SmallVector<Group> unordered;
  for (Operation *op : ops) {
    Operation *leader = classes.getLeaderValue(op);
    auto [it, inserted] = groupOf.try_emplace(leader, unordered.size());
    if (inserted)
      unordered.emplace_back();
    Group &g = unordered[it->second];
    g.ops.push_back(op);
    g.skeleton = std::max(g.skeleton, info[op].skeleton);
    g.level = std::max(g.level, info[op].level);
    g.readsWideOnce |= wideProducts.contains(op);
    groupOf[op] = it->second;
  }
  // Kahn's algorithm; among ready groups the weight-only ones (G = B^T B) go
  // first, as the emitter's programs launch hyp_gram first (the one-pass
  // backward's dY kernel does not need G, so without this it came first);
  // other ties keep the order of the groups' first ops.
  unsigned n = unordered.size();
  SmallVector<llvm::SetVector<unsigned>> succ(n);
  SmallVector<unsigned> indegree(n, 0);
  for (Operation *op : ops)
    for (Value v : op->getOperands())
      if (Operation *def = v.getDefiningOp(); def && groupOf.count(def)) {
        unsigned from = groupOf[def], to = groupOf[op];
        if (from != to && succ[from].insert(to))
          ++indegree[to];
      }
  SmallVector<bool> done(n, false);
  for (unsigned step = 0; step < n; ++step) {
    unsigned pick = n;
    for (unsigned g = 0; g < n; ++g)
      if (!done[g] && indegree[g] == 0 &&
          (pick == n || (unordered[g].skeleton == Skeleton::Weight &&
                         unordered[pick].skeleton != Skeleton::Weight)))
        pick = g;
    if (pick == n)
      return func.emitOpError("hyp-group-kernels: the kernel groups depend on "
                              "each other in a cycle");
    done[pick] = true;
    for (unsigned s : succ[pick])
      --indegree[s];
    groups.push_back(std::move(unordered[pick]));
  }
  return success();
}

void KernelGrouper::nameGroups() {
  StringRef program = func.getSymName();
  if (auto attr = func->getAttrOfType<StringAttr>("hyp.program"))
    program = attr.getValue();
  bool forward = program == "forward", backward = program == "backward";
  StringRef shortProgram = forward ? "fwd" : backward ? "bwd" : program;
  // With a dy-pass column sum the backward's roles are the emitter's
  // one-pass kernels: hyp_bwd_dy_pass, hyp_bwd_rows, hyp_bwd_db_gram.
  const bool onePass = !pairedColsums.empty();
  llvm::StringMap<unsigned> used;
  for (Group &g : groups) {
    std::string role;
    switch (g.skeleton) {
    case Skeleton::Weight:
      role = g.level == 0 ? "gram" : onePass && backward ? "db_gram" : "weights";
      break;
    case Skeleton::Row:
      role = forward ? "down" : backward && !onePass ? "dy" : "rows";
      if (g.level > 0)
        role += std::to_string(g.level);
      break;
    case Skeleton::ColSum:
      if (g.readsWideOnce)
        role = backward ? "dy_pass" : "pass";
      else
        role = backward ? "db" : "colsum";
      break;
    case Skeleton::Update:
      role = forward ? "up" : backward ? "dx" : "update";
      break;
    }
    std::string name = (prefix + "_" + shortProgram + "_" + role).str();
    unsigned count = ++used[name];
    if (count > 1)
      name += "_" + std::to_string(count);
    g.name = name;
  }
}

LogicalResult KernelGrouper::buildKernels() {
  Block &body = func.getBody().front();
  Operation *terminator = body.getTerminator();
  OpBuilder b(terminator);
  SmallVector<Attribute> names;
  for (Group &g : groups) {
    llvm::DenseSet<Operation *> inGroup(g.ops.begin(), g.ops.end());
    llvm::SetVector<Value> inputs, outputs;
    SmallVector<Operation *> constants;
    for (Operation *op : g.ops)
      for (Value v : op->getOperands()) {
        Operation *def = v.getDefiningOp();
        if (def && inGroup.contains(def))
          continue;
        // Constants are cloned into the kernel: it is isolated from above.
        if (def && def->hasTrait<OpTrait::ConstantLike>()) {
          if (!llvm::is_contained(constants, def))
            constants.push_back(def);
          continue;
        }
        inputs.insert(v);
      }
    for (Operation *op : g.ops)
      for (Value r : op->getResults())
        for (Operation *user : r.getUsers())
          if (!inGroup.contains(func.getBody().findAncestorOpInRegion(*user)))
            outputs.insert(r);
    if (outputs.empty())
      continue; // dead group: nothing outside reads it

    SmallVector<Type> resultTypes;
    for (Value v : outputs)
      resultTypes.push_back(v.getType());
    Location loc = g.ops.front()->getLoc();
    auto kernel = KernelOp::create(b, loc, resultTypes,
                                   b.getStringAttr(g.name), inputs.getArrayRef());
    Block *kbody = new Block();
    kernel.getBody().push_back(kbody);
    IRMapping map;
    for (Value in : inputs)
      map.map(in, kbody->addArgument(in.getType(), in.getLoc()));
    OpBuilder kb = OpBuilder::atBlockEnd(kbody);
    for (Operation *c : constants)
      kb.clone(*c, map);
    for (Operation *op : g.ops)
      kb.clone(*op, map);
    SmallVector<Value> yielded;
    for (Value v : outputs)
      yielded.push_back(map.lookup(v));
    YieldOp::create(kb, loc, yielded);
    names.push_back(b.getStringAttr(g.name));
    // Later kernels (and the return) read these values from the kernel.
    for (auto [v, r] : llvm::zip(outputs, kernel.getResults())) {
      Value old = v;
      old.replaceAllUsesWith(r);
    }
  }
  for (Operation *op : llvm::reverse(ops)) {
    if (!op->use_empty())
      return op->emitOpError("hyp-group-kernels: still used after grouping");
    op->erase();
  }
  func->setAttr("hyp.kernels", b.getArrayAttr(names));
  return success();
}

LogicalResult KernelGrouper::run() {
  Block &body = func.getBody().front();
  for (Operation &op : body.without_terminator()) {
    if (isa<KernelOp>(op))
      return success(); // already grouped: the pass is idempotent
    if (isa<HypDialect>(op.getDialect())) {
      ops.push_back(&op);
      continue;
    }
    if (op.hasTrait<OpTrait::ConstantLike>())
      continue;
    // Kernels are placed before the terminator: any other op reading a hyp
    // result could end up before its producer.
    for (Value v : op.getOperands())
      if (Operation *def = v.getDefiningOp();
          def && isa<HypDialect>(def->getDialect()))
        return op.emitOpError("hyp-group-kernels: cannot group kernels around "
                              "this op (it reads a hyp result)");
  }
  if (ops.empty())
    return success();
  for (Operation *op : ops)
    if (isa<AdapterOp, AdapterGradOp, ExpMap0Op, LogMap0Op, ProjectOp,
            DistanceOp, LorentzInnerOp, LorentzLowRankOp>(op))
      return op->emitOpError("must be expanded (hyp-expand-adapter / "
                             "hyp-derive-backward) before hyp-group-kernels");
  classify();
  unite();
  if (failed(orderGroups()))
    return failure();
  nameGroups();
  return buildKernels();
}

struct HypGroupKernels : impl::HypGroupKernelsBase<HypGroupKernels> {
  using Base::Base;
  void runOnOperation() override {
    if (getOperation().isExternal())
      return;
    KernelGrouper grouper(getOperation(), prefix, dyPass);
    if (failed(grouper.run()))
      signalPassFailure();
  }
};
} // namespace
} // namespace mlir::hyp
