import ipaddr from 'ipaddr.js'
import path from 'node:path'

/**
 * Every environment variable Ferry reads is read here, once, and validated at start.
 * A bad value stops the process with one line naming the variable and what is wrong.
 */
export interface Config {
  /** TCP port of the HTTP server */
  port: number
  /** listen address */
  host: string
  /** embedded database and generated keys live here */
  dataDir: string
  /** postgres://… switches from embedded PGlite to a PostgreSQL server (also the scale-out mode) */
  databaseUrl?: string
  /** vault key-encryption key (32 bytes); absent → generated into dataDir/master.key */
  masterKey?: Buffer
  /** creates org "default" with this admin key when no API key exists yet */
  bootstrapApiKey?: string
  /** CIDRs customer-supplied targets may reach despite being private/loopback */
  allowPrivateNetworks: string[]
  /** SMTP server for e-mail channels */
  smtpUrl?: string
  /** largest inbound webhook body, bytes */
  inboundMaxBytes: number
  /** verified inbound webhook deliveries accepted per source per minute (per API process) */
  inboundRateLimitPerMinute: number
  /** unsigned or badly signed inbound attempts per source and client address per minute (per API process) */
  inboundUnverifiedRateLimitPerMinute: number
  /** inbound deliveries of one source being received at once (per API process); more → 429 */
  inboundMaxConcurrentPerSource: number
  /** an inbound body that sends no byte for this long is abandoned (408), ms */
  inboundBodyIdleTimeoutMs: number
  /** every request's headers must arrive within this time, ms (Node's server.headersTimeout) */
  httpHeadersTimeoutMs: number
  /** every request, headers and body, must arrive within this time, ms (Node's server.requestTimeout) */
  httpRequestTimeoutMs: number
  /** pipeline limits */
  limits: PipelineLimits
  /** pulls run at once by one worker process */
  pullConcurrency: number
  /** pulls of one organisation run at once by one worker process while other organisations' pulls wait */
  pullOrgConcurrency: number
  /** how often each worker's scheduler looks for due sources, ms; 0 switches the scheduler off in this process */
  schedulerIntervalMs: number
  /** files of one source downloaded at once during a pull */
  pullFileConcurrency: number
  /** the most bytes (listed sizes) one pull reads and ingests at once: big files run fewer at a time, one bigger than this alone */
  pullBytesInFlight: number
  /** a pull's lease on its source; a dead worker's pull is taken over after this long */
  pullLeaseSeconds: number
  /** outbound webhook retry schedule, ms after the first attempt's failure, one entry per retry */
  pushRetryScheduleMs: number[]
  /** results larger than this are refused by webhook sinks, bytes */
  webhookInlineMaxBytes: number
  /** per-request timeout for customer targets, ms */
  targetTimeoutMs: number
  /** how long an API process trusts a key it verified before looking it up again (revocation latency elsewhere), ms */
  apiKeyCacheMs: number
  /**
   * how long a stopping process (SIGTERM/SIGINT) may take, ms: in-flight ingests and pulls are rolled
   * back and open requests answered 503 at once; whatever is still running at the end is cut off
   */
  shutdownGraceMs: number
  /** when set, GET /metrics needs `Authorization: Bearer <this token>` */
  metricsToken?: string
  /** syncs, uploads, deliveries and audit entries older than this many days are purged daily; 0 keeps everything */
  retentionDays: number
  /** hours a replaced webhook signing secret still verifies inbound deliveries and co-signs pushes (docs/security.md) */
  webhookSecretOverlapHours: number
  /** Ferry's own address as users reach it (no trailing slash): absolute receiveUrl, links in notifications */
  publicUrl?: string
  logLevel: string
}

export interface PipelineLimits {
  maxFileBytes: number
  maxRows: number
  maxColumns: number
  maxCellChars: number
  maxJsonDepth: number
  maxLineBytes: number
  xlsxMaxEntries: number
  xlsxMaxUncompressedBytes: number
  xlsxMaxCompressionRatio: number
}

