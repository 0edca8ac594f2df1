import type {
  ComponentChildren, InputHTMLAttributes, PartialInputHTMLAttributes, PartialSelectHTMLAttributes, SelectHTMLAttributes, TextareaHTMLAttributes,
} from 'preact'
import { useId } from 'preact/hooks'

/**
 * Labelled form controls. Each shows its hint and its error below the control, tied to it with
 * aria-describedby; the error paragraph carries data-error-for="<field path>" (tests find it there).
 */

interface FieldShell {
  label: string
  name: string
  error?: string
  hint?: ComponentChildren
  optional?: boolean
}

function Shell ({ id, label, name, error, hint, optional, children }: FieldShell & { id: string, children: ComponentChildren }) {
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}{optional && <span class="optional"> (optional)</span>}</label>
      {children}
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
      {error && <p class="field-error" id={`${id}-error`} data-error-for={name}>{error}</p>}
    </div>
  )
}

const describedBy = (id: string, error?: string, hint?: unknown) =>
  [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined

type InputProps = FieldShell & Omit<PartialInputHTMLAttributes<HTMLInputElement>, 'label' | 'name' | 'id' | 'role' | 'type' | 'list'> & {
  type?: 'text' | 'password' | 'url' | 'email' | 'search'
  /** id of a <datalist> */
  list?: string
}

/** A text input. Without `value` it is uncontrolled: secret values stay out of component state. */
export function TextField ({ label, name, error, hint, optional, ...input }: InputProps) {
  const id = useId()
  return (
    <Shell id={id} label={label} name={name} error={error} hint={hint} optional={optional}>
      <input
        id={id}
        name={name}
        type="text"
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy(id, error, hint)}
        // preact's input types are a union keyed by `type`; the props above are checked already
        {...(input as unknown as InputHTMLAttributes<HTMLInputElement>)}
      />
    </Shell>
  )
}

type TextAreaProps = FieldShell & Omit<PartialInputHTMLAttributes<HTMLTextAreaElement>, 'label' | 'name' | 'id' | 'role' | 'type' | 'list'> & {
  rows?: number
}

/** A multi-line text input (a private key). Without `value` it is uncontrolled, like TextField. */
export function TextAreaField ({ label, name, error, hint, optional, rows = 6, ...input }: TextAreaProps) {
  const id = useId()
  return (
    <Shell id={id} label={label} name={name} error={error} hint={hint} optional={optional}>
      <textarea id={id} name={name} rows={rows} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy(id, error, hint)}
        {...(input as unknown as TextareaHTMLAttributes<HTMLTextAreaElement>)} />
    </Shell>
  )
}

type SelectProps = FieldShell & Omit<PartialSelectHTMLAttributes<HTMLSelectElement>, 'label' | 'name' | 'id' | 'role' | 'size'> & {
  options: Array<{ value: string, label: string, disabled?: boolean }>
}

export function SelectField ({ label, name, error, hint, optional, options, ...select }: SelectProps) {
  const id = useId()
  return (
    <Shell id={id} label={label} name={name} error={error} hint={hint} optional={optional}>
      <select id={id} name={name} aria-invalid={error ? 'true' : undefined} aria-describedby={describedBy(id, error, hint)}
        {...(select as SelectHTMLAttributes<HTMLSelectElement>)}>
        {options.map(o => <option key={o.value} value={o.value} disabled={o.disabled}>{o.label}</option>)}
      </select>
    </Shell>
  )
}

type CheckboxProps = { label: string, name: string, hint?: ComponentChildren } &
  Omit<PartialInputHTMLAttributes<HTMLInputElement>, 'label' | 'name' | 'id' | 'type' | 'role'>

export function CheckboxField ({ label, name, hint, ...input }: CheckboxProps) {
  const id = useId()
  return (
    <div class="field field-checkbox">
      <input id={id} name={name} type="checkbox" aria-describedby={hint ? `${id}-hint` : undefined}
        {...(input as Omit<PartialInputHTMLAttributes<HTMLInputElement>, 'type' | 'role'>)} />
      <label for={id}>{label}</label>
      {hint && <p class="hint" id={`${id}-hint`}>{hint}</p>}
    </div>
  )
}

/** An on/off switch: a real button with role="switch", usable with Space/Enter. */
export function Switch ({ label, checked, disabled, busy, describedBy, onChange }: {
  label: string, checked: boolean, disabled?: boolean, busy?: boolean, describedBy?: string, onChange: (next: boolean) => void
}) {
  return (
    <button
      type="button"
      role="switch"
      class="switch"
      aria-checked={checked ? 'true' : 'false'}
      aria-busy={busy ? 'true' : undefined}
      aria-describedby={describedBy}
      disabled={disabled || busy}
      onClick={() => onChange(!checked)}
    >
      <span class="switch-track" aria-hidden="true"><span class="switch-thumb" /></span>
      <span class="switch-label">{label}</span>
    </button>
  )
}
