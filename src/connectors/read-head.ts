import type { Readable } from 'node:stream'

/** The first `bytes` of a (ranged) download body; the rest of the body is not read, and the stream is destroyed. */
export async function readHead (body: Readable, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of body) {
    chunks.push(chunk as Buffer)
    total += (chunk as Buffer).length
    if (total >= bytes) break
  }
  body.destroy()
  return Buffer.concat(chunks).subarray(0, bytes)
}
