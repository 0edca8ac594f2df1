import { describe, expect, it } from 'vitest'
import { loadConfig, ConfigError, wholeSpaceRanges } from '../../src/config.js'

const fails = (env: Record<string, string>, variable: string, pattern: RegExp) => {
  let err: unknown
  try { loadConfig(env) } catch (e) { err = e }
  expect(err).toBeInstanceOf(ConfigError)
  expect((err as ConfigError).variable).toBe(variable)
  expect((err as Error).message).toMatch(pattern)
  expect((err as Error).message.split('\n')).toHaveLength(1)
}

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({})
    expect(c.port).toBe(8080)
    expect(c.host).toBe('127.0.0.1')
    expect(c.dataDir).toMatch(/\/data$/)
    expect(c.databaseUrl).toBeUndefined()
    expect(c.allowPrivateNetworks).toEqual([])
    expect(c.inboundMaxBytes).toBe(100 * 1024 * 1024)
    expect(c.shutdownGraceMs).toBe(10_000)
  })

  it('reads every variable', () => {
    const key = Buffer.alloc(32, 1).toString('base64')
    const c = loadConfig({
      PORT: '9000', HOST: '0.0.0.0', FERRY_DATA_DIR: '/tmp/x', DATABASE_URL: 'postgres://u@h:5432/d',
      FERRY_MASTER_KEY: key, FERRY_BOOTSTRAP_API_KEY: 'fy_bootstrap_key_1234', FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8, ::1/128',
      FERRY_SMTP_URL: 'smtp://127.0.0.1:2525', FERRY_PUSH_RETRY_SCHEDULE_MS: '10,20', FERRY_SHUTDOWN_GRACE_MS: '30000',
    })
    expect(c).toMatchObject({
      shutdownGraceMs: 30_000, port: 9000, host: '0.0.0.0', dataDir: '/tmp/x', databaseUrl: 'postgres://u@h:5432/d', bootstrapApiKey: 'fy_bootstrap_key_1234',
      smtpUrl: 'smtp://127.0.0.1:2525', pushRetryScheduleMs: [10, 20],
    })
    expect(c.masterKey?.equals(Buffer.alloc(32, 1))).toBe(true)
    expect(c.allowPrivateNetworks).toEqual(['127.0.0.0/8', '::1/128'])
  })

  it('names the variable and the problem in one line', () => {
    fails({ PORT: 'eighty' }, 'PORT', /whole number/)
    fails({ PORT: '70000' }, 'PORT', /between 0 and 65535/)
    fails({ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL', /postgres:\/\//)
    fails({ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /not a URL/)
    fails({ FERRY_MASTER_KEY: Buffer.alloc(16).toString('base64') }, 'FERRY_MASTER_KEY', /32 bytes, got 16/)
    fails({ FERRY_MASTER_KEY: 'not base64!' }, 'FERRY_MASTER_KEY', /base64/)
    fails({ FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.1' }, 'FERRY_ALLOW_PRIVATE_NETWORKS', /CIDR/)
    fails({ FERRY_SMTP_URL: 'http://x' }, 'FERRY_SMTP_URL', /smtp:\/\//)
    fails({ FERRY_BOOTSTRAP_API_KEY: 'short' }, 'FERRY_BOOTSTRAP_API_KEY', /16 characters/)
    fails({ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of/)
    fails({ FERRY_SHUTDOWN_GRACE_MS: '500' }, 'FERRY_SHUTDOWN_GRACE_MS', /between 1000 and 600000/)
  })

  it('reads the hardening settings of issue #14', () => {
    const defaults = loadConfig({})
    expect(defaults).toMatchObject({
      httpHeadersTimeoutMs: 60_000, httpRequestTimeoutMs: 300_000, inboundBodyIdleTimeoutMs: 60_000,
      inboundMaxConcurrentPerSource: 4, inboundUnverifiedRateLimitPerMinute: 60, metricsToken: undefined,
    })
    // a request timeout below the default headers timeout pulls the headers timeout down with it
    expect(loadConfig({ FERRY_HTTP_REQUEST_TIMEOUT_MS: '2000' })).toMatchObject({ httpRequestTimeoutMs: 2000, httpHeadersTimeoutMs: 2000 })
    fails({ FERRY_HTTP_REQUEST_TIMEOUT_MS: '2000', FERRY_HTTP_HEADERS_TIMEOUT_MS: '3000' }, 'FERRY_HTTP_HEADERS_TIMEOUT_MS', /FERRY_HTTP_REQUEST_TIMEOUT_MS/)
    expect(loadConfig({ FERRY_METRICS_TOKEN: 'a-long-enough-token' }).metricsToken).toBe('a-long-enough-token')
    fails({ FERRY_METRICS_TOKEN: 'short' }, 'FERRY_METRICS_TOKEN', /16 to 512/)
    fails({ FERRY_METRICS_TOKEN: 'has a space in it, long' }, 'FERRY_METRICS_TOKEN', /without spaces/)
  })

  it('reads the pull\'s file limits: 8 files and 128 MiB in flight by default', () => {
    expect(loadConfig({})).toMatchObject({ pullFileConcurrency: 8, pullBytesInFlight: 128 * 1024 * 1024 })
    expect(loadConfig({ FERRY_PULL_FILE_CONCURRENCY: '2', FERRY_PULL_BYTES_IN_FLIGHT: '1048576' }))
      .toMatchObject({ pullFileConcurrency: 2, pullBytesInFlight: 1024 * 1024 })
    fails({ FERRY_PULL_BYTES_IN_FLIGHT: '0' }, 'FERRY_PULL_BYTES_IN_FLIGHT', /between 1 and/)
    fails({ FERRY_PULL_BYTES_IN_FLIGHT: '64M' }, 'FERRY_PULL_BYTES_IN_FLIGHT', /whole number/)
  })

  it('reads FERRY_RETENTION_DAYS: 90 by default, 0 keeps everything', () => {
    expect(loadConfig({}).retentionDays).toBe(90)
    expect(loadConfig({ FERRY_RETENTION_DAYS: '0' }).retentionDays).toBe(0)
    expect(loadConfig({ FERRY_RETENTION_DAYS: '30' }).retentionDays).toBe(30)
    fails({ FERRY_RETENTION_DAYS: '-1' }, 'FERRY_RETENTION_DAYS', /whole number/)
    fails({ FERRY_RETENTION_DAYS: '99999' }, 'FERRY_RETENTION_DAYS', /between 0 and 36500/)
  })

  it('tells which allowed ranges open the whole address space', () => {
    expect(wholeSpaceRanges(['127.0.0.0/8', '::1/128', '10.0.0.0/8', '::ffff:10.0.0.0/104'])).toEqual([])
    const open = ['0.0.0.0/0', '::/0', '::ffff:0.0.0.0/96', '1.2.3.4/0']
    expect(wholeSpaceRanges([...open, '127.0.0.0/8'])).toEqual(open)
  })
})
