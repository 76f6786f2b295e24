// Builds the /ui page into dist/ui: one minified ES module (app.ts with
// d3-hierarchy) plus the HTML and CSS. `npm run build:ui`; npm ci runs it too.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UI_DIST } from './static-files.js';

export async function buildUi(outDir = UI_DIST): Promise<{ dir: string; bytes: number }> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(import.meta.dirname, 'app.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(import.meta.dirname, f), join(outDir, f));
  return { dir: outDir, bytes: statSync(join(outDir, 'app.js')).size };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { dir, bytes } = await buildUi(process.argv[2]);
  console.log(`built the UI into ${dir} (app.js ${(bytes / 1024).toFixed(1)} KiB)`);
}