export class ConfigError extends Error {
  constructor (readonly variable: string, problem: string) {
    super(`${variable}: ${problem}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

const MiB = 1024 * 1024
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** Svix-like schedule (docs/push.md, "The delivery state machine"): now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h */
export const DEFAULT_PUSH_RETRY_SCHEDULE_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]

function integer (env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
  return value
}

function masterKey (env: Env): Buffer | undefined {
  const raw = env.FERRY_MASTER_KEY
  if (raw === undefined || raw === '') return undefined
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(raw.trim())) throw new ConfigError('FERRY_MASTER_KEY', 'must be base64 of 32 bytes (not base64)')
  const key = Buffer.from(raw.trim(), 'base64')
  if (key.length !== 32) throw new ConfigError('FERRY_MASTER_KEY', `must be base64 of 32 bytes, got ${key.length} bytes`)
  return key
}

function cidrs (env: Env): string[] {
  const raw = env.FERRY_ALLOW_PRIVATE_NETWORKS
  if (raw === undefined || raw.trim() === '') return []
  return raw.split(',').map(s => s.trim()).filter(Boolean).map(cidr => {
    try {
      ipaddr.parseCIDR(cidr)
    } catch {
      throw new ConfigError('FERRY_ALLOW_PRIVATE_NETWORKS', `"${cidr}" is not a CIDR range such as 127.0.0.0/8 or ::1/128`)
    }
    return cidr
  })
}

/**
 * The ranges of FERRY_ALLOW_PRIVATE_NETWORKS that open the whole IPv4 or IPv6 space (a /0, or every
 * IPv4-mapped address): valid, but they switch the private-network protection off entirely, so
 * the start logs a warning naming them.
 */
export function wholeSpaceRanges (ranges: string[]): string[] {
  return ranges.filter(cidr => {
    const [address, bits] = ipaddr.parseCIDR(cidr)
    if (bits === 0) return true
    return address.kind() === 'ipv6' && bits <= 96 && (address as ipaddr.IPv6).isIPv4MappedAddress()
  })
}

/**
 * Node refuses a headers timeout longer than the request timeout (the whole request includes its
 * headers), so that is checked here, with the names of both variables.
 */
function httpTimeouts (env: Env): Pick<Config, 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs'> {
  const httpRequestTimeoutMs = integer(env, 'FERRY_HTTP_REQUEST_TIMEOUT_MS', 5 * MINUTE, 100, 24 * HOUR)
  const httpHeadersTimeoutMs = integer(env, 'FERRY_HTTP_HEADERS_TIMEOUT_MS', Math.min(60 * SECOND, httpRequestTimeoutMs), 100, 24 * HOUR)
  if (httpHeadersTimeoutMs > httpRequestTimeoutMs) {
    throw new ConfigError('FERRY_HTTP_HEADERS_TIMEOUT_MS', `must not be longer than FERRY_HTTP_REQUEST_TIMEOUT_MS (${httpRequestTimeoutMs} ms)`)
  }
  return { httpHeadersTimeoutMs, httpRequestTimeoutMs }
}

function metricsToken (env: Env): string | undefined {
  const raw = env.FERRY_METRICS_TOKEN
  if (raw === undefined || raw === '') return undefined
  if (!/^[\x21-\x7e]{16,512}$/.test(raw)) throw new ConfigError('FERRY_METRICS_TOKEN', 'must be 16 to 512 visible ASCII characters without spaces')
  return raw
}

function databaseUrl (env: Env): string | undefined {
  const raw = env.DATABASE_URL
  if (raw === undefined || raw === '') return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a URL; expected postgres://user@host:port/database')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must start with postgres:// or postgresql://, got "${url.protocol}//"`)
  }
  return raw
}

function smtpUrl (env: Env): string | undefined {
  const raw = env.FERRY_SMTP_URL
  if (raw === undefined || raw === '') return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('FERRY_SMTP_URL', 'is not a URL; expected smtp://host:port')
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new ConfigError('FERRY_SMTP_URL', 'must start with smtp:// or smtps://')
  return raw
}

function publicUrl (env: Env): string | undefined {
  const raw = env.FERRY_PUBLIC_URL?.trim()
  if (raw === undefined || raw === '') return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('FERRY_PUBLIC_URL', 'is not a URL; expected e.g. https://ferry.example.com')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('FERRY_PUBLIC_URL', 'must start with https:// or http://')
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError('FERRY_PUBLIC_URL', 'must be the address only (no query, fragment or credentials)')
  }
  // a path prefix (Ferry behind a reverse proxy at /ferry) is kept; the trailing slash is not
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

function retrySchedule (env: Env): number[] {
  const raw = env.FERRY_PUSH_RETRY_SCHEDULE_MS
  if (raw === undefined || raw.trim() === '') return DEFAULT_PUSH_RETRY_SCHEDULE_MS
  const parts = raw.split(',').map(s => s.trim())
  if (parts.some(p => !/^\d+$/.test(p))) throw new ConfigError('FERRY_PUSH_RETRY_SCHEDULE_MS', 'must be comma-separated whole milliseconds, e.g. 5000,300000')
  return parts.map(Number)
}

