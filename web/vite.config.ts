import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// The web UI: Preact + TSX, compiled by Vite's built-in Oxc transform (no Babel, no framework plugin).
// `root` is this folder (`web/`), resolved from the config file so the build works from any cwd.
const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false }, // one entry chunk, evergreen browsers
    // keep the favicon and small icons as files: the page's CSP allows data: images, but files cache better
    assetsInlineLimit: 0,
  },
  server: {
    // `npx vite --config web/vite.config.ts` next to `npm start`: the dev server proxies the API
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
})
