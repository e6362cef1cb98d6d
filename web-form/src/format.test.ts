import { describe, expect, it } from 'vitest';
import {
  CATEGORY_LABELS,
  categoryLabel,
  channelLabel,
  channelsText,
  counterText,
  directionLabel,
  errorSummary,
  escalationNote,
  escalationTeam,
  formatTimestamp,
  PRIORITY_LABELS,
  priorityLabel,
  splitParagraphs,
  statusLabel,
  ticketStatusText,
} from './format';
import { rules } from './rules';

describe('labels', () => {
  it('status labels', () => {
    expect(statusLabel('open')).toMatch(/^Open/);
    expect(statusLabel('answered')).toBe('Answered');
    expect(statusLabel('escalated')).toMatch(/^Escalated/);
    expect(statusLabel('resolved')).toBe('Resolved');
    expect(statusLabel('waiting_on_customer')).toBe('Waiting on customer');
  });
  it('category labels: one for each category of the rules, and no others', () => {
    expect(Object.keys(CATEGORY_LABELS)).toEqual(rules.categories);
    for (const c of rules.categories) {
      expect(categoryLabel(c)).toBe(CATEGORY_LABELS[c]);
      expect(categoryLabel(c)).toMatch(/^[A-Z][a-z]+( [a-z]+)*$/);
    }
    expect(categoryLabel('some_new_thing')).toBe('Some new thing');
  });
  it('priority labels: one for each priority of the rules, and no others', () => {
    expect(Object.keys(PRIORITY_LABELS)).toEqual(rules.priorities);
    for (const p of rules.priorities) expect(priorityLabel(p)).toBe(p.charAt(0).toUpperCase() + p.slice(1));
  });
  it('direction and channel labels', () => {
    expect(directionLabel('inbound')).toBe('You');
    expect(directionLabel('outbound')).toBe('Support team');
    expect(channelLabel('web_form')).toBe('Web form');
    expect(channelLabel('whatsapp')).toBe('WhatsApp');
    expect(channelLabel('email')).toBe('Email');
  });
  it("the customer's proven channels as one phrase, nothing while unproven", () => {
    expect(channelsText(['email', 'whatsapp'])).toBe('Email and WhatsApp');
    expect(channelsText(['email', 'web_form', 'whatsapp'])).toBe('Email, Web form, and WhatsApp');
    expect(channelsText(['whatsapp'])).toBe('WhatsApp');
    expect(channelsText([])).toBeNull();
    expect(channelsText(undefined)).toBeNull();
  });
});

describe('escalation: the team, never the reason code', () => {
  it('the rules name a team for every reason, with a fallback "other"', () => {
    expect(Object.keys(rules.escalation_teams).length).toBeGreaterThan(0);
    expect(rules.escalation_teams.other).toBeTruthy();
    for (const [reason, team] of Object.entries(rules.escalation_teams)) {
      expect(reason).toMatch(/^[a-z][a-z_]*$/);
      expect(team).toMatch(/^our [a-z ]+$/);
    }
  });
  it.each(Object.entries(rules.escalation_teams))('%s → %s', (reason, team) => {
    expect(escalationTeam(reason)).toBe(team);
    expect(escalationNote(reason)).toBe(`Passed to ${team}. Someone from the team will reply to you personally.`);
    expect(ticketStatusText({ status: 'escalated', escalation_reason: reason })).toBe(`Escalated — passed to ${team}`);
  });
  it('a missing or unknown reason reads as "other", never as the code', () => {
    for (const reason of [null, undefined, '', 'customer_request', '__proto__', 'toString', 'constructor']) {
      expect(escalationTeam(reason)).toBe(rules.escalation_teams.other);
    }
    expect(escalationNote('customer_request')).not.toMatch(/customer_request/);
  });
  it('other statuses are just their label', () => {
    expect(ticketStatusText({ status: 'answered', escalation_reason: null })).toBe('Answered');
    expect(ticketStatusText({ status: 'open' })).toMatch(/^Open/);
  });
});

describe('formatTimestamp', () => {
  it('formats RFC 3339 with Intl in the given locale and zone', () => {
    const iso = '2024-03-05T14:07:00Z';
    expect(formatTimestamp(iso, 'en-US', 'UTC')).toBe(
      new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(
        new Date(iso),
      ),
    );
    expect(formatTimestamp(iso, 'en-US', 'UTC')).toMatch(/Mar 5, 2024/);
    expect(formatTimestamp(iso, 'de-DE', 'UTC')).toMatch(/05\.03\.2024/);
  });
  it('honours offsets', () => {
    expect(formatTimestamp('2024-03-05T23:30:00-02:00', 'en-GB', 'UTC')).toMatch(/6 Mar 2024/);
  });
  it('returns the input for an unparseable timestamp', () => {
    expect(formatTimestamp('not a date')).toBe('not a date');
  });
});

describe('counter and summary', () => {
  it('counterText', () => {
    const max = rules.message.max;
    expect(counterText('', max)).toBe(`0 / ${max}`);
    expect(counterText('a'.repeat(123), max)).toBe(`123 / ${max}`);
    expect(counterText('😀é', max)).toBe(`2 / ${max}`);
  });
  it('errorSummary', () => {
    expect(errorSummary(0)).toBe('');
    expect(errorSummary(1)).toBe('1 field needs attention');
    expect(errorSummary(2)).toBe('2 fields need attention');
  });
});

describe('splitParagraphs', () => {
  it('splits on blank lines and keeps single newlines', () => {
    expect(splitParagraphs('Hi,\n\nThanks for writing.\nLine two.\r\n\r\n\r\nBye')).toEqual([
      'Hi,',
      'Thanks for writing.\nLine two.',
      'Bye',
    ]);
  });
  it('drops empty paragraphs', () => {
    expect(splitParagraphs('  \n\n  ')).toEqual([]);
    expect(splitParagraphs('one')).toEqual(['one']);
  });
});
