// Portable build of the loop kernels: runs on every CPU.
#define NT_SUFFIX scalar
#include "reference_loops.inc"
