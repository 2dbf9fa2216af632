//===- RowScalarEmitter.cpp - hyp.row_map bodies -> hyp_row_scalars<T> ----===//
//
// The forward program's per-row math is read off the IR: the stats output is
// hyp.pack_cols(n2, q, c, gs) (docs/IR.md), so `c` and `gs` are results of
// hyp.row_map ops whose bodies (arith/math only, straight-line) are printed
// here op by op as C++ over a generic scalar type T. The kernels instantiate
// it with float (forward) and hyp_dual64 (backward: exact forward-mode partials
// w.r.t. n2, z, k, s), so every convention/variant difference comes from the
// IR and the backward can never disagree with the forward.
//
// q (= |u|^2) is the quad form of v = c h over G = B^T B (after
// hyp-gram-norm) or the squared norm of u = v B^T (before): both equal
// c^2 h^T G h, which is what the skeleton computes from z = h^T G h.
//
//===----------------------------------------------------------------------===//
#include "hyp/Emitter/RowScalarEmitter.h"

#include "hyp/Dialect/HypOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace ::hyp::emitter;

namespace {

std::string floatLiteral(double v) {
  if (std::isinf(v))
    return v > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float(0xff800000)";
  return llvm::formatv("{0:e9}f", v).str();
}

/// Prints one straight-line block; values are named v<N>.
class BlockPrinter {
public:
  BlockPrinter(llvm::raw_ostream &os, unsigned &counter) : os(os), counter(counter) {}

  void bind(Value v, std::string name) { names[v] = std::move(name); }
  std::string nameOf(Value v) const {
    auto it = names.find(v);
    return it == names.end() ? std::string() : it->second;
  }

  LogicalResult print(Block &block) {
    for (Operation &op : block.without_terminator())
      if (failed(printOp(op)))
        return failure();
    return success();
  }

private:
  std::string fresh(Value v) {
    std::string n = "v" + std::to_string(counter++);
    names[v] = n;
    return n;
  }
  std::string use(Value v) {
    std::string n = nameOf(v);
    assert(!n.empty() && "operand defined outside the row program");
    return n;
  }

