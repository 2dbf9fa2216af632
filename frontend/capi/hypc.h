/*===- hypc.h - the hyplora compiler C API ---------------------------------===*
 *
 * docs/CONTRACTS.md section 1. libhypc.so is self-contained (static MLIR
 * inside) and exports only the hypc_* symbols below. Every function is safe to
 * call from several threads at once; no function aborts or throws: errors come
 * back as text in hypc_output_error().
 *
 *===----------------------------------------------------------------------===*/
#ifndef HYPC_H
#define HYPC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hypc_output hypc_output;
typedef struct {
  const char *variant;      /* "hyplora" | "hyplora_simplified" | "lora" */
  const char *convention;   /* "reference" | "lorentz" (ignored for lora/simplified) */
  const char *act_dtype;    /* "f32" | "bf16" | "f16": dtype of x, y, dY, dX */
  int64_t in_features;      /* K (d_in) */
  int64_t out_features;     /* N (d_out) */
  int64_t rank;             /* r */
  double max_sinh_arg;      /* 12.0 in the reference */
} hypc_adapter_desc;

const char *hypc_version(void);                 /* goes into every cache key */
/* Builds hyp IR for one adapted layer (forward + backward), runs the pipeline,
   emits CUDA. options: pipeline options text, may be NULL. Returns 0 on success;
   on failure *out is still set and hypc_output_error() holds the diagnostics. */
int hypc_compile_adapter(const hypc_adapter_desc *desc, const char *options, hypc_output **out);
/* Same from IR text (any module the pipeline accepts): what hyp-opt replays. */
int hypc_compile_ir(const char *ir_text, const char *options, hypc_output **out);
const char *hypc_output_error(const hypc_output *);      /* "" when ok */
const char *hypc_output_cuda_source(const hypc_output *); /* one translation unit, all kernels */
const char *hypc_output_metadata_json(const hypc_output *);/* schema in section 2 */
const char *hypc_output_input_ir(const hypc_output *);    /* the hyp IR that was compiled */
void hypc_output_free(hypc_output *);

#ifdef __cplusplus
}
#endif

#endif /* HYPC_H */
