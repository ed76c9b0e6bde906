// Searching a vocabulary by text, for the token comparison panel. Tokenizers mark a word's
// start or continuation in the token itself (byte-level BPE "Ġthe", SentencePiece "▁the",
// WordPiece "##ing"), so matching ignores those markers and case; an exact match of the raw
// token ranks first, then exact, prefix and substring matches of the unmarked text.

export interface TokenIndex {
  tokens: readonly string[];
  /** Lower-cased token without its word marker. */
  keys: string[];
}

const MARKER = /^(Ġ|▁|##)/;

export function tokenKey(token: string): string {
  return token.replace(MARKER, '').toLowerCase();
}

export function tokenIndex(tokens: readonly string[]): TokenIndex {
  return { tokens, keys: tokens.map(tokenKey) };
}

/** Matches among ids [0, idLimit): best first (rank, then shorter token, then lower id); `total` counts them all. */
export function searchTokens(index: TokenIndex, query: string, limit: number, idLimit = index.tokens.length): { total: number; matches: { id: number; token: string }[] } {
  query = query.trim();
  if (query === '') return { total: 0, matches: [] };
  // A query that is only a marker ("Ġ") matches the raw tokens that contain it.
  const q = tokenKey(query);
  const found: { id: number; rank: number }[] = [];
  const end = Math.min(idLimit, index.tokens.length);
  for (let id = 0; id < end; id++) {
    const token = index.tokens[id];
    if (token === '') continue;
    const key = index.keys[id];
    let rank: number;
    if (token === query) rank = 0;
    else if (q !== '' && key === q) rank = 1;
    else if (q !== '' && key.startsWith(q)) rank = 2;
    else if ((q !== '' && key.includes(q)) || token.includes(query)) rank = 3;
    else continue;
    found.push({ id, rank });
  }
  found.sort((a, b) => a.rank - b.rank || index.tokens[a.id].length - index.tokens[b.id].length || a.id - b.id);
  return { total: found.length, matches: found.slice(0, Math.max(0, limit)).map(({ id }) => ({ id, token: index.tokens[id] })) };
}
