import { useMemo, useState } from 'preact/hooks'
import { api, formErrors } from '../api/client'
import type { Agent } from '../api/types'
import { TextField } from '../components/fields'
import { focusFirstError, useFormState } from '../components/form'
import { FormError } from '../components/states'
import { cronInWords } from '../lib/cron'
import { links, navigate } from '../lib/router'

const browserZone = () => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone } catch { return 'UTC' } }
const zones = (): string[] => {
  try { return (Intl as unknown as { supportedValuesOf (k: string): string[] }).supportedValuesOf('timeZone') } catch { return ['UTC'] }
}

/** Create an agent: name, schedule (cron) and timezone; server validation errors sit next to their field. */
export function AgentCreate () {
  const [name, setName] = useState('')
  const [cron, setCron] = useState('0 * * * *')
  const [timezone, setTimezone] = useState('UTC')
  const { errors, setErrors, formError, busy, start, fail } = useFormState()
  const zoneList = useMemo(zones, [])
  const local = useMemo(browserZone, [])

  const submit = async (e: Event) => {
    e.preventDefault()
    start()
    try {
      const agent = await api.post<Agent>('/agents', { name: name.trim(), scheduleCron: cron.trim(), timezone: timezone.trim() })
      navigate(links.agent(agent.id))
    } catch (err) {
      const { fields, form } = formErrors(err, ['name', 'scheduleCron', 'timezone'])
      fail(fields, form)
      focusFirstError(fields)
    }
  }

  const clear = (field: string) => { if (errors[field]) setErrors(({ [field]: _, ...rest }) => rest) }
  const readsAs = cronInWords(cron) && <>Reads as: <strong>{cronInWords(cron)}</strong>.</>
  const yourZone = local && local !== 'UTC' &&
    <>; yours is <button type="button" class="link" onClick={() => { setTimezone(local); clear('timezone') }}>{local}</button></>

  return (
    <section aria-labelledby="new-agent-title" class="narrow">
      <nav class="breadcrumb" aria-label="Breadcrumb"><a href={links.agents()}>Agents</a> <span aria-hidden="true">/</span></nav>
      <h1 id="new-agent-title">New agent</h1>
      <form class="card form" onSubmit={submit} noValidate>
        <TextField label="Name" name="name" value={name} required maxLength={200} autoComplete="off"
          onInput={(e) => { setName(e.currentTarget.value); clear('name') }} error={errors.name} />
        <TextField label="Schedule (cron)" name="scheduleCron" value={cron} required autoComplete="off" spellcheck={false} class="mono"
          onInput={(e) => { setCron(e.currentTarget.value); clear('scheduleCron') }} error={errors.scheduleCron}
          hint={<>Five fields: minute hour day-of-month month day-of-week, e.g. 30 6 * * 1-5. {readsAs}</>} />
        <TextField label="Timezone" name="timezone" value={timezone} required autoComplete="off" spellcheck={false} list="tz-list"
          onInput={(e) => { setTimezone(e.currentTarget.value); clear('timezone') }} error={errors.timezone}
          hint={<>An IANA zone such as UTC or Europe/Berlin{yourZone}.</>} />
        <datalist id="tz-list">{zoneList.map(z => <option key={z} value={z} />)}</datalist>
        <FormError error={formError} />
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? 'Creating…' : 'Create agent'}</button>
          <a class="btn btn-ghost" href={links.agents()}>Cancel</a>
        </div>
      </form>
    </section>
  )
}
