/** How a promise settled so far, read without awaiting it. */
export interface Tracked {
  settled(): 'pending' | 'resolved' | 'rejected';
  value(): unknown;
  error(): unknown;
}

/** Watches a promise, so a test can check it has (or has not) settled; never leaves it unhandled. */
export function track(promise: Promise<unknown>): Tracked {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let value: unknown;
  let reason: unknown;
  promise.then(
    (result) => {
      state = 'resolved';
      value = result;
    },
    (error: unknown) => {
      state = 'rejected';
      reason = error;
    },
  );
  return { settled: () => state, value: () => value, error: () => reason };
}

/** A promise with its settle functions, to hold a reply until a test lets it go. */
export interface Gate<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function gate<T>(): Gate<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
