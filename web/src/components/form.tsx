import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { Dialog } from './dialog'
import { FormError } from './states'

/**
 * What every form keeps while it saves: the errors per field, the error above the buttons, and
 * whether it is busy. `start` clears the last attempt's errors; `fail` shows this one's and lets
 * the form be sent again.
 */
export function useFormState () {
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  return {
    errors,
    setErrors,
    formError,
    setFormError,
    busy,
    start () {
      setBusy(true)
      setErrors({})
      setFormError(null)
    },
    fail (fields: Record<string, string>, form: string | null) {
      setErrors(fields)
      setFormError(form)
      setBusy(false)
    },
  }
}

/** Moves focus to the input of the first field with an error (inside `scope`, a CSS selector, when given). */
export function focusFirstError (fields: Record<string, string>, scope = ''): void {
  const first = Object.keys(fields)[0]
  if (first) (document.querySelector(`${scope ? `${scope} ` : ''}[name="${first}"]`) as HTMLElement | null)?.focus()
}

/** A form's buttons: the submit button (its label while busy) and Cancel. */
export function FormActions ({ busy, label, busyLabel, onCancel }: {
  busy: boolean, label: ComponentChildren, busyLabel: string, onCancel: () => void
}) {
  return (
    <div class="form-actions">
      <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? busyLabel : label}</button>
      <button type="button" class="btn btn-ghost" onClick={onCancel}>Cancel</button>
    </div>
  )
}

/**
 * Asks before something that cannot be undone (revoke, delete). `action` does it; when it fails
 * the dialog stays open with the error, and the button can be pressed again.
 */
export function ConfirmDialog ({ title, children, label, busyLabel, action, onDone, onClose }: {
  title: string, children: ComponentChildren, label: string, busyLabel: string,
  action: () => Promise<unknown>, onDone: () => void, onClose: () => void
}) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const run = async () => {
    setBusy(true)
    try {
      await action()
      onDone()
    } catch (err) {
      setBusy(false)
      setError((err as Error).message)
    }
  }
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      <FormError error={error} />
      <div class="form-actions">
        <button type="button" class="btn btn-danger" onClick={run} disabled={busy}>{busy ? busyLabel : label}</button>
        <button type="button" class="btn btn-ghost" onClick={onClose}>Cancel</button>
      </div>
    </Dialog>
  )
}
