import {
  BrokenCircuitError as CockatielBrokenCircuitError,
  BulkheadRejectedError as CockatielBulkheadRejectedError,
  TaskCancelledError as CockatielTaskCancelledError,
  isBrokenCircuitError as cockatielIsBrokenCircuitError,
  isBulkheadRejectedError as cockatielIsBulkheadRejectedError,
  isIsolatedCircuitError as cockatielIsIsolatedCircuitError,
  IsolatedCircuitError as CockatielIsolatedCircuitError,
  isTaskCancelledError as cockatielIsTaskCancelledError,
} from 'cockatiel';
import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CancelledError,
  DeadlineExceededError,
  ErrorCode,
  IsolatedCircuitError,
  TimeoutError,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isBulwarkError,
  isCancelledError,
  isDeadlineExceededError,
  isIsolatedCircuitError,
  fromCockatielError,
  isTimeoutError,
} from './errors.js';

const BRAND = Symbol.for('bulwark.error');

type Guard = (error: unknown) => boolean;

interface Case {
  readonly label: string;
  readonly make: () => Error & { readonly code: string };
  readonly code: string;
  readonly name: string;
  readonly message: string;
  readonly guard: Guard;
}

const cases: readonly Case[] = [
  {
    label: 'TimeoutError',
    make: () => new TimeoutError(250),
    code: 'BULWARK_TIMEOUT',
    name: 'TimeoutError',
    message: 'operation timed out after 250 ms',
    guard: isTimeoutError,
  },
  {
    label: 'DeadlineExceededError',
    make: () => new DeadlineExceededError(1000),
    code: 'BULWARK_DEADLINE_EXCEEDED',
    name: 'DeadlineExceededError',
    message: 'deadline of 1000 ms exceeded',
    guard: isDeadlineExceededError,
  },
  {
    label: 'CancelledError',
    make: () => new CancelledError(),
    code: 'BULWARK_CANCELLED',
    name: 'CancelledError',
    message: 'operation cancelled by the caller',
    guard: isCancelledError,
  },
  {
    label: 'BrokenCircuitError',
    make: () => new BrokenCircuitError(),
    code: 'BULWARK_BROKEN_CIRCUIT',
    name: 'BrokenCircuitError',
    message: 'circuit is open',
    guard: (e) => isBrokenCircuitError(e) && !isIsolatedCircuitError(e),
  },
  {
    label: 'IsolatedCircuitError',
    make: () => new IsolatedCircuitError(),
    code: 'BULWARK_ISOLATED_CIRCUIT',
    name: 'IsolatedCircuitError',
    message: 'circuit is isolated',
    guard: isIsolatedCircuitError,
  },
  {
    label: 'BulkheadRejectedError',
    make: () => new BulkheadRejectedError('full', 10, 5),
    code: 'BULWARK_BULKHEAD_REJECTED',
    name: 'BulkheadRejectedError',
    message: 'bulkhead full: 10 calls running and 5 queued',
    guard: isBulkheadRejectedError,
  },
];

