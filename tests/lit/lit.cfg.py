# -*- Python -*-
# lit configuration for the compiler tests (.mlir) and the gtest binaries.
import os
import lit.formats
from lit.llvm import llvm_config

config.name = "hyplora"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".cu.test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hyp_obj_root, "tests", "lit")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py.in", "README.md", "Inputs"]
config.environment["FILECHECK_OPTS"] = "--enable-var-scope --dump-input=fail"

llvm_config.use_default_substitutions()
# Our tools first, then LLVM's FileCheck/not/count.
# (append_path=True prepends and keeps the system PATH, which RUN lines need
# for sed; prepending LLVM's first leaves ours in front.)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.hyp_tools_dir, append_path=True)
tools = ["hyp-opt", "hyp-translate", "FileCheck", "not", "count"]
llvm_config.add_tool_substitutions(tools, [config.hyp_tools_dir, config.llvm_tools_dir])

# Codegen tests compile emitted CUDA with NVRTC (no GPU needed); the helper
# lives in the build tree next to the tools.
if os.path.exists(os.path.join(config.hyp_tools_dir, "hyp-nvrtc-check")):
    config.available_features.add("nvrtc")
