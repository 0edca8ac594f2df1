import { useId, useState } from 'preact/hooks'
import { api, ApiError, formErrors, seg } from '../api/client'
import type { Agent } from '../api/types'
import { CheckboxField, TextField } from '../components/fields'
import { Dialog } from '../components/dialog'
import { FormActions, useFormState } from '../components/form'
import { FormError } from '../components/states'
import { cronInWords } from '../lib/cron'

const FIELDS = ['name', 'scheduleCron', 'timezone', 'rules', 'mapping'] as const

/**
 * Edits an agent (`PATCH /agents/{id}`) with its current values filled in: name, schedule,
 * timezone, rules, and the mapping as JSON ({ fieldMap, output }, docs/formats.md). Only what
 * changed is sent, so the audit entry's diff holds just that.
 */
export function EditAgentDialog ({ agent, onSaved, onClose }: { agent: Agent, onSaved: (a: Agent) => void, onClose: () => void }) {
  const [name, setName] = useState(agent.name)
  const [cron, setCron] = useState(agent.scheduleCron)
  const [timezone, setTimezone] = useState(agent.timezone)
  const [autoPull, setAutoPull] = useState(agent.rules.autoPull)
  const [autoMap, setAutoMap] = useState(agent.rules.autoMap)
  const [pendingItem, setPendingItem] = useState(agent.rules.onPullFailure.pendingItem)
  const [mapping, setMapping] = useState(JSON.stringify(agent.mapping ?? { fieldMap: {}, output: [] }, null, 2))
  const { errors, setErrors, formError, busy, start, fail } = useFormState()
  const mappingId = useId()

  const submit = async (e: Event) => {
    e.preventDefault()
    const body: Record<string, unknown> = {}
    if (name.trim() !== agent.name) body.name = name.trim()
    if (cron.trim() !== agent.scheduleCron) body.scheduleCron = cron.trim()
    if (timezone.trim() !== agent.timezone) body.timezone = timezone.trim()
    const rules = { autoPull, autoMap, onPullFailure: { pendingItem } }
    if (autoPull !== agent.rules.autoPull || autoMap !== agent.rules.autoMap || pendingItem !== agent.rules.onPullFailure.pendingItem) body.rules = rules
    let parsed: unknown
    try {
      parsed = JSON.parse(mapping)
    } catch {
      setErrors({ mapping: 'The mapping is not valid JSON.' })
      return
    }
    if (JSON.stringify(parsed) !== JSON.stringify(agent.mapping ?? { fieldMap: {}, output: [] })) body.mapping = parsed
    if (Object.keys(body).length === 0) { onClose(); return }
    start()
    try {
      onSaved(await api.patch<Agent>(`/agents/${seg(agent.id)}`, body))
    } catch (err) {
      const { fields, form } = formErrors(err, FIELDS)
      // "mapping.output.0.from" and the like belong to the mapping box
      const nested = err instanceof ApiError
        ? Object.entries(err.fieldErrors()).find(([k]) => k.startsWith('mapping.') || k.startsWith('rules.'))
        : undefined
      if (nested) fields[nested[0].startsWith('mapping') ? 'mapping' : 'rules'] = `${nested[0]}: ${nested[1]}`
      fail(fields, Object.keys(fields).length ? null : form)
    }
  }

  const readsAs = cronInWords(cron, timezone)
  return (
    <Dialog title={`Edit agent “${agent.name}”`} onClose={onClose} wide>
      <form class="form" onSubmit={submit} noValidate aria-label="Edit agent">
        <TextField label="Name" name="name" value={name} required maxLength={200} autoComplete="off"
          onInput={(e) => setName(e.currentTarget.value)} error={errors.name} />
        <div class="field-row">
          <TextField label="Schedule (cron)" name="scheduleCron" value={cron} required autoComplete="off" spellcheck={false} class="mono"
            onInput={(e) => setCron(e.currentTarget.value)} error={errors.scheduleCron}
            hint={readsAs ? <>Reads as: <strong>{readsAs}</strong>.</> : 'Five fields: minute hour day-of-month month day-of-week.'} />
          <TextField label="Timezone" name="timezone" value={timezone} required autoComplete="off" spellcheck={false}
            onInput={(e) => setTimezone(e.currentTarget.value)} error={errors.timezone} hint="An IANA zone such as UTC or Europe/Berlin." />
        </div>
        <fieldset class="fieldset">
          <legend>Rules</legend>
          <CheckboxField label="Pull sources on their schedule (auto-pull)" name="rules.autoPull" checked={autoPull}
            onChange={(e) => setAutoPull(e.currentTarget.checked)} />
          <CheckboxField label="Start a mapping job after every upload (auto-map)" name="rules.autoMap" checked={autoMap}
            onChange={(e) => setAutoMap(e.currentTarget.checked)} />
          <CheckboxField label="File a pending item when a pull fails" name="rules.onPullFailure.pendingItem" checked={pendingItem}
            onChange={(e) => setPendingItem(e.currentTarget.checked)} />
          {errors.rules && <p class="field-error" data-error-for="rules">{errors.rules}</p>}
        </fieldset>
        <div class={`field${errors.mapping ? ' has-error' : ''}`}>
          <label for={mappingId}>Mapping (JSON)</label>
          <textarea id={mappingId} name="mapping" class="mono" rows={8} spellcheck={false} value={mapping}
            aria-invalid={errors.mapping ? 'true' : undefined} aria-describedby={`${mappingId}-hint`}
            onInput={(e) => setMapping(e.currentTarget.value)} />
          <p class="hint" id={`${mappingId}-hint`}>
            {'{ "fieldMap": { "sku": "Art.Nr" }, "output": [{ "column": "SKU", "from": "sku" }] }'} — the agent's default column names and result columns.
          </p>
          {errors.mapping && <p class="field-error" data-error-for="mapping">{errors.mapping}</p>}
        </div>
        <FormError error={formError} />
        <FormActions busy={busy} label="Save changes" busyLabel="Saving…" onCancel={onClose} />
      </form>
    </Dialog>
  )
}
