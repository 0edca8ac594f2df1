import type { Transport } from '../../connectors/transport.js'
import { normalisePrefix } from '../../domain/source.js'
import type { KindDeps, SecretOverride } from '../types.js'
import { parseSecretValue } from '../../vault/vault.js'
import { createS3Client, type S3Credentials } from './client.js'
import type { S3Config } from './config.js'
import { S3Transport } from './transport.js'

/**
 * Runs `fn` with an S3 transport for a source's bucket. The credentials are decrypted for this
 * call only (or taken from `override`, a new value under trial) and the SDK client (which holds
 * them) is destroyed when it ends.
 */
export async function withS3Transport<T> (
  deps: KindDeps, orgId: string, config: S3Config, fn: (transport: Transport) => Promise<T>, override?: SecretOverride,
): Promise<T> {
  if (override?.id === config.secretRef) return withCredentials(deps, config, parseSecretValue('aws', override.value), fn)
  return deps.vault.withSecret(deps.db, orgId, config.secretRef, 'aws', async (secret) => withCredentials(deps, config, secret.reveal(), fn))
}

async function withCredentials<T> (
  deps: Pick<KindDeps, 'policy' | 'config'>, config: S3Config, credentials: S3Credentials, fn: (transport: Transport) => Promise<T>,
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
