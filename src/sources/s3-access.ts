import { createS3Client, type S3Credentials } from '../connectors/s3-client.js'
import { S3Transport } from '../connectors/s3.js'
import type { Deps } from '../deps.js'
import { normalisePrefix, type S3Config } from '../domain/source.js'

/**
 * Runs `fn` with an S3 transport for a source's bucket. The credentials are decrypted for this
 * call only and the SDK client (which holds them) is destroyed when it ends.
 */
export async function withS3Transport<T> (
  deps: Pick<Deps, 'db' | 'vault' | 'policy' | 'config'>,
  orgId: string,
  config: S3Config,
  fn: (transport: S3Transport) => Promise<T>,
): Promise<T> {
  return deps.vault.withSecret(deps.db, orgId, config.secretRef, 'aws', async (secret) => withCredentials(deps, config, secret.reveal(), fn))
}

/** The same with credentials in hand (a secret's new value, validated before it is stored). */
export async function withCredentials<T> (
  deps: Pick<Deps, 'policy' | 'config'>, config: S3Config, credentials: S3Credentials, fn: (transport: S3Transport) => Promise<T>,
): Promise<T> {
  const region = config.region || 'us-east-1'
  const client = createS3Client({
    region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials,
    policy: deps.policy,
    timeoutMs: deps.config.targetTimeoutMs,
  })
  try {
    const target = { bucket: config.bucket, prefix: normalisePrefix(config.prefix), region, endpoint: config.endpoint }
    return await fn(new S3Transport(client, target, credentials.accessKeyId))
  } finally {
    client.destroy()
  }
}
