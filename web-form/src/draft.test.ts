import { describe, expect, it } from 'vitest';
import {
  clearDraft,
  DRAFT_KEY,
  FOLLOW_UP_DRAFT_KEY,
  loadDraft,
  loadFollowUpDraft,
  saveDraft,
  saveFollowUpDraft,
} from './draft';
import { memoryStorage } from './testing';
import { emptyValues } from './validation';

const TID = `tkt_${'a'.repeat(32)}`;
const OTHER = `tkt_${'b'.repeat(32)}`;

describe("the form's draft", () => {
  it('saves, loads and clears; ignores corrupt data and unknown keys', () => {
    const s = memoryStorage();
    const values = { ...emptyValues(), name: 'Ada', message: 'Half written' };
    saveDraft(values, s);
    expect(loadDraft(s)).toEqual(values);
    clearDraft(s);
    expect(s.data.has(DRAFT_KEY)).toBe(false);
    s.setItem(DRAFT_KEY, '{not json');
    expect(loadDraft(s)).toEqual(emptyValues());
    s.setItem(DRAFT_KEY, '{"name":7,"evil":"x","subject":"Kept"}');
    expect(loadDraft(s)).toEqual({ ...emptyValues(), subject: 'Kept' });
    expect(loadDraft(null)).toEqual(emptyValues());
  });
});

describe('the draft of a follow-up', () => {
  it('is kept for its ticket only', () => {
    const s = memoryStorage();
    saveFollowUpDraft(TID, 'One more question', s);
    expect(loadFollowUpDraft(TID, s)).toBe('One more question');
    expect(loadFollowUpDraft(OTHER, s)).toBe('');
  });
  it('an empty text drops it', () => {
    const s = memoryStorage();
    saveFollowUpDraft(TID, 'One more question', s);
    saveFollowUpDraft(TID, '', s);
    expect(s.data.has(FOLLOW_UP_DRAFT_KEY)).toBe(false);
  });
  it("is apart from the form's draft", () => {
    const s = memoryStorage();
    saveDraft({ ...emptyValues(), message: 'The form' }, s);
    saveFollowUpDraft(TID, 'The follow-up', s);
    expect(loadDraft(s).message).toBe('The form');
    expect(loadFollowUpDraft(TID, s)).toBe('The follow-up');
  });
  it('ignores corrupt data, and works without storage', () => {
    const s = memoryStorage();
    for (const raw of ['{not json', 'null', '[]', `{"ticket_id":"${TID}","message":3}`, `{"message":"x"}`]) {
      s.setItem(FOLLOW_UP_DRAFT_KEY, raw);
      expect(loadFollowUpDraft(TID, s)).toBe('');
    }
    expect(loadFollowUpDraft(TID, null)).toBe('');
    expect(() => saveFollowUpDraft(TID, 'x', null)).not.toThrow();
  });
});
