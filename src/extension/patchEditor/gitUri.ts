// The `git:` URIs of the built-in git extension (diff sides, "Open File (HEAD)"): which file
// and which version. Their query is JSON: {"path": "/abs/file", "ref": "HEAD" | "~" | "" | <commit>},
// where "~" is the index as the left side of a working-tree diff and "" the index as the
// right side of a staged diff.

import type * as vscode from 'vscode';

/** What the built-in git extension puts in the query of its `git:` URIs. */
export function parseGitUri(uri: vscode.Uri): { path: string; ref: string } | undefined {
  if (uri.scheme !== 'git') return undefined;
  try {
    const q = JSON.parse(uri.query) as { path?: unknown; ref?: unknown };
    return typeof q.path === 'string' && typeof q.ref === 'string' ? { path: q.path, ref: q.ref } : undefined;
  } catch {
    return undefined;
  }
}
