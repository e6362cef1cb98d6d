import { describe, expect, it } from 'vitest';
import {
  categoryLabel,
  channelLabel,
  counterText,
  directionLabel,
  errorSummary,
  formatTimestamp,
  priorityLabel,
  splitParagraphs,
  statusLabel,
} from './format';

describe('labels', () => {
  it('status labels', () => {
    expect(statusLabel('open')).toMatch(/^Open/);
    expect(statusLabel('answered')).toBe('Answered');
    expect(statusLabel('escalated')).toMatch(/^Escalated/);
    expect(statusLabel('resolved')).toBe('Resolved');
    expect(statusLabel('waiting_on_customer')).toBe('Waiting on customer');
  });
  it('category labels', () => {
    expect(categoryLabel('general')).toBe('General question');
    expect(categoryLabel('technical')).toBe('Technical support');
    expect(categoryLabel('billing')).toBe('Billing');
    expect(categoryLabel('bug_report')).toBe('Bug report');
    expect(categoryLabel('feedback')).toBe('Feedback');
  });
  it('priority, direction and channel labels', () => {
    expect(priorityLabel('medium')).toBe('Medium');
    expect(directionLabel('inbound')).toBe('You');
    expect(directionLabel('outbound')).toBe('Support team');
    expect(channelLabel('web_form')).toBe('Web form');
    expect(channelLabel('whatsapp')).toBe('WhatsApp');
    expect(channelLabel('email')).toBe('Email');
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
    expect(counterText('', 5000)).toBe('0 / 5000');
    expect(counterText('a'.repeat(123), 5000)).toBe('123 / 5000');
    expect(counterText('😀é', 5000)).toBe('2 / 5000');
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
