import { describe, expect, it } from 'vitest';
import { cleanText, hasControlChars, hasStrayControls, isBlank, trimText, withoutBidiControls } from './text';

describe('withoutBidiControls', () => {
  it('removes U+202A–U+202E, U+2066–U+2069, U+200E, U+200F and U+061C', () => {
    const all = '\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u061C';
    expect(withoutBidiControls(`a${all}b${all}`)).toBe('ab');
  });
  it('keeps everything else, including zero-width and right-to-left letters', () => {
    const s = 'Ada\u200B \u05E9\u05DC\u05D5\u05DD \u0645\u0631\u062D\u0628\u0627 😀\n\t';
    expect(withoutBidiControls(s)).toBe(s);
  });
});

describe('trimText (Unicode White_Space, as the server trims)', () => {
  it('trims ASCII and Unicode spaces, NEL and line separators', () => {
    expect(trimText(' \t\n\r\u000B\u000C\u0085\u00A0\u1680\u2000\u200A\u2028\u2029\u202F\u205F\u3000x y\u3000 ')).toBe('x y');
  });
  it('does not trim what is not whitespace (the BOM, zero-width space)', () => {
    expect(trimText('\uFEFFx\u200B')).toBe('\uFEFFx\u200B');
  });
});

describe('cleanText', () => {
  it('removes bidi controls, then trims', () => {
    expect(cleanText('\u202E  Ada \u2066')).toBe('Ada');
  });
});

describe('isBlank', () => {
  it.each(['', ' ', '\n\t', '\u200B', '\u200C\u200D', '\u2060', '\uFEFF', '\u00AD', '\u202E\u200E', '\u3000\u200B'])(
    'blank: %j',
    (s) => {
      expect(isBlank(s)).toBe(true);
    },
  );
  it.each(['a', '\u200Ba', '.', '\u0000', '😀'])('not blank: %j', (s) => {
    expect(isBlank(s)).toBe(false);
  });
});

describe('control characters', () => {
  it('hasControlChars: any Unicode Cc character', () => {
    for (const c of ['\u0000', '\t', '\n', '\r', '\u001F', '\u007F', '\u0085', '\u009F']) {
      expect(hasControlChars(`a${c}b`)).toBe(true);
    }
    expect(hasControlChars('a b\u00A0c\u200B😀')).toBe(false);
  });
  it('hasStrayControls: controls other than \\n, \\r and \\t', () => {
    expect(hasStrayControls('a\nb\r\nc\td')).toBe(false);
    for (const c of ['\u0000', '\u0008', '\u000B', '\u000C', '\u000E', '\u001B', '\u007F', '\u0085', '\u009F']) {
      expect(hasStrayControls(`a${c}b`)).toBe(true);
    }
  });
});
