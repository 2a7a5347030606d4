// Options objects take the keys their function documents. Any other key
// whose value is not undefined is a TypeError naming the function and the
// key, as PyTorch refuses an unexpected keyword argument: a misspelt
// `{ paddin: 1 }` would otherwise be ignored and compute something else.
// Keys set to undefined pass, so that one object built from optional
// variables can serve several functions. Keys are checked before anything
// else, as Python binds keyword arguments before the function runs.

/** A function's option names: the list (for messages) and a lookup table. */
export interface OptionKeys {
  readonly names: readonly string[];
  readonly has: Readonly<Record<string, true | undefined>>;
}

function optionKeys(names: readonly string[]): OptionKeys {
  const has: Record<string, true> = Object.create(null) as Record<string, true>;
  for (const k of names) has[k] = true;
  return Object.freeze({ names: Object.freeze([...names]), has: Object.freeze(has) });
}

/**
 * The option names of an options interface T, checked by the compiler to be
 * keys of T and to list all of them: `keysOf<Conv2dOptions>()([...])`.
 */
export function keysOf<T>() {
  return <K extends readonly (keyof T & string)[]>(
    keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : never),
  ): OptionKeys => optionKeys(keys);
}

/** keys and 'signal' (an async twin's options). */
export function withSignal(keys: OptionKeys): OptionKeys {
  return optionKeys([...keys.names, 'signal']);
}

/**
 * Throws a TypeError for the first key of `options` that `op` does not take.
 * Anything but an object passes (undefined, or left to the function's own
 * "options must be an object"). Measured here: ~25 ns for three keys (a
 * lookup in a null-prototype table; Array.prototype.includes took twice as
 * long).
 */
export function checkKeys(op: string, options: unknown, keys: OptionKeys): void {
  if (options === null || typeof options !== 'object') return;
  const has = keys.has;
  for (const key in options) {
    // (Known keys are not read here: a getter runs once, when the function reads it.)
    if (has[key] !== true && (options as Record<string, unknown>)[key] !== undefined) {
      throw new TypeError(`${op}: unexpected option '${key}' (${op} takes ${keys.names.join(', ')})`);
    }
  }
}

/** checkKeys, with anything but undefined or an object a TypeError. */
export function checkOptions(op: string, options: unknown, keys: OptionKeys): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new TypeError(`${op}: options must be an object`);
  checkKeys(op, options, keys);
}
