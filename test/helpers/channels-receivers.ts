import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { Webhook } from 'standardwebhooks'
import { until } from './poll.js'

/**
 * Real local receivers standing in for Slack, a webhook endpoint and a mail server, for the
 * channel tests. Every request is recorded; the webhook receiver verifies Standard Webhooks
 * signatures with the `standardwebhooks` package (the receiver's side of the contract).
 */

export interface ReceivedRequest {
  path: string
  headers: http.IncomingHttpHeaders
  body: string
  json: any
  /** for /hook*: whether the Standard Webhooks signature verified against `signingSecret` */
  signatureValid?: boolean
}

export interface HttpReceiver {
  url: string
  requests: ReceivedRequest[]
  /** requests to one path */
  on (path: string): ReceivedRequest[]
  /** makes `path` answer `status` (with `body`) from now on */
  respond (path: string, status: number, body?: string): void
  close (): Promise<void>
}

/** An HTTP server on 127.0.0.1: every path answers 200 unless told otherwise. */
export async function startHttpReceiver (options: { signingSecret?: string } = {}): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = []
  const answers = new Map<string, { status: number, body: string }>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const path = req.url ?? '/'
      let json: unknown
      try { json = JSON.parse(body) } catch { json = undefined }
      const entry: ReceivedRequest = { path, headers: req.headers, body, json }
      if (path.startsWith('/hook') && options.signingSecret && req.headers['webhook-signature']) {
        try {
          new Webhook(options.signingSecret).verify(body, {
            'webhook-id': String(req.headers['webhook-id']),
            'webhook-timestamp': String(req.headers['webhook-timestamp']),
            'webhook-signature': String(req.headers['webhook-signature']),
          })
          entry.signatureValid = true
        } catch {
          entry.signatureValid = false
        }
      }
      requests.push(entry)
      const answer = answers.get(path) ?? { status: 200, body: 'ok' }
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    on: (path) => requests.filter(r => r.path === path),
    respond: (path, status, body = '') => { answers.set(path, { status, body }) },
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}

export interface ReceivedMail { from: string, to: string[], raw: string, subject: string }

export interface MailReceiver {
  url: string
  mails: ReceivedMail[]
  close (): Promise<void>
}

/** smtp-server on 127.0.0.1 without TLS or auth; every accepted message is kept. */
export async function startMailReceiver (): Promise<MailReceiver> {
  const mails: ReceivedMail[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map(r => r.address),
          raw,
          subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '',
        })
        callback()
      })
    },
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.server.address() as AddressInfo).port
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise(resolve => server.close(() => resolve())),
  }
}

/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
export const eventually = <T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, what: string, timeoutMs = 30_000) =>
  until(what, check, timeoutMs) as Promise<T>