  LogicalResult printOp(Operation &op) {
    for (Value operand : op.getOperands())
      if (nameOf(operand).empty())
        return op.emitError("hyp-to-cuda: operand of '")
               << op.getName() << "' is not defined in the row_map body";
    if (op.getNumResults() != 1)
      return op.emitError("hyp-to-cuda: unsupported op '")
             << op.getName() << "' in a hyp.row_map body (expected one result)";
    Value r = op.getResult(0);
    if (!r.getType().isF32() && !r.getType().isInteger(1))
      return op.emitError("hyp-to-cuda: row math must be f32, got ") << r.getType();
    auto bin = [&](const char *fn) {
      os << "  const T " << fresh(r) << " = " << fn << "(" << use(op.getOperand(0)) << ", "
         << use(op.getOperand(1)) << ");\n";
      return success();
    };
    auto infix = [&](const char *sym) {
      os << "  const T " << fresh(r) << " = " << use(op.getOperand(0)) << " " << sym << " "
         << use(op.getOperand(1)) << ";\n";
      return success();
    };
    auto unary = [&](const char *fn) {
      os << "  const T " << fresh(r) << " = " << fn << "(" << use(op.getOperand(0)) << ");\n";
      return success();
    };
    return llvm::TypeSwitch<Operation *, LogicalResult>(&op)
        .Case<arith::ConstantOp>([&](arith::ConstantOp c) -> LogicalResult {
          auto f = dyn_cast<FloatAttr>(c.getValue());
          if (!f)
            return op.emitError("hyp-to-cuda: non-float constant in a hyp.row_map body");
          os << "  const T " << fresh(r) << " = hyp_lift<T>(" << floatLiteral(f.getValueAsDouble())
             << ");\n";
          return success();
        })
        .Case<arith::AddFOp>([&](auto) { return infix("+"); })
        .Case<arith::SubFOp>([&](auto) { return infix("-"); })
        .Case<arith::MulFOp>([&](auto) { return infix("*"); })
        .Case<arith::DivFOp>([&](auto) { return infix("/"); })
        .Case<arith::NegFOp>([&](auto) { return unary("-"); })
        .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](auto) { return bin("hyp_max"); })
        .Case<arith::MinimumFOp, arith::MinNumFOp>([&](auto) { return bin("hyp_min"); })
        .Case<math::SqrtOp>([&](auto) { return unary("hyp_sqrt"); })
        .Case<math::SinhOp>([&](auto) { return unary("hyp_sinh"); })
        .Case<math::CoshOp>([&](auto) { return unary("hyp_cosh"); })
        .Case<math::AcoshOp>([&](auto) { return unary("hyp_acosh"); })
        .Case<math::AsinhOp>([&](auto) { return unary("hyp_asinh"); })
        .Case<math::ExpOp>([&](auto) { return unary("hyp_exp"); })
        .Case<math::LogOp>([&](auto) { return unary("hyp_log"); })
        .Case<math::Log1pOp>([&](auto) { return unary("hyp_log1p"); })
        .Case<math::TanhOp>([&](auto) { return unary("hyp_tanh"); })
        .Case<math::AbsFOp>([&](auto) { return unary("hyp_abs"); })
        .Case<arith::CmpFOp>([&](arith::CmpFOp cmp) -> LogicalResult {
          const char *sym = nullptr;
          switch (cmp.getPredicate()) {
          case arith::CmpFPredicate::OLT: case arith::CmpFPredicate::ULT: sym = "<"; break;
          case arith::CmpFPredicate::OLE: case arith::CmpFPredicate::ULE: sym = "<="; break;
          case arith::CmpFPredicate::OGT: case arith::CmpFPredicate::UGT: sym = ">"; break;
          case arith::CmpFPredicate::OGE: case arith::CmpFPredicate::UGE: sym = ">="; break;
          case arith::CmpFPredicate::OEQ: case arith::CmpFPredicate::UEQ: sym = "=="; break;
          case arith::CmpFPredicate::ONE: case arith::CmpFPredicate::UNE: sym = "!="; break;
          default:
            return op.emitError("hyp-to-cuda: unsupported arith.cmpf predicate in a row_map");
          }
          std::string n = "b" + std::to_string(counter++);
          names[r] = n;
          os << "  const bool " << n << " = hyp_value(" << use(cmp.getLhs()) << ") " << sym
             << " hyp_value(" << use(cmp.getRhs()) << ");\n";
          return success();
        })
        .Case<arith::SelectOp>([&](arith::SelectOp sel) -> LogicalResult {
          os << "  const T " << fresh(r) << " = hyp_select(" << use(sel.getCondition()) << ", "
             << use(sel.getTrueValue()) << ", " << use(sel.getFalseValue()) << ");\n";
          return success();
        })
        .Default([&](Operation *) -> LogicalResult {
          return op.emitError("hyp-to-cuda: unsupported op '")
                 << op.getName() << "' in a hyp.row_map body";
        });
  }

  llvm::raw_ostream &os;
  unsigned &counter;
  llvm::DenseMap<Value, std::string> names;
};

} // namespace

