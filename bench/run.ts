// `npm run bench [name...] [--flags]`: runs bench/<name>.bench.ts, or every bench/*.bench.ts
// when no name is given. A bench module's default export is an async function that prints
// its table; flags (arguments starting with "-") are left in process.argv for the modules.
// `npm run bench projection -- --quick --repeat=3` passes them as they are; without the `--`,
// npm keeps them for itself as npm_config_<name>, so the flags the benches know are put back.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Flags read by bench modules (--quick, --repeat=N, --seeds=N), which npm swallows when they come before `--`. */
const BENCH_FLAGS = ['quick', 'repeat', 'seeds'];

async function main(): Promise<void> {
  for (const flag of BENCH_FLAGS) {
    const value = process.env[`npm_config_${flag}`];
    if (value === undefined || process.argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))) continue;
    process.argv.push(value === 'true' ? `--${flag}` : `--${flag}=${value}`);
  }
  const dir = import.meta.dirname;
  const available = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .sort();
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !available.includes(w));
  if (unknown.length > 0) {
    console.error(`unknown bench ${unknown.join(', ')}; available: ${available.join(', ')}`);
    process.exit(2);
  }
  for (const name of wanted.length > 0 ? wanted : available) {
    console.log(`\n== ${name} ==`);
    const mod = (await import(pathToFileURL(join(dir, `${name}.bench.ts`)).href)) as { default: () => Promise<void> };
    await mod.default();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
