import { describe, expect, it } from 'vitest';
import rulesJson from '../../shared/webform-rules.json';
import { rules } from './rules';
import {
  charCount,
  emptyValues,
  errorCount,
  firstInvalidField,
  isValidEmail,
  isValidTicketId,
  toFollowUpPayload,
  toPayload,
  validate,
  validateField,
  validateMessage,
  type FormValues,
} from './validation';

const valid: FormValues = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  subject: 'Cannot export board',
  category: rules.categories[0],
  priority: rules.priorities[rules.priorities.length - 1],
  message: 'The CSV export button does nothing on my board.',
};

const withField = (f: keyof FormValues, v: string): FormValues => ({ ...valid, [f]: v });

describe('rules come from the shared source of truth', () => {
  it('uses shared/webform-rules.json', () => {
    expect(rules).toEqual(rulesJson);
  });
  it('the file is coherent', () => {
    for (const f of ['name', 'subject', 'message'] as const) {
      expect(rules[f].min).toBeGreaterThanOrEqual(1);
      expect(rules[f].max).toBeGreaterThanOrEqual(rules[f].min);
    }
    expect(rules.email.max).toBeGreaterThan(0);
    for (const list of [rules.categories, rules.priorities]) {
      expect(list.length).toBeGreaterThan(0);
      expect(new Set(list).size).toBe(list.length);
      for (const code of list) expect(code).toMatch(/^[a-z][a-z_]*$/);
    }
    expect(rules.priorities).toContain(rules.default_priority);
  });
});