describe('ErrorCode', () => {
  it('keeps its published codes', () => {
    expect(ErrorCode).toEqual({
      Timeout: 'BULWARK_TIMEOUT',
      DeadlineExceeded: 'BULWARK_DEADLINE_EXCEEDED',
      Cancelled: 'BULWARK_CANCELLED',
      BrokenCircuit: 'BULWARK_BROKEN_CIRCUIT',
      IsolatedCircuit: 'BULWARK_ISOLATED_CIRCUIT',
      BulkheadRejected: 'BULWARK_BULKHEAD_REJECTED',
    });
  });

  it('gives every error class its own code', () => {
    const codes = cases.map((c) => c.make().code);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe.each(cases)('$label', ({ make, code, name, message, guard }) => {
  it('carries its code, name and message', () => {
    const error = make();
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(error.message).toBe(message);
    expect(String(error)).toBe(`${name}: ${message}`);
    expect(error.stack).toContain(name);
  });

  it('exposes the code as an enumerable, read-only property', () => {
    const error = make();
    expect(Object.keys(error)).toContain('code');
    expect(() => {
      (error as { code: string }).code = 'OTHER';
    }).toThrow(TypeError);
    expect(error.code).toBe(code);
  });

  it('is recognised by its guard and by isBulwarkError', () => {
    const error = make();
    expect(guard(error)).toBe(true);
    expect(isBulwarkError(error)).toBe(true);
  });

  it('is not recognised by the guards of the other errors', () => {
    const error = make();
    for (const other of cases) {
      if (other.code === code) continue;
      expect(other.guard(error)).toBe(false);
    }
  });

  it('is recognised when it comes from another installed copy (brand symbol and code)', () => {
    const foreign = { [BRAND]: true, code, message: 'from another copy' };
    expect(guard(foreign)).toBe(true);
    expect(isBulwarkError(foreign)).toBe(true);
  });

  it('is not recognised from a look-alike that lacks the brand', () => {
    const lookAlike = Object.assign(new Error(message), { code, name });
    expect(guard(lookAlike)).toBe(false);
    expect(guard({ code })).toBe(false);
    expect(isBulwarkError(lookAlike)).toBe(false);
  });
});

describe('guards on values that are not errors', () => {
  const guards: ReadonlyArray<readonly [string, Guard]> = [
    ['isBulwarkError', isBulwarkError],
    ['isTimeoutError', isTimeoutError],
    ['isDeadlineExceededError', isDeadlineExceededError],
    ['isCancelledError', isCancelledError],
    ['isBrokenCircuitError', isBrokenCircuitError],
    ['isIsolatedCircuitError', isIsolatedCircuitError],
    ['isBulkheadRejectedError', isBulkheadRejectedError],
  ];
  const values: readonly unknown[] = [
    null,
    undefined,
    0,
    'BULWARK_TIMEOUT',
    {},
    { code: 'BULWARK_TIMEOUT' },
    { [BRAND]: 'yes', code: 'BULWARK_TIMEOUT' },
    new Error('plain'),
    new CockatielTaskCancelledError(),
    new CockatielBrokenCircuitError(),
    new CockatielBulkheadRejectedError(1, 1),
  ];

  it.each(guards)(
    '%s returns false for null, strings, plain objects and foreign errors',
    (_, guard) => {
      for (const value of values) expect(guard(value)).toBe(false);
    },
  );

  it('isBulwarkError needs only the brand, whatever the code', () => {
    expect(isBulwarkError({ [BRAND]: true })).toBe(true);
    expect(isTimeoutError({ [BRAND]: true })).toBe(false);
  });
});

describe('TimeoutError', () => {
  it('keeps the timeout and an optional cause', () => {
    const cause = new Error('socket');
    const error = new TimeoutError(500, { cause });
    expect(error.timeoutMs).toBe(500);
    expect(error.cause).toBe(cause);
  });
});

describe('DeadlineExceededError', () => {
  it('says only "deadline exceeded" when the budget is unknown', () => {
    const error = new DeadlineExceededError(undefined);
    expect(error.message).toBe('deadline exceeded');
    expect(error.budgetMs).toBeUndefined();
  });

  it('takes a custom message and a cause', () => {
    const cause = new Error('slow');
    const error = new DeadlineExceededError(2000, 'no time left for attempt 3', { cause });
    expect(error.message).toBe('no time left for attempt 3');
    expect(error.budgetMs).toBe(2000);
    expect(error.cause).toBe(cause);
  });
});

describe('CancelledError', () => {
  it("is a cockatiel TaskCancelledError, so cockatiel's checks keep working", () => {
    const error = new CancelledError();
    expect(error).toBeInstanceOf(CockatielTaskCancelledError);
    expect(cockatielIsTaskCancelledError(error)).toBe(true);
  });

  it("keeps the caller's abort reason and a custom message", () => {
    const reason = new Error('user navigated away');
    const error = new CancelledError('request abandoned', reason);
    expect(error.reason).toBe(reason);
    expect(error.message).toBe('request abandoned');
    expect(error.code).toBe(ErrorCode.Cancelled);
  });
});

describe('BrokenCircuitError', () => {
  it("is a cockatiel BrokenCircuitError, so cockatiel's checks keep working", () => {
    const error = new BrokenCircuitError();
    expect(error).toBeInstanceOf(CockatielBrokenCircuitError);
    expect(cockatielIsBrokenCircuitError(error)).toBe(true);
  });

  it('keeps the key and the time until a trial call', () => {
    const error = new BrokenCircuitError('circuit payments is open', 'payments', 1500);
    expect(error.message).toBe('circuit payments is open');
    expect(error.key).toBe('payments');
    expect(error.retryAfterMs).toBe(1500);
  });

  it('is not an IsolatedCircuitError', () => {
    expect(isIsolatedCircuitError(new BrokenCircuitError())).toBe(false);
  });
});

describe('IsolatedCircuitError', () => {
  it('is a BrokenCircuitError (ours and cockatiel’s) with its own code', () => {
    const error = new IsolatedCircuitError('payments');
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error).toBeInstanceOf(CockatielBrokenCircuitError);
    expect(isBrokenCircuitError(error)).toBe(true);
    expect(isIsolatedCircuitError(error)).toBe(true);
    expect(error.code).toBe('BULWARK_ISOLATED_CIRCUIT');
    expect(error.name).toBe('IsolatedCircuitError');
  });

  it("is recognised by cockatiel's isIsolatedCircuitError", () => {
    expect(cockatielIsIsolatedCircuitError(new IsolatedCircuitError())).toBe(true);
    expect(cockatielIsIsolatedCircuitError(new BrokenCircuitError())).toBe(false);
  });

  it('names the key in its message and keeps it', () => {
    const error = new IsolatedCircuitError('payments');
    expect(error.message).toBe('circuit payments is isolated');
    expect(error.key).toBe('payments');
  });

  it('can be constructed many times (its code is defined once)', () => {
    expect(() => [new IsolatedCircuitError(), new IsolatedCircuitError('a')]).not.toThrow();
  });
});

describe('BulkheadRejectedError', () => {
  it("is a cockatiel BulkheadRejectedError, so cockatiel's checks keep working", () => {
    const error = new BulkheadRejectedError('full', 4, 0);
    expect(error).toBeInstanceOf(CockatielBulkheadRejectedError);
    expect(cockatielIsBulkheadRejectedError(error)).toBe(true);
  });

  it('keeps the reason, limits and Retry-After hint', () => {
    const error = new BulkheadRejectedError('full', 4, 2, 250);
    expect(error.reason).toBe('full');
    expect(error.limit).toBe(4);
    expect(error.queueLimit).toBe(2);
    expect(error.retryAfterMs).toBe(250);
  });

  it('says when a queued call waited too long', () => {
    expect(new BulkheadRejectedError('queue-timeout', 4, 2).message).toBe(
      'bulkhead queue timeout: no slot freed in time (limit 4, queue 2)',
    );
  });

  it('says when a call was shed rather than calling the bulkhead full', () => {
    expect(new BulkheadRejectedError('shed', 4, 2).message).toBe(
      'load shed: call rejected to protect the service (limit 4, queue 2)',
    );
  });
});

describe('fromCockatielError', () => {
  it('turns cockatiel’s breaker and bulkhead errors into Bulwark’s, keeping the original as cause', () => {
    const open = new CockatielBrokenCircuitError();
    const translated = fromCockatielError(open) as Error;
    expect(isBrokenCircuitError(translated)).toBe(true);
    expect(isIsolatedCircuitError(translated)).toBe(false);
    expect(translated.cause).toBe(open);
    const isolated = fromCockatielError(new CockatielIsolatedCircuitError());
    expect(isIsolatedCircuitError(isolated)).toBe(true);
    const full = fromCockatielError(new CockatielBulkheadRejectedError(2, 0)) as Error;
    expect(isBulkheadRejectedError(full)).toBe(true);
    expect(full.message).toBe(new CockatielBulkheadRejectedError(2, 0).message);
  });

  it('returns everything else as it is', () => {
    const plain = new Error('x');
    expect(fromCockatielError(plain)).toBe(plain);
    const ours = new TimeoutError(5);
    expect(fromCockatielError(ours)).toBe(ours);
    expect(fromCockatielError('text')).toBe('text');
    expect(fromCockatielError(null)).toBe(null);
  });
});
