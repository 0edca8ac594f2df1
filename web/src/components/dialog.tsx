import type { ComponentChildren } from 'preact'
import { useEffect, useId, useRef } from 'preact/hooks'

/**
 * A modal on the native <dialog>: focus moves into it, Escape closes it, focus returns to the
 * control that opened it, and the page behind is inert.
 */
export function Dialog ({ title, onClose, children, wide }: { title: string, onClose: () => void, children: ComponentChildren, wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null)
  const titleId = useId()
  useEffect(() => {
    const dialog = ref.current
    const opener = document.activeElement as HTMLElement | null
    if (dialog && !dialog.open) dialog.showModal()
    return () => { dialog?.close(); opener?.focus?.() }
  }, [])
  return (
    <dialog
      ref={ref}
      class={`dialog${wide ? ' dialog-wide' : ''}`}
      aria-labelledby={titleId}
      onCancel={(e) => { e.preventDefault(); onClose() }}
      onClick={(e) => { if (e.target === ref.current) onClose() }}
    >
      <div class="dialog-inner">
        <header class="dialog-header">
          <h2 id={titleId}>{title}</h2>
          <button type="button" class="btn btn-ghost btn-icon" aria-label="Close" onClick={onClose}>✕</button>
        </header>
        <div class="dialog-body">{children}</div>
      </div>
    </dialog>
  )
}
