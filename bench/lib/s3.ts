import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { S3Client } from '@aws-sdk/client-s3'

const ROOT = path.resolve(import.meta.dirname, '../..')

export interface S3rverProcess {
  endpoint: string
  port: number
  directory: string
  child: ChildProcess
  /** a plain SDK client (no guard, no retries) for setup and for baselines */
  client (): S3Client
  close (): Promise<void>
}

export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const

/** Starts s3rver in a child process (with the legacy OpenSSL provider) serving `directory`. */
export async function startS3rverProcess (options: { directory: string, buckets: string[] }): Promise<S3rverProcess> {
  await fsp.mkdir(options.directory, { recursive: true })
  const args = ['--openssl-legacy-provider', '--import', 'tsx', path.join(ROOT, 'bench/lib/s3rver-main.ts'), options.directory, options.buckets.join(',')]
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      const line = out.split('\n')[0]
      if (out.includes('\n')) {
        try { resolve(JSON.parse(line).port) } catch (err) { reject(err) }
      }
    })
    child.on('exit', code => reject(new Error(`s3rver exited with ${code} before listening`)))
  })
  const endpoint = `http://127.0.0.1:${port}`
  const clients: S3Client[] = []
  return {
    endpoint,
    port,
    directory: options.directory,
    child,
    client () {
      const c = new S3Client({
        region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { ...S3_CREDENTIALS },
        requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', maxAttempts: 1,
      })
      clients.push(c)
      return c
    },
    async close () {
      for (const c of clients) c.destroy()
      if (child.exitCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * Writes an object straight into s3rver's on-disk layout (node_modules/s3rver/lib/stores/filesystem.js):
 * `<bucket>/<key dirs>/<name>._S3rver_object`, its `.md5` (hex) and `._S3rver_metadata.json`.
 * Hundreds of thousands of objects are placed in seconds this way; s3rver serves them as if PUT.
 */
export async function placeObject (
  directory: string,
  bucket: string,
  key: string,
  body: Buffer | { file: string },
  contentType = 'text/csv'
): Promise<{ etag: string, size: number }> {
  const parts = key.split('/')
  const name = parts.pop()!
  const dir = path.join(directory, bucket, ...parts)
  await fsp.mkdir(dir, { recursive: true })
  const objectPath = path.join(dir, `${name}._S3rver_object`)
  let md5: string
  let size: number
  if (Buffer.isBuffer(body)) {
    await fsp.writeFile(objectPath, body)
    md5 = createHash('md5').update(body).digest('hex')
    size = body.length
  } else {
    const hash = createHash('md5')
    size = 0
    await pipeline(fs.createReadStream(body.file), async function * (source) {
      for await (const chunk of source) { hash.update(chunk as Buffer); size += (chunk as Buffer).length; yield chunk }
    }, fs.createWriteStream(objectPath))
    md5 = hash.digest('hex')
  }
  await fsp.writeFile(`${objectPath}.md5`, md5)
  await fsp.writeFile(path.join(dir, `${name}._S3rver_metadata.json`), JSON.stringify({ 'content-type': contentType }))
  return { etag: JSON.stringify(md5), size }
}

/**
 * Places a large cached file as an object without copying it: a hard link into s3rver's layout
 * (same file system) plus the md5 computed when the file was generated.
 */
export async function linkObject (directory: string, bucket: string, key: string, file: string, md5: string, contentType = 'text/csv'): Promise<void> {
  const parts = key.split('/')
  const name = parts.pop()!
  const dir = path.join(directory, bucket, ...parts)
  await fsp.mkdir(dir, { recursive: true })
  const objectPath = path.join(dir, `${name}._S3rver_object`)
  await fsp.rm(objectPath, { force: true })
  try {
    await fsp.link(file, objectPath)
  } catch {
    await fsp.copyFile(file, objectPath)
  }
  await fsp.writeFile(`${objectPath}.md5`, md5)
  await fsp.writeFile(path.join(dir, `${name}._S3rver_metadata.json`), JSON.stringify({ 'content-type': contentType }))
}
