// The error a call throws (sync) or its Promise rejects with (async); fails
// the test when there is none. Shared by the async and out tests.
export async function errorOf(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
