import type { KindDeps, SecretOverride } from '../types.js'
import { parseSecretValue } from '../../vault/vault.js'
import type { AzureBlobConfig } from './config.js'
import type { AzureSecretValue } from './secret.js'
import { AzureBlobTransport } from './transport.js'

/**
 * Runs `fn` with an Azure Blob transport for a source's container. The credentials are decrypted
 * for this call only (or taken from `override`, a new value under trial) and the transport's
 * connections are closed when it ends, also when `fn` throws.
 */
export async function withAzureTransport<T> (
  deps: KindDeps, orgId: string, config: AzureBlobConfig, fn: (transport: AzureBlobTransport) => Promise<T>, override?: SecretOverride,
): Promise<T> {
  if (override?.id === config.secretRef) return withCredentials(deps, config, parseSecretValue('azure', override.value), fn)
  return deps.vault.withSecret(deps.db, orgId, config.secretRef, 'azure', async (secret) => withCredentials(deps, config, secret.reveal(), fn))
}

async function withCredentials<T> (
  deps: Pick<KindDeps, 'policy' | 'config'>, config: AzureBlobConfig, credentials: AzureSecretValue, fn: (transport: AzureBlobTransport) => Promise<T>,
): Promise<T> {
  const transport = new AzureBlobTransport({
    location: { container: config.container, prefix: config.prefix, endpoint: config.endpoint },
    credentials,
    policy: deps.policy,
    timeoutMs: deps.config.targetTimeoutMs,
  })
  try {
    return await fn(transport)
  } finally {
    await transport.close()
  }
}
