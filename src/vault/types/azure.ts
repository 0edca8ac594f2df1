import { AZURE_SECRET_FIELDS, azureSecretStrings, parseAzureSecret, redactAzureSecret, type AzureSecretValue } from '../../kinds/azure-blob/secret.js'
import type { SecretTypeDescriptor } from './descriptor.js'

declare module '../secret.js' {
  interface SecretValues { azure: AzureSecretValue }
}

/**
 * Azure Storage credentials (Azure Blob sources and sinks): the account name plus its shared key
 * or a SAS token. The rules live with the kind (src/kinds/azure-blob/secret.ts).
 */
export const azureSecret: SecretTypeDescriptor<AzureSecretValue> = {
  type: 'azure',
  fields: AZURE_SECRET_FIELDS,
  parse: parseAzureSecret,
  redact: redactAzureSecret,
  secretStrings: azureSecretStrings,
  // a rotated key or a new SAS is tried on every source that uses it before it is stored
  triedBySourcePing: true,
}
