/** The pages' error box (`#error`, with the API's code and Trackingid) and notice line (`#notice`). */
import { ApiError } from './api.ts';
import { byId, h } from './dom.ts';

/** Shows what failed: the context, the API's error code and message, and its Trackingid. */
export function showError(context: string, error: unknown): void {
  const box = byId('error');
  const apiError = error instanceof ApiError ? error : null;
  box.replaceChildren(
    h(
      'div',
      {},
      h('strong', { text: `${context}: ` }),
      h('span', { class: 'code', text: apiError?.code ?? 'error' }),
      h('span', { text: error instanceof Error ? error.message : String(error) }),
      apiError?.trackingId
        ? h('span', { class: 'tracking', text: `Trackingid ${apiError.trackingId}` })
        : null,
    ),
    h('button', { type: 'button', class: 'small', onclick: clearError, text: 'Dismiss' }),
  );
  box.hidden = false;
}

export function clearError(): void {
  const box = byId('error');
  box.hidden = true;
  box.replaceChildren();
}

export function notify(message: string): void {
  byId('notice').textContent = message;
}
