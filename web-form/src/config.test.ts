import { describe, expect, it } from 'vitest';
import { parseHash, statusHash } from './config';
import { clearDraft, DRAFT_KEY, loadDraft, saveDraft } from './draft';
import { memoryStorage } from './testing';
import { emptyValues } from './validation';

describe('hash routing', () => {
  const id = `tkt_${'0f'.repeat(16)}`;
  it('parses routes', () => {
    expect(parseHash('')).toEqual({ view: 'form' });
    expect(parseHash('#/')).toEqual({ view: 'form' });
    expect(parseHash('#/status')).toEqual({ view: 'status', id: '' });
    expect(parseHash(`#/status/${id}`)).toEqual({ view: 'status', id });
    expect(parseHash(`#/status/${id}/`)).toEqual({ view: 'status', id });
    expect(parseHash('#/status/%E0%A4%A')).toEqual({ view: 'status', id: '%E0%A4%A' });
    expect(parseHash('#/elsewhere')).toEqual({ view: 'form' });
  });
  it('round-trips', () => {
    expect(parseHash(statusHash(id))).toEqual({ view: 'status', id });
  });
});

describe('draft persistence', () => {
  it('saves, loads and clears', () => {
    const s = memoryStorage();
    const v = { ...emptyValues(), name: 'Ada', message: 'half-typed' };
    saveDraft(v, s);
    expect(loadDraft(s)).toEqual(v);
    clearDraft(s);
    expect(s.data.has(DRAFT_KEY)).toBe(false);
    expect(loadDraft(s)).toEqual(emptyValues());
  });
  it('ignores corrupt or foreign data', () => {
    const s = memoryStorage();
    s.setItem(DRAFT_KEY, '{not json');
    expect(loadDraft(s)).toEqual(emptyValues());
    s.setItem(DRAFT_KEY, JSON.stringify({ name: 42, email: 'a@b.co', evil: 'x' }));
    expect(loadDraft(s)).toEqual({ ...emptyValues(), email: 'a@b.co' });
  });
  it('works without storage', () => {
    expect(loadDraft(null)).toEqual(emptyValues());
    expect(() => saveDraft(emptyValues(), null)).not.toThrow();
  });
});
