// Entry point VS Code loads as --extensionTestsPath: runs every bundled *.test.js beside it
// with mocha inside the real extension host. Reporter lines carry a marker so the
// launcher can tell them from the workbench's own console chatter.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';

export const LOG_MARKER = '[tensorscope-test] ';

export async function run(): Promise<void> {
  let failures: number;
  try {
    failures = await runMocha();
  } catch (err) {
    console.log(LOG_MARKER + `integration run failed: ${(err as Error).stack ?? err}`);
    throw err;
  }
  // The reporter has described the failures; the rejection sets the exit code.
  if (failures > 0) throw new Error(`${failures} integration test(s) failed`);
}

/** Runs the tests; resolves to the number of failures. */
async function runMocha(): Promise<number> {
  // mocha 12 is ESM-only; the extension host runs on Node 24, which can import it.
  const { default: Mocha } = await import('mocha');
  const Base = Mocha.reporters.Base as unknown as { consoleLog: (...args: unknown[]) => void };
  Base.consoleLog = (...args: unknown[]) => console.log(LOG_MARKER + format(...args));
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  for (const file of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    mocha.addFile(join(__dirname, file));
  }
  await mocha.loadFilesAsync();
  const stats = await new Promise<Mocha.Stats>((resolve) => {
    const runner = mocha.run(() => resolve(runner.stats!));
  });
  // test/e2e/run.mjs counts the results from this file (the exit code alone says too little).
  const resultsFile = process.env.TENSORSCOPE_INTEGRATION_RESULTS;
  if (resultsFile) {
    writeFileSync(resultsFile, JSON.stringify({ passed: stats.passes, failed: stats.failures, skipped: stats.pending }));
  }
  return stats.failures;
}
