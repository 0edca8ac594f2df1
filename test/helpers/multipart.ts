import { randomBytes } from 'node:crypto'

/** A multipart/form-data body with one file field (after the text `fields`, if any), for app.inject. */
export function multipartFile (
  content: Buffer | string,
  options: { fileName?: string, contentType?: string, field?: string, fields?: Record<string, string> } = {},
) {
  const boundary = `----ferry${randomBytes(8).toString('hex')}`
  const fields = Object.entries(options.fields ?? {})
    .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('')
  const head = fields +
    `--${boundary}\r\nContent-Disposition: form-data; name="${options.field ?? 'file'}"; filename="${options.fileName ?? 'inventory.csv'}"\r\n` +
    `Content-Type: ${options.contentType ?? 'application/octet-stream'}\r\n\r\n`
  const payload = Buffer.concat([Buffer.from(head), Buffer.isBuffer(content) ? content : Buffer.from(content), Buffer.from(`\r\n--${boundary}--\r\n`)])
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}
