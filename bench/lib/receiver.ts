/**
 * The push benchmark's webhook receiver, in its own process: answers every POST with 200 after
 * reading the whole body, and keeps what a benchmark needs to know — how many deliveries, how many
 * distinct webhook-ids (a duplicate successful delivery would show), bytes, and the time from the
 * first request's arrival to the last response. The first body is saved to <bodyFile>, so the
 * baseline sends exactly the same bytes.
 *   argv: <port> <bodyFile>    GET /stats, POST /reset, OPTIONS * (the save-time ping)
 */
import fs from 'node:fs'
import http from 'node:http'

const [port, bodyFile] = process.argv.slice(2)
let stats = { count: 0, ids: new Set<string>(), bytes: 0, firstAt: 0, lastAt: 0 }
let saved = false

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    const { ids, ...rest } = stats
    res.writeHead(200, { 'content-type': 'application/json' })
    return res.end(JSON.stringify({ ...rest, unique: ids.size }))
  }
  if (req.method === 'POST' && req.url === '/reset') {
    stats = { count: 0, ids: new Set(), bytes: 0, firstAt: 0, lastAt: 0 }
    req.resume()
    return req.on('end', () => res.end('{}'))
  }
  if (req.method !== 'POST') { res.writeHead(204); return res.end() }
  const at = performance.now()
  if (stats.firstAt === 0) stats.firstAt = at
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    if (!saved) { fs.writeFileSync(bodyFile, body); saved = true }
    stats.count++
    stats.bytes += body.length
    const id = req.headers['webhook-id']
    stats.ids.add(typeof id === 'string' ? id : `anon-${stats.count}`)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ok":true}')
    stats.lastAt = performance.now()
  })
})
server.keepAliveTimeout = 30_000
server.listen(Number(port), '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: Number(port) }) + '\n'))
process.on('SIGTERM', () => { server.close(); process.exit(0) })
