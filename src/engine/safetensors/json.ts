// A strict JSON parser for safetensors headers. JSON.parse alone cannot be used: it turns
// integers above 2^53 into nearby doubles (so "18446744073709551616" would pass for 2^64 - 1),
// accepts lone surrogates and any nesting, and hides duplicate keys (headerFastPath.ts uses it
// only where none of that can happen). This parser follows RFC 8259 the way serde_json (the
// reference reader's parser) does: no BOM, no trailing characters, no lone surrogate escapes,
// nesting at most 128 deep. Numbers keep their source text and objects keep every member in
// order.

export class JsonNumber {
  constructor(readonly text: string) {}
}

/** An object's members in source order, repeated keys included (keys[i] -> values[i]). */
export class JsonObject {
  constructor(
    readonly keys: string[],
    readonly values: JsonValue[],
  ) {}
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

export class JsonSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at character ${position}`);
  }
}

const MAX_DEPTH = 128;
/** The longest run of string characters that need no attention: not '"', '\\' or a control character. */
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;
/** RFC 8259 number. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

const enum Ch {
  Tab = 9,
  Newline = 10,
  Return = 13,
  Space = 32,
  Quote = 34,
  Plus = 43,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  UpperE = 69,
  LBracket = 91,
  Backslash = 92,
  RBracket = 93,
  LowerE = 101,
  LBrace = 123,
  RBrace = 125,
}

export function parseJson(text: string): JsonValue {
  let pos = 0;

  const fail = (reason: string, at = pos): never => {
    throw new JsonSyntaxError(reason, at);
  };

  const skipWhitespace = () => {
    let c = text.charCodeAt(pos);
    while (c === Ch.Space || c === Ch.Newline || c === Ch.Tab || c === Ch.Return) c = text.charCodeAt(++pos);
  };

  const describe = (at: number) => (at >= text.length ? 'end of header' : `character ${JSON.stringify(text[at])}`);

  const parseValue = (depth: number): JsonValue => {
    skipWhitespace();
    const c = text.charCodeAt(pos);
    switch (c) {
      case Ch.LBrace:
        return parseObject(depth + 1);
      case Ch.LBracket:
        return parseArray(depth + 1);
      case Ch.Quote:
        return parseString();
      case 116: // t
        return parseLiteral('true', true);
      case 102: // f
        return parseLiteral('false', false);
      case 110: // n
        return parseLiteral('null', null);
      default:
        if (c === Ch.Minus || (c >= Ch.Zero && c <= Ch.Nine)) return parseNumber();
        return fail(`unexpected ${describe(pos)}`);
    }
  };

  const parseLiteral = <T extends JsonValue>(word: string, value: T): T => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail(`unexpected ${describe(pos)}`);
  };

  const parseNumber = (): JsonNumber => {
    const start = pos;
    NUMBER.lastIndex = pos;
    if (!NUMBER.test(text)) fail('invalid number');
    pos = NUMBER.lastIndex;
    const next = text.charCodeAt(pos);
    // "01", "1.", "1e": serde_json rejects what the grammar does not finish
    if ((next >= Ch.Zero && next <= Ch.Nine) || next === Ch.Dot || next === Ch.LowerE || next === Ch.UpperE) {
      fail('invalid number', start);
    }
    return new JsonNumber(text.slice(start, pos));
  };

  const hex4 = (): number => {
    const h = text.slice(pos, pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('invalid \\u escape');
    pos += 4;
    return parseInt(h, 16);
  };

  const parseString = (): string => {
    const open = pos;
    pos++; // opening quote
    let out = '';
    for (;;) {
      PLAIN_RUN.lastIndex = pos;
      PLAIN_RUN.test(text); // always matches, possibly empty
      out += text.slice(pos, PLAIN_RUN.lastIndex);
      pos = PLAIN_RUN.lastIndex;
      if (pos >= text.length) fail('unterminated string', open);
      const c = text.charCodeAt(pos);
      if (c === Ch.Quote) {
        pos++;
        return out;
      }
      if (c < 0x20) fail('control character in string');
      pos++; // backslash
      const esc = text[pos++];
      switch (esc) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const unit = hex4();
          if (unit >= 0xdc00 && unit <= 0xdfff) fail('lone trailing surrogate in \\u escape');
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text[pos] !== '\\' || text[pos + 1] !== 'u') fail('lone leading surrogate in \\u escape');
            pos += 2;
            const low = hex4();
            if (low < 0xdc00 || low > 0xdfff) fail('lone leading surrogate in \\u escape');
            out += String.fromCharCode(unit, low);
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          fail('invalid escape', pos - 2);
      }
    }
  };

  const parseArray = (depth: number): JsonValue[] => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    pos++; // [
    const items: JsonValue[] = [];
    skipWhitespace();
    if (text.charCodeAt(pos) === Ch.RBracket) {
      pos++;
      return items;
    }
    for (;;) {
      items.push(parseValue(depth));
      skipWhitespace();
      const c = text.charCodeAt(pos);
      pos++;
      if (c === Ch.RBracket) return items;
      if (c !== Ch.Comma) fail(`expected ',' or ']' but found ${describe(pos - 1)}`, pos - 1);
    }
  };

  const parseObject = (depth: number): JsonObject => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    pos++; // {
    const keys: string[] = [];
    const values: JsonValue[] = [];
    skipWhitespace();
    if (text.charCodeAt(pos) === Ch.RBrace) {
      pos++;
      return new JsonObject(keys, values);
    }
    for (;;) {
      skipWhitespace();
      if (text.charCodeAt(pos) !== Ch.Quote) fail(`expected a key string but found ${describe(pos)}`);
      const key = parseString();
      skipWhitespace();
      if (text.charCodeAt(pos) !== Ch.Colon) fail(`expected ':' but found ${describe(pos)}`);
      pos++;
      keys.push(key);
      values.push(parseValue(depth));
      skipWhitespace();
      const c = text.charCodeAt(pos);
      pos++;
      if (c === Ch.RBrace) return new JsonObject(keys, values);
      if (c !== Ch.Comma) fail(`expected ',' or '}' but found ${describe(pos - 1)}`, pos - 1);
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos < text.length) fail(`trailing ${describe(pos)} after the JSON value`);
  return value;
}
