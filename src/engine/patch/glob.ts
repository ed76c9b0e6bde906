// Tensor-name globs for `apply --only`: `*` any run of characters (dots included), `?` one
// character, `[abc]` / `[a-z]` / `[!abc]` a class, `{a,b}` alternatives. Names are not paths,
// so there is no `**` and `/` is an ordinary character.

import { UserError } from '../errors';

export function globToRegExp(glob: string): RegExp {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    switch (c) {
      case '*':
        re += '.*';
        break;
      case '?':
        re += '.';
        break;
      case '[': {
        const close = glob.indexOf(']', i + 2);
        if (close < 0) throw new UserError(`--only ${JSON.stringify(glob)}: unclosed "["`);
        let body = glob.slice(i + 1, close);
        const negate = body.startsWith('!') || body.startsWith('^');
        if (negate) body = body.slice(1);
        re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
        i = close;
        break;
      }
      case '{':
        braces++;
        re += '(?:';
        break;
      case '}':
        if (braces === 0) throw new UserError(`--only ${JSON.stringify(glob)}: "}" without "{"`);
        braces--;
        re += ')';
        break;
      case ',':
        re += braces > 0 ? '|' : ',';
        break;
      default:
        re += c.replace(/[.+^$()|\\/]/g, '\\$&');
    }
  }
  if (braces > 0) throw new UserError(`--only ${JSON.stringify(glob)}: unclosed "{"`);
  try {
    return new RegExp(`^${re}$`, 's');
  } catch {
    throw new UserError(`--only ${JSON.stringify(glob)}: not a valid pattern`);
  }
}

export function globMatcher(glob: string): (name: string) => boolean {
  const re = globToRegExp(glob);
  return (name) => re.test(name);
}
