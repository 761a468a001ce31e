/**
 * Builds the two pages the pages function serves, `GET /dashboard` and `GET /portal`, from their
 * sources in lambdas/api/pages/ (`npx tsx scripts/dashboard.ts`):
 *
 * - each page's `main.ts` (with what it imports from `shared/`) is bundled and minified by
 *   esbuild into the page's one inline `<script>`;
 * - `shared/base.css` and the page's `style.css`, minified, become its one `<style>`;
 * - both go into the page's `index.html`, whose empty `<style></style>` and `<script></script>`
 *   mark where;
 * - the pages are brotli-compressed, and each one's content security policy carries the SHA-256
 *   hashes of its style and script, computed here rather than at every cold start.
 *
 * It writes lambdas/api/pages-document.ts, which the pages function's bundle carries.
 * test/unit/dashboard-document.test.ts regenerates it and compares, so the sources and what is
 * served never drift. Type checking is `tsc -p lambdas/api/pages/tsconfig.json`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import { buildSync, transformSync } from 'esbuild';

/** The pages the pages function serves, each a folder under lambdas/api/pages/. */
export const PAGES = ['dashboard', 'portal'] as const;
export type PageName = (typeof PAGES)[number];

const at = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** The pages' sources. */
export const PAGES_DIR = at('../lambdas/api/pages/');

/** The generated module. */
export const PAGES_MODULE = at('../lambdas/api/pages-document.ts');

/** One page as served: the finished HTML and the style and script inside it. */
export interface BuiltPage {
  readonly html: string;
  readonly style: string;
  readonly script: string;
}

const STYLE_SLOT = '<style></style>';
const SCRIPT_SLOT = '<script></script>';

/** Bundles and minifies the page's script: one IIFE, no imports left, for current browsers. */
function buildScript(name: string): string {
  const result = buildSync({
    entryPoints: [`${PAGES_DIR}${name}/main.ts`],
    tsconfig: `${PAGES_DIR}tsconfig.json`,
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild wrote no script for ${name}`);
  return file.text.trimEnd();
}

function buildStyle(name: string): string {
  const source = [
    readFileSync(`${PAGES_DIR}shared/base.css`, 'utf8'),
    readFileSync(`${PAGES_DIR}${name}/style.css`, 'utf8'),
  ].join('\n');
  return transformSync(source, {
    loader: 'css',
    minify: true,
    charset: 'utf8',
    logLevel: 'silent',
  }).code.trimEnd();
}

/** Puts `content` in place of the one `slot` of `html` (a page without exactly one is refused). */
function fill(html: string, slot: string, content: string, name: string): string {
  const parts = html.split(slot);
  if (parts.length !== 2) throw new Error(`${name}/index.html must contain ${slot} exactly once`);
  const tag = slot.slice(1, slot.indexOf('>'));
  // The content must not be able to close its own element early.
  if (content.toLowerCase().includes(`</${tag}`)) throw new Error(`${name}: its ${tag} contains </${tag}`);
  return `${parts[0]}<${tag}>${content}</${tag}>${parts[1]}`;
}

/** The page as served. */
export function buildPage(name: PageName): BuiltPage {
  const style = buildStyle(name);
  const script = buildScript(name);
  const template = readFileSync(`${PAGES_DIR}${name}/index.html`, 'utf8');
  const html = fill(fill(template, STYLE_SLOT, style, name), SCRIPT_SLOT, script, name);
  return { html, style, script };
}

const cspHash = (source: string): string =>
  `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/**
 * A page's content security policy: its own style and script (by hash) and nothing else may
 * run or style it, it may talk only to its own origin, and Trusted Types with no policy make
 * every HTML-parsing sink (innerHTML and friends) throw.
 */
export function pageCsp(style: string, script: string): string {
  return [
    "default-src 'none'",
    `script-src ${cspHash(script)}`,
    `style-src ${cspHash(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

/**
 * lambdas/api/pages-document.ts, as this script writes it. Both pages go into one brotli stream,
 * the dashboard first: they share their stylesheet and much of their script, which one stream
 * compresses once (about 14 KB of base64 instead of 21 KB for two).
 */
export function renderPagesModule(): string {
  const dashboard = buildPage('dashboard');
  const portal = buildPage('portal');
  const bytes = Buffer.from(dashboard.html + portal.html, 'utf8');
  const compressed = brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  }).toString('base64');
  return `/**
 * The pages the pages function serves, built from lambdas/api/pages/ by scripts/dashboard.ts
 * (\`npx tsx scripts/dashboard.ts\`; do not edit): the operator dashboard (\`GET /dashboard\`)
 * and the consumer portal (\`GET /portal\`), one after the other in one brotli stream
 * (${Math.round(compressed.length / 1024)} KB in the bundle instead of ${Math.round(bytes.length / 1024)} KB), and each page's content security policy.
 */

/** The dashboard's content security policy (the hashes of its inline style and script). */
export const DASHBOARD_CSP =
  ${JSON.stringify(pageCsp(dashboard.style, dashboard.script))};

/** The portal's content security policy (the hashes of its inline style and script). */
export const PORTAL_CSP =
  ${JSON.stringify(pageCsp(portal.style, portal.script))};

/** The dashboard's length in the decompressed text (UTF-16 code units): the portal follows it. */
export const DASHBOARD_LENGTH = ${dashboard.html.length};

/** Both pages, brotli-compressed and base64-encoded. */
export const PAGES_BROTLI =
  '${compressed}';
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(PAGES_MODULE, renderPagesModule());
  process.stdout.write(`wrote ${PAGES_MODULE}\n`);
}
