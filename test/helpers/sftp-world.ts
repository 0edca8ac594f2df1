import path from 'node:path'
import { expect } from 'vitest'
import { createTestApp, type TestApp } from './app.js'
import { generateKeyPair, startSshd, type SshdHandle } from './sshd.js'

/**
 * The SFTP counterpart of s3-world.ts: Debian's real sshd (test/helpers/sshd.ts), a test runtime
 * that may reach loopback, an agent without auto-pull, an `sftp` secret with the test user's
 * password and one with an authorised Ed25519 key. Directories are under `sshd.root`.
 */
export interface SftpWorld {
  t: TestApp
  sshd: SshdHandle
  agentId: string
  /** the password secret */
  secretId: string
  /** the private-key secret */
  keySecretId: string
  key: ReturnType<typeof generateKeyPair>
  /** an absolute path on the server for a directory below the test user's root */
  dir(relative: string): string
  /** an sftp config on `relative`, with the pinned host key and the password secret */
  config(relative: string, extra?: Record<string, unknown>): Record<string, unknown>
  /** an SFTP inventory source on `relative` (created with the save-time ping) */
  newSource(relative: string, options?: { config?: Record<string, unknown>, extra?: Record<string, unknown> }): Promise<string>
  cleanup(fn: () => Promise<unknown>): void
  close(): Promise<void>
}

export async function startSftpWorld (options: { name: string, env?: Record<string, string> }): Promise<SftpWorld> {
  const sshd = await startSshd()
  const key = generateKeyPair('ed25519')
  await sshd.authorize(key.publicKey)
  const t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', ...options.env } })
  const agentId = (await t.api('POST', '/api/v1/agents', { body: { name: options.name, rules: { autoPull: false } } })).json().id as string
  const secret = async (name: string, value: Record<string, string>) => {
    const res = await t.api('POST', '/api/v1/secrets', { body: { name, type: 'sftp', value } })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().id as string
  }
  const secretId = await secret('sftp password', { username: sshd.username, password: sshd.password })
  const keySecretId = await secret('sftp key', { username: sshd.username, privateKey: key.privateKey })
  const dir = (relative: string) => path.join(sshd.root, relative)
  const config = (relative: string, extra: Record<string, unknown> = {}) => ({
    host: sshd.host, port: sshd.port, path: dir(relative), hostKey: sshd.hostKeyFingerprint, secretRef: secretId, ...extra,
  })
  const cleanups: Array<() => Promise<unknown>> = []
  return {
    t,
    sshd,
    agentId,
    secretId,
    keySecretId,
    key,
    dir,
    config,
    async newSource (relative, { config: extra = {}, extra: body = {} } = {}) {
      const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
        body: { name: `${options.name} ${relative}`, role: 'INVENTORY_SOURCE', type: 'sftp', config: config(relative, extra), ...body },
      })
      expect(res.statusCode, res.body).toBe(201)
      return res.json().id as string
    },
    cleanup: fn => { cleanups.push(fn) },
    async close () {
      for (const c of cleanups.reverse()) await c().catch(() => {})
      await t.close()
      await sshd.stop()
    },
  }
}
