import { useEffect, useMemo, useState } from 'preact/hooks'
import { api, ApiError, seg } from '../api/client'
import { sourcesPath } from '../api/paths'
import type { Agent, DataSource, ListResponse, MappingJob, Secret, SourceRole, Sync, TestResult } from '../api/types'
import { Pill, StatusBadge } from '../components/badges'
import { Dialog } from '../components/dialog'
import { ConfirmDialog } from '../components/form'
import { Switch } from '../components/fields'
import { CheckIcon, CrossIcon } from '../components/icons'
import { SourceTypeIcon, WEB_KINDS, webKindOf } from '../kinds/registry'
import { Empty, ErrorState, Loading } from '../components/states'
import { describeCron } from '../lib/cron'
import { formatBytes, formatDateTime, formatDuration, formatNumber, formatRelative, shortId } from '../lib/format'
import { useResource } from '../lib/resource'
import { useSyncRunner, type RunState } from '../lib/sync-runner'
import { checkLabel } from '../lib/checks'
import { GeneratedSecret, RedactedValues } from './secrets'
import { EditSourceDialog, SourceForm } from './source-form'
import { PreviewPanel } from './import-options'
import { ManifestDialog, SyncHistory } from './syncs'
import { useCan } from '../lib/me'
import { links } from '../lib/router'
import { PagedHistory, ResetDialog, SourcesOverview } from './source-operations'

/** "S3, SFTP, Azure Blob": the UI's kinds in a role (pulled ones only, or all), as the empty states name them. */
const kindLabels = (role: SourceRole, pulledOnly: boolean) =>
  WEB_KINDS.filter(k => k.roles.includes(role) && (!pulledOnly || k.pulled)).map(k => k.label).join(', ')

/** Syncs a card on the agent page shows; the whole history is on the source's page ("All syncs"). */
const HISTORY_LIMIT = 5

/** The Data sources tab: Inbound (inventory sources) and Outbound (results sinks). */
export function DataSourcesTab ({ agent }: { agent: Agent }) {
  const sources = useResource<ListResponse<DataSource>>(sourcesPath(agent.id))
  const secrets = useResource<ListResponse<Secret>>('/secrets')
  const secretsById = useMemo(() => new Map((secrets.data?.items ?? []).map(s => [s.id, s])), [secrets.data])
  const [adding, setAdding] = useState<SourceRole | null>(null)
  const [generated, setGenerated] = useState<{ name: string, value: string } | null>(null)

  const items = sources.data?.items ?? []
  const replace = (source: DataSource) => sources.setData(cur => cur ? { ...cur, items: cur.items.map(s => s.id === source.id ? source : s) } : cur)
  const canEdit = useCan('operator')
  const remove = (id: string) => sources.setData(cur => cur ? { ...cur, items: cur.items.filter(s => s.id !== id) } : cur)

  const section = (role: SourceRole) => {
    const inbound = role === 'INVENTORY_SOURCE'
    const list = items.filter(s => s.role === role)
    const title = inbound ? 'Inbound' : 'Outbound'
    return (
      <section class="subsection" aria-labelledby={`${role}-title`}>
        <div class="section-header">
          <div>
            <h2 id={`${role}-title`}>{title}</h2>
            <p class="muted">{inbound
              ? `Inventory sources: files Ferry pulls on a schedule (${kindLabels('INVENTORY_SOURCE', true)}), and webhooks that receive files.`
              : 'Results sinks: where the results of mapping jobs are pushed.'}
            </p>
          </div>
          {canEdit && sources.data && adding !== role && (
            <button type="button" class="btn btn-primary" onClick={() => setAdding(role)}>{inbound ? 'Add source' : 'Add sink'}</button>
          )}
        </div>
        {adding === role && (
          <SourceForm
            agent={agent}
            role={role}
            secrets={secrets}
            onCancel={() => setAdding(null)}
            onCreated={({ signingSecret, ...source }) => {
              setAdding(null)
              // a generated inbound signing secret is shown once and kept nowhere else
              if (signingSecret) setGenerated({ name: source.name, value: signingSecret })
              sources.setData(cur => cur ? { ...cur, items: [...cur.items, source] } : { items: [source] })
            }}
          />
        )}
        {sources.data && list.length === 0 && adding !== role && (
          <Empty title={inbound ? 'No inbound sources yet.' : 'No outbound sinks yet.'}>
            <p>{inbound
              ? `Add a place to pull inventory files from (${kindLabels('INVENTORY_SOURCE', true)}), or a webhook that senders can post files to.`
              : `Add a place that receives the results of every mapping job (${kindLabels('RESULTS_SINK', false)}).`}
            </p>
          </Empty>
        )}
        {list.map(source => (
          <SourceCard key={source.id} agent={agent} source={source} secretsById={secretsById} onChanged={replace} onDeleted={() => remove(source.id)} />
        ))}
      </section>
    )
  }

  return (
    <div class="data-sources">
      {generated && <GeneratedSecret name={generated.name} value={generated.value} onDone={() => setGenerated(null)} />}
      {sources.loading && <Loading label="Loading data sources…" />}
      {sources.error && !sources.data && <ErrorState error={sources.error} what="Data sources" onRetry={sources.reload} />}
      {sources.data && (
        <>
          {items.length > 0 && <SourcesOverview agent={agent} sources={items} />}
          {section('INVENTORY_SOURCE')}
          {section('RESULTS_SINK')}
        </>
      )}
    </div>
  )
}

