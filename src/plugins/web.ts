import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Where `npm run build:web` writes the UI: `dist/web` (the same path from `src/` and from `dist/`). */
export const WEB_ROOT = fileURLToPath(new URL('../../dist/web', import.meta.url))

/** Paths the SPA fallback never answers: they belong to the API and the ops endpoints. */
const NOT_UI = ['/api', '/docs', '/metrics', '/healthz', '/readyz']

/** Headers of every page that may run script next to an API key: the UI and the API docs (/docs). */
export const PAGE_SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // The page holds an API key: no third-party or inline script may ever run next to it.
  'content-security-policy': [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; '),
}

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  // index.html names the hashed bundles: revalidate it every time so a deploy is picked up at once
  'cache-control': 'no-cache',
  ...PAGE_SECURITY_HEADERS,
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ferry</title></head>
<body><h1>Ferry</h1><p>UI not built: run <code>npm run build</code>.</p>
<p>The API is up: see <a href="/docs">/docs</a>.</p></body></html>
`

const underPrefix = (url: string, prefix: string) => url === prefix || url.startsWith(prefix + '/') || url.startsWith(prefix + '?')

/**
 * Serves the web UI built into `root` (normally {@link WEB_ROOT}):
 * - `/` and any other HTML navigation (the SPA fallback) → index.html, `Cache-Control: no-cache`;
 * - `/assets/*` → the hashed bundles, cached for a year (`immutable`);
 * - without a build, `/` answers a small page saying how to build the UI (tests that don't build).
 * Requests under /api, /docs, /metrics, /healthz, /readyz, non-GET ones and ones that don't accept
 * HTML keep the normal JSON 404.
 */
export async function registerWeb (app: FastifyInstance, { root }: { root: string }): Promise<void> {
  const indexFile = path.join(root, 'index.html')

  const sendIndex = async (reply: FastifyReply) => {
    // read per request (a few hundred bytes): a rebuild while the server runs is picked up
    const html = await fs.readFile(indexFile, 'utf8').catch(() => NOT_BUILT)
    return reply.status(200).headers(HTML_HEADERS).send(html)
  }

  await app.register(async (web) => {
    await web.register(fastifyStatic, {
      root: path.join(root, 'assets'),
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      suppressWarning: true, // no build yet → /assets/* answers 404
      cacheControl: false,
      // file names carry a content hash: a new build is a new URL
      setHeaders: (reply) => {
        reply.header('cache-control', 'public, max-age=31536000, immutable')
        reply.header('x-content-type-options', 'nosniff')
      },
      schemaHide: true,
    })

    web.get('/', { schema: { hide: true } }, async (_request, reply) => sendIndex(reply))

    // SPA fallback: deep links such as /agents/… (the UI routes by hash, but a bookmarked path
    // or a reload behind a proxy must still land on the app)
    web.get('/*', { schema: { hide: true } }, async (request: FastifyRequest, reply) => {
      const url = request.url
      const wantsHtml = (request.headers.accept ?? '').includes('text/html')
      if (!wantsHtml || NOT_UI.some(prefix => underPrefix(url, prefix)) || underPrefix(url, '/assets')) {
        return reply.callNotFound()
      }
      return sendIndex(reply)
    })
  })
}
