import { parseJsonText } from './json-text';
import { errorsOf } from './test-helpers';

describe('parseJsonText', () => {
  it('reads what JSON.parse reads', () => {
    const text = '{"a":[1,-2.5e3,0,true,false,null],"b":{"c":"x\\n\\u00e9\\"\\\\\\/"},"d":[]}';
    expect(parseJsonText(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('keeps a "__proto__" key as an own property', () => {
    const result = parseJsonText('{"__proto__":{"polluted":true}}');
    expect(result.ok && Object.keys(result.value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('tolerates a byte order mark', () => {
    expect(parseJsonText('\ufeff{}')).toEqual({ ok: true, value: {} });
  });

  it.each([
    ['', 'unexpected end of input', 1, 1],
    ['{"version":1,\n "jobs": [}', "unexpected character '}'", 2, 11],
    ['{"a":1', 'unexpected end of input', 1, 7],
    ['{"a" 1}', "expected ':' after property name", 1, 6],
    ['{"a":1 "b":2}', "expected ',' or '}' after property value", 1, 8],
    ['{"a":1,}', 'expected a property name in double quotes', 1, 8],
    ['[1,]', "unexpected character ']'", 1, 4],
    ['[1 2]', "expected ',' or ']' after array element", 1, 4],
    ['{"a":tru}', "unexpected character '}'", 1, 9],
    ['{"a":01}', 'invalid number', 1, 6],
    ['{"a":-}', 'invalid number', 1, 6],
    ['{"a":"x\ny"}', 'control character in string, use an escape sequence', 1, 8],
    ['{"a":"\\x"}', "invalid escape sequence '\\x'", 1, 7],
    ['{"a":"\\u12"}', 'invalid \\u escape, expected 4 hex digits', 1, 7],
    ['{"a":"abc', 'unterminated string', 1, 6],
    ['{}\n{}', 'unexpected content after the JSON document', 2, 1],
    ["{'a':1}", 'expected a property name in double quotes', 1, 2],
  ])('reports %j as "%s" at %i:%i', (text, message, line, column) => {
    expect(parseJsonText(text)).toEqual({ ok: false, message, line, column });
  });

  it('limits nesting depth', () => {
    expect(parseJsonText('['.repeat(600))).toMatchObject({ ok: false, message: 'nesting deeper than 512 levels' });
  });
});

describe('invalid JSON in a definition', () => {
  it('is one error with line and column', () => {
    expect(errorsOf('{\n  "version": 1,\n  "jobs": [,]\n}')).toEqual(["#: invalid JSON: unexpected character ',' at line 3 column 12"]);
  });
});
