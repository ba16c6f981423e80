import { hexByte, randomHex } from './random.js';

/** The parsed `traceparent` of W3C Trace Context (version 00 fields). */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** 16 lowercase hex digits, not all zero: the caller's span. */
  readonly parentId: string;
  /** The trace-flags byte, every bit as received. Bit 0 is `sampled`, bit 1 `random`. */
  readonly flags: number;
}

/** The caller may have recorded the trace (W3C Trace Context). */
export const SAMPLED_FLAG = 0x01;
/**
 * At least the right-most 7 bytes of the trace ID are random (W3C Trace Context Level 2), so a
 * sampler may hash them. Once unset for a trace ID, it must stay unset wherever it goes.
 */
export const RANDOM_FLAG = 0x02;
/** The flags Trace Context defines; the spec says to send every other bit as zero. */
const KNOWN_FLAGS = SAMPLED_FLAG | RANDOM_FLAG;

const VERSION_00_LENGTH = 55;
const TRACE_ID_START = 3;
const PARENT_ID_START = 36;
const FLAGS_START = 53;
const INVALID_VERSION = 'ff';

/** Lowercase hex only: the spec's HEXDIGLC. Upper case is invalid, not normalised. */
function isLowerHex(value: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isAllZeros(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) !== 0x30) return false;
  return true;
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Parses a `traceparent` header value strictly, per W3C Trace Context: lowercase hex, exact
 * field lengths, trace-id and parent-id not all zeros, version `ff` refused. Version 00 must be
 * exactly 55 characters; a higher version is parsed for its version-00 fields, which must be
 * followed by the end of the value or a `-` (the spec's forward-compatibility rule).
 * Surrounding spaces and tabs (HTTP's optional whitespace) are ignored.
 * Returns undefined for anything else: the caller then starts a new trace.
 */
export function parseTraceparent(value: string): TraceParent | undefined {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  if (start !== 0 || end !== value.length) value = value.slice(start, end);

  if (value.length < VERSION_00_LENGTH) return undefined;
  if (!isLowerHex(value, 0, 2) || value.charCodeAt(2) !== 0x2d) return undefined;
  const version = value.slice(0, 2);
  if (version === INVALID_VERSION) return undefined;
  if (version === '00') {
    if (value.length !== VERSION_00_LENGTH) return undefined;
  } else if (value.length > VERSION_00_LENGTH && value.charCodeAt(VERSION_00_LENGTH) !== 0x2d) {
    return undefined;
  }
  if (value.charCodeAt(35) !== 0x2d || value.charCodeAt(52) !== 0x2d) return undefined;
  if (!isLowerHex(value, TRACE_ID_START, 35)) return undefined;
  if (!isLowerHex(value, PARENT_ID_START, 52)) return undefined;
  if (!isLowerHex(value, FLAGS_START, VERSION_00_LENGTH)) return undefined;
  const traceId = value.slice(TRACE_ID_START, 35);
  const parentId = value.slice(PARENT_ID_START, 52);
  if (isAllZeros(traceId) || isAllZeros(parentId)) return undefined;
  return { traceId, parentId, flags: parseInt(value.slice(FLAGS_START, VERSION_00_LENGTH), 16) };
}

/**
 * A version-00 `traceparent` value. The sampled and random flags are kept as given; the other
 * bits are sent as zero, as the spec requires of bits it does not define.
 */
export function formatTraceparent(traceId: string, parentId: string, flags: number): string {
  return `00-${traceId}-${parentId}-${hexByte(flags & KNOWN_FLAGS)}`;
}

/**
 * A new random trace ID: 32 lowercase hex digits, never all zeros. Every byte comes from the
 * CSPRNG, so a trace that starts with one may carry {@link RANDOM_FLAG}.
 */
export function generateTraceId(): string {
  return randomHex(16);
}

/** A new random span ID: 16 lowercase hex digits, never all zeros. */
export function generateSpanId(): string {
  return randomHex(8);
}
