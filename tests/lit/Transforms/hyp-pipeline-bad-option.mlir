// An unknown option of the named pipeline is reported and the tool exits
// non-zero (the JIT's option strings are checked the same way).
// RUN: not hyp-opt --hyp-pipeline="no-such-option=1" %s 2>&1 | FileCheck %s
// CHECK: no such option no-such-option
module {}
