// Seeded random numbers. The generator is xoshiro128** (Blackman & Vigna),
// seeded through splitmix32; normals come from the Box-Muller transform
// using V8's Math.log/Math.sqrt/Math.cos/Math.sin (fdlibm ports, the same on
// every machine). So a seed gives the same tensors on every run and machine
// with the same Node major version. These are not PyTorch's numbers: PyTorch
// uses mt19937 with its own transforms; compare statistics, not values.

/**
 * The default generator's seed at start-up, and a new Generator's: the seed
 * of a new torch.Generator(). (PyTorch's own default generator is seeded
 * from the OS at start-up, so unseeded runs differ there; ntensor's are
 * reproducible.)
 */
export const DEFAULT_SEED = 67280421310721;

export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private seed = DEFAULT_SEED;
  private spare = NaN; // second Box-Muller value, if one is waiting

  constructor(seed: number = DEFAULT_SEED) {
    this.manualSeed(seed);
  }

  /** Resets the state from a seed (a non-negative safe integer). Returns this. */
  manualSeed(seed: number): this {
    if (typeof seed !== 'number') {
      throw new TypeError(`manualSeed: seed must be a number, got ${seed === null ? 'null' : typeof seed === 'string' ? `the string '${seed}'` : typeof seed}`);
    }
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`manualSeed: seed must be a non-negative safe integer (0 to 2^53 - 1), got ${String(seed)}`);
    }
    this.seed = seed;
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x85ebca6b);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = NaN;
    return this;
  }

  initialSeed(): number {
    return this.seed;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5, b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform on [0, 1) with 24 random bits: exactly representable in float32, never rounds to 1. */
  nextFloat32(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** A standard normal variate (Box-Muller, both values used in turn). */
  nextNormal(): number {
    if (this.spare === this.spare) {
      const v = this.spare;
      this.spare = NaN;
      return v;
    }
    const u1 = 1 - this.nextDouble(); // (0, 1]: log never sees 0
    const u2 = this.nextDouble();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator creation functions use when none is given. */
export const defaultGenerator = new Generator();

/** Seeds the default generator, as torch.manual_seed does. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
