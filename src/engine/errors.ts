// An error meant for the user: a one-line message naming the file or thing and what is
// wrong. The CLI prints it alone on stderr and exits 2; the server returns it as a
// JSON-RPC error with code EngineErrorCode.BadInput. Anything else is a bug.

export class UserError extends Error {
  constructor(message: string, readonly code: string = 'bad_input') {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'UserError';
  }
}

/** Cancellation of a long operation (AbortSignal fired). */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Runs `work`; a UserError from it gets `prefix: ` in front, to name the file or tensor it concerns. */
export async function withErrorPrefix<T>(prefix: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${prefix}: ${err.message}`, err.code);
    throw err;
  }
}
