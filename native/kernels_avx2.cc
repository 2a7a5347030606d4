// The same loop kernels compiled for AVX2+FMA through a target pragma, so the
// rest of the binary stays baseline x86-64 and runs on any CPU; dispatch.cc
// only calls into here after checking the CPU supports it.
#if defined(__x86_64__) || defined(_M_X64)
// The standard headers come before the pragma: their inline functions must
// not be compiled for AVX2 here (the linker could pick that copy for the
// baseline code too).
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "target.h"
NT_TARGET_BEGIN("avx2,fma")
#define NT_SUFFIX avx2
#include "reference_loops.inc"
NT_TARGET_END
#endif