namespace hyp {
namespace emitter {

Value traceThroughKernels(Value v) {
  while (auto arg = dyn_cast<BlockArgument>(v)) {
    auto kernel = dyn_cast<mlir::hyp::KernelOp>(arg.getOwner()->getParentOp());
    if (!kernel)
      break;
    v = kernel.getInputs()[arg.getArgNumber()];
  }
  // A kernel result is the yielded value of its body.
  if (auto kernel = v.getDefiningOp<mlir::hyp::KernelOp>()) {
    unsigned idx = cast<OpResult>(v).getResultNumber();
    return traceThroughKernels(kernel.getYield().getValues()[idx]);
  }
  return v;
}

LogicalResult emitRowScalarsFromIR(func::FuncOp forward, const RowScalarRoles &roles,
                                                 std::string &out, RowScalarUsage &usage) {
  usage = RowScalarUsage();
  mlir::hyp::PackColsOp pack;
  forward.walk([&](mlir::hyp::PackColsOp p) {
    if (p.getColumns().size() == 4)
      pack = p;
  });
  if (!pack)
    return forward.emitError("hyp-to-cuda: the forward program has no 4-column "
                             "hyp.pack_cols (the stats [|x|^2, |u|^2, c, scaling*g])");
  Value n2 = traceThroughKernels(pack.getColumns()[0]);
  Value q = traceThroughKernels(pack.getColumns()[1]);
  Value c = traceThroughKernels(pack.getColumns()[2]);
  Value gs = traceThroughKernels(pack.getColumns()[3]);
  if (!n2.getDefiningOp<mlir::hyp::RowSqNormOp>())
    return pack.emitError("hyp-to-cuda: stats column 0 must be hyp.row_sqnorm of the input");

  std::string body;
  llvm::raw_string_ostream os(body);
  unsigned counter = 0;
  llvm::DenseMap<Value, std::string> known; // traced values already in C++
  known[n2] = "n2";
  // Emits the row_map defining `v` (recursively its row operands first);
  // returns the C++ name of v.
  std::function<FailureOr<std::string>(Value)> emitValue = [&](Value v) -> FailureOr<std::string> {
    v = traceThroughKernels(v);
    if (auto it = known.find(v); it != known.end())
      return it->second;
    auto map = v.getDefiningOp<mlir::hyp::RowMapOp>();
    if (!map) {
      Operation *def = v.getDefiningOp();
      if (def && isa<mlir::hyp::QuadFormOp, mlir::hyp::RowSqNormOp>(def) && v == q) {
        // |u|^2 = c^2 h^T G h (both the Gram form and the direct norm).
        auto cName = emitValue(c);
        if (failed(cName))
          return failure();
        os << "  const T q_ = hyp_max(" << *cName << " * " << *cName << " * z, 0.f); // "
           << def->getName() << " of the scaled rows\n";
        known[v] = "q_";
        return std::string("q_");
      }
      if (def)
        def->emitError("hyp-to-cuda: unsupported producer '")
            << def->getName() << "' of a row scalar (expected hyp.row_map)";
      else
        forward.emitError("hyp-to-cuda: a row scalar of the stats is a function argument");
      return failure();
    }
    BlockPrinter printer(os, counter);
    Block &body = map.getBody().front();
    unsigned nRows = map.getRows().size();
    for (unsigned i = 0; i < nRows; ++i) {
      auto name = emitValue(map.getRows()[i]);
      if (failed(name))
        return failure();
      printer.bind(body.getArgument(i), *name);
    }
    for (unsigned i = 0; i < map.getScalars().size(); ++i) {
      Value sv = traceThroughKernels(map.getScalars()[i]);
      std::string name;
      bool used = !body.getArgument(nRows + i).use_empty();
      if (sv == roles.k) {
        name = "k";
        usage.usesK |= used;
      } else if (sv == roles.s) {
        name = "s";
        usage.usesS |= used;
      }
      else
        return map.emitError("hyp-to-cuda: row_map scalar operand ")
               << i << " is neither the raw curvature k nor the norm scale s", failure();
      printer.bind(body.getArgument(nRows + i), name);
    }
    os << "  // " << map->getName() << " at " << map.getLoc() << "\n";
    if (failed(printer.print(body)))
      return failure();
    auto yield = map.getYield();
    for (auto [i, res] : llvm::enumerate(map.getResults())) {
      std::string n = printer.nameOf(yield.getValues()[i]);
      if (n.empty())
        return map.emitError("hyp-to-cuda: row_map yields a value it does not define"), failure();
      known[traceThroughKernels(res)] = n;
      known[res] = n;
    }
    return known[v];
  };
  auto cName = emitValue(c);
  if (failed(cName))
    return failure();
  auto qName = emitValue(q);
  if (failed(qName))
    return failure();
  auto gsName = emitValue(gs);
  if (failed(gsName))
    return failure();

  out = "template <class T>\nHYP_DEVICE_INLINE void hyp_row_scalars(T n2, T z, T k, T s, float "
        "scaling, T *c_out, T *q_out, T *gs_out) {\n"
        "  (void)z; (void)k; (void)s;\n" +
        body + "  *c_out = " + *cName + ";\n  *q_out = " + *qName +
        ";\n  // The IR is built with scaling = 1; the runtime scaling multiplies.\n"
        "  *gs_out = scaling * " +
        *gsName + ";\n}\n";
  return success();
}

} // namespace emitter
} // namespace hyp
