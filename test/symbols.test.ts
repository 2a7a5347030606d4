// The built addon must keep needing only old symbol versions of glibc and
// libstdc++, the limits of the prebuilt binary (../shared/TOOLCHAIN.md,
// pitfall 12; scripts/build-prebuilds.mjs checks its own output the same
// way): GLIBC_2.14, GLIBCXX_3.4.21, CXXABI_1.3.9. A std::shared_ptr or
// std::function, or a newer pthread_create, quietly pulls in GLIBC_2.32 /
// GLIBCXX_3.4.29 / GLIBC_2.34. NTENSOR_MAX_GLIBC, NTENSOR_MAX_GLIBCXX and
// NTENSOR_MAX_CXXABI override the limits. Needs objdump (binutils); without
// it the check is skipped with a message.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const LIMITS: Record<string, string> = {
  GLIBC: process.env.NTENSOR_MAX_GLIBC || '2.14',
  GLIBCXX: process.env.NTENSOR_MAX_GLIBCXX || '3.4.21',
  CXXABI: process.env.NTENSOR_MAX_CXXABI || '1.3.9',
};

/** Compares dotted versions numerically, component by component ('2.2.5' < '2.14'). */
export function cmpVersion(a: string, b: string): number {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

interface VersionedSymbol { lib: string; version: string; symbol: string }

/**
 * The versioned references in `objdump -T` output, e.g.
 * `0000000000000000      DF *UND*  0000000000000000 (GLIBC_2.2.5) syscall`
 * (versions in parentheses are hidden ones; both forms count).
 * GLIBC_PRIVATE and other unnumbered versions are not versions to compare.
 */
export function versionedSymbols(objdumpT: string): VersionedSymbol[] {
  const out: VersionedSymbol[] = [];
  for (const line of objdumpT.split('\n')) {
    const m = /\(?\b(GLIBCXX|GLIBC|CXXABI)_(\d+(?:\.\d+)*)\)?\s+(\S+)\s*$/.exec(line);
    if (m) out.push({ lib: m[1], version: m[2], symbol: m[3] });
  }
  return out;
}

/** The references above the limits, as `symbol (LIB_version)` strings. */
export function tooNew(objdumpT: string, limits: Record<string, string> = LIMITS): string[] {
  return versionedSymbols(objdumpT)
    .filter((s) => limits[s.lib] !== undefined && cmpVersion(s.version, limits[s.lib]) > 0)
    .map((s) => `${s.symbol} (${s.lib}_${s.version})`);
}

/** The highest version referenced per library. */
function maxVersions(objdumpT: string): Record<string, string> {
  const max: Record<string, string> = {};
  for (const { lib, version } of versionedSymbols(objdumpT)) {
    if (max[lib] === undefined || cmpVersion(version, max[lib]) > 0) max[lib] = version;
  }
  return max;
}

const SAMPLE = [
  'build/Release/ntensor.node:     file format elf64-x86-64',
  '',
  'DYNAMIC SYMBOL TABLE:',
  '0000000000000000  w   D  *UND*\t0000000000000000  Base        __gmon_start__',
  '0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.2.5) syscall',
  '0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.14) memcpy',
  '0000000000000000      DF *UND*\t0000000000000000 (GLIBCXX_3.4.21) _ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_createERmm',
  '0000000000000000      DF *UND*\t0000000000000000 (CXXABI_1.3.9) _ZdlPvm',
  '0000000000000000      DO *UND*\t0000000000000000 (GLIBC_PRIVATE) _dl_argv',
  '0000000000012340 g    DF .text\t0000000000000021  Base        napi_register_module_v1',
].join('\n');

describe('symbol versions: the parser', () => {
  it('compares versions numerically', () => {
    expect(cmpVersion('2.2.5', '2.14')).toBe(-1);
    expect(cmpVersion('2.14', '2.14')).toBe(0);
    expect(cmpVersion('2.14.1', '2.14')).toBe(1);
    expect(cmpVersion('3.4.29', '3.4.21')).toBe(1);
    expect(cmpVersion('1.3.10', '1.3.9')).toBe(1);
  });

  it('reads every versioned reference of objdump -T, and nothing else', () => {
    expect(versionedSymbols(SAMPLE)).toEqual([
      { lib: 'GLIBC', version: '2.2.5', symbol: 'syscall' },
      { lib: 'GLIBC', version: '2.14', symbol: 'memcpy' },
      { lib: 'GLIBCXX', version: '3.4.21', symbol: '_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_createERmm' },
      { lib: 'CXXABI', version: '1.3.9', symbol: '_ZdlPvm' },
    ]);
    expect(maxVersions(SAMPLE)).toEqual({ GLIBC: '2.14', GLIBCXX: '3.4.21', CXXABI: '1.3.9' });
    expect(tooNew(SAMPLE, { GLIBC: '2.14', GLIBCXX: '3.4.21', CXXABI: '1.3.9' })).toEqual([]);
  });

  it('flags versions above the limits (what std::shared_ptr, std::function or glibc 2.34\'s pthread_create bring)', () => {
    const bad = [
      SAMPLE,
      '0000000000000000      DF *UND*\t0000000000000000 (GLIBC_2.34) pthread_create',
      '0000000000000000      DO *UND*\t0000000000000000 (GLIBC_2.32) __libc_single_threaded',
      '0000000000000000      DF *UND*\t0000000000000000 (GLIBCXX_3.4.29) _ZSt28__throw_bad_array_new_lengthv',
      '0000000000000000      DF *UND*\t0000000000000000  GLIBCXX_3.4.22  _ZNSt6thread6_StateD2Ev',
      '0000000000000000      DF *UND*\t0000000000000000 (CXXABI_1.3.13) __cxa_init_primary_exception',
    ].join('\n');
    expect(tooNew(bad, { GLIBC: '2.14', GLIBCXX: '3.4.21', CXXABI: '1.3.9' })).toEqual([
      'pthread_create (GLIBC_2.34)',
      '__libc_single_threaded (GLIBC_2.32)',
      '_ZSt28__throw_bad_array_new_lengthv (GLIBCXX_3.4.29)',
      '_ZNSt6thread6_StateD2Ev (GLIBCXX_3.4.22)',
      '__cxa_init_primary_exception (CXXABI_1.3.13)',
    ]);
  });
});

const addon = path.resolve(__dirname, '..', 'build', 'Release', 'ntensor.node');
const objdump = spawnSync('objdump', ['--version'], { encoding: 'utf8' });
const haveObjdump = objdump.status === 0;
if (!haveObjdump) {
  console.warn('symbols.test.ts: objdump not found (install binutils); the symbol-version check of the built addon is SKIPPED');
}

describe('symbol versions: the built addon', () => {
  it.skipIf(!haveObjdump)(`build/Release/ntensor.node needs at most GLIBC_${LIMITS.GLIBC}, GLIBCXX_${LIMITS.GLIBCXX}, CXXABI_${LIMITS.CXXABI}`, () => {
    expect(existsSync(addon), `${addon} is missing: run npm run build`).toBe(true);
    const r = spawnSync('objdump', ['-T', addon], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const max = maxVersions(r.stdout);
    console.log(`symbols: max versions ${Object.entries(max).map(([k, v]) => `${k}_${v}`).join(' ')}`);
    expect(max.GLIBC, 'no GLIBC references at all: not the objdump -T output expected').toBeDefined();
    expect(tooNew(r.stdout), `symbols above the limits in ${addon}`).toEqual([]);
  });
});
