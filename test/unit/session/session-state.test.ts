import { describe, expect, it } from 'vitest';
import { SessionState } from '../../../src/session/session-state.js';

describe('SessionState.pinReason', () => {
  it('names the state that pins the connection', () => {
    const state = new SessionState();
    expect(state.pinReason()).toBe('blocking command');
    state.readOnly = true;
    expect(state.pinReason()).toBe('READONLY');
    state.watching = true;
    expect(state.pinReason()).toBe('WATCH');
  });
});
