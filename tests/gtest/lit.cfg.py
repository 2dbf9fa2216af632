# -*- Python -*-
# Runs every gtest binary in build/bin named *Tests through lit, so each gtest
# case counts as one test in the summary (GPU cases skip with GTEST_SKIP and a reason).
import os
import lit.formats
config.name = "hyplora-gtest"
config.test_format = lit.formats.GoogleTest(".", "Tests")
config.test_source_root = config.hyp_bin_dir
config.test_exec_root = config.hyp_bin_dir
