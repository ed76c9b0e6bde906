// Progress of a long CLI command on stderr, only when stderr is a terminal (scripts and
// pipes get nothing but the result and, on failure, one error line).
import type { ProjectionProgress } from './types';

export interface CliProgress {
  onProgress?: (p: ProjectionProgress) => void;
  /** Erase the progress line. */
  done(): void;
}

export function terminalProgress(command: string, stream: NodeJS.WriteStream = process.stderr): CliProgress {
  if (!stream.isTTY) return { done() {} };
  let last = 0;
  let shown = false;
  return {
    onProgress(p) {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      shown = true;
      const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 0;
      stream.write(`\r\x1b[K${command}: ${p.message ?? p.phase} ${pct}%`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