export function loadConfig (env: Env = process.env): Config {
  const host = env.HOST?.trim() || '127.0.0.1'
  const logLevel = env.LOG_LEVEL?.trim() || 'info'
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`)
  }
  const bootstrapApiKey = env.FERRY_BOOTSTRAP_API_KEY?.trim() || undefined
  if (bootstrapApiKey !== undefined && bootstrapApiKey.length < 16) {
    throw new ConfigError('FERRY_BOOTSTRAP_API_KEY', 'must be at least 16 characters long')
  }
  const pullConcurrency = integer(env, 'FERRY_PULL_CONCURRENCY', 4, 1, 256)
  return {
    port: integer(env, 'PORT', 8080, 0, 65535),
    host,
    dataDir: path.resolve(env.FERRY_DATA_DIR?.trim() || './data'),
    databaseUrl: databaseUrl(env),
    masterKey: masterKey(env),
    bootstrapApiKey,
    allowPrivateNetworks: cidrs(env),
    smtpUrl: smtpUrl(env),
    inboundMaxBytes: integer(env, 'FERRY_INBOUND_MAX_BYTES', 100 * MiB, 1),
    inboundRateLimitPerMinute: integer(env, 'FERRY_INBOUND_RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
    inboundUnverifiedRateLimitPerMinute: integer(env, 'FERRY_INBOUND_UNVERIFIED_RATE_LIMIT_PER_MINUTE', 60, 1, 1_000_000),
    inboundMaxConcurrentPerSource: integer(env, 'FERRY_INBOUND_MAX_CONCURRENT_PER_SOURCE', 4, 1, 1000),
    inboundBodyIdleTimeoutMs: integer(env, 'FERRY_INBOUND_BODY_IDLE_TIMEOUT_MS', 60 * SECOND, 100, HOUR),
    ...httpTimeouts(env),
    limits: {
      maxFileBytes: integer(env, 'FERRY_MAX_FILE_BYTES', 2048 * MiB, 1),
      maxRows: integer(env, 'FERRY_MAX_ROWS', 10_000_000, 1),
      maxColumns: integer(env, 'FERRY_MAX_COLUMNS', 500, 1),
      maxCellChars: integer(env, 'FERRY_MAX_CELL_CHARS', 32_768, 1),
      maxJsonDepth: integer(env, 'FERRY_MAX_JSON_DEPTH', 32, 1),
      maxLineBytes: integer(env, 'FERRY_MAX_LINE_BYTES', 1 * MiB, 1),
      xlsxMaxEntries: integer(env, 'FERRY_XLSX_MAX_ENTRIES', 1000, 1),
      xlsxMaxUncompressedBytes: integer(env, 'FERRY_XLSX_MAX_UNCOMPRESSED_BYTES', 1024 * MiB, 1),
      xlsxMaxCompressionRatio: integer(env, 'FERRY_XLSX_MAX_COMPRESSION_RATIO', 200, 1),
    },
    pullConcurrency,
    pullOrgConcurrency: integer(env, 'FERRY_PULL_ORG_CONCURRENCY', Math.ceil(pullConcurrency / 2), 1, 256),
    schedulerIntervalMs: integer(env, 'FERRY_SCHEDULER_INTERVAL_MS', 1000, 0, 60_000),
    pullFileConcurrency: integer(env, 'FERRY_PULL_FILE_CONCURRENCY', 8, 1, 64),
    pullBytesInFlight: integer(env, 'FERRY_PULL_BYTES_IN_FLIGHT', 128 * MiB, 1),
    pullLeaseSeconds: integer(env, 'FERRY_PULL_LEASE_SECONDS', 60, 1, 3600),
    pushRetryScheduleMs: retrySchedule(env),
    webhookInlineMaxBytes: integer(env, 'FERRY_WEBHOOK_INLINE_MAX_BYTES', 10 * MiB, 1),
    targetTimeoutMs: integer(env, 'FERRY_TARGET_TIMEOUT_MS', 30 * SECOND, 100),
    apiKeyCacheMs: integer(env, 'FERRY_API_KEY_CACHE_SECONDS', 5, 0, 300) * SECOND,
    shutdownGraceMs: integer(env, 'FERRY_SHUTDOWN_GRACE_MS', 10 * SECOND, 1000, 10 * MINUTE),
    metricsToken: metricsToken(env),
    retentionDays: integer(env, 'FERRY_RETENTION_DAYS', 90, 0, 36_500),
    webhookSecretOverlapHours: integer(env, 'FERRY_WEBHOOK_SECRET_OVERLAP_HOURS', 24, 0, 24 * 30),
    publicUrl: publicUrl(env),
    logLevel,
  }
}
