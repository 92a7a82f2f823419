/**
 * Strict JSON (RFC 8259) reader with our own error wording and positions.
 *
 * `JSON.parse` is not used because its messages differ between Node versions,
 * often carry no position and embed the whole input text.
 */
export type JsonTextResult =
  | { ok: true; value: unknown }
  | { ok: false; message: string; line: number; column: number };

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t',
};

class JsonSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

export function parseJsonText(text: string): JsonTextResult {
  // A leading byte order mark is tolerated: editors on some platforms add one.
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const reader = new JsonReader(text, start);
  try {
    return { ok: true, value: reader.document() };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return { ok: false, message: error.message, ...lineAndColumn(text, error.position) };
  }
}

/** 1-based line and column (in UTF-16 code units) of a position in `text`. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

class JsonReader {
  constructor(private readonly text: string, private pos: number) {}

  document(): unknown {
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('unexpected content after the JSON document');
    return value;
  }

  private value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.skipWhitespace();
    const ch = this.text[this.pos];
    switch (ch) {
      case '{': return this.object(depth);
      case '[': return this.array(depth);
      case '"': return this.string();
      case 't': return this.literal('true', true);
      case 'f': return this.literal('false', false);
      case 'n': return this.literal('null', null);
      default:
        if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return this.number();
        return this.unexpected();
    }
  }

  private object(depth: number): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    this.sequence('}', 'property value', () => {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail(this.atEnd() ? 'unexpected end of input' : "expected a property name in double quotes");
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail(this.atEnd() ? 'unexpected end of input' : "expected ':' after property name");
      this.pos++;
      // defineProperty keeps a "__proto__" key an ordinary own property.
      Object.defineProperty(result, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
    });
    return result;
  }

  private array(depth: number): unknown[] {
    const result: unknown[] = [];
    this.sequence(']', 'array element', () => result.push(this.value(depth + 1)));
    return result;
  }

  /** `[`/`{`, then nothing or items separated by commas, then `close`; `item` reads one item, `what` names it. */
  private sequence(close: '}' | ']', what: string, item: () => void): void {
    this.pos++; // the opening bracket
    this.skipWhitespace();
    if (this.text[this.pos] === close) {
      this.pos++;
      return;
    }
    for (;;) {
      item();
      this.skipWhitespace();
      const next = this.text[this.pos];
      if (next === close) {
        this.pos++;
        return;
      }
      if (next !== ',') this.fail(this.atEnd() ? 'unexpected end of input' : `expected ',' or '${close}' after ${what}`);
      this.pos++;
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let result = '';
    let chunkStart = this.pos;
    for (;;) {
      if (this.atEnd()) this.fail('unterminated string', start);
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) {
        result += this.text.slice(chunkStart, this.pos);
        this.pos++;
        return result;
      }
      if (code < 0x20) this.fail('control character in string, use an escape sequence');
      if (code !== 0x5c) {
        this.pos++;
        continue;
      }
      result += this.text.slice(chunkStart, this.pos);
      const escape = this.text[this.pos + 1];
      if (escape === 'u') {
        const hex = this.text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape, expected 4 hex digits');
        result += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (escape !== undefined && Object.hasOwn(ESCAPES, escape)) {
        result += ESCAPES[escape];
        this.pos += 2;
      } else {
        this.fail(escape === undefined ? 'unterminated string' : `invalid escape sequence '\\${escape}'`);
      }
      chunkStart = this.pos;
    }
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail('invalid number');
    const end = this.pos + match[0].length;
    const after = this.text[end];
    if (after !== undefined && /[0-9.eE+-]/.test(after)) this.fail('invalid number');
    this.pos = end;
    return Number(match[0]);
  }

  private literal<T>(word: string, value: T): T {
    for (let i = 0; i < word.length; i++) {
      if (this.text[this.pos + i] !== word[i]) {
        this.pos += i;
        return this.unexpected();
      }
    }
    this.pos += word.length;
    return value;
  }

  private unexpected(): never {
    if (this.atEnd()) this.fail('unexpected end of input');
    const ch = this.text[this.pos] as string;
    const shown = ch.charCodeAt(0) < 0x20 ? `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`;
    return this.fail(`unexpected character ${shown}`);
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos];
      if (ch !== ' ' && ch !== '\t' && ch !== '\n' && ch !== '\r') return;
      this.pos++;
    }
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private fail(message: string, position = this.pos): never {
    throw new JsonSyntaxError(message, position);
  }
}
