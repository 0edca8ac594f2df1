import pino, { type Logger, type DestinationStream } from 'pino'

export type { Logger }

/**
 * Paths pino blanks out wherever they appear. Secrets should never reach a log call in the first
 * place (the vault's Secret type prints [REDACTED]); this is the second line of defence.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["webhook-signature"]',
  'headers.authorization',
  'authorization',
  '*.authorization',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.signingSecret',
  '*.apiKey',
  '*.password',
  '*.value',
  'value',
  'secretAccessKey',
  'signingSecret',
  'apiKey',
]

export interface LoggerOptions {
  level?: string
  /** where JSON lines go; tests pass a memory stream to inspect every line */
  destination?: DestinationStream
  /** readable output; default: when stdout is a terminal (never branch on NODE_ENV) */
  pretty?: boolean
}

export function createLogger (options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    serializers: {
      err: serializeError,
      req: (req: { method: string, url: string, id: string }) => ({ method: req.method, url: redactUrl(req.url), id: req.id }),
    },
  }
  if (options.destination) return pino(base, options.destination)
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY)
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } })
  }
  return pino(base)
}

/** Query strings may carry tokens; logs keep only the path. */
function redactUrl (url: string): string {
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q) + '?[…]'
}

/**
 * Database drivers attach the failed statement's parameters to their errors (PGlite: `params`);
 * parameters can hold anything, so they never reach a log line. The statement text stays.
 */
function serializeError (err: Error): Record<string, unknown> {
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>
  delete out.params
  delete out.parameters
  return out
}
