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
  toPayload,
  validate,
  validateField,
  type FormValues,
} from './validation';

const valid: FormValues = {
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  subject: 'Cannot export board',
  category: 'technical',
  priority: 'high',
  message: 'The CSV export button does nothing on my board.',
};

const withField = (f: keyof FormValues, v: string): FormValues => ({ ...valid, [f]: v });

describe('rules come from the shared source of truth', () => {
  it('uses shared/webform-rules.json', () => {
    expect(rules).toEqual(rulesJson);
    expect(rules.name).toEqual({ min: 2, max: 100 });
    expect(rules.subject).toEqual({ min: 5, max: 200 });
    expect(rules.message).toEqual({ min: 10, max: 5000 });
    expect(rules.email.max).toBe(254);
    expect(rules.categories).toEqual(['general', 'technical', 'billing', 'bug_report', 'feedback']);
    expect(rules.priorities).toEqual(['low', 'medium', 'high']);
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

  for (const [field, min, max] of [
    ['name', 2, 100],
    ['subject', 5, 200],
    ['message', 10, 5000],
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
    expect(charCount('😀😀')).toBe(2);
    expect(validateField('name', withField('name', '😀😀'))).toBeUndefined();
    expect(validateField('name', withField('name', '😀'.repeat(100)))).toBeUndefined();
    expect(validateField('name', withField('name', '😀'.repeat(101)))).toMatch(/at most 100/);
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
    it('max 254 characters', () => {
      const domain = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.com`; // 185
      const ok = `${'x'.repeat(254 - 1 - domain.length)}@${domain}`;
      expect(ok.length).toBe(254);
      expect(isValidEmail(ok)).toBe(true);
      const tooLong = `x${ok}`;
      expect(tooLong.length).toBe(255);
      expect(validateField('email', withField('email', tooLong))).toMatch(/at most 254/);
    });
  });

  describe('category', () => {
    it.each(['general', 'technical', 'billing', 'bug_report', 'feedback'])('accepts %s', (c) => {
      expect(validateField('category', withField('category', c))).toBeUndefined();
    });
    it.each(['', 'other', 'Technical', 'bug report'])('rejects "%s"', (c) => {
      expect(validateField('category', withField('category', c))).toMatch(/choose a category/);
    });
  });

  describe('priority', () => {
    it.each(['low', 'medium', 'high'])('accepts %s', (p) => {
      expect(validateField('priority', withField('priority', p))).toBeUndefined();
    });
    it('empty is allowed (defaults to medium)', () => {
      expect(validateField('priority', withField('priority', ''))).toBeUndefined();
    });
    it('rejects unknown values', () => {
      expect(validateField('priority', withField('priority', 'urgent'))).toMatch(/priority/);
    });
  });
});

describe('defaults and payload', () => {
  it('the empty form defaults priority to medium', () => {
    expect(emptyValues().priority).toBe('medium');
    expect(emptyValues().priority).toBe(rules.default_priority);
  });

  it('toPayload trims every field and fills the default priority', () => {
    expect(
      toPayload({
        name: '  Ada  ',
        email: ' ada@example.com\n',
        subject: '\tHello there ',
        category: 'billing ',
        priority: '',
        message: '  a long enough message  ',
      }),
    ).toEqual({
      name: 'Ada',
      email: 'ada@example.com',
      subject: 'Hello there',
      category: 'billing',
      priority: 'medium',
      message: 'a long enough message',
    });
  });

  it('toPayload has exactly the six contract keys', () => {
    expect(Object.keys(toPayload(valid)).sort()).toEqual(
      ['category', 'email', 'message', 'name', 'priority', 'subject'],
    );
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
