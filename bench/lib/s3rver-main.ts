/**
 * s3rver in its own process (started by ./s3.ts): the benchmarks and the chaos suite keep the fake
 * S3 off the event loop of the process under measurement, and this process runs with
 * `--openssl-legacy-provider`, which s3rver's DES continuation tokens need for paginated listings.
 *
 * argv: <directory> <bucket,bucket…>. Prints {"port":N} once listening; exits on SIGTERM or when
 * its parent closes stdin.
 */
import { createRequire } from 'node:module'

interface S3rverInstance { run (): Promise<{ port: number }>, close (): Promise<void> }
type S3rverConstructor = new (options: {
  port: number, address: string, silent: boolean, directory: string, resetOnClose: boolean,
  configureBuckets: Array<{ name: string }>
}) => S3rverInstance

const require = createRequire(import.meta.url)
// s3rver ships no types; its constructor shape is declared above
const S3rver = require('s3rver') as S3rverConstructor

const [directory, buckets = ''] = process.argv.slice(2)
const server = new S3rver({
  port: Number(process.env.S3RVER_PORT ?? 0),
  address: '127.0.0.1',
  silent: true,
  directory,
  resetOnClose: false,
  configureBuckets: buckets.split(',').filter(Boolean).map(name => ({ name })),
})
const { port } = await server.run()
process.stdout.write(JSON.stringify({ port }) + '\n')

const stop = () => { server.close().finally(() => process.exit(0)) }
process.on('SIGTERM', stop)
process.stdin.on('end', stop)
process.stdin.resume()
