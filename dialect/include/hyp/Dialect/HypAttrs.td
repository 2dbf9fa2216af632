//===- HypAttrs.td - hyp enum attributes -------------------*- tablegen -*-===//
#ifndef HYP_ATTRS_TD
#define HYP_ATTRS_TD

include "hyp/Dialect/HypDialect.td"
include "mlir/IR/EnumAttr.td"

def Hyp_Variant_HypLoRA : I32EnumAttrCase<"hyplora", 0>;
def Hyp_Variant_Simplified : I32EnumAttrCase<"hyplora_simplified", 1>;
def Hyp_Variant_LoRA : I32EnumAttrCase<"lora", 2>;
def Hyp_VariantEnum : I32EnumAttr<"Variant", "adapter variant",
    [Hyp_Variant_HypLoRA, Hyp_Variant_Simplified, Hyp_Variant_LoRA]> {
  let cppNamespace = "::mlir::hyp";
  let genSpecializedAttr = 0;
}
// #hyp.variant<hyplora|hyplora_simplified|lora>: which adapter (HYPLORA.md §3).
def Hyp_VariantAttr : EnumAttr<Hyp_Dialect, Hyp_VariantEnum, "variant"> {
  let assemblyFormat = "`<` $value `>`";
}

def Hyp_Convention_Reference : I32EnumAttrCase<"reference", 0>;
def Hyp_Convention_Lorentz : I32EnumAttrCase<"lorentz", 1>;
def Hyp_ConventionEnum : I32EnumAttr<"Convention", "time recompute convention",
    [Hyp_Convention_Reference, Hyp_Convention_Lorentz]> {
  let cppNamespace = "::mlir::hyp";
  let genSpecializedAttr = 0;
}
// #hyp.convention<reference|lorentz>: `reference` recomputes the time with 1/K
// (bit-for-bit the paper's code), `lorentz` with K (textbook, no dead zone).
def Hyp_ConventionAttr : EnumAttr<Hyp_Dialect, Hyp_ConventionEnum, "convention"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // HYP_ATTRS_TD
