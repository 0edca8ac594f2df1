import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob'

/**
 * Azurite's blob service (Microsoft's Azure Storage emulator) as a child process: in memory, on a
 * random loopback port (`--blobPort 0`; the port is read from its "listens on" line), telemetry
 * off. It checks SharedKey signatures and SAS tokens like Azure, so a wrong key is refused with
 * 403 AuthorizationFailure (Azure itself says AuthenticationFailed).
 *
 * Its one account is the emulator's well-known devstoreaccount1; the endpoint includes the
 * account path (`http://127.0.0.1:<port>/devstoreaccount1`), as emulator URLs do.
 */

const require = createRequire(import.meta.url)
const AZURITE_BLOB = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js')

export const AZURITE_ACCOUNT = 'devstoreaccount1'
// the emulator's published development key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite)
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

export interface AzuriteHandle {
  /** http://127.0.0.1:<port>/devstoreaccount1 */
  endpoint: string
  port: number
  accountName: typeof AZURITE_ACCOUNT
  accountKey: typeof AZURITE_KEY
  /** a plain, unguarded client for test setup (creating containers, uploading fixtures) */
  container (name: string): ContainerClient
  createContainer (name: string): Promise<ContainerClient>
  stop (): Promise<void>
}

export async function startAzurite (): Promise<AzuriteHandle> {
  const location = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-azurite-'))
  const child = spawn(process.execPath, [
    AZURITE_BLOB, '--inMemoryPersistence', '--blobHost', '127.0.0.1', '--blobPort', '0',
    '--skipApiVersionCheck', '--disableTelemetry', '--silent',
  // in memory: nothing is written, but its working directory is a throw-away one all the same
  ], { cwd: location, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: location } })
  let output = ''
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Azurite did not start within 30 s:\n${output}`)), 30_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const m = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    void exited.then(code => { clearTimeout(timer); reject(new Error(`Azurite exited (${code}) before listening:\n${output}`)) })
  })
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)
  const container = (name: string) => new ContainerClient(`${endpoint}/${name}`, credential)
  return {
    endpoint,
    port,
    accountName: AZURITE_ACCOUNT,
    accountKey: AZURITE_KEY,
    container,
    async createContainer (name: string) {
      const client = container(name)
      await client.create()
      return client
    },
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      await fs.rm(location, { recursive: true, force: true })
    },
  }
}
