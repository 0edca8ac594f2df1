/**
 * The steps of a Test (`POST …/test`), by the names the server gives them (`src/sync/availability.ts`,
 * `src/inbound/check.ts`), as a person reads them. A name not listed here is shown capitalised.
 */
export const CHECK_LABELS: Readonly<Record<string, string>> = {
  // S3 sources and sinks
  secret: 'Secret',
  endpoint: 'Endpoint',
  credentials: 'Credentials',
  bucket: 'Bucket',
  prefix: 'Prefix',
  format: 'File format',
  // Azure Blob and HTTPS file sources
  container: 'Container',
  url: 'URL',
  // SFTP sources and sinks (also secret, address, credentials, prefix, format)
  'host key': 'Host key',
  path: 'Path',
  // outbound webhooks
  'signing secret': 'Signing secret',
  'header secret': 'Header secret',
  dns: 'DNS',
  address: 'Address allowed',
  options: 'OPTIONS request',
  // inbound webhooks
  enabled: 'Accepting deliveries',
  'last delivery': 'Last delivery',
}

export const checkLabel = (name: string): string => CHECK_LABELS[name] ?? name.charAt(0).toUpperCase() + name.slice(1)
