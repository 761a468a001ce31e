/**
 * An operational event's detail in a few words (why, how many, what was left), as the CLI's
 * `webhooks operational-events` and the dashboard's list show it. Pure, with no imports: the
 * dashboard's bundle carries it too.
 */

/** An operational event as `GET /operational-events` shows it. */
export interface OperationalEventView {
  readonly id: string;
  readonly detailType: string;
  readonly occurredAt: string;
  readonly detail: Record<string, unknown>;
}

const text = (value: unknown): string | undefined =>
  value === undefined || value === null || value === '' ? undefined : String(value);

/** The detail's parts that matter for its detail-type, joined with commas. */
export function summariseOperationalEvent(event: OperationalEventView): string {
  const d = event.detail;
  const parts: Array<string | undefined> = (() => {
    switch (event.detailType) {
      case 'endpoint.disabled':
        return [text(d.reason), text(d.description)];
      case 'endpoint.circuit_opened':
        return [
          `${text(d.failureStreak)} failures in a row`,
          `open ${text(d.openSeconds)} s`,
          text(d.lastError),
        ];
      case 'endpoint.recovered':
        return [
          d.downSeconds === undefined ? undefined : `down ${text(d.downSeconds)} s`,
          text(d.deliveryId),
        ];
      case 'delivery.dead':
        return [text(d.cause), `${text(d.attempts)} attempts`, text(d.deliveryId)];
      case 'dlq.redriven':
        return [text(d.mode), d.moved === undefined ? undefined : `${text(d.moved)} moved`];
      default:
        return [JSON.stringify(d)];
    }
  })();
  return parts.filter((part) => part !== undefined).join(', ');
}
