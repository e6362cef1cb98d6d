import { describe, expect, it } from 'vitest';
import { ageText, authorLabel, percent, queueSummary, reasonLabel, slaLabel } from './labels';

describe('SLA badge text', () => {
  it('says every state in words', () => {
    expect(['on_track', 'at_risk', 'breached', 'met'].map(slaLabel)).toEqual(['On track', 'At risk', 'Breached', 'Met']);
  });
  it('still says a state it does not know', () => {
    expect(slaLabel('paused_for_customer')).toBe('Paused for customer');
  });
});

describe('labels', () => {
  it('ages', () => {
    expect(ageText(0)).toBe('0 min');
    expect(ageText(59)).toBe('59 min');
    expect(ageText(60)).toBe('1 h');
    expect(ageText(125)).toBe('2 h 5 min');
    expect(ageText(24 * 60)).toBe('1 d');
    expect(ageText(3 * 1440 + 4 * 60 + 10)).toBe('3 d 4 h');
    expect(ageText(-3)).toBe('0 min');
  });
  it('reasons, authors and rates', () => {
    expect(reasonLabel('refund')).toBe('Refund');
    expect(reasonLabel('human_request')).toBe('Asked for a person');
    expect(reasonLabel(null)).toBe('—');
    expect(authorLabel({ author: 'person', author_name: 'alice' })).toBe('alice (person)');
    expect(authorLabel({ author: 'customer', author_name: null })).toBe('Customer');
    expect(percent(0.8333)).toBe('83%');
    expect(percent(null)).toBe('—');
  });
  it('sums up the queue for the live region', () => {
    expect(queueSummary({ tickets: [], sla_counts: { at_risk: 1, breached: 2 } })).toBe('0 tickets. At risk: 1. Breached: 2.');
  });
});
