import { describe, expect, it } from 'vitest';
import { Endpoint } from './endpoint.js';

const DECAY_MS = 10_000;

describe('Endpoint latency estimate', () => {
  it('leaves out the first outcome when it is a failure, and takes in the answer after it', () => {
    const endpoint = new Endpoint('http://10.0.0.1:8080', 'http://10.0.0.1:8080', 0);
    endpoint.failure(2_000, 2_000, DECAY_MS);
    endpoint.answer(5, 2_000, DECAY_MS);
    expect(endpoint.latency(2_000, DECAY_MS)).toBe(5);
  });

  it('lets a failure raise the estimate to its elapsed time but never lower it', () => {
    const endpoint = new Endpoint('http://10.0.0.1:8080', 'http://10.0.0.1:8080', 0);
    endpoint.answer(1, 0, DECAY_MS);
    endpoint.answer(50, 0, DECAY_MS);
    endpoint.failure(2, 0, DECAY_MS);
    expect(endpoint.latency(0, DECAY_MS)).toBe(50);
    endpoint.failure(400, 0, DECAY_MS);
    expect(endpoint.latency(0, DECAY_MS)).toBe(400);
  });
});
