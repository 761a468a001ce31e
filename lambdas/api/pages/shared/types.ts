/** The shapes the pages read from the API (see lambdas/api/views.ts), as far as they use them. */

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

export interface Endpoint {
  readonly id: string;
  readonly url: string;
  readonly eventTypes: string[];
  readonly description: string | null;
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  readonly failureStreak: number;
  readonly hasBacklog: boolean;
  readonly tenantId?: string;
  /** The payload filter as set (`null`: none). */
  readonly filter?: unknown;
  /** The custom headers' names: their values are write-only, never returned. */
  readonly headerNames?: string[];
}

export interface Backlog {
  readonly size: number;
  readonly complete: boolean;
  readonly reason?: string;
  readonly oldestAt?: string;
}

export interface EndpointDetail extends Endpoint {
  readonly backlog?: Backlog;
}

/** `POST /endpoints` and `POST /endpoints/{id}/secret/rotate`: the secret, shown once. */
export interface WithSecret {
  readonly id: string;
  readonly secret: string;
  readonly previousSecretExpiresAt?: string;
}

export interface Attempt {
  readonly attempt: number;
  readonly at: string;
  readonly statusCode?: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly responseExcerpt?: string;
}

export interface Delivery {
  readonly id: string;
  readonly eventId: string;
  readonly endpointId: string;
  readonly tenantId?: string;
  readonly eventType: string;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly createdAt: string;
  readonly lastAttempt: Attempt | null;
  readonly deliveredAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly redrives: number;
  readonly retryQueuedAt: string | null;
  readonly attempts?: Attempt[];
}

export interface Tenant {
  readonly id: string;
  readonly name?: string | null;
}

export interface PortalSession {
  readonly tenantId: string;
  readonly tenantName?: string | null;
  readonly expiresAt: string;
}

export interface PortalLink {
  readonly url: string;
  readonly expiresAt: string;
}

export interface DeadLetterDepth {
  readonly visible: number;
  readonly inFlight: number;
}

export interface RedriveResult {
  readonly mode: string;
  readonly taskHandle?: string;
  readonly moved?: number;
}

export interface RecoverResult {
  readonly queued: number;
  readonly skipped: number;
  readonly done: boolean;
  readonly nextCursor: string | null;
}