/** Where a source reads from or a sink writes to, in one line. */
export const targetOf = (source: DataSource): string => webKindOf(source.type).target(source)

function CopyButton ({ text, label }: { text: string, label: string }) {
  const [done, setDone] = useState(false)
  return (
    <button type="button" class="btn btn-small" aria-label={label}
      onClick={() => { void navigator.clipboard?.writeText(text).then(() => { setDone(true); setTimeout(() => setDone(false), 2000) }) }}>
      {done ? 'Copied' : 'Copy'}
    </button>
  )
}

function SecretRef ({ field, source, secretsById, label }: {
  field: 'secretRef' | 'headerSecretRef', source: DataSource, secretsById: Map<string, Secret>, label: string
}) {
  const id = source.config[field]
  if (!id) return null
  const secret = source.redactedSecrets?.[field] ?? secretsById.get(id)
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {secret
          ? <><span>{secret.name}</span> <RedactedValues redacted={secret.redacted} /></>
          : <span class="muted">secret …{shortId(id)}</span>}
      </dd>
    </div>
  )
}

function lastSyncOf (source: DataSource, history: Sync[] | undefined): { status: string, at: string | null } | null {
  const latest = history?.[0] ?? source.lastSync
  return latest ? { status: latest.status, at: latest.finishedAt ?? latest.startedAt } : null
}

