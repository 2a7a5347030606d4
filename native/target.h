// Compiling a region of a source file for an instruction set (the per-ISA
// kernel files), so that the rest of the binary stays baseline and runs on
// any CPU of the architecture. GCC takes its target pragma; clang (Apple's
// compiler, and the source fallback on macOS) ignores that pragma and takes
// an attribute pragma instead. Features are spelled as both compilers
// accept them; GCC-only tuning (prefer-vector-width) is added by the file
// under `#ifndef __clang__`.
#pragma once

#define NT_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define NT_TARGET_BEGIN(features) \
  NT_PRAGMA(clang attribute push(__attribute__((target(features))), apply_to = function))
#define NT_TARGET_END NT_PRAGMA(clang attribute pop)
#else
#define NT_TARGET_BEGIN(features) NT_PRAGMA(GCC push_options) NT_PRAGMA(GCC target(features))
#define NT_TARGET_END NT_PRAGMA(GCC pop_options)
#endif
