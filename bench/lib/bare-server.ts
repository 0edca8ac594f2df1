/**
 * The API benchmark's baseline: a bare Fastify server with one GET route that answers a fixed JSON
 * body (the same document Ferry's `GET …/syncs?limit=20` returned), no auth, no database, no logging.
 * argv: <json file> <port>
 */
import fs from 'node:fs'
import Fastify from 'fastify'

const [file, port] = process.argv.slice(2)
const body = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown
const app = Fastify({ logger: false })
app.get('/api/v1/agents/:id/data-sources/:sid/syncs', async () => body)
app.get('/healthz', async () => ({ ok: true }))
await app.listen({ port: Number(port), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().finally(() => process.exit(0)) })