export function SourceCard ({ agent, source, secretsById, onChanged, onDeleted, detail }: {
  agent: Agent, source: DataSource, secretsById: Map<string, Secret>, onChanged: (s: DataSource) => void, onDeleted: () => void
  /** on the source's own page: the history pages with filters, and Reset, Cancel, Retry now are offered */
  detail?: boolean
}) {
  const base = `${sourcesPath(agent.id)}/${seg(source.id)}`
  const inbound = source.role === 'INVENTORY_SOURCE'
  const syncs = useResource<ListResponse<Sync>>(`${base}/syncs?limit=${HISTORY_LIMIT}`)
  const [openSync, setOpenSync] = useState<string | null>(null)
  const [test, setTest] = useState<{ busy: boolean, result?: TestResult, error?: ApiError, at?: number }>({ busy: false })
  const [switchError, setSwitchError] = useState<{ field: 'enabled' | 'autoPush', message: string } | null>(null)
  const [switchBusy, setSwitchBusy] = useState<'enabled' | 'autoPush' | null>(null)
  const [confirmAutoPush, setConfirmAutoPush] = useState(false)
  const [pushing, setPushing] = useState(false)
  // operators run and edit sources; deleting one is the admin's (docs/security.md)
  const canRun = useCan('operator')
  const canDelete = useCan('admin')
  const [deleting, setDeleting] = useState(false)
  const [previewing, setPreviewing] = useState(false)
  const [editing, setEditing] = useState(false)
  const [resetting, setResetting] = useState(false)
  // bumped whenever the history should be read again (the paged history of the source page)
  const [version, setVersion] = useState(0)

  const refresh = async () => {
    void syncs.reload()
    setVersion(v => v + 1)
    try { onChanged(await api.get<DataSource>(base)) } catch { /* the card keeps what it has */ }
  }
  const runner = useSyncRunner(`${base}/syncs`, () => { void refresh() })

  // a sync started elsewhere (the schedule, a webhook, a push retry) is followed in the history too
  // (a push waiting for its retry too: "Retry now" elsewhere, or the attempt coming due, ends it)
  const latestStatus = syncs.data?.items[0]?.status
  const latestRunning = latestStatus === 'running' || latestStatus === 'retrying'
  const idle = runner.state.phase === 'idle' || runner.state.phase === 'done' || runner.state.phase === 'error'
  useEffect(() => {
    if (!latestRunning || !idle) return
    const timer = setInterval(() => { void refresh() }, 3000)
    return () => clearInterval(timer)
  }, [latestRunning, idle])

  const runTest = async () => {
    setTest({ busy: true })
    try {
      const result = await api.post<TestResult>(`${base}/test`)
      setTest({ busy: false, result, at: Date.now() })
      api.get<DataSource>(base).then(onChanged, () => {})
    } catch (err) {
      setTest({ busy: false, error: err as ApiError })
    }
  }

  const patch = async (field: 'enabled' | 'autoPush', value: boolean) => {
    setSwitchBusy(field)
    setSwitchError(null)
    try {
      onChanged(await api.patch<DataSource>(base, { [field]: value }))
    } catch (err) {
      const e = err as ApiError
      setSwitchError({
        field,
        message: e.code === 'AUTO_PUSH_REQUIRES_TEST'
          ? 'Auto-push was not switched on: it needs a passing Test of this sink within the last 24 hours. Run Test, then switch it on.'
          : e.routeMissing ? 'The server cannot change sources yet (404).' : e.message,
      })
    } finally {
      setSwitchBusy(null)
    }
  }

  // the sync this card is following is shown live at the top of the history
  const live = runner.state.phase === 'running' ? runner.state.sync : undefined
  const history = useMemo(() => {
    const items = syncs.data?.items
    if (!live || !items) return items
    return [live, ...items.filter(s => s.id !== live.id)]
  }, [syncs.data, live])
  const last = lastSyncOf(source, history)
  const latestError = history?.[0]?.status !== 'running' ? history?.[0]?.error : undefined
  const cron = source.effectiveScheduleCron ?? source.scheduleCron ?? agent.scheduleCron
  const running = runner.state.phase === 'starting' || runner.state.phase === 'running'
  const kind = webKindOf(source.type)
  const pullable = inbound && kind.pulled
  const copyLabel = kind.copyTarget?.(inbound)
  const targetNote = kind.targetNote?.(source)
  const secretLabels = kind.secretLabels(inbound)
  const nextPullTime = source.nextPullAt ? formatDateTime(source.nextPullAt, agent.timezone) : ''

  return (
    <article class="card source-card" aria-labelledby={`src-${source.id}`} data-source-id={source.id}>
      <header class="source-head">
        <SourceTypeIcon kind={kind} />
        <div class="source-title">
          <h3 id={`src-${source.id}`}>{detail ? source.name : <a href={links.source(agent.id, source.id)}>{source.name}</a>}</h3>
          <p class="muted small">{kind.label} {inbound ? 'source' : 'sink'}</p>
        </div>
        <div class="source-badge">
          {source.validationSkipped && <Pill tone="warn">Not checked when saved</Pill>}
          {!source.enabled && <Pill>Disabled</Pill>}
          {last
            ? <StatusBadge status={last.status} label={last.status === 'running'
                ? `Sync running${last.at ? `, started ${formatRelative(last.at)}` : ''}`
                : `Last sync: ${last.status}${last.at ? `, ${formatRelative(last.at)}` : ''}`} />
            : <Pill>Never synced</Pill>}
        </div>
      </header>

      <dl class="facts facts-grid">
        <div class="span-2">
          <dt>{copyLabel ?? 'Target'}</dt>
          <dd>
            {copyLabel
              ? (
                  <div class="copy-inline">
                    <code class="target">{targetOf(source)}</code><CopyButton text={targetOf(source)} label={`Copy ${copyLabel.toLowerCase()}`} />
                  </div>
                )
              : <code class="target">{targetOf(source)}</code>}
            {targetNote && <span class="muted">{targetNote}</span>}
          </dd>
        </div>
        {Object.entries(secretLabels).map(([field, label]) => (
          <SecretRef key={field} field={field as 'secretRef' | 'headerSecretRef'} source={source} secretsById={secretsById} label={label} />
        ))}
        {pullable && (
          <div>
            <dt>Schedule</dt>
            <dd>
              {describeCron(cron, agent.timezone)}{source.scheduleCron === null && <span class="muted"> (the agent's)</span>}
              <br />
              {!source.enabled
                ? <span class="muted">Disabled: no scheduled pulls.</span>
                : !agent.rules?.autoPull
                    ? <span class="muted">Scheduled pulls are off in the agent's rules.</span>
                    : source.nextPullAt
                      ? <span>Next pull{' '}
                          <time dateTime={source.nextPullAt} title={nextPullTime}>{nextPullTime}</time>
                          {' '}<span class="muted">({formatRelative(source.nextPullAt)})</span>
                        </span>
                      : <span class="muted">No next pull scheduled.</span>}
            </dd>
          </div>
        )}
        {inbound && kind.arrival && (
          <div><dt>Schedule</dt><dd>{kind.arrival.schedule}</dd></div>
        )}
        {!inbound && (
          <div><dt>Delivery</dt><dd>{source.autoPush ? 'After every successful mapping job' : 'Manual pushes only'}</dd></div>
        )}
        {(source.lastTestAt || !inbound) && (
          <div>
            <dt>Last test</dt>
            <dd>{source.lastTestAt
              ? <>
                  <span class={source.lastTestOk ? 'text-ok' : 'text-bad'}>{source.lastTestOk ? 'Passed' : 'Failed'}</span>
                  {' '}<span class="muted">{formatRelative(source.lastTestAt)}</span>
                </>
              : <span class="muted">Never tested</span>}
            </dd>
          </div>
        )}
        {source.config.pattern && <div><dt>Pattern</dt><dd><code>{source.config.pattern}</code></dd></div>}
        {source.config.format && <div><dt>Format</dt><dd>{source.config.format.toUpperCase()}</dd></div>}
      </dl>

      {latestError && (
        <p class="callout callout-bad last-error" data-last-error>
          <strong>Last sync {history?.[0]?.status === 'partial' ? 'stopped' : 'failed'}:</strong> {latestError.message}
        </p>
      )}

      <div class="source-controls">
        <div class="switches">
          <Switch label="Enabled" checked={source.enabled} busy={switchBusy === 'enabled'} disabled={!canRun} onChange={(v) => patch('enabled', v)}
            describedBy={switchError?.field === 'enabled' ? `${source.id}-switch-error` : undefined} />
          {!inbound && (
            <Switch label="Auto-push" checked={source.autoPush} busy={switchBusy === 'autoPush'} disabled={!canRun}
              describedBy={switchError?.field === 'autoPush' ? `${source.id}-switch-error` : undefined}
              onChange={(v) => { setSwitchError(null); if (v) setConfirmAutoPush(true); else void patch('autoPush', false) }} />
          )}
        </div>
        <div class="actions">
          {canRun && <button type="button" class="btn" onClick={() => setEditing(true)} aria-label={`Edit ${source.name}`}>Edit</button>}
          {canRun && <button type="button" class="btn" onClick={runTest} disabled={test.busy}>{test.busy ? 'Testing…' : 'Test'}</button>}
          {canRun && pullable && <button type="button" class="btn" onClick={() => setPreviewing(true)}>Preview</button>}
          {canRun && pullable && (
            <button type="button" class="btn btn-primary" disabled={running || !source.enabled}
              title={!source.enabled ? 'Enable the source to pull it' : undefined}
              onClick={() => runner.start(() => api.post(`${base}/pull`))}>
              {running ? 'Pulling…' : 'Pull now'}
            </button>
          )}
          {canRun && !inbound && (
            <button type="button" class="btn btn-primary" disabled={running || !source.enabled} onClick={() => setPushing(true)}>
              {running ? 'Pushing…' : 'Push'}
            </button>
          )}
          {canRun && detail && inbound && <button type="button" class="btn" onClick={() => setResetting(true)}>Reset…</button>}
          {canDelete && <button type="button" class="btn btn-ghost" onClick={() => setDeleting(true)} aria-label={`Delete ${source.name}`}>Delete</button>}
        </div>
      </div>
      {switchError && (
        <p class="field-error switch-error" role="alert" id={`${source.id}-switch-error`} data-error-for={switchError.field}>{switchError.message}</p>
      )}

      <RunProgress state={runner.state} verb={inbound ? 'Pull' : 'Push'} agent={agent} onOpen={(id) => setOpenSync(id)} onDismiss={runner.reset} />
      {(test.result || test.error) && <TestResults test={test} onDismiss={() => setTest({ busy: false })} />}

      {detail
        ? <PagedHistory agent={agent} base={base} version={version} onOpen={setOpenSync} onChanged={() => { void refresh() }} />
        : (
            <div class="history">
              <h4>
                Sync history <span class="muted small">last {HISTORY_LIMIT}, times in {agent.timezone}</span>
                {' '}<a class="small" href={links.source(agent.id, source.id)}>All syncs</a>
              </h4>
              <SyncHistory agent={agent} syncs={syncs} items={history} onOpen={setOpenSync} limit={HISTORY_LIMIT} />
            </div>
          )}
      {resetting && <ResetDialog base={base} source={source} onClose={() => setResetting(false)} />}

      {openSync && <ManifestDialog agent={agent} sourcePath={base} syncId={openSync} onClose={() => setOpenSync(null)} />}
      {confirmAutoPush && (
        <AutoPushConfirm source={source} testedOk={!!test.result?.ok || recentPass(source)}
          onCancel={() => setConfirmAutoPush(false)}
          onConfirm={() => { setConfirmAutoPush(false); void patch('autoPush', true) }} />
      )}
      {pushing && (
        <PushDialog agent={agent} source={source}
          onCancel={() => setPushing(false)}
          onPush={(jobId) => { setPushing(false); void runner.start(() => api.post(`${base}/push`, { jobId })) }} />
      )}
      {previewing && (
        <Dialog title={`Preview of ${source.name}`} onClose={() => setPreviewing(false)} wide>
          <PreviewPanel path={`${base}/preview`} body={() => ({})} />
        </Dialog>
      )}
      {editing && <EditSourceDialog agent={agent} source={source} onSaved={onChanged} onClose={() => setEditing(false)} />}
      {deleting && <DeleteSource base={base} source={source} onClose={() => setDeleting(false)} onDeleted={onDeleted} />}
    </article>
  )
}

const recentPass = (source: DataSource) =>
  !!source.lastTestOk && !!source.lastTestAt && Date.now() - Date.parse(source.lastTestAt) < 24 * 3600 * 1000

/** Live progress of a pull/push until the sync ends, then its outcome. */
function RunProgress ({ state, verb, agent, onOpen, onDismiss }: {
  state: RunState, verb: 'Pull' | 'Push', agent: Agent, onOpen: (id: string) => void, onDismiss: () => void
}) {
  if (state.phase === 'idle') return null
  if (state.phase === 'error') {
    const e = state.error
    const text = e.code === 'PULL_IN_PROGRESS'
      ? 'A pull of this source is already running; it shows in the history when it ends.'
      : e.code === 'SOURCE_DISABLED'
        ? 'The source is disabled. Enable it first.'
        : e.routeMissing ? `${verb} is not available on this server yet (404).` : e.message
    return (
      <div class="callout callout-bad run" role="alert">
        <span>{verb} failed: {text}</span>
        <button type="button" class="btn btn-small btn-ghost" onClick={onDismiss}>Dismiss</button>
      </div>
    )
  }
  if (state.phase === 'done') {
    const s = state.sync
    const files = `${formatNumber(s.filesCount)} file${s.filesCount === 1 ? '' : 's'}`
    return (
      <div class={`callout run callout-${s.status === 'succeeded' ? 'ok' : s.status === 'partial' ? 'warn' : 'bad'}`} role="status" data-run-status={s.status}>
        <span>
          {verb === 'Pull'
            ? <>Pull {s.status}: {files}, {formatNumber(s.rowsAccepted)} rows accepted, {formatNumber(s.rowsRejected)} rejected, {formatBytes(s.bytes)}.</>
            : <>Push {s.status === 'succeeded' ? 'delivered' : s.status}: {formatNumber(s.rowsAccepted)} rows, {formatBytes(s.bytes)}.</>}
          {s.error && <> {s.error.message}</>}
        </span>
        <span class="run-actions">
          <button type="button" class="btn btn-small" onClick={() => onOpen(s.id)}>Open</button>
          <button type="button" class="btn btn-small btn-ghost" onClick={onDismiss}>Dismiss</button>
        </span>
      </div>
    )
  }
  const s = state.phase === 'running' ? state.sync : undefined
  const p = s?.progress ?? {}
  const counted = typeof p.filesTotal === 'number' && p.filesTotal > 0
  const push = s?.manifest?.[0]
  const lastAttempt = push?.attempts?.[push.attempts.length - 1]
  let text: string
  if (state.phase === 'starting') text = `Starting ${verb.toLowerCase()}…`
  else if (!s) text = `${verb} queued…`
  else if (verb === 'Push') {
    text = push?.nextAttemptAt && lastAttempt
      ? `Attempt ${lastAttempt.attempt} ${lastAttempt.status != null ? `answered HTTP ${lastAttempt.status}` : 'failed'}` +
        `${lastAttempt.error ? ` (${lastAttempt.error})` : ''}; ` +
        `next attempt ${formatDateTime(push.nextAttemptAt, agent.timezone)} (${formatRelative(push.nextAttemptAt)}).`
      : 'Push running: delivering the results…'
  } else if (counted) {
    // the listing may still be going: "of N" is what was found so far, not a promise
    const listed = p.filesListed ?? 0
    text = `Pull running: ${formatNumber(p.filesDone ?? 0)} of ${formatNumber(p.filesTotal!)} new file${p.filesTotal === 1 ? '' : 's'} ingested, ` +
      `${formatBytes(p.bytesDone ?? 0)} — ${formatNumber(listed)} object${listed === 1 ? '' : 's'} listed so far.`
  } else if (typeof p.filesListed === 'number') {
    text = `Pull running: ${formatNumber(p.filesListed)} object${p.filesListed === 1 ? '' : 's'} listed so far, nothing new yet…`
  } else text = 'Pull started: listing the bucket…'
  return (
    <div class="callout callout-info run" role="status" aria-live="polite" data-run-status="running">
      {counted
        ? <progress aria-label={`${verb} progress`} value={p.filesDone ?? 0} max={p.filesTotal} />
        : <progress aria-label={`${verb} in progress`} />}
      <span>{text}</span>
    </div>
  )
}

function TestResults ({ test, onDismiss }: { test: { result?: TestResult, error?: ApiError, at?: number }, onDismiss: () => void }) {
  if (test.error) {
    return (
      <div class="callout callout-bad" role="alert">
        <span>Test could not run: {test.error.routeMissing ? 'not available on this server yet (404).' : test.error.message}</span>
        <button type="button" class="btn btn-small btn-ghost" onClick={onDismiss}>Dismiss</button>
      </div>
    )
  }
  const result = test.result!
  return (
    <div class={`test-results callout callout-${result.ok ? 'ok' : 'bad'}`} role="status" aria-live="polite">
      <div class="test-head">
        <strong>{result.ok ? 'Test passed' : 'Test failed'}</strong>
        <span class="muted small">read-only: no data moved</span>
        <button type="button" class="btn btn-small btn-ghost" onClick={onDismiss}>Dismiss</button>
      </div>
      <ol class="checks">
        {result.checks.map((c, i) => (
          <li key={i} class={c.ok ? 'check-ok' : 'check-bad'}>
            <span class="check-icon" aria-hidden="true">{c.ok ? <CheckIcon /> : <CrossIcon />}</span>
            <span class="check-name">{checkLabel(c.name)}</span>
            <span class="sr-only">{c.ok ? 'passed' : 'failed'}</span>
            <span class="check-message">{c.message}</span>
            {c.durationMs != null && <span class="muted small">{formatDuration(c.durationMs)}</span>}
          </li>
        ))}
      </ol>
    </div>
  )
}

function AutoPushConfirm ({ source, testedOk, onConfirm, onCancel }: { source: DataSource, testedOk: boolean, onConfirm: () => void, onCancel: () => void }) {
  return (
    <Dialog title="Turn on auto-push?" onClose={onCancel}>
      <p>Every successful mapping job of this agent will be pushed to <code class="target">{targetOf(source)}</code> as soon as it finishes.</p>
      <p class="callout callout-warn"><strong>Pushes cannot be undone.</strong> Whatever is delivered stays delivered.</p>
      {!testedOk && <p>Ferry only allows this after a passing <strong>Test</strong> of this sink within the last 24 hours.</p>}
      <div class="form-actions">
        <button type="button" class="btn btn-primary" onClick={onConfirm}>Turn on auto-push</button>
        <button type="button" class="btn btn-ghost" onClick={onCancel}>Cancel</button>
      </div>
    </Dialog>
  )
}

function PushDialog ({ agent, source, onPush, onCancel }: { agent: Agent, source: DataSource, onPush: (jobId: string) => void, onCancel: () => void }) {
  const jobs = useResource<ListResponse<MappingJob>>(`/agents/${seg(agent.id)}/jobs?status=succeeded&limit=20`)
  // a job with no rows has nothing to push
  const done = (jobs.data?.items ?? []).filter(j => j.status === 'succeeded' && j.rows > 0)
  const [jobId, setJobId] = useState<string | null>(null)
  const selected = jobId ?? done[0]?.id ?? null
  return (
    <Dialog title={`Push to “${source.name}”`} onClose={onCancel}>
      <p>Choose the mapping job whose results go to <code class="target">{targetOf(source)}</code>. Pushes cannot be undone.</p>
      {jobs.loading && <Loading label="Loading mapping jobs…" />}
      {jobs.error && <ErrorState error={jobs.error} what="Mapping jobs" onRetry={jobs.reload} compact />}
      {jobs.data && done.length === 0 && (
        <Empty title="No finished mapping jobs with results yet.">
          <p>A mapping job runs after each upload when the agent's rules have auto-map on; jobs with 0 rows are not listed.</p>
        </Empty>
      )}
      {done.length > 0 && (
        <fieldset class="fieldset">
          <legend>Mapping job</legend>
          <div class="radio-list">
            {done.map(job => (
              <label key={job.id} class="radio">
                <input type="radio" name="jobId" value={job.id} checked={selected === job.id} onChange={() => setJobId(job.id)} />
                <span>
                  <strong>{job.upload?.fileName ?? `Job …${shortId(job.id)}`}</strong>
                  {' · '}{job.upload ? (job.upload.sourceName ?? (job.upload.sourceId ? 'a deleted source' : 'uploaded by hand')) : ''}
                  {' · '}{formatNumber(job.rows)} rows · {job.columns.length} columns
                  {' · '}{job.trigger === 'auto_map' ? 'after an upload' : 'started by hand'}
                  {' · '}{formatDateTime(job.finishedAt ?? job.createdAt, agent.timezone)}
                </span>
              </label>
            ))}
          </div>
        </fieldset>
      )}
      <div class="form-actions">
        <button type="button" class="btn btn-primary" disabled={!selected} onClick={() => selected && onPush(selected)}>Push results</button>
        <button type="button" class="btn btn-ghost" onClick={onCancel}>Cancel</button>
      </div>
    </Dialog>
  )
}

function DeleteSource ({ base, source, onClose, onDeleted }: { base: string, source: DataSource, onClose: () => void, onDeleted: () => void }) {
  return (
    <ConfirmDialog title={`Delete “${source.name}”?`} label="Delete" busyLabel="Deleting…"
      action={() => api.delete(base)} onDone={onDeleted} onClose={onClose}>
      <p>Ferry stops pulling from or pushing to it. This cannot be undone; inventory already ingested stays.</p>
    </ConfirmDialog>
  )
}
