import { azureBlobKind } from './azure-blob'
import { httpsKind } from './https'
import { s3Kind } from './s3'
import { sftpKind } from './sftp'
import type { WebKind } from './types'
import { webhookKind } from './webhook'

/** Every source kind the UI offers, one line each, in the Type select's order (docs/extending.md). */
export const WEB_KINDS: readonly WebKind[] = [
  s3Kind,
  sftpKind,
  webhookKind,
  azureBlobKind,
  httpsKind,
]

const byType = new Map(WEB_KINDS.map(k => [k.type, k]))

/** The UI's module of a kind; a kind the UI does not know yet is shown by its type name, with no form fields. */
export const webKindOf = (type: string): WebKind => byType.get(type) ?? unknownKind(type)

function unknownKind (type: string): WebKind {
  return {
    type, label: type, optionLabel: () => type, iconTitle: type, Icon: () => <span />, roles: [], pulled: false, defaults: {},
    Fields: () => null, toConfig: () => ({}), formatDefault: () => undefined, validateHint: () => undefined,
    target: () => '—', secretLabels: () => ({}),
  }
}

/** A kind's icon. */
export const SourceTypeIcon = ({ kind }: { kind: WebKind }) => (
  <span class={`type-icon type-${kind.type}`} title={kind.iconTitle}>
    <kind.Icon />
  </span>
)
