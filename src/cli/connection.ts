import fs from 'node:fs/promises'
import path from 'node:path'

/**
 * Where the CLI finds the server and its API key. The client commands (`pull`, `test`, `syncs`)
 * talk to a running Ferry over HTTP, like any other API client: they never open the database.
 */

export type Env = Record<string, string | undefined>

/** A failure the CLI reports in one line and exits with `exitCode` (2: the command could not be carried out). */
export class CliError extends Error {
  constructor (message: string, readonly exitCode = 2) {
    super(message)
    this.name = 'CliError'
  }
}

export interface Connection {
  /** e.g. http://127.0.0.1:8080, without a trailing slash */
  baseUrl: string
  apiKey: string
  /** where the key came from, for error messages (never the key itself) */
  keySource: string
}

export const ADMIN_KEY_FILE = 'admin-api-key'

/** FERRY_URL, else http://127.0.0.1:$PORT (PORT default 8080). */
export function resolveBaseUrl (env: Env): string {
  const raw = env.FERRY_URL?.trim()
  if (!raw) {
    const port = env.PORT?.trim() || '8080'
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new CliError(`PORT: expected a port number, got "${env.PORT}"`)
    return `http://127.0.0.1:${port}`
  }
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new CliError(`FERRY_URL: not a URL; expected e.g. http://127.0.0.1:8080, got "${raw}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`FERRY_URL: must start with http:// or https://, got "${url.protocol}//"`)
  if (url.username || url.password) throw new CliError('FERRY_URL: must not contain a user name or password; the API key goes in FERRY_API_KEY')
  if (url.search || url.hash) throw new CliError('FERRY_URL: must not contain a query or fragment')
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** FERRY_API_KEY, else the key the server's first start wrote to $FERRY_DATA_DIR/admin-api-key. */
export async function resolveApiKey (env: Env): Promise<{ apiKey: string, keySource: string }> {
  const fromEnv = env.FERRY_API_KEY?.trim()
  if (fromEnv) return { apiKey: fromEnv, keySource: 'FERRY_API_KEY' }
  const file = path.join(path.resolve(env.FERRY_DATA_DIR?.trim() || './data'), ADMIN_KEY_FILE)
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `could not be read (${code ?? 'error'})`
    throw new CliError(`No API key: set FERRY_API_KEY, or FERRY_DATA_DIR to the server's data directory (${file} ${why}).`)
  }
  const apiKey = text.trim()
  if (!apiKey || /\s/.test(apiKey)) throw new CliError(`No API key: ${file} does not hold one key; set FERRY_API_KEY.`)
  return { apiKey, keySource: file }
}

export async function resolveConnection (env: Env = process.env): Promise<Connection> {
  const baseUrl = resolveBaseUrl(env)
  return { baseUrl, ...await resolveApiKey(env) }
}
