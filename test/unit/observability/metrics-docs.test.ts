import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../../src/observability/metrics.js';

const README = readFileSync('README.md', 'utf8');
const DECLARED = new Set<string>(METRICS.map((metric) => metric.name));

describe('metric names in the README', () => {
  it('names the authentication counter', () => {
    expect(DECLARED.has('respguard_authentications_total')).toBe(true);
    expect(README).toContain('`respguard_authentications_total`');
  });

  it('names only declared metrics', () => {
    const named = new Set(README.match(/respguard_[a-z_]+/g) ?? []);
    expect(named.size).toBeGreaterThan(0);
    expect([...named].filter((name) => !DECLARED.has(name))).toEqual([]);
  });
});