describe('validate', () => {
  it('accepts a complete valid form', () => {
    expect(validate(valid)).toEqual({});
  });

  it('reports every required field on an empty form', () => {
    const errors = validate(emptyValues());
    expect(Object.keys(errors).sort()).toEqual(['category', 'email', 'message', 'name', 'subject']);
    expect(errorCount(errors)).toBe(5);
    expect(firstInvalidField(errors)).toBe('name');
  });

  for (const [field, { min, max }] of [
    ['name', rules.name],
    ['subject', rules.subject],
    ['message', rules.message],
  ] as const) {
    describe(`${field} length ${min}–${max}`, () => {
      it(`rejects ${min - 1}, accepts ${min}`, () => {
        expect(validateField(field, withField(field, 'a'.repeat(min - 1)))).toMatch(/at least/);
        expect(validateField(field, withField(field, 'a'.repeat(min)))).toBeUndefined();
      });
      it(`accepts ${max}, rejects ${max + 1}`, () => {
        expect(validateField(field, withField(field, 'a'.repeat(max)))).toBeUndefined();
        expect(validateField(field, withField(field, 'a'.repeat(max + 1)))).toMatch(/at most/);
      });
      it('trims before checking', () => {
        expect(validateField(field, withField(field, `  ${'a'.repeat(min - 1)}  `))).toMatch(/at least/);
        expect(validateField(field, withField(field, `\n ${'a'.repeat(max)} \t`))).toBeUndefined();
      });
      it('whitespace only counts as empty', () => {
        expect(validateField(field, withField(field, '   \n '))).toMatch(/^Please enter/);
      });
    });
  }

  it('counts code points, not UTF-16 units (emoji)', () => {
    const { min, max } = rules.name;
    expect(charCount('😀😀')).toBe(2);
    expect(validateField('name', withField('name', '😀'.repeat(Math.max(min, 2))))).toBeUndefined();
    expect(validateField('name', withField('name', '😀'.repeat(max)))).toBeUndefined();
    expect(validateField('name', withField('name', '😀'.repeat(max + 1)))).toMatch(new RegExp(`at most ${max}`));
  });

  describe('email', () => {
    it.each(['ada@example.com', 'a.b+tag@sub.example.co.uk', "o'brien@example.ie", 'x@a-b.io', '  pad@example.com  '])(
      'accepts %s',
      (e) => {
        expect(validateField('email', withField('email', e))).toBeUndefined();
      },
    );
    it.each([
      'plain',
      '@example.com',
      'ada@',
      'ada@example',
      'ada@@example.com',
      'ada @example.com',
      'ada@exa mple.com',
      '.ada@example.com',
      'ada.@example.com',
      'a..da@example.com',
      'ada@-example.com',
      'ada@example..com',
      'ada@example.com.',
    ])('rejects %s', (e) => {
      expect(validateField('email', withField('email', e))).toMatch(/valid email/);
    });
    it('requires a value', () => {
      expect(validateField('email', withField('email', '  '))).toMatch(/enter your email/);
    });
    it(`max ${rules.email.max} characters`, () => {
      const max = rules.email.max;
      const domain = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.com`; // 185
      expect(max - 1 - domain.length).toBeGreaterThan(0);
      const ok = `${'x'.repeat(max - 1 - domain.length)}@${domain}`;
      expect(ok.length).toBe(max);
      expect(isValidEmail(ok)).toBe(true);
      const tooLong = `x${ok}`;
      expect(tooLong.length).toBe(max + 1);
      expect(validateField('email', withField('email', tooLong))).toMatch(new RegExp(`at most ${max}`));
    });
  });

  describe('category', () => {
    it.each(rules.categories)('accepts %s', (c) => {
      expect(validateField('category', withField('category', c))).toBeUndefined();
    });
    // Not a category: empty, unknown, another case, a space for the underscore.
    const notCategories = [
      '',
      'no_such_category',
      ...rules.categories.map((c) => c.charAt(0).toUpperCase() + c.slice(1)),
      ...rules.categories.filter((c) => c.includes('_')).map((c) => c.replace(/_/g, ' ')),
    ];
    it.each(notCategories)('rejects "%s"', (c) => {
      expect(validateField('category', withField('category', c))).toMatch(/choose a category/);
    });
  });

  describe('priority', () => {
    it.each(rules.priorities)('accepts %s', (p) => {
      expect(validateField('priority', withField('priority', p))).toBeUndefined();
    });
    it('empty is allowed (the default priority applies)', () => {
      expect(validateField('priority', withField('priority', ''))).toBeUndefined();
    });
    it('rejects unknown values', () => {
      expect(rules.priorities).not.toContain('urgent');
      expect(validateField('priority', withField('priority', 'urgent'))).toMatch(/priority/);
    });
  });
});

describe('defaults and payload', () => {
  it('the empty form starts on the default priority', () => {
    expect(emptyValues().priority).toBe(rules.default_priority);
  });

  it('toPayload trims every field and fills the default priority', () => {
    expect(
      toPayload({
        name: '  Ada  ',
        email: ' ada@example.com\n',
        subject: '\tHello there ',
        category: `${rules.categories[0]} `,
        priority: '',
        message: '  a long enough message  ',
      }),
    ).toEqual({
      name: 'Ada',
      email: 'ada@example.com',
      subject: 'Hello there',
      category: rules.categories[0],
      priority: rules.default_priority,
      message: 'a long enough message',
    });
  });

  it('toPayload has exactly the six contract keys', () => {
    expect(Object.keys(toPayload(valid)).sort()).toEqual(
      ['category', 'email', 'message', 'name', 'priority', 'subject'],
    );
  });
});

describe('a follow-up on a ticket', () => {
  it.each([
    ['empty', ''],
    ['blank', ' \u200B\n\t '],
    ['too short', 'a'.repeat(rules.message.min - 1)],
    ['short once trimmed', `  ${'a'.repeat(rules.message.min - 1)}  `],
    ['too long', 'a'.repeat(rules.message.max + 1)],
    ['with a control character', 'Hello\u0000there, it broke'],
    ['valid', 'And can I export only one column?'],
  ])('%s: the same verdict as the form\'s message', (_name, message) => {
    expect(validateMessage(message)).toBe(validateField('message', withField('message', message)));
  });
  it('uses the form\'s wording', () => {
    expect(validateMessage('')).toBe('Please enter a message.');
    expect(validateMessage('short')).toBe(`Message must be at least ${rules.message.min} characters.`);
  });
  it('is sent trimmed and without bidi controls, as {"message"} alone', () => {
    expect(toFollowUpPayload('  \u202EOne more question \n')).toEqual({ message: 'One more question' });
  });
  it('the longest valid follow-up stays under max_body_bytes', () => {
    // Four UTF-8 bytes per code point is the most any character takes; \t and \n are escaped in two.
    const message = '\u{1F600}'.repeat(rules.message.max);
    expect(validateMessage(message)).toBeUndefined();
    const bytes = new TextEncoder().encode(JSON.stringify(toFollowUpPayload(message))).length;
    expect(bytes).toBeLessThan(rules.max_body_bytes);
  });
});

describe('ticket id format', () => {
  it('accepts tkt_ + 32 lowercase hex', () => {
    expect(isValidTicketId(`tkt_${'0123456789abcdef'.repeat(2)}`)).toBe(true);
  });
  it.each([
    `tkt_${'a'.repeat(31)}`,
    `tkt_${'a'.repeat(33)}`,
    `TKT_${'a'.repeat(32)}`,
    `tkt_${'A'.repeat(32)}`,
    `tkt_${'g'.repeat(32)}`,
    `tk_${'a'.repeat(32)}`,
    '',
  ])('rejects %s', (id) => {
    expect(isValidTicketId(id)).toBe(false);
  });
});

describe('text hygiene (mirrors the server)', () => {
  const BIDI = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C'];
  const INVISIBLE = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD'];

  describe('bidi controls are removed from every field before validation and sending', () => {
    it.each(BIDI.map((c) => [`U+${c.charCodeAt(0).toString(16).toUpperCase()}`, c]))('%s', (_name, c) => {
      const dirty: FormValues = {
        name: `${c}Ada${c} Lovelace`,
        email: `ada@exam${c}ple.com${c}`,
        subject: `Invoice ${c}fdp.exe`,
        category: `${c}${valid.category}`,
        priority: `${valid.priority}${c}`,
        message: `Hello ${c}there,\nthe export does nothing.${c}`,
      };
      expect(validate(dirty)).toEqual({});
      expect(toPayload(dirty)).toEqual({
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        subject: 'Invoice fdp.exe',
        category: valid.category,
        priority: valid.priority,
        message: 'Hello there,\nthe export does nothing.',
      });
    });
    it('the classic right-to-left override trick', () => {
      expect(toPayload(withField('subject', 'Invoice \u202Efdp.exe')).subject).toBe('Invoice fdp.exe');
    });
    it('they do not count towards the length', () => {
      const short = 'a'.repeat(rules.name.min - 1);
      expect(validateField('name', withField('name', `${short}${'\u202E'.repeat(5)}`))).toMatch(/at least/);
    });
    it('a field of bidi controls only is empty', () => {
      expect(validateField('email', withField('email', '\u200E\u202E'))).toBe('Please enter your email address.');
      expect(validateField('category', withField('category', '\u2066'))).toMatch(/choose a category/);
      expect(toPayload(withField('priority', '\u2067')).priority).toBe(rules.default_priority);
    });
  });

  describe('a name or subject of whitespace and invisible characters only is empty', () => {
    it.each(INVISIBLE.map((c) => [`U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`, c]))(
      '%s',
      (_name, c) => {
        const only = `${c} ${c}\u00A0${c}${c}${c}${c}`; // long enough to pass any minimum length
        expect(validateField('name', withField('name', only))).toBe('Please enter your name.');
        expect(validateField('subject', withField('subject', only))).toBe('Please enter a subject.');
      },
    );
    it('mixed with bidi controls and Unicode spaces', () => {
      const only = '\u200B\u202E\u3000\u2060\u2066\uFEFF\u00AD\u2028\u200D\u0085';
      expect(validateField('name', withField('name', only))).toBe('Please enter your name.');
      expect(validateField('subject', withField('subject', only))).toBe('Please enter a subject.');
      expect(validate(withField('name', only))).toEqual({ name: 'Please enter your name.' });
    });
    it('the message and the email are held to the same rule', () => {
      expect(validateField('message', withField('message', '\u200B'.repeat(rules.message.min)))).toBe(
        'Please enter a message.',
      );
      expect(validateField('email', withField('email', '\u200B\uFEFF'))).toBe('Please enter your email address.');
    });
    it('one visible character is enough to not be empty', () => {
      expect(validateField('name', withField('name', `\u200B${'a'.repeat(rules.name.min)}\u200B`))).toBeUndefined();
    });
  });

  describe('name and subject are a single line without control characters', () => {
    it.each([
      ['a tab', 'Ada\tLovelace'],
      ['a newline', 'Ada\nLovelace'],
      ['a carriage return', 'Ada\r\nLovelace'],
      ['NUL', 'Ada\u0000Lovelace'],
      ['escape', 'Ada\u001B[31mLovelace'],
      ['DEL', 'Ada\u007FLovelace'],
      ['a C1 control (NEL)', 'Ada\u0085Lovelace'],
    ])('%s', (_name, v) => {
      expect(validateField('name', withField('name', v))).toBe('Name must be a single line of text.');
      expect(validateField('subject', withField('subject', `Re: ${v}`))).toBe('Subject must be a single line of text.');
    });
    it('leading and trailing line breaks are trimmed, not refused', () => {
      expect(validateField('name', withField('name', '\nAda Lovelace\r\n'))).toBeUndefined();
      expect(validateField('subject', withField('subject', '\tCannot export board\n'))).toBeUndefined();
    });
    it('length is checked first, like the server', () => {
      expect(validateField('name', withField('name', 'a'.repeat(rules.name.max) + '\u0000a'))).toMatch(/at most/);
    });
  });

  describe('the message may have line breaks and tabs, and no other control characters', () => {
    it('accepts newlines, CRLF and tabs', () => {
      expect(validateField('message', withField('message', 'Hello,\n\n\tthe export\r\ndoes nothing.'))).toBeUndefined();
    });
    it.each([
      ['NUL', '\u0000'],
      ['bell', '\u0007'],
      ['backspace', '\u0008'],
      ['vertical tab', '\u000B'],
      ['form feed', '\u000C'],
      ['escape', '\u001B'],
      ['DEL', '\u007F'],
      ['a C1 control', '\u009B'],
    ])('refuses %s', (_name, c) => {
      expect(validateField('message', withField('message', `Hello${c}there, the export does nothing.`))).toBe(
        'Message contains characters that are not text.',
      );
    });
  });
});
